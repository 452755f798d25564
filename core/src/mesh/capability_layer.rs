//! The capability layer on a node: announcing, forwarding, indexing and
//! answering (see [`super::capabilities`] for the protocol).

use super::capabilities::{
    decode, encode, unix_millis, CapabilityConfig, CapabilityStats, HEAD, MAX_ANNOUNCEMENT_LEN,
    MAX_CAPABILITY_HOPS, STREAM, WINDOW,
};
use super::node::Inner;
use super::protocol::{Protocol, Remote, CAPABILITIES};
use super::stats::bump;
use super::stream::StreamConfig;
use super::streaming::{self, StreamKey, Wait};
use crate::capability::{CapabilityIndex, CapabilitySet, Predicate, ScopeFilter};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::SIGNATURE_LEN;
use crate::subnet::SubnetId;
use std::sync::{Arc, Weak};
use std::time::Instant;

/// The protocol object registered under
/// [`CAPABILITIES`](super::protocol::CAPABILITIES): hands the node's calls
/// to its capability state.
pub(super) struct CapabilityProtocol(pub(super) Weak<Inner>);

impl Protocol for CapabilityProtocol {
    fn on_message(&self, from: &Remote, _stream_id: u64, payload: Vec<u8>) {
        if let Some(inner) = self.0.upgrade() {
            inner.capability_message(from, payload);
        }
    }

    fn on_peer_up(&self, peer: &Remote) {
        if let Some(inner) = self.0.upgrade() {
            inner.capability_peer_up(peer.node_id);
        }
    }
}

/// Capabilities: announce, find, inspect.
impl super::MeshNode {
    /// Announces what this node can do: signs `caps`, indexes it as this
    /// node's own entry at once, and sends it to every peer (or, within
    /// [`min_announce_interval`](CapabilityConfig::min_announce_interval)
    /// of the last announcement, when that is up). A set whose JSON does
    /// not fit [`MAX_ANNOUNCEMENT_LEN`] is `capability:invalid_set`.
    pub fn announce_capabilities(&self, caps: CapabilitySet) -> Result<()> {
        self.inner.check_open()?;
        self.inner.announce(Arc::new(caps))
    }

    /// The nodes whose announced sets satisfy `predicate` (this node's own
    /// included), by node id. Scope tags are ignored.
    pub fn find_nodes(&self, predicate: &Predicate) -> Vec<u64> {
        self.inner.with_index(|index| index.find_nodes(predicate))
    }

    /// [`find_nodes`](Self::find_nodes) filtered by the providers' scope
    /// tags (see [`crate::capability`]'s index docs).
    pub fn find_nodes_scoped(&self, predicate: &Predicate, scope: &ScopeFilter) -> Vec<u64> {
        self.inner
            .with_index(|index| index.find_nodes_scoped(predicate, scope))
    }

    /// The set `node_id` announced (this node's own included), if known
    /// and not expired.
    pub fn capabilities_of(&self, node_id: u64) -> Option<Arc<CapabilitySet>> {
        self.inner
            .with_index(|index| index.get(node_id).map(|e| e.caps.clone()))
    }

    /// The subnet of `node_id`: this node's configured one for itself, the
    /// one the subnet policy derives from its announced tags for a peer
    /// (`None` before it announced).
    pub fn subnet_of(&self, node_id: u64) -> Option<SubnetId> {
        if node_id == self.node_id() {
            return Some(self.inner.config.capabilities.subnet);
        }
        self.inner
            .with_index(|index| index.get(node_id).map(|e| e.subnet))
    }

    /// This node's subnet (its configuration's).
    pub fn subnet(&self) -> SubnetId {
        self.inner.config.capabilities.subnet
    }

    /// The capability layer's counters.
    pub fn capability_stats(&self) -> CapabilityStats {
        self.inner.capabilities.counters.snapshot()
    }
}

impl Inner {
    /// Registers the capability protocol on a new node.
    pub(super) fn install_capabilities(self: &Arc<Self>) -> Result<()> {
        let weak: Weak<Inner> = Arc::downgrade(self);
        self.protocols
            .insert(CAPABILITIES, Arc::new(CapabilityProtocol(weak)))
    }

    fn caps_config(&self) -> &CapabilityConfig {
        &self.config.capabilities
    }

    /// Runs `f` on the index after dropping what expired.
    fn with_index<T>(&self, f: impl FnOnce(&CapabilityIndex) -> T) -> T {
        let now = self.clock.now();
        let mut index = self.capabilities.index.lock();
        let lapsed = index.gc(now);
        if !lapsed.is_empty() {
            let mut held = self.capabilities.held.lock();
            for node in &lapsed {
                held.remove(node);
                bump(&self.capabilities.counters.expired);
            }
        }
        f(&index)
    }

    fn announce(self: &Arc<Self>, caps: Arc<CapabilitySet>) -> Result<()> {
        let json = caps.to_json();
        if HEAD + json.len() + SIGNATURE_LEN > MAX_ANNOUNCEMENT_LEN {
            return Err(Error::new(
                ErrorKind::InvalidCapabilitySet,
                format!(
                    "a capability set announces at most {} bytes of JSON, this one is {}",
                    MAX_ANNOUNCEMENT_LEN - HEAD - SIGNATURE_LEN,
                    json.len()
                ),
            ));
        }
        let now = self.clock.now();
        let send_now = {
            let mut own = self.capabilities.own.lock();
            own.caps = Some(caps.clone());
            let due = own
                .last_sent
                .map(|at| at + self.caps_config().min_announce_interval);
            match due {
                Some(due) if due > now => {
                    // Not sent yet: this node's own entry is the latest now
                    // (send_own signs and indexes it otherwise).
                    own.version = (own.version + 1).max(unix_millis());
                    self.capabilities.index.lock().upsert(
                        self.node_id(),
                        caps,
                        self.caps_config().subnet,
                        own.version,
                        None,
                    );
                    own.pending = true;
                    self.timer.due(due);
                    false
                }
                _ => true,
            }
        };
        if send_now {
            self.send_own(now);
        }
        Ok(())
    }

    /// Signs the latest set as a new version and sends it to every peer.
    fn send_own(self: &Arc<Self>, now: Instant) {
        let encoded = {
            let mut own = self.capabilities.own.lock();
            let Some(caps) = own.caps.clone() else {
                return;
            };
            own.version = (own.version + 1).max(unix_millis());
            let bytes = Arc::new(encode(
                &self.identity,
                own.version,
                self.caps_config().ttl,
                caps.to_json().as_bytes(),
            ));
            self.capabilities.index.lock().upsert(
                self.node_id(),
                caps,
                self.caps_config().subnet,
                own.version,
                None,
            );
            own.encoded = Some(bytes.clone());
            own.last_sent = Some(now);
            own.pending = false;
            let refresh = now + self.caps_config().ttl / 2;
            own.refresh_at = Some(refresh);
            self.timer.due(refresh);
            bytes
        };
        bump(&self.capabilities.counters.announced);
        for peer in self.capability_peers() {
            self.send_announcement(peer, &encoded);
        }
    }

    /// Peers with a session (direct and routed).
    fn capability_peers(&self) -> Vec<u64> {
        self.peers.read().by_node.keys().copied().collect()
    }

    fn send_announcement(&self, peer: u64, bytes: &[u8]) -> bool {
        let key = StreamKey {
            peer,
            protocol: CAPABILITIES,
            stream: STREAM,
        };
        let config = StreamConfig::reliable().with_window(WINDOW);
        match self.streams.open(key, config) {
            Ok(state) => streaming::send_on(self, &state, bytes, Wait::Never, None).is_ok(),
            Err(_) => false,
        }
    }

    /// The capability layer's deadlines: a pending announcement whose
    /// interval is up, a refresh. Returns when it is next due.
    pub(super) fn capability_timers(self: &Arc<Self>, now: Instant) -> Option<Instant> {
        let (send, next) = {
            let own = self.capabilities.own.lock();
            let pending_due = own
                .pending
                .then(|| {
                    own.last_sent
                        .map(|at| at + self.caps_config().min_announce_interval)
                })
                .flatten();
            let due = [pending_due, own.refresh_at].into_iter().flatten().min();
            match due {
                Some(at) if at <= now => (true, None),
                other => (false, other),
            }
        };
        if send {
            self.send_own(now);
            return self.capabilities.own.lock().refresh_at;
        }
        next
    }

    fn capability_message(self: &Arc<Self>, from: &Remote, payload: Vec<u8>) {
        let counters = &self.capabilities.counters;
        bump(&counters.received);
        let (announcement, hops) = match decode(&payload) {
            Ok(decoded) => decoded,
            Err(e) => {
                bump(&counters.rejected);
                self.record(
                    "capability_rejected",
                    serde_json::json!({"from": from.node_id.to_string(), "reason": e.to_string()}),
                );
                return;
            }
        };
        if hops > MAX_CAPABILITY_HOPS {
            bump(&counters.rejected);
            return;
        }
        let origin = announcement.origin.node_id();
        if origin == self.node_id() {
            bump(&counters.duplicates);
            return;
        }
        let now = self.clock.now();
        {
            let mut index = self.capabilities.index.lock();
            if index
                .get(origin)
                .is_some_and(|e| e.version >= announcement.version)
            {
                bump(&counters.duplicates);
                return;
            }
            let subnet = self.caps_config().subnet_policy.assign(&announcement.caps);
            index.upsert(
                origin,
                Arc::new(announcement.caps),
                subnet,
                announcement.version,
                Some(now + announcement.ttl),
            );
        }
        bump(&counters.indexed);
        let mut forward = payload;
        forward[1] = hops.saturating_add(1);
        let forward = Arc::new(forward);
        self.capabilities
            .held
            .lock()
            .insert(origin, forward.clone());
        if hops + 1 > MAX_CAPABILITY_HOPS {
            return;
        }
        for peer in self.capability_peers() {
            if peer != from.node_id && peer != origin && self.send_announcement(peer, &forward) {
                bump(&counters.forwarded);
            }
        }
    }

    /// A new peer hears this node's announcement and every one it holds.
    fn capability_peer_up(self: &Arc<Self>, peer: u64) {
        let own = self.capabilities.own.lock().encoded.clone();
        if let Some(bytes) = own {
            self.send_announcement(peer, &bytes);
        }
        let held: Vec<(u64, Arc<Vec<u8>>)> = self
            .capabilities
            .held
            .lock()
            .iter()
            .map(|(origin, bytes)| (*origin, bytes.clone()))
            .collect();
        for (origin, bytes) in held {
            if origin != peer && bytes[1] <= MAX_CAPABILITY_HOPS {
                self.send_announcement(peer, &bytes);
            }
        }
    }
}
