//! A mesh node: one UDP socket, the sessions it holds, and the thread that
//! reads it.
//!
//! `connect` runs the initiator side of a handshake (retransmitting the first
//! message until an answer or the deadline); the reader thread answers
//! handshakes from others, opens data packets and hands messages to the
//! inbox, which `recv` drains. A responder's session is *confirmed* once the
//! initiator's first authenticated packet arrives: only then is the peer known
//! to hold the network key (the pre-shared key is proven by the second
//! handshake message, which the responder sends but cannot see read). The
//! responder answers that confirmation, and `connect` returns only once the
//! answer arrived: from then on both sides list the session.

use super::admission::{mac1, mac1_key, Admission, Refusal};
use super::capabilities::CapabilityState;
use super::channels::ChannelState;
use super::conditions::Conditions;
use super::config::MeshConfig;
use super::control;
use super::datagrams::{RecvBatch, RECV_BATCH};
use super::handshake::{respond, Initiator, SessionKeys};
use super::inbox::{Message, MessageSource, Queue};
use super::peer_store::{KnownPeer, PeerStore};
use super::peers::{FirstPacket, NewPeer, Peer, PeerInfo, Peers, Role, Target};
use super::protocol::{self, Op, Protocol, Protocols, Registration, RegistrationHost, Remote};
use super::routing::{RouteInfo, RoutingTable};
use super::session::{Rejected, Session, MAX_DATAGRAM};
use super::stats::{bump, Counters, MeshStats};
use super::stream::{StreamConfig, StreamStats};
use super::streaming::{self, MeshStream, Sink, StreamHost, StreamKey, Streams, Wait};
use super::timer::Timer;
use super::transport::{io_error, shutdown_error, Transport};
use super::trust::{Decision, Trust};
use crate::audit::AuditLog;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Identity, PublicKey};
use crate::time::Clock;
use crate::wire::{classify, NetHeader, PacketFlags, PacketKind, RoutingHeader, HEADER_LEN};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Header `sequence` of a handshake's first message.
const HANDSHAKE_FIRST: u64 = 1;
/// Header `sequence` of a handshake's answer.
const HANDSHAKE_ANSWER: u64 = 2;
/// How long the reader's blocking receive lasts before it looks at
/// `closed` again (shutdown also wakes it at once, with a datagram to itself).
const READER_TICK: Duration = Duration::from_secs(1);
/// How long the reader backs off after an unexpected socket error.
const READER_BACKOFF: Duration = Duration::from_millis(50);
/// How long the reader keeps polling after a datagram before it sleeps.
const READER_POLL: Duration = Duration::from_micros(50);
/// A handshake this node started, run by whoever drives it
/// (`Inner::drive`).
struct Dial {
    session_id: u64,
    target: Target,
    /// The first message, sent again until answered.
    packet: Vec<u8>,
    deadline: Instant,
    next_send: Instant,
    /// The session, once the answer came (its confirmation goes next).
    answered: Option<Arc<Peer>>,
}

/// A connect in progress, from [`MeshNode::start_connect`] or
/// [`MeshNode::start_connect_routed`]: the caller drives it with
/// [`wait`](Self::wait) in steps as long as it likes (a binding that must
/// look at its own interrupts between steps, say), so a connect needs no
/// thread of its own. Dropped unfinished, the handshake is abandoned.
pub struct Connecting {
    inner: Arc<Inner>,
    dial: Dial,
    /// The address of a direct connect (trust and the peer store learn it
    /// once the session is up).
    addr: Option<SocketAddr>,
    key: PublicKey,
    finished: bool,
}

impl std::fmt::Debug for Connecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connecting")
            .field("target", &format_args!("{}", self.dial.target))
            .field("finished", &self.finished)
            .finish()
    }
}

impl Connecting {
    /// Runs the handshake for up to `timeout` (`None`: until it is done).
    /// `Ok(Some(peer))` once the session is up on both sides; `Ok(None)`
    /// when `timeout` passed first (call again); the errors of
    /// [`MeshNode::connect`] otherwise, after which it is finished.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<PeerInfo>> {
        self.step(timeout, None)
    }

    /// [`wait`](Self::wait) that fails with `call:cancelled` (and abandons
    /// the handshake) as soon as `cancel` is cancelled.
    pub fn wait_cancellable(
        &mut self,
        timeout: Option<Duration>,
        cancel: &crate::cancel::CancelToken,
    ) -> Result<Option<PeerInfo>> {
        let inner = Arc::clone(&self.inner);
        let _wake = cancel.on_cancel(move || inner.wake_dials());
        self.step(timeout, Some(cancel))
    }

    /// Drives the handshake to its end.
    fn finish(mut self) -> Result<PeerInfo> {
        self.wait(None)?.ok_or_else(unfinished)
    }

    fn step(
        &mut self,
        timeout: Option<Duration>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> Result<Option<PeerInfo>> {
        if self.finished {
            return Err(Error::new(
                ErrorKind::InvalidMeshArgument,
                "this connect has already finished",
            ));
        }
        let until = crate::time::Deadline::after(timeout).instant();
        let outcome = self.inner.drive(&mut self.dial, until, cancel);
        if matches!(outcome, Ok(None)) {
            return outcome;
        }
        self.finished = true;
        self.inner.abandon(&self.dial);
        let (inner, key) = (&self.inner, self.key);
        match (&outcome, self.addr) {
            (Ok(_), Some(addr)) => {
                inner.trust.learn(addr, key);
                if let Some(store) = &inner.peer_store {
                    store.success(addr, key);
                }
            }
            (Err(e), Some(addr))
                if !matches!(e.kind(), ErrorKind::MeshShutdown | ErrorKind::Cancelled) =>
            {
                if let Some(store) = &inner.peer_store {
                    store.failure(addr);
                }
            }
            _ => {}
        }
        outcome
    }
}

/// What a wait without a time limit cannot return (it never does).
fn unfinished() -> Error {
    Error::new(ErrorKind::MeshTimeout, "the handshake did not finish")
}

impl Drop for Connecting {
    fn drop(&mut self) {
        if !self.finished {
            self.inner.abandon(&self.dial);
        }
    }
}

enum Pending {
    Waiting(Box<Initiator>),
    Done(Result<Arc<Peer>>),
}

pub(super) struct Inner {
    /// The socket (closed by `shutdown`, freeing the port).
    transport: Transport,
    pub(super) identity: Identity,
    /// The gates in front of answering a handshake.
    admission: Admission,
    /// This node's id and origin hash, derived once from its key.
    node_id: u64,
    origin_hash: u32,
    pub(super) config: MeshConfig,
    pub(super) peers: RwLock<Peers>,
    pending: Mutex<HashMap<u64, Pending>>,
    handshake_done: Condvar,
    /// The application's received messages, waiting for `recv`.
    inbox: Arc<Queue>,
    pub(super) counters: Counters,
    pub(super) closed: AtomicBool,
    /// Every stream this node sends or receives on.
    pub(super) streams: Streams,
    /// The protocols registered on this node, by id.
    pub(super) protocols: Protocols,
    /// Capability announcements heard and made (see `capabilities`).
    pub(super) capabilities: CapabilityState,
    /// Channels registered, joined and subscribed to (see `channels`).
    pub(super) channels: ChannelState,
    trust: Trust,
    peer_store: Option<PeerStore>,
    audit: Option<AuditLog>,
    /// First messages refused by the trust policy, by session id, so their
    /// retransmissions are dropped without another key exchange.
    refused: Mutex<HashMap<u64, Instant>>,
    /// Routes learned from neighbours' beacons.
    pub(super) routing: Mutex<RoutingTable>,
    /// When the node started (the origin of `Peer::last_heard_ms`).
    pub(super) started: Instant,
    /// When the next beacons go out.
    pub(super) next_beacon: Mutex<Instant>,
    /// The signal to the node's timer task (see `timer`).
    pub(super) timer: Timer,
    /// When the peer store is next written.
    next_flush: Mutex<Instant>,
    /// The clock the node's own deadlines run on (the system's, but for
    /// tests: see `MeshNode::bind_with_seams`).
    pub(super) clock: Clock,
}

impl crate::time::Wake for Inner {
    fn wake(&self) {
        self.timer.wake();
        self.wake_dials();
    }
}

/// The test seams a node may be bound with
/// ([`MeshNode::bind_with_seams`]): never part of its configuration.
#[cfg(any(test, feature = "test-seams"))]
#[derive(Default)]
pub struct TestSeams {
    /// What happens to its outgoing datagrams (loss, duplication,
    /// reordering); `None`: they go straight to the socket.
    pub conditions: Option<Arc<dyn Conditions>>,
    /// The clock its deadlines run on.
    pub clock: Clock,
}

/// A running mesh node. Dropping it shuts it down.
pub struct MeshNode {
    pub(super) inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for MeshNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshNode")
            .field("node_id", &self.node_id())
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

fn random_session_id() -> Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Error::new(ErrorKind::EntropyUnavailable, e.to_string()))?;
    // Zero is never a session id, so a zeroed header cannot match one.
    Ok(u64::from_le_bytes(bytes).max(1))
}

impl MeshNode {
    /// Binds the socket and starts the reader thread.
    pub fn bind(identity: Identity, config: MeshConfig) -> Result<MeshNode> {
        Self::bind_inner(identity, config, None, Clock::system())
    }

    /// Binds a node with test seams: its outgoing datagrams go through
    /// `seams.conditions` (loss, duplication, reordering: see
    /// [`conditions`](super::conditions)) and its deadlines run on
    /// `seams.clock` (a [`ManualClock`](crate::time::ManualClock)'s paused
    /// time, say). Compiled for this crate's tests and with the
    /// `test-seams` feature, never part of a node's configuration.
    #[cfg(any(test, feature = "test-seams"))]
    pub fn bind_with_seams(
        identity: Identity,
        config: MeshConfig,
        seams: TestSeams,
    ) -> Result<MeshNode> {
        Self::bind_inner(identity, config, seams.conditions, seams.clock)
    }

    fn bind_inner(
        identity: Identity,
        config: MeshConfig,
        conditions: Option<Arc<dyn Conditions>>,
        clock: Clock,
    ) -> Result<MeshNode> {
        config.validate()?;
        let trust = Trust::new(&config.trust);
        let peer_store = config.peer_store.clone().map(PeerStore::open).transpose()?;
        if let Some(store) = &peer_store {
            for known in store.peers() {
                trust.remember(known.addr, known.public_key);
            }
        }
        let audit = config.audit.clone().map(AuditLog::open).transpose()?;
        let transport = Transport::bind(config.bind, READER_TICK, conditions)?;
        let inbox_capacity = config.inbox_capacity;
        let config_caps = config.capabilities.clone();
        let started = clock.now();
        let inner = Arc::new(Inner {
            transport,
            admission: Admission::new(&identity.public_key(), started),
            node_id: identity.node_id(),
            origin_hash: identity.public_key().origin_hash(),
            identity,
            config,
            peers: RwLock::new(Peers::default()),
            pending: Mutex::new(HashMap::new()),
            handshake_done: Condvar::new(),
            inbox: Arc::new(Queue::new(inbox_capacity)),
            counters: Counters::default(),
            closed: AtomicBool::new(false),
            streams: Streams::default(),
            protocols: Protocols::default(),
            capabilities: CapabilityState::new(&config_caps),
            channels: ChannelState::new(),
            trust,
            peer_store,
            audit,
            refused: Mutex::new(HashMap::new()),
            routing: Mutex::new(RoutingTable::default()),
            started,
            next_beacon: Mutex::new(started),
            timer: Timer::new(clock.clone()),
            next_flush: Mutex::new(started),
            clock: clock.clone(),
        });
        let wake: Arc<dyn crate::time::Wake> = inner.clone();
        clock.on_advance(Arc::downgrade(&wake));
        inner.install_capabilities()?;
        inner.install_channels()?;
        let node = MeshNode {
            inner,
            threads: Mutex::new(Vec::new()),
        };
        node.spawn("net-mesh-reader", Inner::read_loop)?;
        node.start_timer()?;
        if let Err(e) = node.inner.start_pack_flusher() {
            node.shutdown();
            return Err(io_error("start the runtime", e));
        }
        Ok(node)
    }

    /// Starts the node's timer task on the engine's runtime.
    fn start_timer(&self) -> Result<()> {
        /// Owned by the task: marks the timer finished however the task
        /// ends (also when the runtime drops it unpolled).
        struct Task(Arc<Inner>);
        impl Drop for Task {
            fn drop(&mut self) {
                self.0.timer.finish();
            }
        }
        let task = Task(self.inner.clone());
        let spawned = crate::runtime::spawn(async move {
            let inner = &task.0;
            inner
                .timer
                .run(
                    || inner.closed.load(Ordering::Acquire),
                    |now| inner.timer_round(now),
                )
                .await;
        });
        if let Err(e) = spawned {
            self.shutdown();
            return Err(io_error("start the runtime", e));
        }
        Ok(())
    }

    fn spawn(&self, name: &str, body: fn(&Arc<Inner>)) -> Result<()> {
        let inner = self.inner.clone();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(&inner))
            .map_err(|e| {
                self.shutdown();
                io_error("spawn thread", e)
            })?;
        self.threads.lock().push(handle);
        Ok(())
    }

    /// The bound address (with the real port when 0 was asked for).
    /// `mesh:shutdown` once the node is shut down (the port is free again).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.inner.transport.local_addr()
    }

    /// The socket's receive buffer as the kernel granted it: how much a
    /// burst of datagrams may hold before the kernel drops some.
    pub fn recv_buffer_size(&self) -> usize {
        self.inner.transport.recv_buffer()
    }

    /// This node's public key.
    pub fn public_key(&self) -> PublicKey {
        self.inner.identity.public_key()
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.inner.node_id
    }

    /// Opens a session with the node at `addr` whose public key is `peer`.
    /// Fails with `mesh:handshake_failed` (another network key, another
    /// identity at that address) or `mesh:timeout` (no answer).
    pub fn connect(&self, addr: SocketAddr, peer: &PublicKey) -> Result<PeerInfo> {
        self.start_connect(addr, peer)?.finish()
    }

    /// [`connect`](Self::connect) that fails with `call:cancelled` as soon
    /// as `cancel` is cancelled (the handshake is abandoned).
    pub fn connect_cancellable(
        &self,
        addr: SocketAddr,
        peer: &PublicKey,
        cancel: &crate::cancel::CancelToken,
    ) -> Result<PeerInfo> {
        cancel.check()?;
        let mut connecting = self.start_connect(addr, peer)?;
        connecting
            .wait_cancellable(None, cancel)?
            .ok_or_else(unfinished)
    }

    /// Starts a [`connect`](Self::connect) for the caller to drive with
    /// [`Connecting::wait`]. Fails at once as `connect` would before its
    /// handshake (shutdown, oneself, the trust policy).
    pub fn start_connect(&self, addr: SocketAddr, peer: &PublicKey) -> Result<Connecting> {
        self.inner.check_open()?;
        self.refuse_self(Some(addr), peer)?;
        if let Decision::Reject(reason) = self.inner.judge("initiator", Some(addr), peer) {
            return Err(Error::new(
                ErrorKind::UntrustedPeer,
                format!("{addr} with key {}: {reason}", hex::encode(peer.as_bytes())),
            ));
        }
        self.connecting(Target::Direct(addr), Some(addr), peer)
    }

    fn connecting(
        &self,
        target: Target,
        addr: Option<SocketAddr>,
        peer: &PublicKey,
    ) -> Result<Connecting> {
        Ok(Connecting {
            inner: self.inner.clone(),
            dial: self.inner.dial(target, peer)?,
            addr,
            key: *peer,
            finished: false,
        })
    }

    /// A node cannot hold a session with itself: refused at once with
    /// `mesh:invalid_argument` (by its own key, or by its own address)
    /// rather than after a handshake timeout.
    fn refuse_self(&self, addr: Option<SocketAddr>, peer: &PublicKey) -> Result<()> {
        let refuse = |why: String| Err(Error::new(ErrorKind::InvalidMeshArgument, why));
        if *peer == self.public_key() {
            return refuse("cannot connect a node to itself (that is its own key)".into());
        }
        if let (Some(addr), Ok(local)) = (addr, self.local_addr()) {
            let same_host = addr.ip() == local.ip()
                || (local.ip().is_unspecified()
                    && (addr.ip().is_loopback() || addr.ip().is_unspecified()));
            if addr.port() == local.port() && same_host {
                return refuse(format!(
                    "cannot connect a node to itself ({addr} is its own address)"
                ));
            }
        }
        Ok(())
    }

    /// Opens a session with a node this one has no direct path to, through
    /// the relays of the routing table (routes come from neighbours'
    /// beacons; see [`routes`](Self::routes)). The relays forward the
    /// handshake and every later packet on the routing header alone: they
    /// never hold this session's keys. Fails with `mesh:unknown_peer` when
    /// there is no route, and as `connect` otherwise.
    pub fn connect_routed(&self, peer: &PublicKey) -> Result<PeerInfo> {
        self.start_connect_routed(peer)?.finish()
    }

    /// Starts a [`connect_routed`](Self::connect_routed) for the caller to
    /// drive with [`Connecting::wait`].
    pub fn start_connect_routed(&self, peer: &PublicKey) -> Result<Connecting> {
        self.inner.check_open()?;
        self.refuse_self(None, peer)?;
        if let Decision::Reject(reason) = self.inner.judge("initiator", None, peer) {
            return Err(Error::new(
                ErrorKind::UntrustedPeer,
                format!("key {}: {reason}", hex::encode(peer.as_bytes())),
            ));
        }
        self.inner.next_hop(peer.node_id())?;
        self.connecting(Target::Routed(peer.node_id()), None, peer)
    }

    /// The best route to every node this one can reach through relays.
    pub fn routes(&self) -> Vec<RouteInfo> {
        self.inner.best_routes()
    }

    /// The next message, waiting up to `timeout` (`None`: until one comes).
    /// `Ok(None)` on timeout; `mesh:shutdown` once the node is shut down and
    /// the inbox is empty.
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Message>> {
        self.inner.inbox.pop(timeout)
    }

    /// [`recv`](Self::recv) that fails with `call:cancelled` as soon as
    /// `cancel` is cancelled (from any thread; a token cancelled before the
    /// call fails it at once, unless a message is already waiting).
    pub fn recv_cancellable(
        &self,
        timeout: Option<Duration>,
        cancel: &crate::cancel::CancelToken,
    ) -> Result<Option<Message>> {
        let inbox = Arc::clone(&self.inner.inbox);
        let _wake = cancel.on_cancel(move || inbox.wake_all());
        self.inner.inbox.pop_cancellable(timeout, Some(cancel))
    }

    /// The inbox as a push source: `net_core::push::spawn(node.message_source()?,
    /// handler, ..)` calls `handler` for every message [`recv`](Self::recv)
    /// would have returned. `mesh:shutdown` once the node is shut down.
    pub fn message_source(&self) -> Result<MessageSource> {
        self.inner.check_open()?;
        Ok(MessageSource::new(self.inner.inbox.clone()))
    }

    /// The peers this node holds sessions with.
    pub fn peers(&self) -> Vec<PeerInfo> {
        let peers = self.inner.peers.read();
        let mut list: Vec<PeerInfo> = peers.by_node.values().map(|p| p.info()).collect();
        list.sort_by_key(|p| p.node_id);
        list
    }

    /// The node's counters.
    pub fn stats(&self) -> MeshStats {
        self.inner.counters.snapshot()
    }

    /// The peers in the peer store, most recently successful first (empty
    /// without a store).
    pub fn known_peers(&self) -> Vec<KnownPeer> {
        self.inner
            .peer_store
            .as_ref()
            .map(PeerStore::peers)
            .unwrap_or_default()
    }

    /// Stops the reader, wakes every waiter and closes the socket. Messages
    /// already in the inbox can still be received. Idempotent.
    pub fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::Release);
        // Wakes the timer and the pack flusher, so they see `closed` now.
        self.inner.timer.wake();
        self.inner.channels.flusher.notify_one();
        {
            let _pending = self.inner.pending.lock();
            self.inner.handshake_done.notify_all();
        }
        self.inner.inbox.close();
        self.inner.streams.wake_waiters();
        self.inner.transport.wake_reader();
        let threads = std::mem::take(&mut *self.threads.lock());
        for thread in threads {
            let _ = thread.join();
        }
        self.inner.timer.wait_finished();
        // With the reader and the timer gone, no protocol is called from
        // them any more: each hears its peers go, then that the node is
        // shutting down, and the table lets go of them.
        let protocols = self.inner.protocols.clear();
        let peers: Vec<u64> = {
            let mut ids: Vec<u64> = self.inner.peers.read().by_node.keys().copied().collect();
            ids.sort_unstable();
            ids
        };
        for protocol in &protocols {
            for &node_id in &peers {
                protocol.on_peer_down(node_id);
            }
            protocol.on_shutdown();
        }
        if let Some(store) = &self.inner.peer_store {
            // Nothing to report the failure to at shutdown; the next
            // periodic flush of a later run writes the store again.
            let _ = store.flush();
        }
        // With the threads gone, nothing else holds the socket: closing it
        // frees the port at once, not when the last handle is dropped.
        self.inner.transport.close();
    }
}

/// Streams: the application's (protocol [`APP`](protocol::APP)) by peer
/// and stream id, and any protocol's through the `_in` variants.
impl MeshNode {
    /// Opens stream `stream_id` to a connected peer. Opening it again with
    /// the same config returns the same stream; with another config fails
    /// with `mesh:invalid_config`. Streams not opened are fire-and-forget.
    pub fn open_stream(
        &self,
        node_id: u64,
        stream_id: u64,
        config: StreamConfig,
    ) -> Result<MeshStream> {
        self.open_stream_in(protocol::APP, node_id, stream_id, config)
    }

    /// [`open_stream`](Self::open_stream) in `protocol`'s namespace: its
    /// packets carry the protocol id, and the peer hands its messages to the
    /// protocol registered there (see [`protocol`]).
    pub fn open_stream_in(
        &self,
        protocol: u16,
        node_id: u64,
        stream_id: u64,
        config: StreamConfig,
    ) -> Result<MeshStream> {
        self.inner.check_open()?;
        config.validate()?;
        self.inner.peer(node_id)?;
        let key = StreamKey {
            peer: node_id,
            protocol,
            stream: stream_id,
        };
        let state = self.inner.streams.open(key, config)?;
        Ok(MeshStream::new(self.inner.clone(), state))
    }

    /// Sends `payload` to a connected peer on `stream_id`, as the stream was
    /// opened (fire-and-forget if it never was). A reliable stream with a
    /// full window fails at once with `mesh:backpressure`.
    pub fn send(&self, node_id: u64, stream_id: u64, payload: &[u8]) -> Result<()> {
        self.send_in(protocol::APP, node_id, stream_id, payload)
    }

    /// [`send`](Self::send) on a stream of `protocol`.
    pub fn send_in(
        &self,
        protocol: u16,
        node_id: u64,
        stream_id: u64,
        payload: &[u8],
    ) -> Result<()> {
        let state = self.inner.stream(protocol, node_id, stream_id)?;
        streaming::send_on(&*self.inner, &state, payload, Wait::Never, None)
    }

    /// [`MeshStream::send_with_retry`] by peer and stream id.
    pub fn send_with_retry(
        &self,
        node_id: u64,
        stream_id: u64,
        payload: &[u8],
        max_retries: u32,
    ) -> Result<()> {
        let state = self.inner.stream(protocol::APP, node_id, stream_id)?;
        let wait = Wait::Retries(max_retries);
        streaming::send_on(&*self.inner, &state, payload, wait, None)
    }

    /// [`MeshStream::send_blocking`] by peer and stream id.
    pub fn send_blocking(
        &self,
        node_id: u64,
        stream_id: u64,
        payload: &[u8],
        timeout: Option<Duration>,
    ) -> Result<()> {
        let state = self.inner.stream(protocol::APP, node_id, stream_id)?;
        let deadline = crate::time::Deadline::after(timeout).instant();
        streaming::send_on(&*self.inner, &state, payload, Wait::Until(deadline), None)
    }

    /// [`send_blocking`](Self::send_blocking) that fails with
    /// `call:cancelled` as soon as `cancel` is cancelled (nothing is sent
    /// then).
    pub fn send_blocking_cancellable(
        &self,
        node_id: u64,
        stream_id: u64,
        payload: &[u8],
        timeout: Option<Duration>,
        cancel: &crate::cancel::CancelToken,
    ) -> Result<()> {
        cancel.check()?;
        let state = self.inner.stream(protocol::APP, node_id, stream_id)?;
        let deadline = crate::time::Deadline::after(timeout).instant();
        let waiting = Arc::clone(&state);
        let _wake = cancel.on_cancel(move || streaming::wake_senders(&waiting));
        let wait = Wait::Until(deadline);
        streaming::send_on(&*self.inner, &state, payload, wait, Some(cancel))
    }

    /// The counters of one stream with one peer, or `None` if nothing was
    /// ever sent or received on it.
    pub fn stream_stats(&self, node_id: u64, stream_id: u64) -> Option<StreamStats> {
        self.stream_stats_in(protocol::APP, node_id, stream_id)
    }

    /// [`stream_stats`](Self::stream_stats) of a stream of `protocol`.
    pub fn stream_stats_in(
        &self,
        protocol: u16,
        node_id: u64,
        stream_id: u64,
    ) -> Option<StreamStats> {
        self.inner.streams.stats(&StreamKey {
            peer: node_id,
            protocol,
            stream: stream_id,
        })
    }
}

/// Protocols: the seam layers above the mesh plug into (see [`protocol`]).
impl MeshNode {
    /// Registers an application's protocol under `id` (`0x1000` and up;
    /// lower ids are Net's own: `mesh:invalid_argument`). The node calls
    /// `protocol` for every message peers send under `id` until the
    /// returned registration is dropped or closed. `mesh:invalid_config`
    /// when the id is taken, `mesh:shutdown` once the node shut down.
    pub fn register_protocol(&self, id: u16, protocol: Arc<dyn Protocol>) -> Result<Registration> {
        protocol::check_application_id(id)?;
        self.register(id, protocol)
    }

    /// Registers one of Net's own layers (any id but
    /// [`APP`](protocol::APP)).
    pub(crate) fn register(&self, id: u16, protocol: Arc<dyn Protocol>) -> Result<Registration> {
        self.inner.check_open()?;
        if id == protocol::APP {
            return Err(Error::new(
                ErrorKind::InvalidMeshArgument,
                "protocol 0 is the application's own streams",
            ));
        }
        self.inner.protocols.insert(id, protocol)?;
        let host: Arc<dyn RegistrationHost> = self.inner.clone();
        let registration = Registration::new(id, Arc::downgrade(&host));
        // Registered after shutdown cleared the table: take it back out.
        if self.inner.check_open().is_err() {
            self.inner.protocols.remove(id);
            return Err(shutdown_error());
        }
        Ok(registration)
    }

    /// The `P` registered under `id` on this node, registering `make()`
    /// first if the id is free: how a layer keeps one instance per node
    /// (the bus link's demultiplexer is one). It stays registered until the
    /// node shuts down. `mesh:invalid_config` if another type holds the id.
    pub(crate) fn protocol_instance<P: Protocol>(
        &self,
        id: u16,
        make: impl FnOnce() -> P,
    ) -> Result<Arc<P>> {
        self.inner.check_open()?;
        let instance = self.inner.protocols.instance(id, make)?;
        if self.inner.check_open().is_err() {
            self.inner.protocols.remove(id);
            return Err(shutdown_error());
        }
        Ok(instance)
    }

    /// How many messages a queue of received messages holds at most.
    pub(crate) fn inbox_capacity(&self) -> usize {
        self.inner.config.inbox_capacity
    }

    /// The ids of the protocols registered now, in order.
    pub fn protocols(&self) -> Vec<u16> {
        self.inner.protocols.ids()
    }
}

impl Drop for MeshNode {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    pub(super) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(shutdown_error());
        }
        Ok(())
    }

    /// Runs the initiator's side of a handshake with `peer` at `target`:
    /// the first message resent until the answer (or the deadline), then
    /// the confirmation resent until the responder answers it.
    pub(super) fn handshake(&self, target: Target, peer: &PublicKey) -> Result<PeerInfo> {
        let mut dial = self.dial(target, peer)?;
        let outcome = self.drive(&mut dial, None, None);
        self.abandon(&dial);
        outcome?.ok_or_else(|| {
            Error::new(
                ErrorKind::MeshTimeout,
                format!("no session with {target} in time"),
            )
        })
    }

    /// Starts the initiator's side of a handshake with `peer` at `target`;
    /// [`drive`](Self::drive) runs it.
    fn dial(&self, target: Target, peer: &PublicKey) -> Result<Dial> {
        let session_id = random_session_id()?;
        let (initiator, mut first) =
            Initiator::start(&self.identity, peer, &self.config.network_key)?;
        first.extend_from_slice(&mac1(&mac1_key(peer), session_id, &first));
        let packet = self.handshake_packet(session_id, HANDSHAKE_FIRST, &first);
        self.pending
            .lock()
            .insert(session_id, Pending::Waiting(Box::new(initiator)));
        let now = self.clock.now();
        Ok(Dial {
            session_id,
            target,
            packet,
            deadline: now + self.config.handshake_timeout,
            next_send: now,
            answered: None,
        })
    }

    /// Runs a handshake until it is done (`Ok(Some)`), fails, or `until`
    /// passes first (`Ok(None)`: call again to go on). The first message is
    /// resent until the answer, then the confirmation until the responder
    /// answers it (either packet may be lost): when it returns a peer, both
    /// sides list the session and either may send.
    fn drive(
        &self,
        dial: &mut Dial,
        until: Option<Instant>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> Result<Option<PeerInfo>> {
        let target = dial.target;
        let mut pending = self.pending.lock();
        loop {
            if dial.answered.is_none() {
                if let Some(Pending::Done(_)) = pending.get(&dial.session_id) {
                    if let Some(Pending::Done(done)) = pending.remove(&dial.session_id) {
                        dial.answered = Some(done?);
                        dial.next_send = self.clock.now();
                    }
                }
            }
            if let Some(peer) = &dial.answered {
                if peer.heard() {
                    return Ok(Some(peer.info()));
                }
            }
            self.check_open()?;
            if let Some(cancel) = cancel {
                cancel.check()?;
            }
            let now = self.clock.now();
            if now >= dial.deadline {
                return Err(Error::new(
                    ErrorKind::MeshTimeout,
                    match dial.answered {
                        None => format!(
                            "no handshake answer from {target} within {:?}",
                            self.config.handshake_timeout
                        ),
                        Some(_) => format!("{target} did not confirm the session in time"),
                    },
                ));
            }
            // `until` is the caller's, in real time.
            if until.is_some_and(|until| Instant::now() >= until) {
                return Ok(None);
            }
            if now >= dial.next_send {
                match &dial.answered {
                    None => self.send_to_target(&dial.packet, target)?,
                    Some(peer) => self.send_sealed(
                        peer,
                        protocol::APP,
                        control::CONFIRM,
                        PacketFlags::CONTROL,
                        0,
                        &[],
                    )?,
                }
                dial.next_send = now + self.config.handshake_retry;
            }
            // A manual clock wakes the wait when it is advanced.
            let wake = match (self.clock.real(dial.next_send.min(dial.deadline)), until) {
                (Some(at), Some(until)) => Some(at.min(until)),
                (at, until) => at.or(until),
            };
            match wake {
                Some(wake) => {
                    self.handshake_done.wait_until(&mut pending, wake);
                }
                None => self.handshake_done.wait(&mut pending),
            }
        }
    }

    /// Forgets a handshake nobody drives any more (done, failed or dropped).
    fn abandon(&self, dial: &Dial) {
        if dial.answered.is_none() {
            self.pending.lock().remove(&dial.session_id);
        }
    }

    /// How many handshakes this node has started and not finished.
    #[cfg(test)]
    pub(super) fn dials_pending(&self) -> usize {
        self.pending.lock().len()
    }

    /// Wakes every `drive` (a cancelled wait, or shutdown).
    fn wake_dials(&self) {
        let _pending = self.pending.lock();
        self.handshake_done.notify_all();
    }

    pub(super) fn peer(&self, node_id: u64) -> Result<Arc<Peer>> {
        self.peers
            .read()
            .by_node
            .get(&node_id)
            .cloned()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::UnknownPeer,
                    format!("no session with node {node_id:016x}"),
                )
            })
    }

    fn base_header(&self) -> NetHeader {
        let mut header = NetHeader::new();
        header.hop_ttl = 1;
        header.origin_hash = self.origin_hash;
        header
    }

    pub(super) fn node_id(&self) -> u64 {
        self.node_id
    }

    /// A routing header from this node to `dest`, with the full hop budget.
    pub(super) fn routing_header(&self, dest: u64) -> RoutingHeader {
        RoutingHeader {
            ttl: self.config.max_hops,
            hop_count: 0,
            flags: Default::default(),
            src_id: RoutingHeader::routing_id(self.node_id),
            dest_id: dest,
        }
    }

    fn handshake_packet(&self, session_id: u64, step: u64, message: &[u8]) -> Vec<u8> {
        let mut header = self.base_header();
        header.flags = PacketFlags(PacketFlags::HANDSHAKE);
        header.session_id = session_id;
        header.sequence = step;
        header.payload_len = message.len() as u16;
        let mut packet = Vec::with_capacity(HEADER_LEN + message.len());
        packet.extend_from_slice(&header.encode());
        packet.extend_from_slice(message);
        packet
    }

    pub(super) fn send_datagram(&self, packet: &[u8], addr: SocketAddr) -> Result<()> {
        self.transport.send_raw(packet, addr, &self.counters)
    }

    /// Seals and sends one packet to `peer` under `protocol`. `sequence` is
    /// the stream sequence of a reliable message (0 otherwise).
    /// Holds this thread's sends until the guard drops, then sends them
    /// together (see [`Transport::cork`]).
    pub(super) fn cork(&self) -> super::transport::Cork<'_> {
        self.transport.cork(&self.counters)
    }

    pub(super) fn send_sealed(
        &self,
        peer: &Peer,
        protocol: u16,
        stream_id: u64,
        flags: u8,
        sequence: u64,
        payload: &[u8],
    ) -> Result<()> {
        thread_local! {
            static PACKET: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let mut header = self.base_header();
        header.flags = PacketFlags(flags);
        header.subprotocol_id = protocol;
        header.stream_id = stream_id;
        header.sequence = sequence;
        let dest = peer.node_id;
        let to = if peer.routed {
            self.next_hop(dest)?
        } else {
            peer.addr
        };
        PACKET.with(|cell| {
            let mut own = Vec::new();
            let mut guard = cell.try_borrow_mut();
            let packet = match guard.as_mut() {
                Ok(p) => &mut **p,
                Err(_) => &mut own,
            };
            packet.clear();
            if peer.routed {
                packet.extend_from_slice(&self.routing_header(dest).encode());
            }
            peer.session.seal(&mut header, payload, packet)?;
            let control = flags & PacketFlags::CONTROL != 0;
            self.transport.send(packet, to, control, &self.counters)
        })
    }

    fn read_loop(self: &Arc<Self>) {
        let mut batch = RecvBatch::new(RECV_BATCH, MAX_DATAGRAM + 1);
        // After traffic the reader polls for a moment before it sleeps: a
        // sleeping reader costs every sender a wake-up (the largest single
        // cost on loopback), and datagrams come in runs. It yields between
        // polls, so other threads (other nodes' readers on a small machine)
        // still get the core.
        let mut poll_until = Instant::now();
        while !self.closed.load(Ordering::Acquire) {
            let wait = Instant::now() >= poll_until;
            // The lock is released before handling: answers send on the
            // socket too, and `shutdown` waits for this loop to end.
            let Some(received) = self.transport.recv(&mut batch, wait) else {
                break;
            };
            match received {
                Ok(count) => {
                    poll_until = Instant::now() + READER_POLL;
                    for index in 0..count {
                        // Shutdown's wake-up datagram, or traffic after it.
                        if self.closed.load(Ordering::Acquire) {
                            break;
                        }
                        if let Some((datagram, from)) = batch.datagram(index) {
                            bump(&self.counters.packets_received);
                            self.handle(datagram, from);
                        }
                    }
                }
                Err(e) if !wait && e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::yield_now();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                            // An ICMP "port unreachable" for an earlier send.
                            | std::io::ErrorKind::ConnectionRefused
                    ) => {}
                Err(_) => std::thread::sleep(READER_BACKOFF),
            }
        }
    }

    /// One round of the timer: does what is due at `now` (acks and resends,
    /// half-open sessions, beacons and neighbours' health, rekeys and
    /// expiry, the peer store) and returns when the next thing is due.
    fn timer_round(self: &Arc<Self>, now: Instant) -> Instant {
        let mut next = now + super::timer::MAX_SLEEP;
        next = next.min(self.expire_half_open(now));
        if let Some(due) = self.streams.timers(self.as_ref(), now) {
            next = next.min(due);
        }
        next = next.min(self.relay_timers(now));
        next = next.min(self.session_timers(now));
        if let Some(store_due) = self.flush_peer_store(now) {
            next = next.min(store_due);
        }
        if let Some(due) = self.capability_timers(now) {
            next = next.min(due);
        }
        if let Some(due) = self.channel_timers(now) {
            next = next.min(due);
        }
        next
    }

    /// Writes the peer store when its interval is up (on the runtime's
    /// blocking pool: a file write must not hold a worker). When it is next
    /// due; `None` without a store.
    fn flush_peer_store(self: &Arc<Self>, now: Instant) -> Option<Instant> {
        let store = self.peer_store.as_ref()?;
        let mut next = self.next_flush.lock();
        if now >= *next {
            if *next != self.started {
                let inner = self.clone();
                let _ = crate::runtime::spawn_blocking(move || {
                    if let Some(store) = &inner.peer_store {
                        let _ = store.flush();
                    }
                });
            }
            *next = now + store.flush_interval();
        }
        Some(*next)
    }

    /// Applies the trust policy to `key` at `addr`: counts the decision and
    /// writes it to the audit log.
    fn judge(&self, side: &str, addr: Option<SocketAddr>, key: &PublicKey) -> Decision {
        let decision = self.trust.evaluate(addr, key);
        let (verdict, reason) = match decision {
            Decision::Accept(reason) => {
                bump(&self.counters.trust_accepted);
                ("accept", reason)
            }
            Decision::Reject(reason) => {
                bump(&self.counters.trust_rejected);
                ("reject", reason)
            }
        };
        self.record(
            "trust_decision",
            serde_json::json!({
                    "side": side,
                    "addr": addr.map(|a| a.to_string()),
                    "node_id": key.node_id().to_string(),
                    "public_key": hex::encode(key.as_bytes()),
                    "policy": self.trust.policy().as_str(),
                    "decision": verdict,
                    "reason": reason,
            }),
        );
        decision
    }

    /// Writes an event to the audit log, if there is one. A failed write
    /// has nowhere better to go: the decision it records was counted.
    pub(super) fn record(&self, kind: &str, fields: serde_json::Value) {
        if let Some(audit) = &self.audit {
            let _ = audit.record(kind, fields);
        }
    }

    fn handle(&self, datagram: &mut [u8], from: SocketAddr) {
        match classify(datagram) {
            Ok(PacketKind::Direct) => self.handle_direct(datagram, from, None),
            Ok(PacketKind::Routed) => self.on_routed(datagram, from),
            Err(_) => bump(&self.counters.dropped_malformed),
        }
    }

    /// Handles a Net packet. `links` is how many links it crossed when it
    /// came through relays (`from` is then the last relay), `None` when it
    /// came straight from its sender.
    pub(super) fn handle_direct(&self, datagram: &mut [u8], from: SocketAddr, links: Option<u8>) {
        let routed = links.is_some();
        let header = match NetHeader::decode_packet(datagram) {
            Ok((header, _)) => header,
            Err(_) => return bump(&self.counters.dropped_malformed),
        };
        let body = &mut datagram[HEADER_LEN..];
        if header.flags.contains(PacketFlags::HANDSHAKE) {
            match header.sequence {
                HANDSHAKE_FIRST => self.answer_handshake(&header, body, from, links),
                HANDSHAKE_ANSWER => self.finish_handshake(&header, body, from, routed),
                _ => bump(&self.counters.dropped_malformed),
            }
        } else if header.flags.contains(PacketFlags::ENCRYPTED) {
            self.open_data(&header, body, from, links);
        } else {
            bump(&self.counters.dropped_malformed);
        }
    }

    fn answer_handshake(
        &self,
        header: &NetHeader,
        first: &[u8],
        from: SocketAddr,
        links: Option<u8>,
    ) {
        let routed = links.is_some();
        // A repeated first message (our answer was lost): answer again.
        if let Some(peer) = self.peers.read().by_session.get(&header.session_id) {
            if let Some(answer) = peer.pending_answer() {
                if peer.addr == from {
                    let packet = self.handshake_packet(header.session_id, HANDSHAKE_ANSWER, answer);
                    let _ = self.send_to_target(&packet, peer.target());
                }
            }
            return;
        }
        if self.refused.lock().contains_key(&header.session_id) {
            return;
        }
        let first = match self
            .admission
            .admit(header.session_id, first, self.clock.now())
        {
            Ok(message) => message,
            Err(Refusal::BadMac) => return bump(&self.counters.handshakes_failed),
            Err(Refusal::Throttled) => return bump(&self.counters.handshakes_throttled),
        };
        let (public_key, answer, keys) =
            match respond(&self.identity, &self.config.network_key, first) {
                Ok(done) => done,
                Err(_) => return bump(&self.counters.handshakes_failed),
            };
        // The key is proven; whether it is welcome is the policy's call. A
        // refused peer gets no answer (and learns nothing).
        // A routed peer's address is its last relay's: nothing to pin there.
        let seen_at = (!routed).then_some(from);
        if let Decision::Reject(_) = self.judge("responder", seen_at, &public_key) {
            let now = self.clock.now();
            self.refused.lock().insert(header.session_id, now);
            self.timer.due(now + self.config.handshake_timeout);
            return;
        }
        let packet = self.handshake_packet(header.session_id, HANDSHAKE_ANSWER, &answer);
        let peer = match self.new_peer(
            header.session_id,
            public_key,
            from,
            &keys,
            Role::Responder { answer },
            routed,
        ) {
            Ok(peer) => peer,
            Err(_) => return bump(&self.counters.handshakes_failed),
        };
        // The answer goes back the way the first message came, even before
        // beacons have taught this node a route to the initiator.
        if let Some(links) = links {
            self.learn_reverse_route(peer.node_id, from, links);
        }
        let target = peer.target();
        self.peers.write().hold_unconfirmed(peer);
        bump(&self.counters.handshakes_completed);
        let _ = self.send_to_target(&packet, target);
    }

    fn finish_handshake(&self, header: &NetHeader, answer: &[u8], from: SocketAddr, routed: bool) {
        let mut pending = self.pending.lock();
        let initiator = match pending.remove(&header.session_id) {
            Some(Pending::Waiting(initiator)) => initiator,
            Some(done) => {
                // A late duplicate answer; the first one already decided.
                pending.insert(header.session_id, done);
                return;
            }
            None => return bump(&self.counters.dropped_unknown_session),
        };
        let public_key = *initiator.peer();
        let outcome = initiator.finish(answer).and_then(|keys| {
            let peer = self.new_peer(
                header.session_id,
                public_key,
                from,
                &keys,
                Role::Initiator,
                routed,
            )?;
            if self.peers.write().promote(peer.clone(), self.clock.now()) {
                bump(&self.counters.sessions_rekeyed);
                self.timer
                    .due(self.clock.now() + self.config.handshake_timeout);
            } else {
                // News to the protocols once the responder is heard.
                peer.announce.store(true, Ordering::Release);
            }
            Ok(peer)
        });
        match &outcome {
            Ok(_) => bump(&self.counters.handshakes_completed),
            Err(_) => bump(&self.counters.handshakes_failed),
        }
        pending.insert(header.session_id, Pending::Done(outcome));
        self.handshake_done.notify_all();
    }

    fn new_peer(
        &self,
        session_id: u64,
        public_key: PublicKey,
        addr: SocketAddr,
        keys: &SessionKeys,
        role: Role,
        routed: bool,
    ) -> Result<Arc<Peer>> {
        let now_ms = self.now_ms();
        let now = self.clock.now();
        // Its deadlines, for the timer: half open (a responder's) until
        // the handshake timeout, rekeyed (an initiator's), expired if silent,
        // and the grace of the session it may replace.
        let first_due = match role {
            Role::Responder { .. } => now + self.config.handshake_timeout,
            Role::Initiator => now + self.config.rekey_interval,
        };
        let peer = Peer::new(NewPeer {
            public_key,
            addr,
            session: Session::new(session_id, keys)?,
            role,
            routed,
            now_ms,
            now,
            rekey_at_ms: now_ms + self.config.rekey_interval.as_millis() as u64,
        });
        self.timer
            .due(first_due.min(now + self.config.session_timeout));
        Ok(Arc::new(peer))
    }

    fn open_data(&self, header: &NetHeader, body: &mut [u8], from: SocketAddr, links: Option<u8>) {
        let peer = match self.peers.read().by_session.get(&header.session_id) {
            Some(peer) => peer.clone(),
            None => return bump(&self.counters.dropped_unknown_session),
        };
        let len = match peer.session.open(header, body) {
            Ok(len) => len,
            Err(Rejected::Tampered) => return bump(&self.counters.dropped_tampered),
            Err(Rejected::Replayed) => return bump(&self.counters.dropped_replayed),
        };
        peer.last_heard_ms.store(self.now_ms(), Ordering::Relaxed);
        match peer.first_packet() {
            FirstPacket::No => {}
            FirstPacket::InitiatorHeard => {
                // The responder's confirmation: wake the `connect` waiting for it.
                {
                    let _pending = self.pending.lock();
                    self.handshake_done.notify_all();
                }
                // Only a heard session can be rekeyed: its rekey is due
                // from now on, even if its time passed while it waited.
                let rekey_at = peer.rekey_at_ms.load(Ordering::Relaxed);
                self.timer
                    .due(self.started + Duration::from_millis(rekey_at));
                if peer.announce.swap(false, Ordering::AcqRel) {
                    self.peer_up(&peer);
                }
            }
            FirstPacket::ResponderConfirmed => {
                let replaced = self.peers.write().promote(peer.clone(), self.clock.now());
                if replaced {
                    bump(&self.counters.sessions_rekeyed);
                    // The replaced session's grace ends then.
                    self.timer
                        .due(self.clock.now() + self.config.handshake_timeout);
                }
                // Only now has the peer proven the network key: pin and remember
                // (a routed peer's address is its relay's: nothing to pin).
                if !peer.routed {
                    self.trust.learn(peer.addr, peer.public_key);
                    if let Some(store) = &self.peer_store {
                        store.success(peer.addr, peer.public_key);
                    }
                }
                if !replaced {
                    self.peer_up(&peer);
                }
            }
        }
        let protocol = header.subprotocol_id;
        let body = &body[..len];
        if header.flags.contains(PacketFlags::CONTROL) {
            // Keep-alives and other control packets from a routed peer keep
            // the route back to it fresh (data packets skip the lock).
            if let (Some(links), true) = (links, peer.routed) {
                self.learn_reverse_route(peer.node_id, from, links);
            }
            match header.stream_id {
                control::BEACON if !peer.routed => self.on_beacon(&peer, body),
                // The responder answers every confirmation (the answer to an
                // earlier one may have been lost); the initiator never does,
                // so the two cannot ping-pong.
                control::CONFIRM if !peer.is_initiator() => {
                    let _ = self.send_sealed(
                        &peer,
                        protocol::APP,
                        control::CONFIRM,
                        PacketFlags::CONTROL,
                        0,
                        &[],
                    );
                }
                control::ACK_REQUEST => self.streams.on_ack_request(self, &peer, protocol, body),
                control::RESYNC => self.streams.on_resync(self, &peer, protocol, body),
                _ => {}
            }
            return;
        }
        let key = StreamKey {
            peer: peer.node_id,
            protocol,
            stream: header.stream_id,
        };
        if header.flags.contains(PacketFlags::ACK) {
            // An ack is for a stream this node sends on: no protocol needed.
            return self.streams.on_ack(self, &peer, key, body);
        }
        let sink = match self.sink_for(&peer, key) {
            Some(sink) => sink,
            None => return bump(&self.counters.dropped_unknown_protocol),
        };
        if header.flags.contains(PacketFlags::RELIABLE) {
            self.streams
                .on_reliable(self, &peer, key, header.sequence, body, &sink);
        } else {
            self.streams.on_unordered(key, body, &sink);
        }
    }

    /// Where the messages of stream `key` from `peer` go: the inbox for the
    /// application's streams, else the protocol registered for them (or a
    /// refusal, if it does not authorize the peer). `None` when no protocol
    /// holds the id.
    fn sink_for<'a>(&'a self, peer: &Peer, key: StreamKey) -> Option<Delivery<'a>> {
        if key.protocol == protocol::APP {
            return Some(Delivery::Inbox {
                inbox: &self.inbox,
                counters: &self.counters,
                from: key.peer,
                stream_id: key.stream,
            });
        }
        let handler = self.protocols.get(key.protocol)?;
        let remote = peer.remote();
        let allowed = handler.authorize(
            &remote,
            Op::Receive {
                stream_id: key.stream,
            },
        );
        Some(if allowed {
            Delivery::Protocol {
                handler,
                remote,
                stream_id: key.stream,
                counters: &self.counters,
            }
        } else {
            Delivery::Refused {
                counters: &self.counters,
            }
        })
    }

    /// Tells every protocol that `peer`'s session is up.
    fn peer_up(&self, peer: &Peer) {
        let remote = peer.remote();
        for protocol in self.protocols.all() {
            protocol.on_peer_up(&remote);
        }
    }

    /// Tells every protocol that `node_id`'s session went away.
    pub(super) fn peer_down(&self, node_id: u64) {
        for protocol in self.protocols.all() {
            protocol.on_peer_down(node_id);
        }
    }

    /// Forgets responder sessions never confirmed within the handshake
    /// timeout (an initiator with another network key, or a replayed first
    /// message, leaves these behind), and refusals as old. When the next of
    /// them is due.
    fn expire_half_open(&self, now: Instant) -> Instant {
        let limit = self.config.handshake_timeout;
        let mut next = now + super::timer::MAX_SLEEP;
        {
            let mut refused = self.refused.lock();
            refused.retain(|_, at| now.duration_since(*at) <= limit);
            for at in refused.values() {
                next = next.min(*at + limit);
            }
        }
        let stale = |p: &Arc<Peer>| !p.confirmed() && now.duration_since(p.opened) > limit;
        let mut any_stale = false;
        for peer in self.peers.read().by_session.values() {
            if stale(peer) {
                any_stale = true;
            } else if !peer.confirmed() {
                next = next.min(peer.opened + limit);
            }
        }
        if any_stale {
            self.peers.write().by_session.retain(|_, p| !stale(p));
        }
        next
    }
}

/// Where one packet's messages go (see `Inner::sink_for`).
enum Delivery<'a> {
    /// The application's inbox.
    Inbox {
        inbox: &'a Queue,
        counters: &'a Counters,
        from: u64,
        stream_id: u64,
    },
    /// A registered protocol.
    Protocol {
        handler: Arc<dyn Protocol>,
        remote: Remote,
        stream_id: u64,
        counters: &'a Counters,
    },
    /// A protocol that refused the peer: taken (so acknowledged) and
    /// dropped, counted.
    Refused { counters: &'a Counters },
}

impl Sink for Delivery<'_> {
    fn has_room(&self) -> bool {
        match self {
            Delivery::Inbox { inbox, .. } => inbox.has_room(),
            Delivery::Protocol {
                handler,
                remote,
                stream_id,
                ..
            } => handler.has_room(remote, *stream_id),
            Delivery::Refused { .. } => true,
        }
    }

    fn deliver(&self, payloads: &mut dyn Iterator<Item = Vec<u8>>, force: bool) -> usize {
        match self {
            Delivery::Inbox {
                inbox,
                counters,
                from,
                stream_id,
            } => {
                let messages = payloads.map(|payload| Message {
                    from: *from,
                    stream_id: *stream_id,
                    payload,
                });
                inbox.push(messages, force, Some(counters))
            }
            Delivery::Protocol {
                handler,
                remote,
                stream_id,
                counters,
            } => {
                let mut delivered = 0;
                for payload in payloads {
                    if !force && !handler.has_room(remote, *stream_id) {
                        bump(&counters.dropped_inbox_full);
                        continue;
                    }
                    super::stats::add(&counters.bytes_received, payload.len());
                    handler.on_message(remote, *stream_id, payload);
                    delivered += 1;
                }
                delivered
            }
            Delivery::Refused { counters } => {
                for _ in payloads {
                    bump(&counters.dropped_unauthorized);
                }
                0
            }
        }
    }
}

impl Inner {
    /// A stream's state by protocol, peer and id, created fire-and-forget
    /// on first use. `mesh:unknown_peer` without a session, `mesh:shutdown`.
    fn stream(
        &self,
        protocol: u16,
        node_id: u64,
        stream_id: u64,
    ) -> Result<Arc<streaming::StreamState>> {
        self.check_open()?;
        let key = StreamKey {
            peer: node_id,
            protocol,
            stream: stream_id,
        };
        if !self.streams.contains(&key) {
            self.peer(node_id)?;
        }
        self.streams.get_or_default(key)
    }
}

impl StreamHost for Inner {
    fn check_open(&self) -> Result<()> {
        Inner::check_open(self)
    }

    fn peer(&self, node_id: u64) -> Result<Arc<Peer>> {
        Inner::peer(self, node_id)
    }

    fn send_sealed(
        &self,
        peer: &Peer,
        protocol: u16,
        stream_id: u64,
        flags: u8,
        sequence: u64,
        payload: &[u8],
    ) -> Result<()> {
        Inner::send_sealed(self, peer, protocol, stream_id, flags, sequence, payload)
    }

    fn stream_due(&self, stream: &Arc<streaming::StreamState>, at: Instant) {
        self.streams.mark_active(stream);
        self.timer.due(at);
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn retransmit_timeout(&self) -> Duration {
        self.config.retransmit_timeout
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn window_opened(&self, key: &StreamKey) {
        if key.protocol == protocol::CHANNELS {
            self.channel_window_opened();
        }
    }
}

impl RegistrationHost for Inner {
    fn unregister(&self, id: u16) {
        self.protocols.remove(id);
    }
}
