//! The audit log: structured events as JSON lines, hash-chained, rotated by
//! size.
//!
//! Every line is one JSON object with the event's own fields plus `ts_ms`
//! (Unix milliseconds) and `prev`: the BLAKE2s-256 hash (hex) of the previous
//! line as written, or 64 zeros for the first line the log ever wrote. The
//! chain continues across rotation, so deleting, reordering or editing a line
//! breaks it where it happened ([`verify`] reports where).
//!
//! When a line would take the file past `max_bytes`, the file is renamed to
//! `<path>.1` (older ones shift to `.2` … up to `keep`, the oldest dropped)
//! and a new file starts.

use crate::error::{Error, ErrorKind, Result};
use blake2::{Blake2s256, Digest};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The `prev` of the very first line.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where and how much to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The live file; rotated files sit beside it as `<path>.1`, `<path>.2`, …
    pub path: PathBuf,
    /// Rotate before a line would take the file past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: usize,
}

impl AuditConfig {
    /// A log at `path`, rotated at 10 MiB, keeping 5 old files.
    pub fn new(path: impl Into<PathBuf>) -> AuditConfig {
        AuditConfig {
            path: path.into(),
            max_bytes: 10 * 1024 * 1024,
            keep: 5,
        }
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::AuditIo,
        format!("audit log {what} {}: {e}", path.display()),
    )
}

struct Writer {
    file: File,
    size: u64,
    prev: String,
}

/// An open audit log. Writes are serialised; each line is flushed to the
/// operating system before `record` returns.
pub struct AuditLog {
    config: AuditConfig,
    writer: Mutex<Writer>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("config", &self.config)
            .finish()
    }
}

fn hash_line(line: &str) -> String {
    hex::encode(Blake2s256::digest(line.as_bytes()))
}

/// The hash of the last line of a file, if it has one.
fn last_hash(path: &Path) -> Result<Option<String>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path, e)),
    };
    let mut last = None;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| io("read", path, e))?;
        if !line.is_empty() {
            last = Some(line);
        }
    }
    Ok(last.map(|l| hash_line(&l)))
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl AuditLog {
    /// Opens (or creates) the log, continuing the chain of what is there.
    pub fn open(config: AuditConfig) -> Result<AuditLog> {
        if config.max_bytes == 0 {
            return Err(Error::new(
                ErrorKind::InvalidMeshConfig,
                "audit max_bytes must be above zero",
            ));
        }
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
        }
        let prev = match last_hash(&config.path)? {
            Some(hash) => hash,
            None => last_hash(&rotated(&config.path, 1))?.unwrap_or_else(|| GENESIS.into()),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.path)
            .map_err(|e| io("open", &config.path, e))?;
        let size = file
            .metadata()
            .map_err(|e| io("stat", &config.path, e))?
            .len();
        Ok(AuditLog {
            config,
            writer: Mutex::new(Writer { file, size, prev }),
        })
    }

    /// Appends one event: `kind` plus the given fields (an object).
    pub fn record(&self, kind: &str, fields: Value) -> Result<()> {
        let mut object = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let ts_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        object.insert("kind".into(), Value::from(kind));
        object.insert("ts_ms".into(), Value::from(ts_ms));
        let mut writer = self.writer.lock();
        object.insert("prev".into(), Value::from(writer.prev.clone()));
        let line = Value::Object(object).to_string();
        let bytes = line.len() as u64 + 1;
        if writer.size > 0 && writer.size + bytes > self.config.max_bytes {
            self.rotate(&mut writer)?;
        }
        writer
            .file
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| io("write", &self.config.path, e))?;
        writer.size += bytes;
        writer.prev = hash_line(&line);
        Ok(())
    }

    fn rotate(&self, writer: &mut Writer) -> Result<()> {
        let path = &self.config.path;
        if self.config.keep == 0 {
            std::fs::remove_file(path).map_err(|e| io("remove", path, e))?;
        } else {
            let _ = std::fs::remove_file(rotated(path, self.config.keep));
            for n in (1..self.config.keep).rev() {
                let from = rotated(path, n);
                if from.exists() {
                    std::fs::rename(&from, rotated(path, n + 1))
                        .map_err(|e| io("rotate", &from, e))?;
                }
            }
            std::fs::rename(path, rotated(path, 1)).map_err(|e| io("rotate", path, e))?;
        }
        writer.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io("open", path, e))?;
        writer.size = 0;
        Ok(())
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &AuditConfig {
        &self.config
    }
}

/// Checks the chain of one log file: each line's `prev` must be the hash of
/// the line before it (the first line's is taken as given, since it links to
/// the rotated file before). Returns the number of lines, or
/// `redex:corrupt`-kind error naming the first broken line.
pub fn verify(path: &Path) -> Result<usize> {
    let file = File::open(path).map_err(|e| io("open", path, e))?;
    let mut prev: Option<String> = None;
    let mut count = 0;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io("read", path, e))?;
        let broken = |why: &str| {
            Error::new(
                ErrorKind::Corrupt,
                format!("audit log {} line {}: {why}", path.display(), i + 1),
            )
        };
        let value: Value = serde_json::from_str(&line).map_err(|_| broken("not JSON"))?;
        let claimed = value
            .get("prev")
            .and_then(Value::as_str)
            .ok_or_else(|| broken("no prev"))?;
        if let Some(expected) = &prev {
            if claimed != expected {
                return Err(broken("the chain is broken"));
            }
        }
        prev = Some(hash_line(&line));
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("net-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn lines_chain_and_survive_reopen() {
        let dir = temp_dir("chain");
        let path = dir.join("audit.jsonl");
        {
            let log = AuditLog::open(AuditConfig::new(&path)).unwrap();
            log.record("trust", json!({"decision": "accept"})).unwrap();
            log.record("trust", json!({"decision": "reject"})).unwrap();
        }
        let log = AuditLog::open(AuditConfig::new(&path)).unwrap();
        log.record("peer", json!({"node_id": 7})).unwrap();
        assert_eq!(verify(&path).unwrap(), 3);
        let text = std::fs::read_to_string(&path).unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["prev"], GENESIS);
        assert_eq!(first["kind"], "trust");
        assert_eq!(first["decision"], "accept");
        // Editing a line breaks the chain at the next one.
        std::fs::write(&path, text.replacen("accept", "reject", 1)).unwrap();
        let err = verify(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(err.to_string().contains("line 2"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rotation_keeps_the_newest_files_and_the_chain_continues() {
        let dir = temp_dir("rotate");
        let path = dir.join("audit.jsonl");
        let config = AuditConfig {
            path: path.clone(),
            max_bytes: 300,
            keep: 2,
        };
        let log = AuditLog::open(config.clone()).unwrap();
        for i in 0..40 {
            log.record("trust", json!({"i": i})).unwrap();
        }
        assert!(std::fs::metadata(&path).unwrap().len() <= 300);
        assert!(rotated(&path, 1).exists() && rotated(&path, 2).exists());
        assert!(!rotated(&path, 3).exists());
        // The live file's first line links to the last line of `.1`.
        let older = std::fs::read_to_string(rotated(&path, 1)).unwrap();
        let live = std::fs::read_to_string(&path).unwrap();
        let first: Value = serde_json::from_str(live.lines().next().unwrap()).unwrap();
        assert_eq!(first["prev"], hash_line(older.lines().last().unwrap()));
        assert!(verify(&path).unwrap() >= 1);
        let last: Value = serde_json::from_str(live.lines().last().unwrap()).unwrap();
        assert_eq!(last["i"], 39);
        assert!(AuditLog::open(AuditConfig {
            max_bytes: 0,
            ..config
        })
        .is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
