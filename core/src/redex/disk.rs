//! Disk persistence for a RedEX log: `dat` (payloads), `idx` (20-byte records)
//! and `ts` (8-byte append times) under `<base>/<channel path>/`.
//!
//! Writes go straight to the files (no user-space buffer), so an acknowledged
//! append survives the process being killed. Fsync order is always payload,
//! then index, then timestamps, so after a power cut the index is at worst
//! shorter than the payload, which recovery handles.
//!
//! **One writer.** A log directory is held by one handle at a time: opening
//! takes an exclusive OS advisory lock on `<dir>/lock` (`flock`), released
//! when the log closes or the process dies. A second opener, in this process
//! or another, fails with `redex:locked` instead of interleaving
//! sequence numbers with the first (a lock held only for the instant another
//! thread forks a child is waited out, ~60 ms at most).
//!
//! **Sequence = position.** The record at index position `i` carries sequence
//! `i`: appends only ever add positions, and recovery never removes a whole
//! one. So a record whose stored sequence is not its position is damaged
//! (reported in `corrupt_seqs` under its position and dropped), and the next
//! sequence after a reopen is the number of positions, so sequences never go
//! backwards or repeat, even when recovery drops every entry. A record whose
//! payload is missing (the index outran `dat` in a power cut) is rewritten as
//! a *void* record that keeps its position. Only a partial trailing record
//! (never acknowledged) is cut.
//!
//! Recovery never aborts the reopen for a damaged entry.

use super::config::FsyncPolicy;
use super::file::now_ns;
use super::record::{checksum, Record, RECORD_LEN};
use crate::error::{Error, ErrorKind, Result};
use parking_lot::{Condvar, Mutex};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What recovery found when a persistent log was reopened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Entries recovered (those retention had evicted are not counted).
    pub entries: usize,
    /// Torn or orphaned trailing index records that were truncated.
    pub truncated_records: usize,
    /// Sequence numbers of entries dropped because their checksum did not match.
    pub corrupt_seqs: Vec<u64>,
    /// Entries whose timestamp was missing (given the reopen time instead).
    pub missing_timestamps: usize,
}

pub(crate) struct Recovered {
    /// Every intact record, including those retention already evicted.
    pub records: Vec<(Record, u64)>,
    /// The sequence the next append gets: the number of index positions.
    pub next_seq: u64,
    /// The first sequence retention kept at the last sweep (0: none swept).
    pub first_retained: u64,
    pub segment: Vec<u8>,
    pub report: Recovery,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{what} {}: {e}", path.display()))
}

/// Maps a channel name (`sensors/lidar/front`) to a relative directory,
/// refusing anything that could escape the base directory.
pub(crate) fn channel_path(name: &str) -> Result<PathBuf> {
    let bad = || {
        Error::new(
            ErrorKind::InvalidLogArgument,
            format!(
                "invalid channel name {name:?}: use segments of [A-Za-z0-9_.-] separated by '/'"
            ),
        )
    };
    let mut path = PathBuf::new();
    for segment in name.split('/') {
        let ok = !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !ok {
            return Err(bad());
        }
        path.push(segment);
    }
    Ok(path)
}

struct Files {
    dat: File,
    idx: File,
    ts: File,
}

impl Files {
    fn sync(&self, dir: &Path) -> Result<()> {
        for (file, name) in [(&self.dat, "dat"), (&self.idx, "idx"), (&self.ts, "ts")] {
            file.sync_data()
                .map_err(|e| io_error("fsync", &dir.join(name), e))?;
        }
        Ok(())
    }

    fn try_clone(&self, dir: &Path) -> Result<Files> {
        let clone = |f: &File| f.try_clone().map_err(|e| io_error("clone", dir, e));
        Ok(Files {
            dat: clone(&self.dat)?,
            idx: clone(&self.idx)?,
            ts: clone(&self.ts)?,
        })
    }
}

#[derive(Default)]
struct Pending {
    entries: u64,
    bytes: u64,
    stop: bool,
}

/// The background fsync thread and its signal.
struct SyncWorker {
    shared: Arc<(Mutex<Pending>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl SyncWorker {
    fn start(files: Files, dir: PathBuf, policy: FsyncPolicy) -> Option<SyncWorker> {
        let (every_n, period, max_bytes) = match policy {
            FsyncPolicy::Never => return None,
            FsyncPolicy::EveryN(n) => (n.max(1), None, 0),
            FsyncPolicy::Interval(p) => (0, Some(p), 0),
            FsyncPolicy::IntervalOrBytes { period, max_bytes } => {
                if period.is_zero() && max_bytes == 0 {
                    return None;
                }
                (0, (!period.is_zero()).then_some(period), max_bytes)
            }
        };
        let shared = Arc::new((Mutex::new(Pending::default()), Condvar::new()));
        let worker_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("redex-fsync".into())
            .spawn(move || {
                let (lock, signal) = &*worker_shared;
                let mut pending = lock.lock();
                loop {
                    let due = pending.entries > 0
                        && ((every_n > 0 && pending.entries >= every_n)
                            || (max_bytes > 0 && pending.bytes >= max_bytes));
                    if !due && !pending.stop {
                        let timed_out = match period {
                            Some(p) => signal.wait_for(&mut pending, p).timed_out(),
                            None => {
                                signal.wait(&mut pending);
                                false
                            }
                        };
                        if !(timed_out && pending.entries > 0) {
                            continue;
                        }
                    }
                    let stop = pending.stop;
                    *pending = Pending {
                        stop,
                        ..Pending::default()
                    };
                    // Fsync without holding the lock so appends continue meanwhile.
                    drop(pending);
                    // A failed background fsync is retried by the next barrier.
                    let _ = files.sync(&dir);
                    pending = lock.lock();
                    if stop {
                        return;
                    }
                }
            })
            .ok()?;
        Some(SyncWorker {
            shared,
            thread: Some(thread),
        })
    }

    fn note(&self, entries: u64, bytes: u64) {
        let (lock, signal) = &*self.shared;
        let mut pending = lock.lock();
        pending.entries += entries;
        pending.bytes += bytes;
        signal.notify_one();
    }

    fn reset(&self) {
        let mut pending = self.shared.0.lock();
        pending.entries = 0;
        pending.bytes = 0;
    }
}

impl Drop for SyncWorker {
    fn drop(&mut self) {
        self.shared.0.lock().stop = true;
        self.shared.1.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Which of a channel's three files a write goes to.
enum FileKind {
    Dat,
    Idx,
    Ts,
}

/// The open files of a persistent log.
pub(crate) struct DiskLog {
    dir: PathBuf,
    files: Files,
    worker: Option<SyncWorker>,
    /// Holds the directory's advisory lock for as long as the log is open.
    _lock: File,
}

/// The file whose exclusive advisory lock marks a log directory as open.
const LOCK_FILE: &str = "lock";

/// The longest single pause while a lock looks held (pauses double from 1 ms).
const LOCK_PATIENCE: Duration = Duration::from_millis(32);

/// Takes the directory's lock, or fails with `redex:locked`.
fn lock_dir(dir: &Path, name: &str) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_error("open", &path, e))?;
    // A process that forks a child keeps every open lock for the instant
    // before the child's exec closes it: a lock held that briefly is waited
    // out (about 60 ms at most), a log really open elsewhere is not.
    let mut pause = Duration::from_millis(1);
    let mut outcome = file.try_lock();
    while matches!(outcome, Err(std::fs::TryLockError::WouldBlock)) && pause <= LOCK_PATIENCE {
        std::thread::sleep(pause);
        pause *= 2;
        outcome = file.try_lock();
    }
    match outcome {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::new(
            ErrorKind::LogLocked,
            format!(
                "log {name:?} is already open in another handle or process ({} is locked)",
                path.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(io_error("lock", &path, e)),
    }
}

fn read_all(file: &mut File, path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)
        .map_err(|e| io_error("read", path, e))?;
    Ok(buf)
}

/// The file holding retention's watermark: the first sequence kept.
const HEAD_FILE: &str = "head";

fn read_head(dir: &Path) -> Result<u64> {
    let path = dir.join(HEAD_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io_error("read", &path, e)),
    }
}

impl DiskLog {
    /// Records that entries below `first_retained` were evicted, so a reopen
    /// does not bring them back. Written beside the log and renamed into
    /// place, so a crash leaves the old watermark or the new one, never half.
    pub fn write_head(&self, first_retained: u64) -> Result<()> {
        let path = self.dir.join(HEAD_FILE);
        let temp = self.dir.join("head.tmp");
        std::fs::write(&temp, first_retained.to_le_bytes())
            .map_err(|e| io_error("write", &temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| io_error("rename", &path, e))
    }

    /// Opens or creates the files for `name` under `base` and recovers them.
    pub fn open(base: &Path, name: &str, policy: FsyncPolicy) -> Result<(DiskLog, Recovered)> {
        let dir = base.join(channel_path(name)?);
        std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
        let lock = lock_dir(&dir, name)?;
        let open = |n: &str| {
            let path = dir.join(n);
            OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&path)
                .map_err(|e| io_error("open", &path, e))
        };
        let (mut dat, mut idx, mut ts) = (open("dat")?, open("idx")?, open("ts")?);
        let first_retained = read_head(&dir)?;
        let segment = read_all(&mut dat, &dir.join("dat"))?;
        let index = read_all(&mut idx, &dir.join("idx"))?;
        let stamps = read_all(&mut ts, &dir.join("ts"))?;

        let mut report = Recovery::default();
        let whole = index.len() / RECORD_LEN;
        report.truncated_records += usize::from(index.len() % RECORD_LEN != 0);
        let mut records = Vec::with_capacity(whole);
        // One timestamp per index position (damaged and void ones included),
        // so `ts` stays aligned with `idx` when missing stamps are written back.
        let mut position_stamps = Vec::with_capacity(whole);
        // Positions from here on have no payload and become void records.
        let mut void_from = whole;
        for i in 0..whole {
            let seq = i as u64;
            let timestamp = stamps
                .get(i * 8..i * 8 + 8)
                .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
            let stamp = timestamp.unwrap_or_else(now_ns);
            position_stamps.push(stamp);
            let record = match Record::decode(&index[i * RECORD_LEN..]) {
                Ok(r) if r.is_void() => continue,
                Ok(r) if r.seq == seq => r,
                // Undecodable, or a sequence that is not its position.
                _ => {
                    report.corrupt_seqs.push(seq);
                    continue;
                }
            };
            let payload: &[u8] = if record.is_inline() {
                &record.inline_payload()[..]
            } else {
                let end = record.offset as usize + record.len as usize;
                match segment.get(record.offset as usize..end) {
                    Some(p) => p,
                    None => {
                        // The index outran the payload: a crash mid-append.
                        void_from = i;
                        position_stamps.pop();
                        break;
                    }
                }
            };
            if checksum(payload) != record.checksum() {
                report.corrupt_seqs.push(seq);
                continue;
            }
            report.missing_timestamps += usize::from(timestamp.is_none());
            records.push((record, stamp));
        }
        // Positions whose payload is missing keep their place as void records,
        // so their sequence numbers are never handed out again.
        report.truncated_records += whole - void_from;
        for i in void_from..whole {
            let at = i * 8;
            position_stamps.push(stamps.get(at..at + 8).map_or_else(now_ns, |b| {
                u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }));
        }
        let idx_len = (void_from * RECORD_LEN) as u64;
        if index.len() as u64 != idx_len {
            idx.set_len(idx_len)
                .map_err(|e| io_error("truncate", &dir.join("idx"), e))?;
        }
        if void_from < whole {
            let voids: Vec<u8> = (void_from..whole)
                .flat_map(|i| Record::void(i as u64).encode())
                .collect();
            idx.write_all(&voids)
                .map_err(|e| io_error("write", &dir.join("idx"), e))?;
        }
        let ts_len = (whole * 8).min(stamps.len() / 8 * 8) as u64;
        if stamps.len() as u64 != ts_len {
            ts.set_len(ts_len)
                .map_err(|e| io_error("truncate", &dir.join("ts"), e))?;
        }
        // Timestamps missing for kept positions are written back so ts stays aligned.
        let fill: Vec<u8> = position_stamps[ts_len as usize / 8..whole]
            .iter()
            .flat_map(|t| t.to_le_bytes())
            .collect();
        if !fill.is_empty() {
            ts.write_all(&fill)
                .map_err(|e| io_error("write", &dir.join("ts"), e))?;
        }
        report.entries = records
            .iter()
            .filter(|(r, _)| r.seq >= first_retained)
            .count();
        let files = Files { dat, idx, ts };
        let worker = SyncWorker::start(files.try_clone(&dir)?, dir.clone(), policy);
        Ok((
            DiskLog {
                dir,
                files,
                worker,
                _lock: lock,
            },
            Recovered {
                records,
                next_seq: whole as u64,
                first_retained,
                segment,
                report,
            },
        ))
    }

    /// Writes payloads, records and their shared timestamp: at most one write
    /// per file, and no copying for a single entry.
    pub fn append(
        &mut self,
        payloads: &[&[u8]],
        records: &[Record],
        timestamp_ns: u64,
    ) -> Result<()> {
        let data_len: usize = payloads.iter().map(|p| p.len()).sum();
        match payloads {
            [] => {}
            [one] => self.write(FileKind::Dat, one)?,
            many => self.write(FileKind::Dat, &many.concat())?,
        }
        match records {
            [one] => self.write(FileKind::Idx, &one.encode())?,
            many => {
                let idx: Vec<u8> = many.iter().flat_map(|r| r.encode()).collect();
                self.write(FileKind::Idx, &idx)?;
            }
        }
        let stamp = timestamp_ns.to_le_bytes();
        match records.len() {
            1 => self.write(FileKind::Ts, &stamp)?,
            n => self.write(FileKind::Ts, &stamp.repeat(n))?,
        }
        if let Some(worker) = &self.worker {
            let bytes = data_len + records.len() * (RECORD_LEN + stamp.len());
            worker.note(records.len() as u64, bytes as u64);
        }
        Ok(())
    }

    fn write(&mut self, kind: FileKind, bytes: &[u8]) -> Result<()> {
        let (file, name) = match kind {
            FileKind::Dat => (&mut self.files.dat, "dat"),
            FileKind::Idx => (&mut self.files.idx, "idx"),
            FileKind::Ts => (&mut self.files.ts, "ts"),
        };
        file.write_all(bytes)
            .map_err(|e| io_error("write", &self.dir.join(name), e))
    }

    /// Fsyncs payload, index, timestamps, in that order.
    pub fn sync(&mut self) -> Result<()> {
        self.files.sync(&self.dir)?;
        if let Some(worker) = &self.worker {
            worker.reset();
        }
        Ok(())
    }

    /// Final fsync; stops the background worker.
    pub fn close(mut self) -> Result<()> {
        let result = self.sync();
        drop(self.worker.take());
        result
    }
}
