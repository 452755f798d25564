//! The encrypted mesh: a node on a UDP socket, Noise sessions with peers,
//! streams that are fire-and-forget or reliable.
//!
//! ```no_run
//! use net_sdk::mesh::{Mesh, NetworkKey, StreamConfig};
//! use std::time::Duration;
//!
//! # fn run() -> net_sdk::error::Result<()> {
//! let key = NetworkKey::from_bytes([7; 32]);
//! let a = Mesh::builder(key.clone()).bind("127.0.0.1:0".parse().unwrap()).build()?;
//! let b = Mesh::builder(key).bind("127.0.0.1:0".parse().unwrap()).build()?;
//! let peer = a.connect(b.local_addr()?, &b.public_key())?;
//! let stream = a.open_stream(peer.node_id, 1, StreamConfig::reliable())?;
//! stream.send_blocking(b"hello", None)?;
//! let message = b.recv(Some(Duration::from_secs(1)))?;
//! # Ok(()) }
//! ```

use crate::error::Result;
use crate::Net;
use net_core::capability::{CapabilitySet, Predicate, ScopeFilter};
use net_core::identity::token::{PermissionToken, TokenCache};
use net_core::identity::{Identity, PublicKey};
use net_core::mesh::{MeshConfig, MeshNode};
use net_core::subnet::SubnetId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use net_core::audit::AuditConfig;
pub use net_core::mesh::{
    BusLinkOptions, BusLinkStats, CapabilityConfig, CapabilityStats, ChannelConfig, ChannelMessage,
    ChannelStats, Cipher, Congestion, KnownPeer, LinkDirection, MeshStats, Message, NetworkKey,
    PeerHealth, PeerInfo, PeerStoreConfig, PublishReport, Reliability, RouteInfo, SkipReason,
    StreamConfig, StreamStats, TrustConfig, TrustPolicy, MAX_CHANNEL_PRIORITY,
};

/// Configures a [`Mesh`] node.
#[derive(Debug)]
#[must_use]
pub struct MeshBuilder {
    config: MeshConfig,
    identity: Option<Identity>,
}

impl MeshBuilder {
    /// The address to bind (default `0.0.0.0:0`; port 0 picks a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.config.bind = addr;
        self
    }

    /// The node's identity (default: a fresh one).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// How long `connect` waits for an answer (default 5 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// How long a reliable message waits for its ack before it is resent
    /// (default 200 ms).
    pub fn retransmit_timeout(mut self, timeout: Duration) -> Self {
        self.config.retransmit_timeout = timeout;
        self
    }

    /// Messages held for `recv` (default 65 536).
    pub fn inbox_capacity(mut self, n: usize) -> Self {
        self.config.inbox_capacity = n;
        self
    }

    /// Which peers' keys are accepted: open (the default), TOFU, an
    /// allowlist, and keys pinned at addresses.
    pub fn trust(mut self, trust: TrustConfig) -> Self {
        self.config.trust = trust;
        self
    }

    /// Remembers peers (and TOFU pins) across restarts in a JSON file.
    pub fn peer_store(mut self, store: PeerStoreConfig) -> Self {
        self.config.peer_store = Some(store);
        self
    }

    /// Writes every trust decision to a hash-chained JSONL audit log.
    pub fn audit_log(mut self, log: AuditConfig) -> Self {
        self.config.audit = Some(log);
        self
    }

    /// How often neighbours get beacons (routes and a sign of life; default
    /// 1 s). Three silent intervals make a neighbour suspect, six failed.
    pub fn beacon_interval(mut self, interval: Duration) -> Self {
        self.config.beacon_interval = interval;
        self
    }

    /// The most hops a routed packet may take (default 8).
    pub fn max_hops(mut self, hops: u8) -> Self {
        self.config.max_hops = hops;
        self
    }

    /// How long a session's keys are used before the side that opened it
    /// runs a fresh handshake (default 2 minutes); streams carry on.
    pub fn rekey_interval(mut self, interval: Duration) -> Self {
        self.config.rekey_interval = interval;
        self
    }

    /// How long a session lives without a packet from the peer (default
    /// 30 s; at least three beacon intervals).
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.config.session_timeout = timeout;
        self
    }

    /// This node's subnet, the policy that derives peers' subnets, and how
    /// its capability announcements live and are paced.
    pub fn capabilities(mut self, config: CapabilityConfig) -> Self {
        self.config.capabilities = config;
        self
    }

    /// Binds the socket and starts the node.
    pub fn build(self) -> Result<Mesh> {
        let identity = match self.identity {
            Some(identity) => identity,
            None => Identity::generate()?,
        };
        Ok(Mesh {
            node: MeshNode::bind(identity, self.config)?,
        })
    }
}

/// A running mesh node. Dropping it shuts it down.
#[derive(Debug)]
pub struct Mesh {
    node: MeshNode,
}

/// A stream opened with [`Mesh::open_stream`].
#[derive(Debug, Clone)]
pub struct Stream {
    inner: net_core::mesh::MeshStream,
}

impl Stream {
    /// The peer's node id.
    pub fn peer(&self) -> u64 {
        self.inner.peer()
    }

    /// The stream id.
    pub fn id(&self) -> u64 {
        self.inner.id()
    }

    /// Sends; on a reliable stream with a full window fails at once with
    /// [`SdkError::StreamBackpressure`](crate::SdkError::StreamBackpressure).
    pub fn send(&self, payload: &[u8]) -> Result<()> {
        Ok(self.inner.send(payload)?)
    }

    /// Sends, retrying on backpressure up to `max_retries` more times.
    pub fn send_with_retry(&self, payload: &[u8], max_retries: u32) -> Result<()> {
        Ok(self.inner.send_with_retry(payload, max_retries)?)
    }

    /// Sends, waiting for window room up to `timeout` (`None`: no limit).
    pub fn send_blocking(&self, payload: &[u8], timeout: Option<Duration>) -> Result<()> {
        Ok(self.inner.send_blocking(payload, timeout)?)
    }

    /// The stream's counters.
    pub fn stats(&self) -> StreamStats {
        self.inner.stats()
    }
}

impl Mesh {
    /// A builder around the mesh's network key.
    pub fn builder(network_key: NetworkKey) -> MeshBuilder {
        let any: SocketAddr = SocketAddr::from(([0, 0, 0, 0], 0));
        MeshBuilder {
            config: MeshConfig::new(any, network_key),
            identity: None,
        }
    }

    /// Binds a node from the JSON configuration every language shares
    /// (`network_key`, `bind`, `seed`, `handshake_timeout_ms`, …; see
    /// `net_core::mesh::config`).
    pub fn from_config_json(json: &str) -> Result<Mesh> {
        let (identity, config) = net_core::mesh::parse_node_config(json)?;
        Ok(Mesh {
            node: MeshNode::bind(identity, config)?,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.node.local_addr()?)
    }

    /// This node's public key (give it to peers that connect here).
    pub fn public_key(&self) -> PublicKey {
        self.node.public_key()
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.node.node_id()
    }

    /// Opens a session with the node at `addr` whose public key is `peer`.
    pub fn connect(&self, addr: SocketAddr, peer: &PublicKey) -> Result<PeerInfo> {
        Ok(self.node.connect(addr, peer)?)
    }

    /// [`connect`](Self::connect) that fails with
    /// [`SdkError::Cancelled`](crate::SdkError::Cancelled) as soon as
    /// `cancel` is cancelled (the handshake is abandoned).
    pub fn connect_cancellable(
        &self,
        addr: SocketAddr,
        peer: &PublicKey,
        cancel: &crate::CancelToken,
    ) -> Result<PeerInfo> {
        Ok(self.node.connect_cancellable(addr, peer, cancel)?)
    }

    /// Opens a session through relays with the node whose public key is
    /// `peer` (routes come from neighbours' beacons; see [`routes`](Self::routes)).
    pub fn connect_routed(&self, peer: &PublicKey) -> Result<PeerInfo> {
        Ok(self.node.connect_routed(peer)?)
    }

    /// The best route to each node reachable through relays.
    pub fn routes(&self) -> Vec<RouteInfo> {
        self.node.routes()
    }

    /// Opens a stream to a connected peer.
    pub fn open_stream(
        &self,
        node_id: u64,
        stream_id: u64,
        config: StreamConfig,
    ) -> Result<Stream> {
        Ok(Stream {
            inner: self.node.open_stream(node_id, stream_id, config)?,
        })
    }

    /// Sends on a stream as it was opened (fire-and-forget if never opened).
    pub fn send(&self, node_id: u64, stream_id: u64, payload: &[u8]) -> Result<()> {
        Ok(self.node.send(node_id, stream_id, payload)?)
    }

    /// The next message within `timeout` (`None`: until one comes);
    /// `Ok(None)` on timeout.
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Message>> {
        Ok(self.node.recv(timeout)?)
    }

    /// [`recv`](Self::recv) that fails with
    /// [`SdkError::Cancelled`](crate::SdkError::Cancelled) as soon as
    /// `cancel` is cancelled (nothing is taken then).
    pub fn recv_cancellable(
        &self,
        timeout: Option<Duration>,
        cancel: &crate::CancelToken,
    ) -> Result<Option<Message>> {
        Ok(self.node.recv_cancellable(timeout, cancel)?)
    }

    /// Sends on a stream by ids, waiting for window room up to `timeout`
    /// (`None`: no limit); fails with
    /// [`SdkError::Cancelled`](crate::SdkError::Cancelled) as soon as
    /// `cancel` is cancelled (nothing is sent then).
    pub fn send_blocking_cancellable(
        &self,
        node_id: u64,
        stream_id: u64,
        payload: &[u8],
        timeout: Option<Duration>,
        cancel: &crate::CancelToken,
    ) -> Result<()> {
        Ok(self
            .node
            .send_blocking_cancellable(node_id, stream_id, payload, timeout, cancel)?)
    }

    /// Messages as they arrive, until the node shuts down.
    pub fn incoming(&self) -> impl Iterator<Item = Message> + '_ {
        std::iter::from_fn(move || self.node.recv(None).ok().flatten())
    }

    /// Calls `f` for every message the node receives (each taken from the
    /// inbox, as [`recv`](Self::recv) takes it) on the engine's callback
    /// threads, until the [`Handler`](crate::Handler) is closed or dropped or
    /// the node shuts down; see [`crate::handler`]. `mesh:shutdown` on a
    /// shut-down node.
    pub fn on_message(&self, f: impl FnMut(Message) + Send + 'static) -> Result<crate::Handler> {
        let source = self.node.message_source()?;
        Ok(crate::handler::spawn(source, "mesh message handler", f))
    }

    /// The peers this node has sessions with.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.node.peers()
    }

    /// The node's counters.
    pub fn stats(&self) -> MeshStats {
        self.node.stats()
    }

    /// Tells the mesh what this node can do: `caps` is signed, indexed as
    /// this node's own at once and sent to every peer, which passes it on
    /// (up to 16 hops). Within the configured minimum interval of the last
    /// announcement, the latest set goes out when it is up.
    pub fn announce_capabilities(&self, caps: CapabilitySet) -> Result<()> {
        Ok(self.node.announce_capabilities(caps)?)
    }

    /// The nodes whose announced sets satisfy `predicate` (this node's own
    /// included), ascending; scope tags ignored.
    pub fn find_nodes(&self, predicate: &Predicate) -> Vec<u64> {
        self.node.find_nodes(predicate)
    }

    /// [`find_nodes`](Self::find_nodes) filtered by the providers' scope
    /// tags.
    pub fn find_nodes_scoped(&self, predicate: &Predicate, scope: &ScopeFilter) -> Vec<u64> {
        self.node.find_nodes_scoped(predicate, scope)
    }

    /// The set `node_id` announced (this node's own included), if known.
    pub fn capabilities_of(&self, node_id: u64) -> Option<Arc<CapabilitySet>> {
        self.node.capabilities_of(node_id)
    }

    /// The subnet of `node_id` (this node's configured one for itself).
    pub fn subnet_of(&self, node_id: u64) -> Option<SubnetId> {
        self.node.subnet_of(node_id)
    }

    /// The capability announcement counters.
    pub fn capability_stats(&self) -> CapabilityStats {
        self.node.capability_stats()
    }

    /// Registers a channel this node publishes on, with its rules
    /// (`InvalidChannelConfig` when it is registered already).
    pub fn register_channel(&self, config: ChannelConfig) -> Result<()> {
        Ok(self.node.register_channel(config)?)
    }

    /// Drops a channel and its roster; whether it was registered.
    pub fn unregister_channel(&self, name: &str) -> bool {
        self.node.unregister_channel(name)
    }

    /// The node ids subscribed to a registered channel, ascending.
    pub fn channel_subscribers(&self, name: &str) -> Vec<u64> {
        self.node.channel_subscribers(name)
    }

    /// The token cache subscribers' chains are checked against: trust
    /// roots and revoke tokens there.
    pub fn token_cache(&self) -> Arc<TokenCache> {
        self.node.token_cache()
    }

    /// Asks `publisher` for `pattern` (a channel name, `prefix/*` or
    /// `prefix/**`), presenting `chain` (root grant first), and waits up to
    /// `timeout` for the answer. A refusal is its reason's error
    /// (`UnknownChannel`, `ChannelUnauthorized`, `ChannelRateLimited`,
    /// `ChannelSubnet`).
    pub fn subscribe(
        &self,
        publisher: u64,
        pattern: &str,
        chain: &[PermissionToken],
        timeout: Duration,
    ) -> Result<ChannelSubscription> {
        let inner = self.node.subscribe(publisher, pattern, chain, timeout)?;
        Ok(ChannelSubscription { inner })
    }

    /// Sends `payload` on a registered channel to every subscriber the
    /// auth guard admits.
    pub fn publish(&self, channel: &str, payload: &[u8]) -> Result<PublishReport> {
        Ok(self.node.publish(channel, payload)?)
    }

    /// A typed channel over the mesh: `publish(&value)` on a channel this
    /// node registered, `subscribe(publisher, chain, timeout)` at another
    /// node; values are `T`'s JSON (see [`crate::typed_channel`]).
    /// `InvalidChannelName` for a bad name.
    pub fn channel<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<crate::typed_channel::MeshChannel<'_, T>> {
        crate::typed_channel::MeshChannel::new(self, name)
    }

    /// [`publish`](Self::publish) for several messages, in order.
    pub fn publish_many(&self, channel: &str, payloads: &[&[u8]]) -> Result<PublishReport> {
        Ok(self.node.publish_many(channel, payloads)?)
    }

    /// The channel counters.
    pub fn channel_stats(&self) -> ChannelStats {
        self.node.channel_stats()
    }

    /// The peer store's entries, most recently successful first.
    pub fn known_peers(&self) -> Vec<KnownPeer> {
        self.node.known_peers()
    }

    /// One stream's counters, if it was ever used.
    pub fn stream_stats(&self, node_id: u64, stream_id: u64) -> Option<StreamStats> {
        self.node.stream_stats(node_id, stream_id)
    }

    /// Sends every event emitted on `bus` to the peer `node_id`, where a
    /// receiving link emits them into its own bus. The link consumes `bus`
    /// and frees each batch once the peer acknowledged it (at least once).
    /// Fails with `UnknownPeer` without a session.
    pub fn send_bus(&self, bus: &Net, node_id: u64) -> Result<BusLink> {
        self.link_bus(bus, node_id, BusLinkOptions::new(LinkDirection::Send))
    }

    /// Emits into `bus` every event the peer `node_id` sends with
    /// [`send_bus`](Self::send_bus); `bus.poll` and subscriptions read them.
    pub fn receive_bus(&self, bus: &Net, node_id: u64) -> Result<BusLink> {
        self.link_bus(bus, node_id, BusLinkOptions::new(LinkDirection::Receive))
    }

    /// A link with explicit options (stream id, batch and message sizes).
    pub fn link_bus(&self, bus: &Net, node_id: u64, options: BusLinkOptions) -> Result<BusLink> {
        Ok(BusLink {
            inner: net_core::mesh::BusLink::open(bus.bus(), &self.node, node_id, options)?,
        })
    }

    /// Shuts the node down; blocked calls return `MeshShutdown`. Idempotent.
    pub fn shutdown(&self) {
        self.node.shutdown();
    }
}

/// A running link between a bus and a peer (see [`Mesh::send_bus`]).
/// Dropping it closes it.
#[derive(Debug)]
pub struct BusLink {
    inner: net_core::mesh::BusLink,
}

impl BusLink {
    /// The link's counters.
    pub fn stats(&self) -> BusLinkStats {
        self.inner.stats()
    }

    /// Stops the link: a send link leaves unacknowledged events in its bus,
    /// a receive link first emits what it already received. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }
}

/// A subscription to one publisher's channel (or pattern of channels): a
/// [`Stream`](futures_core::Stream) of [`ChannelMessage`]s (`while let
/// Some(m) = sub.next().await` with `futures::StreamExt`), or
/// [`next_blocking`](Self::next_blocking) from a thread. Dropping or
/// closing it unsubscribes; the stream then ends.
#[derive(Debug)]
pub struct ChannelSubscription {
    inner: net_core::mesh::ChannelSubscription,
}

impl ChannelSubscription {
    pub(crate) fn from_core(inner: net_core::mesh::ChannelSubscription) -> Self {
        ChannelSubscription { inner }
    }

    /// The publisher's node id (0 for a node's local channels).
    pub fn publisher(&self) -> u64 {
        self.inner.publisher()
    }

    /// The channel name or pattern subscribed to.
    pub fn pattern(&self) -> &str {
        self.inner.pattern()
    }

    /// The channels the publisher admitted this node to.
    pub fn accepted(&self) -> &[String] {
        self.inner.accepted()
    }

    /// The next message, blocking the thread up to `timeout` (`None`: until
    /// one comes); `Ok(None)` on timeout.
    pub fn next_blocking(&self, timeout: Option<Duration>) -> Result<Option<ChannelMessage>> {
        Ok(self.inner.next(timeout)?)
    }

    /// [`next_blocking`](Self::next_blocking) that fails with `Cancelled`
    /// as soon as `cancel` is cancelled.
    pub fn next_blocking_cancellable(
        &self,
        timeout: Option<Duration>,
        cancel: &crate::CancelToken,
    ) -> Result<Option<ChannelMessage>> {
        Ok(self.inner.next_cancellable(timeout, cancel)?)
    }

    /// Calls `f` for each message on the engine's callback threads, in
    /// order, until the subscription is closed (or dropped; what was queued
    /// is handed out first) or the [`Handler`](crate::Handler) is closed; see
    /// [`crate::handler`]. A handler and `next` on one subscription share
    /// its messages.
    pub fn on_message(&self, f: impl FnMut(ChannelMessage) + Send + 'static) -> crate::Handler {
        crate::handler::spawn(self.inner.source(), "channel message handler", f)
    }

    /// Unsubscribes (also on drop).
    pub fn close(&self) {
        self.inner.close();
    }
}

impl futures_core::Stream for ChannelSubscription {
    type Item = ChannelMessage;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ChannelMessage>> {
        self.get_mut().inner.poll_next(cx)
    }
}
