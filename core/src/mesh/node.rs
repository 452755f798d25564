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
use super::conditions::{Conditions, Outgoing};
use super::config::MeshConfig;
use super::datagrams::{RecvBatch, RECV_BATCH};
use super::handshake::{respond, Initiator, SessionKeys};
use super::inbox::Queue;
use super::peer_store::{KnownPeer, PeerStore};
use super::routing::{PeerHealth, RouteInfo, RoutingTable};
use super::session::{Rejected, Session, MAX_DATAGRAM};
use super::stats::{bump, Counters, MeshStats};
use super::streaming::StreamState;
use super::trust::{Decision, Trust};
use crate::audit::AuditLog;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Identity, PublicKey};
use crate::wire::{classify, NetHeader, PacketFlags, PacketKind, RoutingHeader, HEADER_LEN};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
/// How often the timer sends due acks and resends while a stream has any.
const TIMER_TICK: Duration = Duration::from_millis(5);
/// The longest the timer sleeps while no stream has work (beacons, health,
/// half-open and lifetime checks; a stream that gets work wakes it at once).
const IDLE_TICK: Duration = Duration::from_millis(100);
/// How often it looks for sessions to rekey or expire.
const LIFETIME_TICK: Duration = Duration::from_millis(25);
/// The control stream of the first authenticated packet (the confirmation).
const CONTROL_CONFIRM: u64 = 0;
/// The control stream of beacons (routes, and a sign of life).
pub(super) const CONTROL_BEACON: u64 = 1;
/// The control stream of keep-alives to routed peers (a sign of life only).
pub(super) const CONTROL_KEEPALIVE: u64 = 2;
/// The control stream of ack requests: the body names a reliable stream
/// whose receiver should acknowledge now rather than on its own schedule.
pub(super) const CONTROL_ACK_REQUEST: u64 = 3;
/// The control stream of resync requests: a receiver with no record of a
/// reliable stream's epoch asks its sender to start over (see `stream`).
pub(super) const CONTROL_RESYNC: u64 = 4;

/// A peer this node has a session with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's node id (derived from its public key).
    pub node_id: u64,
    /// The peer's ed25519 public key, proven by the handshake.
    pub public_key: PublicKey,
    /// Where its packets come from.
    pub addr: SocketAddr,
    /// Whether the peer has proven it holds the network key.
    pub confirmed: bool,
    /// Whether packets reach it through relays (`connect_routed`) rather
    /// than directly.
    pub routed: bool,
    /// How recently it was heard from (always `Alive` for routed peers,
    /// whose liveness is their relays').
    pub health: PeerHealth,
}

/// A message received from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Sender's node id.
    pub from: u64,
    /// Stream it was sent on.
    pub stream_id: u64,
    /// The decrypted bytes.
    pub payload: Vec<u8>,
}

impl Message {
    /// The field names every language gives a message (each in its own
    /// spelling: `From`/`StreamID` in Go, `from_` in Python, `streamId` in
    /// TypeScript), pinned by `tests/cross_lang/mesh/records.json`.
    pub const FIELDS: [&'static str; 3] = ["from", "stream_id", "payload"];
}

pub(super) struct Peer {
    pub(super) public_key: PublicKey,
    /// The key's node id, derived once (a hash per packet shows in profiles).
    pub(super) node_id: u64,
    pub(super) addr: SocketAddr,
    session: Session,
    confirmed: AtomicBool,
    /// Whether any authenticated packet came from it on this session.
    heard: AtomicBool,
    /// Reached through relays: packets carry a routing header and go to
    /// the current next hop.
    pub(super) routed: bool,
    /// Milliseconds after the node started that it was last heard from.
    pub(super) last_heard_ms: AtomicU64,
    /// Its health as last assessed (for counting transitions).
    pub(super) health: Mutex<PeerHealth>,
    /// The responder's answer, kept to resend if the first message repeats.
    pub(super) answer: Option<Vec<u8>>,
    pub(super) opened: Instant,
    /// Set while a fresh handshake replacing this session runs.
    pub(super) rekeying: AtomicBool,
    /// Milliseconds after the node started when this side next rekeys (the
    /// initiator's side only), pushed back after a failed attempt.
    pub(super) rekey_at_ms: AtomicU64,
}

impl Peer {
    pub(super) fn session_id(&self) -> u64 {
        self.session.id()
    }

    /// Where packets for it go.
    pub(super) fn target(&self) -> Target {
        if self.routed {
            Target::Routed(self.node_id)
        } else {
            Target::Direct(self.addr)
        }
    }

    fn info(&self) -> PeerInfo {
        PeerInfo {
            node_id: self.node_id,
            public_key: self.public_key,
            addr: self.addr,
            confirmed: self.confirmed.load(Ordering::Acquire),
            routed: self.routed,
            health: *self.health.lock(),
        }
    }
}

#[derive(Default)]
pub(super) struct Peers {
    pub(super) by_session: HashMap<u64, Arc<Peer>>,
    pub(super) by_node: HashMap<u64, Arc<Peer>>,
    /// Direct, confirmed peers by address: the only senders a relay
    /// forwards for.
    pub(super) by_addr: HashMap<SocketAddr, Arc<Peer>>,
    /// Sessions replaced by a newer one with the same node, still opened
    /// for a grace period (packets sealed before the switch are in flight),
    /// with when they were replaced.
    pub(super) retired: Vec<(u64, Instant)>,
}

impl Peers {
    /// Makes `peer` the session for its node, retiring any older one.
    /// Returns whether it replaced one.
    fn promote(&mut self, peer: Arc<Peer>) -> bool {
        let node_id = peer.node_id;
        let session_id = peer.session.id();
        let mut replaced = false;
        if let Some(old) = self.by_node.insert(node_id, peer.clone()) {
            if old.session.id() != session_id {
                self.retired.push((old.session.id(), Instant::now()));
                replaced = true;
            }
            if !old.routed {
                self.by_addr.remove(&old.addr);
            }
        }
        if !peer.routed {
            self.by_addr.insert(peer.addr, peer.clone());
        }
        self.by_session.insert(session_id, peer);
        replaced
    }

    /// Holds a responder's session until the initiator proves the network
    /// key; until then it does not replace the node's current session (a
    /// replayed first message must not be able to knock out a live session).
    fn hold_unconfirmed(&mut self, peer: Arc<Peer>) {
        self.by_session.insert(peer.session.id(), peer);
    }
}

/// Where a handshake goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    /// Straight to an address.
    Direct(SocketAddr),
    /// To a node id, through the routing table's next hop.
    Routed(u64),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Direct(addr) => write!(f, "{addr}"),
            Target::Routed(node) => write!(f, "node {node:016x} (routed)"),
        }
    }
}

enum Pending {
    Waiting(Box<Initiator>),
    Done(Result<Arc<Peer>>),
}

pub(super) struct Inner {
    /// Taken (and so closed, freeing the port) by `shutdown`.
    socket: RwLock<Option<UdpSocket>>,
    identity: Identity,
    /// The gates in front of answering a handshake.
    admission: Admission,
    /// This node's id and origin hash, derived once from its key.
    node_id: u64,
    origin_hash: u32,
    pub(super) config: MeshConfig,
    pub(super) peers: RwLock<Peers>,
    pending: Mutex<HashMap<u64, Pending>>,
    handshake_done: Condvar,
    /// Received messages waiting for `recv`.
    pub(super) inbox: Queue,
    /// Streams whose messages skip the inbox (see `claim_stream`).
    pub(super) claims: RwLock<HashMap<(u64, u64), Arc<Queue>>>,
    pub(super) counters: Counters,
    pub(super) closed: AtomicBool,
    /// Every stream this node sends or receives on, by (peer, stream id).
    pub(super) streams: RwLock<HashMap<(u64, u64), Arc<StreamState>>>,
    /// What tests do to outgoing datagrams (see `conditions`); `None`
    /// outside tests.
    conditions: Option<Arc<dyn Conditions>>,
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
    /// Set when a stream gets timer work (a reliable message in flight, an
    /// ack due); the timer clears it before each scan.
    timer_work: AtomicBool,
    /// Set while the timer sleeps its long, idle sleep.
    timer_idle: AtomicBool,
    timer_lock: Mutex<()>,
    timer_wake: Condvar,
    /// The socket's receive buffer as the kernel granted it, in bytes.
    pub(super) recv_buffer: usize,
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

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::MeshIo, format!("{what}: {e}"))
}

/// Socket buffers asked for (the kernel caps them at its own maximum,
/// `net.core.rmem_max` / `wmem_max` on Linux). The default of a few hundred
/// KiB overflows under a burst of large messages, and every datagram lost
/// there is a resend later.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// What to assume when the kernel will not say (Linux's usual default).
const DEFAULT_RECV_BUFFER: usize = 208 * 1024;

/// Binds the node's UDP socket with large buffers.
fn bind_socket(addr: SocketAddr) -> Result<UdpSocket> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(|e| io_error("socket", e))?;
    // Best effort: a smaller buffer than asked for still works.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    socket.bind(&addr.into()).map_err(|e| io_error("bind", e))?;
    Ok(socket.into())
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
        Self::bind_inner(identity, config, None)
    }

    /// Binds a node whose outgoing datagrams go through `conditions` (loss,
    /// duplication, reordering: see [`conditions`](super::conditions)). A
    /// test seam: compiled for this crate's tests and with the `test-seams`
    /// feature, never part of a node's configuration.
    #[cfg(any(test, feature = "test-seams"))]
    pub fn bind_conditioned(
        identity: Identity,
        config: MeshConfig,
        conditions: Arc<dyn Conditions>,
    ) -> Result<MeshNode> {
        Self::bind_inner(identity, config, Some(conditions))
    }

    fn bind_inner(
        identity: Identity,
        config: MeshConfig,
        conditions: Option<Arc<dyn Conditions>>,
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
        let socket = bind_socket(config.bind)?;
        socket
            .set_read_timeout(Some(READER_TICK))
            .map_err(|e| io_error("set_read_timeout", e))?;
        let inbox_capacity = config.inbox_capacity;
        let recv_buffer = socket2::SockRef::from(&socket)
            .recv_buffer_size()
            .unwrap_or(DEFAULT_RECV_BUFFER);
        let inner = Arc::new(Inner {
            socket: RwLock::new(Some(socket)),
            admission: Admission::new(&identity.public_key()),
            node_id: identity.node_id(),
            origin_hash: identity.public_key().origin_hash(),
            identity,
            config,
            peers: RwLock::new(Peers::default()),
            pending: Mutex::new(HashMap::new()),
            handshake_done: Condvar::new(),
            inbox: Queue::new(inbox_capacity),
            claims: RwLock::new(HashMap::new()),
            counters: Counters::default(),
            closed: AtomicBool::new(false),
            streams: RwLock::new(HashMap::new()),
            conditions,
            trust,
            peer_store,
            audit,
            refused: Mutex::new(HashMap::new()),
            routing: Mutex::new(RoutingTable::default()),
            started: Instant::now(),
            next_beacon: Mutex::new(Instant::now()),
            timer_work: AtomicBool::new(false),
            timer_idle: AtomicBool::new(false),
            timer_lock: Mutex::new(()),
            timer_wake: Condvar::new(),
            recv_buffer,
        });
        let node = MeshNode {
            inner,
            threads: Mutex::new(Vec::new()),
        };
        node.spawn("net-mesh-reader", Inner::read_loop)?;
        node.spawn("net-mesh-timer", Inner::timer_loop)?;
        Ok(node)
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
        self.inner
            .socket
            .read()
            .as_ref()
            .ok_or_else(shutdown_error)?
            .local_addr()
            .map_err(|e| io_error("local_addr", e))
    }

    /// The socket's receive buffer as the kernel granted it: how much a
    /// burst of datagrams may hold before the kernel drops some.
    pub fn recv_buffer_size(&self) -> usize {
        self.inner.recv_buffer
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
        self.inner.check_open()?;
        self.refuse_self(Some(addr), peer)?;
        if let Decision::Reject(reason) = self.inner.judge("initiator", Some(addr), peer) {
            return Err(Error::new(
                ErrorKind::UntrustedPeer,
                format!("{addr} with key {}: {reason}", hex::encode(peer.as_bytes())),
            ));
        }
        let outcome = self.inner.handshake(Target::Direct(addr), peer);
        match &outcome {
            Ok(_) => {
                self.inner.trust.learn(addr, *peer);
                if let Some(store) = &self.inner.peer_store {
                    store.success(addr, *peer);
                }
            }
            Err(e) if e.kind() != ErrorKind::MeshShutdown => {
                if let Some(store) = &self.inner.peer_store {
                    store.failure(addr);
                }
            }
            Err(_) => {}
        }
        outcome
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
        self.inner.check_open()?;
        self.refuse_self(None, peer)?;
        if let Decision::Reject(reason) = self.inner.judge("initiator", None, peer) {
            return Err(Error::new(
                ErrorKind::UntrustedPeer,
                format!("key {}: {reason}", hex::encode(peer.as_bytes())),
            ));
        }
        self.inner.next_hop(peer.node_id())?;
        self.inner.handshake(Target::Routed(peer.node_id()), peer)
    }

    /// The best route to every node this one can reach through relays.
    pub fn routes(&self) -> Vec<RouteInfo> {
        self.inner.best_routes()
    }

    /// The next message, waiting up to `timeout` (`None`: until one comes).
    /// `Ok(None)` on timeout; `mesh:shutdown` once the node is shut down and
    /// the inbox is empty.
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Message>> {
        self.inner.inbox.pop(&self.inner, timeout)
    }

    /// [`recv`](Self::recv) that fails with `call:cancelled` as soon as
    /// `cancel` is cancelled (from any thread; a token cancelled before the
    /// call fails it at once, unless a message is already waiting).
    pub fn recv_cancellable(
        &self,
        timeout: Option<Duration>,
        cancel: &crate::cancel::CancelToken,
    ) -> Result<Option<Message>> {
        let inner = Arc::clone(&self.inner);
        let _wake = cancel.on_cancel(move || inner.inbox.wake_all());
        self.inner
            .inbox
            .pop_cancellable(&self.inner, timeout, Some(cancel))
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
        // Wakes the timer from an idle sleep, so it sees `closed` now.
        self.inner.timer_has_work();
        {
            let _pending = self.inner.pending.lock();
            self.inner.handshake_done.notify_all();
        }
        self.inner.wake_readers();
        self.inner.wake_stream_waiters();
        self.inner.wake_reader_thread();
        let threads = std::mem::take(&mut *self.threads.lock());
        for thread in threads {
            let _ = thread.join();
        }
        if let Some(store) = &self.inner.peer_store {
            // Nothing to report the failure to at shutdown; the next
            // periodic flush of a later run writes the store again.
            let _ = store.flush();
        }
        // With the threads gone, nothing else holds the socket: closing it
        // frees the port at once, not when the last handle is dropped.
        self.inner.socket.write().take();
    }
}

impl Drop for MeshNode {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn shutdown_error() -> Error {
    Error::new(ErrorKind::MeshShutdown, "the mesh node has shut down")
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
        let session_id = random_session_id()?;
        let (initiator, mut first) =
            Initiator::start(&self.identity, peer, &self.config.network_key)?;
        first.extend_from_slice(&mac1(&mac1_key(peer), session_id, &first));
        let packet = self.handshake_packet(session_id, HANDSHAKE_FIRST, &first);
        let mut pending = self.pending.lock();
        pending.insert(session_id, Pending::Waiting(Box::new(initiator)));
        let deadline = Instant::now() + self.config.handshake_timeout;
        let outcome = loop {
            if let Some(Pending::Done(_)) = pending.get(&session_id) {
                if let Some(Pending::Done(done)) = pending.remove(&session_id) {
                    break done;
                }
            }
            if self.closed.load(Ordering::Acquire) {
                pending.remove(&session_id);
                break Err(shutdown_error());
            }
            let now = Instant::now();
            if now >= deadline {
                pending.remove(&session_id);
                break Err(Error::new(
                    ErrorKind::MeshTimeout,
                    format!(
                        "no handshake answer from {target} within {:?}",
                        self.config.handshake_timeout
                    ),
                ));
            }
            if let Err(e) = self.send_to_target(&packet, target) {
                pending.remove(&session_id);
                break Err(e);
            }
            let wake = (now + self.config.handshake_retry).min(deadline);
            self.handshake_done.wait_until(&mut pending, wake);
        };
        drop(pending);
        let peer = outcome?;
        // Proves to the responder that this side holds the network key, and
        // waits for its answer: when `connect` returns, both sides list the
        // session and either may send. Resent like the first message, since
        // either packet may be lost.
        let mut pending = self.pending.lock();
        loop {
            if peer.heard.load(Ordering::Acquire) {
                return Ok(peer.info());
            }
            self.check_open()?;
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::new(
                    ErrorKind::MeshTimeout,
                    format!("{target} did not confirm the session in time"),
                ));
            }
            self.send_sealed(&peer, CONTROL_CONFIRM, PacketFlags::CONTROL, 0, &[])?;
            let wake = (now + self.config.handshake_retry).min(deadline);
            self.handshake_done.wait_until(&mut pending, wake);
        }
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
        self.socket
            .read()
            .as_ref()
            .ok_or_else(shutdown_error)?
            .send_to(packet, addr)
            .map_err(|e| io_error("send", e))?;
        bump(&self.counters.packets_sent);
        Ok(())
    }

    /// Seals and sends one packet to `peer`. `sequence` is the stream
    /// sequence of a reliable message (0 otherwise).
    pub(super) fn send_sealed(
        &self,
        peer: &Peer,
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
            match &self.conditions {
                None => self.send_datagram(packet, to),
                Some(conditions) => {
                    let datagram = Outgoing {
                        packet,
                        to,
                        control: flags & PacketFlags::CONTROL != 0,
                    };
                    conditions.send(datagram, &|p, a| self.send_datagram(p, a))
                }
            }
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
            let received = match self.socket.read().as_ref() {
                Some(socket) => batch.recv(socket, wait),
                None => break,
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

    /// Wakes the reader from its blocking receive with an empty datagram to
    /// the node's own address (it then sees `closed`); if that cannot be
    /// sent, the reader notices within `READER_TICK`.
    fn wake_reader_thread(&self) {
        let guard = self.socket.read();
        let Some(socket) = guard.as_ref() else {
            return;
        };
        let Ok(mut own) = socket.local_addr() else {
            return;
        };
        if own.ip().is_unspecified() {
            own.set_ip(match own {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = socket.send_to(&[], own);
    }

    /// Tells the timer a stream has work for it (called after the state
    /// change: a reliable message now in flight, an ack now due), waking it
    /// from an idle sleep.
    pub(super) fn timer_has_work(&self) {
        // SeqCst pairs with the timer's: either it sees the work before it
        // sleeps, or this sees it asleep and wakes it.
        self.timer_work.store(true, Ordering::SeqCst);
        if self.timer_idle.load(Ordering::SeqCst) {
            let _held = self.timer_lock.lock();
            self.timer_wake.notify_one();
        }
    }

    /// Sleeps `TIMER_TICK` while streams have work, else up to the idle
    /// tick (shorter for fast beacons) or until a stream gets some.
    fn timer_sleep(&self, busy: bool) {
        if busy || self.timer_work.load(Ordering::SeqCst) {
            std::thread::sleep(TIMER_TICK);
            return;
        }
        let idle = IDLE_TICK
            .min(self.config.beacon_interval / 2)
            .max(TIMER_TICK);
        let mut held = self.timer_lock.lock();
        self.timer_idle.store(true, Ordering::SeqCst);
        if !self.timer_work.load(Ordering::SeqCst) && !self.closed.load(Ordering::Acquire) {
            self.timer_wake.wait_for(&mut held, idle);
        }
        self.timer_idle.store(false, Ordering::SeqCst);
    }

    /// Acks and resends every few milliseconds while a stream needs them;
    /// otherwise the node's periodic duties (beacons, health, half-open and
    /// lifetime checks) on an idle tick; the peer store on its own interval.
    fn timer_loop(self: &Arc<Self>) {
        let mut last_flush = Instant::now();
        let mut last_lifetimes = Instant::now();
        let mut busy = false;
        while !self.closed.load(Ordering::Acquire) {
            self.timer_sleep(busy);
            self.timer_work.store(false, Ordering::SeqCst);
            self.expire_half_open();
            busy = self.stream_timers(Instant::now());
            self.relay_timers(Instant::now());
            // Rekeys and expiry are due in seconds, not milliseconds.
            if last_lifetimes.elapsed() >= LIFETIME_TICK {
                self.session_timers();
                last_lifetimes = Instant::now();
            }
            if let Some(store) = &self.peer_store {
                if last_flush.elapsed() >= store.flush_interval() {
                    let _ = store.flush();
                    last_flush = Instant::now();
                }
            }
        }
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
            if let (Some(answer), false) = (&peer.answer, peer.confirmed.load(Ordering::Acquire)) {
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
        let first = match self.admission.admit(header.session_id, first) {
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
            self.refused
                .lock()
                .insert(header.session_id, Instant::now());
            return;
        }
        let packet = self.handshake_packet(header.session_id, HANDSHAKE_ANSWER, &answer);
        let peer = match self.new_peer(
            header.session_id,
            public_key,
            from,
            &keys,
            Some(answer),
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
            let peer = self.new_peer(header.session_id, public_key, from, &keys, None, routed)?;
            if self.peers.write().promote(peer.clone()) {
                bump(&self.counters.sessions_rekeyed);
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
        answer: Option<Vec<u8>>,
        routed: bool,
    ) -> Result<Arc<Peer>> {
        // The initiator's side is confirmed by the answer it read; the
        // responder's (which keeps its answer to resend) by a later packet.
        let confirmed = answer.is_none();
        Ok(Arc::new(Peer {
            node_id: public_key.node_id(),
            public_key,
            addr,
            session: Session::new(session_id, keys)?,
            confirmed: AtomicBool::new(confirmed),
            routed,
            last_heard_ms: AtomicU64::new(self.now_ms()),
            health: Mutex::new(PeerHealth::Alive),
            answer,
            heard: AtomicBool::new(false),
            opened: Instant::now(),
            rekeying: AtomicBool::new(false),
            rekey_at_ms: AtomicU64::new(
                self.now_ms() + self.config.rekey_interval.as_millis() as u64,
            ),
        }))
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
        if !peer.heard.swap(true, Ordering::AcqRel) && peer.answer.is_none() {
            // The responder's confirmation: wake the `connect` waiting for it.
            let _pending = self.pending.lock();
            self.handshake_done.notify_all();
        }
        if !peer.confirmed.swap(true, Ordering::AcqRel) {
            if self.peers.write().promote(peer.clone()) {
                bump(&self.counters.sessions_rekeyed);
            }
            // Only now has the peer proven the network key: pin and remember
            // (a routed peer's address is its relay's: nothing to pin).
            if !peer.routed {
                self.trust.learn(peer.addr, peer.public_key);
                if let Some(store) = &self.peer_store {
                    store.success(peer.addr, peer.public_key);
                }
            }
        }
        if header.flags.contains(PacketFlags::CONTROL) {
            // Keep-alives and other control packets from a routed peer keep
            // the route back to it fresh (data packets skip the lock).
            if let (Some(links), true) = (links, peer.routed) {
                self.learn_reverse_route(peer.node_id, from, links);
            }
            match header.stream_id {
                CONTROL_BEACON if !peer.routed => self.on_beacon(&peer, &body[..len]),
                // The responder answers every confirmation (the answer to an
                // earlier one may have been lost); the initiator never does,
                // so the two cannot ping-pong.
                CONTROL_CONFIRM if peer.answer.is_some() => {
                    let _ = self.send_sealed(&peer, CONTROL_CONFIRM, PacketFlags::CONTROL, 0, &[]);
                }
                CONTROL_ACK_REQUEST => self.on_ack_request(&peer, &body[..len]),
                CONTROL_RESYNC => self.on_resync(&peer, &body[..len]),
                _ => {}
            }
            return;
        }
        let body = &body[..len];
        if header.flags.contains(PacketFlags::ACK) {
            self.on_ack(&peer, header.stream_id, body);
        } else if header.flags.contains(PacketFlags::RELIABLE) {
            self.on_reliable(&peer, header.stream_id, header.sequence, body);
        } else {
            self.on_unordered(&peer, header.stream_id, body);
        }
    }

    /// Forgets responder sessions never confirmed within the handshake
    /// timeout (an initiator with another network key, or a replayed first
    /// message, leaves these behind).
    fn expire_half_open(&self) {
        let limit = self.config.handshake_timeout;
        self.refused.lock().retain(|_, at| at.elapsed() <= limit);
        let stale =
            |p: &Arc<Peer>| !p.confirmed.load(Ordering::Acquire) && p.opened.elapsed() > limit;
        if !self.peers.read().by_session.values().any(stale) {
            return;
        }
        self.peers.write().by_session.retain(|_, p| !stale(p));
    }
}
