//! How a mesh node is set up: the engine config, and the JSON form every
//! language shares.
//!
//! The JSON form: `{"network_key": "<64 hex>", "bind": "127.0.0.1:0",
//! "seed": "<64 hex>", "handshake_timeout_ms": N, "handshake_retry_ms": N,
//! "inbox_capacity": N, "retransmit_timeout_ms": N, "beacon_interval_ms": N, "max_hops": N, "rekey_interval_ms": N,
//! "session_timeout_ms": N}`.
//! Only `network_key` is required; without `seed` the node gets a fresh
//! identity; `bind` defaults to `0.0.0.0:0`. Optional sections:
//! `"trust": {"policy": "open" | "tofu" | "allowlist", "allow": ["<hex key>"],
//! "pinned": {"ip:port": "<hex key>"}}`, `"peer_store": {"path": "...",
//! "ttl_ms": N, "max_entries": N, "flush_interval_ms": N}`,
//! `"audit_log": {"path": "...", "max_bytes": N, "keep": N}` and
//! `"capabilities": {"subnet": "3.7", "subnet_policy": {"rules": [...]},
//! "ttl_ms": N, "min_announce_interval_ms": N}`. Unknown keys,
//! bad hex and values out of range fail with `mesh:invalid_config`; a seed of
//! the wrong length with `identity:invalid_seed`, a bad key in `trust` with
//! `identity:invalid_key`.

use super::capabilities::CapabilityConfig;
use super::keys::NetworkKey;
use super::peer_store::PeerStoreConfig;
use super::trust::{TrustConfig, TrustPolicy};
use crate::audit::AuditConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::Identity;
use crate::identity::PublicKey;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct MeshConfig {
    /// Address to bind (port 0 picks a free port).
    pub bind: SocketAddr,
    /// The mesh's shared secret; nodes with another key cannot connect.
    pub network_key: NetworkKey,
    /// How long `connect` waits for an answer.
    pub handshake_timeout: Duration,
    /// How often `connect` resends its first message while waiting.
    pub handshake_retry: Duration,
    /// Messages held for `recv` before new ones are dropped (and counted;
    /// reliable messages are then resent by their sender later).
    pub inbox_capacity: usize,
    /// How long a reliable message waits for its ack before it is resent.
    pub retransmit_timeout: Duration,
    /// How often neighbours are sent beacons (routes and a sign of life);
    /// three intervals of silence make a neighbour suspect, six failed.
    pub beacon_interval: Duration,
    /// The most hops a routed packet may take (its TTL), and the longest
    /// route learned from beacons.
    pub max_hops: u8,
    /// How long a session's keys are used before the side that opened it
    /// runs a fresh handshake; the new session takes over without a pause
    /// (the old one still opens packets for a few seconds).
    pub rekey_interval: Duration,
    /// How long a session lives without a packet from the peer before it is
    /// dropped. Beacons (or keep-alives, for routed peers) go out every
    /// beacon interval, so only a peer that is gone goes this quiet; at
    /// least three beacon intervals.
    pub session_timeout: Duration,
    /// Which peers' keys are accepted (default: open).
    pub trust: TrustConfig,
    /// Where peers are remembered across restarts (default: nowhere).
    pub peer_store: Option<PeerStoreConfig>,
    /// Where trust decisions are written (default: nowhere; still counted).
    pub audit: Option<AuditConfig>,
    /// Capability announcements: this node's subnet, the policy that
    /// derives peers' subnets, time to live, rate limit.
    pub capabilities: CapabilityConfig,
}

impl MeshConfig {
    /// Defaults around an address and a network key: 5 s handshake timeout,
    /// resent every 250 ms, 65 536 messages of inbox, reliable messages
    /// resent after 200 ms without an ack, no simulated loss, beacons every
    /// second, 8 hops, new keys every 2 minutes, sessions dropped after 30 s
    /// of silence.
    pub fn new(bind: SocketAddr, network_key: NetworkKey) -> MeshConfig {
        MeshConfig {
            bind,
            network_key,
            handshake_timeout: Duration::from_secs(5),
            handshake_retry: Duration::from_millis(250),
            inbox_capacity: 65_536,
            retransmit_timeout: Duration::from_millis(200),
            beacon_interval: Duration::from_secs(1),
            max_hops: 8,
            rekey_interval: Duration::from_secs(120),
            session_timeout: Duration::from_secs(30),
            trust: TrustConfig::default(),
            peer_store: None,
            audit: None,
            capabilities: CapabilityConfig::default(),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::new(ErrorKind::InvalidMeshConfig, what.to_owned()));
        if self.handshake_timeout.is_zero() {
            return bad("handshake_timeout must be above zero");
        }
        if self.handshake_retry.is_zero() {
            return bad("handshake_retry must be above zero");
        }
        if self.inbox_capacity == 0 {
            return bad("inbox_capacity must be at least 1");
        }
        if self.retransmit_timeout.is_zero() {
            return bad("retransmit_timeout must be above zero");
        }
        if self.beacon_interval.is_zero() {
            return bad("beacon_interval must be above zero");
        }
        if self.max_hops == 0 {
            return bad("max_hops must be at least 1");
        }
        if self.rekey_interval.is_zero() {
            return bad("rekey_interval must be above zero");
        }
        if self.session_timeout < self.beacon_interval * 3 {
            return bad("session_timeout must be at least three beacon intervals");
        }
        self.capabilities.validate()
    }
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidMeshConfig, detail.to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeOptions {
    network_key: String,
    bind: Option<String>,
    seed: Option<String>,
    handshake_timeout_ms: Option<u64>,
    handshake_retry_ms: Option<u64>,
    inbox_capacity: Option<usize>,
    retransmit_timeout_ms: Option<u64>,
    beacon_interval_ms: Option<u64>,
    max_hops: Option<u8>,
    rekey_interval_ms: Option<u64>,
    session_timeout_ms: Option<u64>,
    trust: Option<TrustOptions>,
    peer_store: Option<PeerStoreOptions>,
    audit_log: Option<AuditOptions>,
    capabilities: Option<CapabilityOptions>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilityOptions {
    subnet: Option<String>,
    subnet_policy: Option<serde_json::Value>,
    ttl_ms: Option<u64>,
    min_announce_interval_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustOptions {
    policy: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    pinned: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerStoreOptions {
    path: String,
    ttl_ms: Option<u64>,
    max_entries: Option<usize>,
    flush_interval_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditOptions {
    path: String,
    max_bytes: Option<u64>,
    keep: Option<usize>,
}

/// A public key given as hex: any way it is not one (not hex, wrong length,
/// not a curve point) is `identity:invalid_key`, as in every SDK.
fn key_from_hex(what: &str, text: &str) -> Result<PublicKey> {
    let bytes = hex::decode(text)
        .map_err(|e| Error::new(ErrorKind::InvalidKey, format!("{what} is not hex: {e}")))?;
    PublicKey::from_bytes(&bytes)
}

fn trust_config(options: TrustOptions) -> Result<TrustConfig> {
    let policy = match options.policy.as_deref().unwrap_or("open") {
        "open" => TrustPolicy::Open,
        "tofu" => TrustPolicy::Tofu,
        "allowlist" => TrustPolicy::Allowlist,
        other => {
            return Err(invalid(format!(
                "trust.policy must be open, tofu or allowlist, got {other:?}"
            )))
        }
    };
    let allow = options
        .allow
        .iter()
        .map(|k| key_from_hex("trust.allow key", k))
        .collect::<Result<Vec<_>>>()?;
    let pinned = options
        .pinned
        .iter()
        .map(|(addr, key)| {
            let addr: SocketAddr = addr
                .parse()
                .map_err(|e| invalid(format!("trust.pinned address {addr:?}: {e}")))?;
            Ok((addr, key_from_hex("trust.pinned key", key)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TrustConfig {
        policy,
        allow,
        pinned,
    })
}

fn hex_bytes(what: &str, text: &str) -> Result<Vec<u8>> {
    hex::decode(text).map_err(|e| invalid(format!("{what} is not hex: {e}")))
}

/// Parses the JSON form (see the module docs) into an identity and a config.
pub fn parse_node_config(json: &str) -> Result<(Identity, MeshConfig)> {
    let options: NodeOptions = serde_json::from_str(json).map_err(invalid)?;
    let network_key = NetworkKey::from_slice(&hex_bytes("network_key", &options.network_key)?)?;
    let bind: SocketAddr = options
        .bind
        .as_deref()
        .unwrap_or("0.0.0.0:0")
        .parse()
        .map_err(|e| invalid(format!("bind is not an address (ip:port): {e}")))?;
    let identity = match options.seed {
        Some(seed) => Identity::from_seed_slice(&hex_bytes("seed", &seed)?)?,
        None => Identity::generate()?,
    };
    let mut config = MeshConfig::new(bind, network_key);
    if let Some(ms) = options.handshake_timeout_ms {
        config.handshake_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = options.handshake_retry_ms {
        config.handshake_retry = Duration::from_millis(ms);
    }
    if let Some(n) = options.inbox_capacity {
        config.inbox_capacity = n;
    }
    if let Some(ms) = options.retransmit_timeout_ms {
        config.retransmit_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = options.beacon_interval_ms {
        config.beacon_interval = Duration::from_millis(ms);
    }
    if let Some(hops) = options.max_hops {
        config.max_hops = hops;
    }
    if let Some(ms) = options.rekey_interval_ms {
        config.rekey_interval = Duration::from_millis(ms);
    }
    if let Some(ms) = options.session_timeout_ms {
        config.session_timeout = Duration::from_millis(ms);
    }
    if let Some(trust) = options.trust {
        config.trust = trust_config(trust)?;
    }
    if let Some(store) = options.peer_store {
        let mut peer_store = PeerStoreConfig::new(store.path);
        if let Some(ms) = store.ttl_ms {
            peer_store.ttl = Duration::from_millis(ms);
        }
        if let Some(n) = store.max_entries {
            peer_store.max_entries = n;
        }
        if let Some(ms) = store.flush_interval_ms {
            peer_store.flush_interval = Duration::from_millis(ms);
        }
        config.peer_store = Some(peer_store);
    }
    if let Some(audit) = options.audit_log {
        let mut log = AuditConfig::new(audit.path);
        if let Some(n) = audit.max_bytes {
            log.max_bytes = n;
        }
        if let Some(n) = audit.keep {
            log.keep = n;
        }
        config.audit = Some(log);
    }
    if let Some(caps) = options.capabilities {
        if let Some(subnet) = caps.subnet {
            config.capabilities.subnet = crate::subnet::SubnetId::parse(&subnet)
                .map_err(|e| invalid(format!("capabilities.subnet: {}", e.detail())))?;
        }
        if let Some(policy) = caps.subnet_policy {
            config.capabilities.subnet_policy =
                crate::subnet::SubnetPolicy::from_json(&policy.to_string())
                    .map_err(|e| invalid(format!("capabilities.subnet_policy: {}", e.detail())))?;
        }
        if let Some(ms) = caps.ttl_ms {
            config.capabilities.ttl = Duration::from_millis(ms);
        }
        if let Some(ms) = caps.min_announce_interval_ms {
            config.capabilities.min_announce_interval = Duration::from_millis(ms);
        }
    }
    Ok((identity, config))
}
