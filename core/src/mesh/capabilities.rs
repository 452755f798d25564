//! Capability announcements: every node tells the mesh what it can do, and
//! every node can ask which nodes can do something.
//!
//! [`MeshNode::announce_capabilities`] signs the node's
//! [`CapabilitySet`] and sends it to every peer; peers verify, index and
//! pass it on, so it reaches nodes up to [`MAX_CAPABILITY_HOPS`] away.
//! [`MeshNode::find_nodes`] then answers from the local
//! [`CapabilityIndex`] (this node's own set included) without a network
//! round trip.
//!
//! # The announcement
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version (1) |
//! | 1 | hop count: 0 from the origin, +1 at each forwarder (**not signed**) |
//! | 32 | the origin's public key (its node id derives from it) |
//! | 8 | version (little-endian): newer replaces older |
//! | 8 | issued at (seconds since the epoch) |
//! | 4 | time to live in seconds |
//! | 4 | length of the set |
//! | n | the set's canonical JSON |
//! | 64 | ed25519 signature of `"net/capability-announcement/v1"` and the bytes from the key to the set |
//!
//! The hop count sits outside the signature, so the origin's signature
//! verifies at every hop; the node id is derived from the signing key, so a
//! node cannot speak for another.
//!
//! # Propagation
//!
//! Announcements travel on a reliable stream of the
//! [`CAPABILITIES`](super::protocol::CAPABILITIES) protocol. A node that
//! receives one it has not seen — a higher version from that origin — indexes
//! it and forwards it to every peer but the one it came from and the origin
//! (split horizon), with the hop count raised. An announcement it has seen
//! (the same or an older version: two paths of a diamond) is dropped there,
//! so each one crosses each link at most once. A peer that connects later is
//! sent this node's announcement and every one it holds.
//!
//! The origin signs a new version at most once per
//! [`min_announce_interval`](CapabilityConfig::min_announce_interval):
//! announcing again sooner updates this node's own entry at once and sends
//! the latest set when the interval is up. It re-announces at half its
//! [`ttl`](CapabilityConfig::ttl), and an entry not refreshed within its
//! time to live leaves every index.
//!
//! A peer's [`SubnetId`] is what this node's
//! [`subnet_policy`](CapabilityConfig::subnet_policy) derives from the
//! peer's announced tags; this node's own is
//! [`subnet`](CapabilityConfig::subnet).

use crate::capability::{CapabilityIndex, CapabilitySet};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::token::unix_now;
use crate::identity::{Identity, PublicKey, PUBLIC_KEY_LEN, SIGNATURE_LEN};
use crate::subnet::{SubnetId, SubnetPolicy};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most hops an announcement travels from its origin.
pub const MAX_CAPABILITY_HOPS: u8 = 16;
/// The largest announcement, in bytes (a set's JSON must leave room for
/// the rest).
pub const MAX_ANNOUNCEMENT_LEN: usize = 60_000;

const FORMAT: u8 = 1;
const DOMAIN: &[u8] = b"net/capability-announcement/v1";
/// Bytes before the set: format, hops, key, version, issued, ttl, length.
pub(super) const HEAD: usize = 2 + PUBLIC_KEY_LEN + 8 + 8 + 4 + 4;
/// The stream announcements travel on, in the protocol's namespace.
pub(super) const STREAM: u64 = 0;
/// In flight per peer before sends wait for acknowledgements: a late
/// joiner is sent every held announcement at once.
pub(super) const WINDOW: u32 = 4096;

/// How a node announces and indexes capabilities (part of
/// [`MeshConfig`](super::MeshConfig)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityConfig {
    /// This node's subnet (default: the root, [`SubnetId::GLOBAL`]).
    pub subnet: SubnetId,
    /// How peers' subnets are derived from their announced tags (default:
    /// no rules, every peer in the root).
    pub subnet_policy: SubnetPolicy,
    /// How long this node's announcement stays in other nodes' indexes
    /// without a refresh (default 5 minutes; it refreshes at half of it).
    pub ttl: Duration,
    /// The shortest time between two announcements this node sends
    /// (default 10 s); announcing sooner sends the latest set when it is up.
    pub min_announce_interval: Duration,
}

impl Default for CapabilityConfig {
    fn default() -> Self {
        CapabilityConfig {
            subnet: SubnetId::GLOBAL,
            subnet_policy: SubnetPolicy::default(),
            ttl: Duration::from_secs(300),
            min_announce_interval: Duration::from_secs(10),
        }
    }
}

impl CapabilityConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::new(ErrorKind::InvalidMeshConfig, what.to_owned()));
        if self.ttl < Duration::from_secs(1) || self.ttl.as_secs() > u64::from(u32::MAX) {
            return bad("capabilities.ttl must be at least 1 s (and fit 32 bits of seconds)");
        }
        Ok(())
    }
}

super::stats::stats_record! {
    /// Counters of the capability layer.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
    pub struct CapabilityStats {
        /// Announcements this node signed and sent (its own, each version once).
        pub announced: u64,
        /// Announcements received from peers, before any check.
        pub received: u64,
        /// New announcements indexed.
        pub indexed: u64,
        /// Announcements passed on to other peers (one per peer sent to).
        pub forwarded: u64,
        /// Announcements already seen (same or older version), dropped.
        pub duplicates: u64,
        /// Announcements refused: malformed, a bad signature, too many hops.
        pub rejected: u64,
        /// Entries dropped from the index because their time ran out.
        pub expired: u64,
    }
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) announced: AtomicU64,
    pub(super) received: AtomicU64,
    pub(super) indexed: AtomicU64,
    pub(super) forwarded: AtomicU64,
    pub(super) duplicates: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) expired: AtomicU64,
}

impl Counters {
    pub(super) fn snapshot(&self) -> CapabilityStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CapabilityStats {
            announced: get(&self.announced),
            received: get(&self.received),
            indexed: get(&self.indexed),
            forwarded: get(&self.forwarded),
            duplicates: get(&self.duplicates),
            rejected: get(&self.rejected),
            expired: get(&self.expired),
        }
    }
}

/// A verified announcement.
pub(super) struct Announcement {
    pub(super) origin: PublicKey,
    pub(super) version: u64,
    pub(super) ttl: Duration,
    pub(super) caps: CapabilitySet,
}

pub(super) fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn malformed(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::Malformed, why)
}

/// Signs an announcement of `caps` (hop count 0).
pub(super) fn encode(identity: &Identity, version: u64, ttl: Duration, caps: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + caps.len() + SIGNATURE_LEN);
    out.push(FORMAT);
    out.push(0);
    out.extend_from_slice(identity.public_key().as_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&unix_now().to_le_bytes());
    out.extend_from_slice(&(ttl.as_secs() as u32).to_le_bytes());
    out.extend_from_slice(&(caps.len() as u32).to_le_bytes());
    out.extend_from_slice(caps);
    let mut signed = DOMAIN.to_vec();
    signed.extend_from_slice(&out[2..]);
    out.extend_from_slice(&identity.sign(&signed));
    out
}

/// Checks an announcement's shape and signature and reads it.
pub(super) fn decode(bytes: &[u8]) -> Result<(Announcement, u8)> {
    if bytes.len() < HEAD + SIGNATURE_LEN || bytes.len() > MAX_ANNOUNCEMENT_LEN {
        return Err(malformed("a capability announcement of the wrong length"));
    }
    if bytes[0] != FORMAT {
        return Err(malformed(format!(
            "capability announcement format {} (this node reads {FORMAT})",
            bytes[0]
        )));
    }
    let hops = bytes[1];
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let u32_at = |at: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&bytes[at..at + 4]);
        u32::from_le_bytes(b)
    };
    let origin = PublicKey::from_bytes(&bytes[2..2 + PUBLIC_KEY_LEN])?;
    let mut at = 2 + PUBLIC_KEY_LEN;
    let version = u64_at(at);
    at += 16; // version, issued at
    let ttl = u32_at(at);
    let len = u32_at(at + 4) as usize;
    if HEAD + len + SIGNATURE_LEN != bytes.len() {
        return Err(malformed(
            "a capability announcement's set length does not fit",
        ));
    }
    let body_end = HEAD + len;
    let mut signed = DOMAIN.to_vec();
    signed.extend_from_slice(&bytes[2..body_end]);
    origin.verify(&signed, &bytes[body_end..])?;
    let text = std::str::from_utf8(&bytes[HEAD..body_end])
        .map_err(|_| malformed("a capability announcement's set is not UTF-8"))?;
    let caps = CapabilitySet::from_json(text)?;
    Ok((
        Announcement {
            origin,
            version,
            ttl: Duration::from_secs(u64::from(ttl.max(1))),
            caps,
        },
        hops,
    ))
}

/// This node's own announcement.
#[derive(Default)]
pub(super) struct Own {
    /// The latest signed announcement (hop count 0), once announced.
    pub(super) encoded: Option<Arc<Vec<u8>>>,
    /// The latest set (to re-sign on refresh).
    pub(super) caps: Option<Arc<CapabilitySet>>,
    pub(super) version: u64,
    /// When it was last sent to peers.
    pub(super) last_sent: Option<Instant>,
    /// A newer set waits for the interval to be up.
    pub(super) pending: bool,
    /// When it is next refreshed (half its time to live after sending).
    pub(super) refresh_at: Option<Instant>,
}

/// The capability layer's state, a part of every node.
pub(super) struct CapabilityState {
    pub(super) index: Mutex<CapabilityIndex>,
    /// The signed bytes of every announcement indexed, by origin node id,
    /// for peers that connect later.
    pub(super) held: Mutex<HashMap<u64, Arc<Vec<u8>>>>,
    pub(super) own: Mutex<Own>,
    pub(super) counters: Counters,
}

impl CapabilityState {
    pub(super) fn new(config: &CapabilityConfig) -> Self {
        CapabilityState {
            index: Mutex::new(CapabilityIndex::new(config.subnet)),
            held: Mutex::new(HashMap::new()),
            own: Mutex::new(Own::default()),
            counters: Counters::default(),
        }
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn announcements_verify_at_any_hop_count_and_refuse_tampering() {
        let id = Identity::from_seed(&[9; 32]);
        let caps = CapabilitySet::new().with_tag("gpu").unwrap();
        let mut bytes = encode(&id, 7, Duration::from_secs(60), caps.to_json().as_bytes());
        let (a, hops) = decode(&bytes).unwrap();
        assert_eq!((a.version, hops, a.caps), (7, 0, caps));
        assert_eq!(a.origin, id.public_key());
        bytes[1] = 5;
        assert_eq!(decode(&bytes).unwrap().1, 5, "the hop count is not signed");
        for at in [0, 2, HEAD - 1, HEAD + 3, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            assert!(decode(&bad).is_err(), "byte {at} flipped");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(&[]).is_err());
    }
}
