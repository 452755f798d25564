//! The mesh for the bindings: a node configured from JSON, peers named by
//! node id, streams by (node id, stream id), messages as bytes.
//!
//! The node configuration is the engine's JSON format
//! (`net_core::mesh::parse_node_config`).

use net_core::identity::PublicKey;
pub use net_core::mesh::Connecting;
use net_core::mesh::{parse_node_config, MeshNode, Reliability, StreamConfig};
use net_core::{Error, ErrorKind, Result};
use std::net::SocketAddr;
use std::time::Duration;

pub use net_core::mesh::Message as MeshMessage;

/// Milliseconds from the boundary: negative means "no limit".
fn timeout(ms: i64) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// A mesh node behind a handle.
pub struct MeshHandle {
    node: MeshNode,
}

impl MeshHandle {
    /// Binds a node from a JSON configuration (see the module docs).
    pub fn bind(config_json: &str) -> Result<MeshHandle> {
        let (identity, config) = parse_node_config(config_json)?;
        Ok(MeshHandle {
            node: MeshNode::bind(identity, config)?,
        })
    }

    /// The engine's node (for the other facade modules).
    pub(crate) fn node(&self) -> &MeshNode {
        &self.node
    }

    /// The bound address as `ip:port`.
    pub fn local_addr(&self) -> Result<String> {
        Ok(self.node.local_addr()?.to_string())
    }

    /// This node's ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        *self.node.public_key().as_bytes()
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.node.node_id()
    }

    /// Connects to the node at `addr` whose public key is `public_key`;
    /// returns its node id.
    pub fn connect(&self, addr: &str, public_key: &[u8]) -> Result<u64> {
        let mut connecting = self.start_connect(addr, public_key)?;
        match connecting.wait(None)? {
            Some(peer) => Ok(peer.node_id),
            None => Err(Error::new(
                ErrorKind::MeshTimeout,
                "the handshake did not finish",
            )),
        }
    }

    /// Starts a connect for the caller to drive in steps
    /// ([`Connecting::wait`]): a binding
    /// that must look at its own interrupts between steps needs no thread
    /// for it.
    pub fn start_connect(&self, addr: &str, public_key: &[u8]) -> Result<Connecting> {
        let addr: SocketAddr = addr.parse().map_err(|e| {
            Error::new(
                ErrorKind::InvalidMeshArgument,
                format!("not an address (ip:port): {addr:?}: {e}"),
            )
        })?;
        let key = PublicKey::from_bytes(public_key)?;
        self.node.start_connect(addr, &key)
    }

    /// Connects through relays to the node whose public key is
    /// `public_key` (routes come from neighbours' beacons); returns its id.
    pub fn connect_routed(&self, public_key: &[u8]) -> Result<u64> {
        let key = PublicKey::from_bytes(public_key)?;
        Ok(self.node.connect_routed(&key)?.node_id)
    }

    /// [`start_connect`](Self::start_connect) through relays.
    pub fn start_connect_routed(&self, public_key: &[u8]) -> Result<Connecting> {
        let key = PublicKey::from_bytes(public_key)?;
        self.node.start_connect_routed(&key)
    }

    /// The best route to each reachable node as a JSON array of
    /// `{"dest", "next_hop"` (decimal strings)`, "hops"}`.
    pub fn routes_json(&self) -> String {
        let routes: Vec<serde_json::Value> = self
            .node
            .routes()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "dest": r.dest.to_string(),
                    "next_hop": r.next_hop.to_string(),
                    "hops": r.hops,
                })
            })
            .collect();
        serde_json::Value::Array(routes).to_string()
    }

    /// Opens a stream: reliable (with a window of `window` messages) or
    /// fire-and-forget.
    pub fn open_stream(
        &self,
        node_id: u64,
        stream_id: u64,
        reliable: Option<bool>,
        window: u32,
    ) -> Result<()> {
        // `None` (an SDK caller that did not say) is the engine's default.
        let defaults = StreamConfig::default();
        let reliability = match reliable {
            Some(true) => Reliability::Reliable,
            Some(false) => Reliability::FireAndForget,
            None => defaults.reliability,
        };
        let config = StreamConfig {
            reliability,
            ..defaults
        };
        let config = if window == 0 {
            config
        } else {
            config.with_window(window)
        };
        self.node.open_stream(node_id, stream_id, config).map(drop)
    }

    /// Sends; `mesh:backpressure` at once when a reliable window is full.
    pub fn send(&self, node_id: u64, stream_id: u64, payload: &[u8]) -> Result<()> {
        self.node.send(node_id, stream_id, payload)
    }

    /// Sends, retrying on backpressure up to `max_retries` times.
    pub fn send_with_retry(
        &self,
        node_id: u64,
        stream_id: u64,
        payload: &[u8],
        max_retries: u32,
    ) -> Result<()> {
        self.node
            .send_with_retry(node_id, stream_id, payload, max_retries)
    }

    /// Sends, waiting up to `timeout_ms` (negative: no limit) for window room.
    pub fn send_blocking(
        &self,
        node_id: u64,
        stream_id: u64,
        payload: &[u8],
        timeout_ms: i64,
    ) -> Result<()> {
        self.node
            .send_blocking(node_id, stream_id, payload, timeout(timeout_ms))
    }

    /// [`send_blocking`](Self::send_blocking) that fails with
    /// `call:cancelled` as soon as `cancel` is cancelled (nothing sent then).
    pub fn send_blocking_cancellable(
        &self,
        node_id: u64,
        stream_id: u64,
        payload: &[u8],
        timeout_ms: i64,
        cancel: &net_core::cancel::CancelToken,
    ) -> Result<()> {
        self.node.send_blocking_cancellable(
            node_id,
            stream_id,
            payload,
            timeout(timeout_ms),
            cancel,
        )
    }

    /// The next message within `timeout_ms` (negative: no limit).
    pub fn recv(&self, timeout_ms: i64) -> Result<Option<MeshMessage>> {
        self.node.recv(timeout(timeout_ms))
    }

    /// The inbox as a push source: what `on_message` handlers drain
    /// (`net_core::push`). `mesh:shutdown` once the node is shut down.
    pub fn message_source(&self) -> Result<net_core::mesh::MessageSource> {
        self.node.message_source()
    }

    /// [`recv`](Self::recv) that fails with `call:cancelled` as soon as
    /// `cancel` is cancelled.
    pub fn recv_cancellable(
        &self,
        timeout_ms: i64,
        cancel: &net_core::cancel::CancelToken,
    ) -> Result<Option<MeshMessage>> {
        self.node.recv_cancellable(timeout(timeout_ms), cancel)
    }

    /// Every 64-bit id in these JSON results is a decimal string, so readers
    /// whose JSON numbers are doubles (JavaScript) keep all 64 bits.
    ///
    /// Peers as a JSON array of `{"node_id", "public_key" (hex), "addr",
    /// "confirmed", "routed", "health" ("alive" | "suspect" | "failed"),
    /// "cipher" ("aes-256-gcm" | "chacha20-poly1305")}`.
    pub fn peers_json(&self) -> String {
        let peers: Vec<serde_json::Value> = self
            .node
            .peers()
            .iter()
            .map(|p| {
                serde_json::json!({
                    "node_id": p.node_id.to_string(),
                    "public_key": hex::encode(p.public_key.as_bytes()),
                    "addr": p.addr.to_string(),
                    "confirmed": p.confirmed,
                    "routed": p.routed,
                    "health": p.health,
                    "cipher": p.cipher.as_str(),
                })
            })
            .collect();
        serde_json::Value::Array(peers).to_string()
    }

    /// The peer store's entries as a JSON array of `{"addr", "node_id"
    /// (decimal string), "public_key" (hex), "last_success_ms", "failures"}`
    /// (empty without a store).
    pub fn known_peers_json(&self) -> String {
        serde_json::to_string(&self.node.known_peers()).unwrap_or_else(|_| "[]".into())
    }

    /// The node's counters as a JSON object.
    pub fn stats_json(&self) -> String {
        serde_json::to_string(&self.node.stats()).unwrap_or_else(|_| "{}".into())
    }

    /// One stream's counters as a JSON object (`peer` and `stream_id` as
    /// decimal strings), or `None` if never used.
    pub fn stream_stats_json(&self, node_id: u64, stream_id: u64) -> Option<String> {
        Some(stream_stats_to_json(
            self.node.stream_stats(node_id, stream_id)?,
        ))
    }

    /// The counters of a stream a handle was opened for: always an object,
    /// [`StreamStats::empty`] when the node holds no state for it.
    ///
    /// [`StreamStats::empty`]: net_core::mesh::StreamStats::empty
    pub fn opened_stream_stats_json(&self, node_id: u64, stream_id: u64) -> String {
        stream_stats_to_json(
            self.node
                .stream_stats(node_id, stream_id)
                .unwrap_or_else(|| net_core::mesh::StreamStats::empty(node_id, stream_id)),
        )
    }

    /// Shuts the node down (idempotent); waiters wake with `mesh:shutdown`.
    pub fn shutdown(&self) {
        self.node.shutdown();
    }
}

/// A stream's counters as JSON, `peer` and `stream_id` as decimal strings.
fn stream_stats_to_json(stats: net_core::mesh::StreamStats) -> String {
    let Ok(mut value) = serde_json::to_value(stats) else {
        return "{}".into();
    };
    value["peer"] = stats.peer.to_string().into();
    value["stream_id"] = stats.stream_id.to_string().into();
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0707070707070707070707070707070707070707070707070707070707070707";

    fn config(extra: &str) -> String {
        format!(r#"{{"network_key": "{KEY}", "bind": "127.0.0.1:0"{extra}}}"#)
    }

    #[test]
    fn two_handles_talk() {
        let a = MeshHandle::bind(&config("")).unwrap();
        let b = MeshHandle::bind(&config("")).unwrap();
        let id = a
            .connect(&b.local_addr().unwrap(), &b.public_key())
            .unwrap();
        assert_eq!(id, b.node_id());
        a.open_stream(id, 2, Some(true), 0).unwrap();
        a.send_blocking(id, 2, b"hi", 1000).unwrap();
        let m = b.recv(2000).unwrap().unwrap();
        assert_eq!(
            (m.from, m.stream_id, m.payload.as_slice()),
            (a.node_id(), 2, &b"hi"[..])
        );
        assert!(a
            .stream_stats_json(id, 2)
            .unwrap()
            .contains("\"reliability\":\"reliable\""));
        assert!(b.peers_json().contains(&hex::encode(a.public_key())));
        assert_eq!(b.recv(10).unwrap(), None);
        a.shutdown();
        assert_eq!(
            a.send(id, 2, b"x").unwrap_err().kind(),
            ErrorKind::MeshShutdown
        );
    }

    #[test]
    fn bad_configs_are_typed() {
        for (json, kind) in [
            ("{}".to_owned(), ErrorKind::InvalidMeshConfig),
            ("not json".to_owned(), ErrorKind::InvalidMeshConfig),
            (config(r#", "color": 1"#), ErrorKind::InvalidMeshConfig),
            // Loss is a test seam (mesh::conditions), not an option.
            (
                config(r#", "simulated_loss": 0.5"#),
                ErrorKind::InvalidMeshConfig,
            ),
            (
                config(r#", "handshake_timeout_ms": 0"#),
                ErrorKind::InvalidMeshConfig,
            ),
            (
                r#"{"network_key": "zz"}"#.to_owned(),
                ErrorKind::InvalidMeshConfig,
            ),
            (
                r#"{"network_key": "0707"}"#.to_owned(),
                ErrorKind::InvalidMeshConfig,
            ),
            (
                format!(r#"{{"network_key": "{KEY}", "bind": "nowhere"}}"#),
                ErrorKind::InvalidMeshConfig,
            ),
            (config(r#", "seed": "0102""#), ErrorKind::InvalidSeed),
        ] {
            let err = MeshHandle::bind(&json)
                .err()
                .unwrap_or_else(|| panic!("{json} bound"));
            assert_eq!(err.kind(), kind, "{json}: {err}");
        }
    }
}
