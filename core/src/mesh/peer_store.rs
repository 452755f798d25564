//! The persistent peer store: peers this node has talked to, kept in a JSON
//! file across restarts.
//!
//! Each entry records a peer's address, node id and public key, when a
//! handshake with it last succeeded and how many attempts failed since. Entries
//! not heard from within the TTL are dropped, and past `max_entries` the least
//! recently successful go first. The file is written whole to a temporary
//! file and renamed into place (a crash leaves the old or the new file, never
//! half of one), periodically and on shutdown. Under the TOFU policy the keys
//! in the store are the pins remembered from earlier runs.

use crate::error::{Error, ErrorKind, Result};
use crate::identity::PublicKey;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The file format's version.
const VERSION: u32 = 1;

/// Where the store lives and how much it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStoreConfig {
    /// The JSON file.
    pub path: PathBuf,
    /// Entries with no success for this long are dropped.
    pub ttl: Duration,
    /// The most entries kept.
    pub max_entries: usize,
    /// How often changes are written (they are also written on shutdown).
    pub flush_interval: Duration,
}

impl PeerStoreConfig {
    /// A store at `path`: 7-day TTL, 1024 entries, flushed every 30 s.
    pub fn new(path: impl Into<PathBuf>) -> PeerStoreConfig {
        PeerStoreConfig {
            path: path.into(),
            ttl: Duration::from_secs(7 * 24 * 3600),
            max_entries: 1024,
            flush_interval: Duration::from_secs(30),
        }
    }
}

/// One remembered peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownPeer {
    /// Where it was reached (`ip:port`).
    pub addr: SocketAddr,
    /// Its node id (a decimal string in the file, so every JSON reader keeps
    /// all 64 bits).
    #[serde(with = "decimal")]
    pub node_id: u64,
    /// Its ed25519 public key (hex in the file).
    #[serde(with = "hex_key")]
    pub public_key: PublicKey,
    /// Unix milliseconds of the last successful handshake.
    pub last_success_ms: u64,
    /// Failed connection attempts since then.
    pub failures: u32,
}

mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

mod hex_key {
    use crate::identity::PublicKey;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &PublicKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(k.as_bytes()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
        let bytes = hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)?;
        PublicKey::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    peers: Vec<KnownPeer>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The live store.
#[derive(Debug)]
pub(crate) struct PeerStore {
    config: PeerStoreConfig,
    entries: Mutex<HashMap<SocketAddr, KnownPeer>>,
    dirty: AtomicBool,
}

impl PeerStore {
    /// Loads the file (a missing file is an empty store; a damaged one is an
    /// error, `redex:corrupt`, rather than silently forgotten peers).
    pub(crate) fn open(config: PeerStoreConfig) -> Result<PeerStore> {
        if config.max_entries == 0 || config.ttl.is_zero() || config.flush_interval.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidMeshConfig,
                "peer store ttl, max_entries and flush_interval must be above zero",
            ));
        }
        let entries = match std::fs::read(&config.path) {
            Ok(bytes) => {
                let file: File = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::new(
                        ErrorKind::Corrupt,
                        format!("peer store {}: {e}", config.path.display()),
                    )
                })?;
                if file.version != VERSION {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        format!(
                            "peer store {}: version {} (this build reads {VERSION})",
                            config.path.display(),
                            file.version
                        ),
                    ));
                }
                file.peers.into_iter().map(|p| (p.addr, p)).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::MeshIo,
                    format!("peer store {}: {e}", config.path.display()),
                ))
            }
        };
        let store = PeerStore {
            config,
            entries: Mutex::new(entries),
            dirty: AtomicBool::new(false),
        };
        store.prune();
        Ok(store)
    }

    pub(crate) fn flush_interval(&self) -> Duration {
        self.config.flush_interval
    }

    /// Every entry, most recently successful first.
    pub(crate) fn peers(&self) -> Vec<KnownPeer> {
        let mut list: Vec<KnownPeer> = self.entries.lock().values().cloned().collect();
        list.sort_by(|a, b| {
            b.last_success_ms
                .cmp(&a.last_success_ms)
                .then(a.addr.cmp(&b.addr))
        });
        list
    }

    /// A handshake with `key` at `addr` succeeded.
    pub(crate) fn success(&self, addr: SocketAddr, key: PublicKey) {
        let entry = KnownPeer {
            addr,
            node_id: key.node_id(),
            public_key: key,
            last_success_ms: now_ms(),
            failures: 0,
        };
        self.entries.lock().insert(addr, entry);
        self.dirty.store(true, Ordering::Release);
    }

    /// A connection attempt to `addr` failed.
    pub(crate) fn failure(&self, addr: SocketAddr) {
        if let Some(entry) = self.entries.lock().get_mut(&addr) {
            entry.failures = entry.failures.saturating_add(1);
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Drops expired entries and the oldest past `max_entries`.
    fn prune(&self) {
        let oldest = now_ms().saturating_sub(self.config.ttl.as_millis() as u64);
        let mut entries = self.entries.lock();
        let before = entries.len();
        entries.retain(|_, p| p.last_success_ms >= oldest);
        if entries.len() > self.config.max_entries {
            let mut by_age: Vec<(u64, SocketAddr)> = entries
                .values()
                .map(|p| (p.last_success_ms, p.addr))
                .collect();
            by_age.sort();
            let excess = entries.len() - self.config.max_entries;
            for (_, addr) in by_age.into_iter().take(excess) {
                entries.remove(&addr);
            }
        }
        if entries.len() != before {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Writes the file if anything changed since the last write.
    pub(crate) fn flush(&self) -> Result<()> {
        self.prune();
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let file = File {
            version: VERSION,
            peers: self.peers(),
        };
        let io = |e: std::io::Error| {
            self.dirty.store(true, Ordering::Release);
            Error::new(
                ErrorKind::MeshIo,
                format!("peer store {}: {e}", self.config.path.display()),
            )
        };
        let text = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::new(ErrorKind::MeshIo, e.to_string()))?;
        if let Some(dir) = self
            .config
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut tmp = self.config.path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &self.config.path).map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("net-peers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("peers.json")
    }

    fn key(seed: u8) -> PublicKey {
        Identity::from_seed(&[seed; 32]).public_key()
    }

    #[test]
    fn entries_survive_a_reopen_and_count_failures() {
        let path = temp_path("reopen");
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        {
            let store = PeerStore::open(PeerStoreConfig::new(&path)).unwrap();
            store.success(a, key(1));
            store.failure(a);
            store.failure("127.0.0.1:1".parse().unwrap()); // unknown: ignored
            store.flush().unwrap();
        }
        let store = PeerStore::open(PeerStoreConfig::new(&path)).unwrap();
        let peers = store.peers();
        assert_eq!(peers.len(), 1);
        assert_eq!(
            (peers[0].addr, peers[0].public_key, peers[0].failures),
            (a, key(1), 1)
        );
        assert_eq!(peers[0].node_id, key(1).node_id());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("\"{}\"", key(1).node_id())),
            "{text}"
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn max_entries_and_ttl_bound_the_store() {
        let path = temp_path("bounds");
        let mut config = PeerStoreConfig::new(&path);
        config.max_entries = 2;
        let store = PeerStore::open(config.clone()).unwrap();
        for port in 1..=3u16 {
            store.success(SocketAddr::from(([127, 0, 0, 1], port)), key(port as u8));
            std::thread::sleep(Duration::from_millis(2));
        }
        store.flush().unwrap();
        let ports: Vec<u16> = store.peers().iter().map(|p| p.addr.port()).collect();
        assert_eq!(ports, vec![3, 2]);
        config.ttl = Duration::from_millis(1);
        std::thread::sleep(Duration::from_millis(5));
        assert!(PeerStore::open(config).unwrap().peers().is_empty());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_store() {
        let path = temp_path("damaged");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        let err = PeerStore::open(PeerStoreConfig::new(&path)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        std::fs::write(&path, br#"{"version": 9, "peers": []}"#).unwrap();
        assert_eq!(
            PeerStore::open(PeerStoreConfig::new(&path))
                .unwrap_err()
                .kind(),
            ErrorKind::Corrupt
        );
        let mut bad = PeerStoreConfig::new(&path);
        bad.max_entries = 0;
        assert_eq!(
            PeerStore::open(bad).unwrap_err().kind(),
            ErrorKind::InvalidMeshConfig
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
