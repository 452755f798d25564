//! Streams on a node: sending with a credit window, receiving in order,
//! acks and resends. The protocol's state machines are in [`super::stream`];
//! this module keeps every stream of a node ([`Streams`], by peer, protocol
//! and stream id) and drives them through two narrow seams: [`StreamHost`],
//! what a stream needs of its node (a peer's session, sealed sends, the
//! timer), and [`Sink`], where received messages go (the inbox or a
//! protocol). It knows neither the node nor the inbox.

use super::control;
use super::peers::Peer;
use super::session::MAX_PAYLOAD;
use super::stream::{
    split_epoch, Accepted, Ack, RecvHalf, Reliability, SendHalf, StreamConfig, StreamStats,
    Unacked, ACK_EVERY, ACK_EVERY_BYTES, EPOCH_LEN, GAP_ACK_INTERVAL,
};
use crate::error::{Error, ErrorKind, Result};
use crate::mesh::stats::{add, bump, Counters};
use crate::wire::PacketFlags;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A stream's name: the peer, the protocol whose namespace it is in, and
/// the stream id within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct StreamKey {
    pub(super) peer: u64,
    pub(super) protocol: u16,
    pub(super) stream: u64,
}

/// What a stream needs of its node.
pub(super) trait StreamHost: Send + Sync {
    /// `mesh:shutdown` once the node shut down.
    fn check_open(&self) -> Result<()>;
    /// The current session with `node_id`; `mesh:unknown_peer` without one.
    fn peer(&self, node_id: u64) -> Result<Arc<Peer>>;
    /// Seals and sends one packet to `peer` under `protocol`.
    fn send_sealed(
        &self,
        peer: &Peer,
        protocol: u16,
        stream_id: u64,
        flags: u8,
        sequence: u64,
        payload: &[u8],
    ) -> Result<()>;
    /// `stream` has timer work (a message in flight, an ack due) due at
    /// `at`: the node's timer must look at it then.
    fn stream_due(&self, stream: &Arc<StreamState>, at: Instant);
    /// The node's counters.
    fn counters(&self) -> &Counters;
    /// How long an unacknowledged message waits before it is sent again.
    fn retransmit_timeout(&self) -> Duration;
    /// The time now, on the node's clock (every stream deadline runs on it).
    fn now(&self) -> Instant;
    /// Acknowledgements made room in `key`'s window (a protocol with
    /// messages held back for room can send them now).
    fn window_opened(&self, key: &StreamKey) {
        let _ = key;
    }
}

/// Where a stream's received messages go.
pub(super) trait Sink {
    /// Whether another message fits now.
    fn has_room(&self) -> bool;
    /// Hands messages over, in order (`force`: even over capacity, for an
    /// in-order run already accepted). Returns how many were taken.
    fn deliver(&self, payloads: &mut dyn Iterator<Item = Vec<u8>>, force: bool) -> usize;
}

/// The first wait of `send_with_retry`; each retry waits twice as long.
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(1);
/// The longest single wait of `send_with_retry`.
const MAX_RETRY_WAIT: Duration = Duration::from_millis(128);
/// How often `wait_acked` looks at the session while it waits.
const ACK_WAIT_SLICE: Duration = Duration::from_millis(50);

/// One stream with one peer: both directions and their counters.
pub(crate) struct StreamState {
    /// Whether the stream is in its node's active set (see `Streams`).
    active: std::sync::atomic::AtomicBool,
    peer: u64,
    protocol: u16,
    stream_id: u64,
    config: StreamConfig,
    /// Reliable streams only.
    send: Mutex<Option<SendHalf>>,
    /// Signalled when acks free room in the window, or on shutdown.
    window_open: Condvar,
    /// The same signal for tasks (`window_listener`).
    window_event: event_listener::Event,
    recv: Mutex<RecvHalf>,
    sent: AtomicU64,
    received: AtomicU64,
    backpressure_events: AtomicU64,
    retransmits: AtomicU64,
    duplicates: AtomicU64,
}

impl StreamState {
    fn new(key: StreamKey, config: StreamConfig) -> Result<StreamState> {
        let send = match config.reliability {
            Reliability::Reliable => Some(SendHalf::new(config, random_epoch()?)),
            Reliability::FireAndForget => None,
        };
        Ok(StreamState {
            active: std::sync::atomic::AtomicBool::new(false),
            peer: key.peer,
            protocol: key.protocol,
            stream_id: key.stream,
            config,
            send: Mutex::new(send),
            window_open: Condvar::new(),
            window_event: event_listener::Event::new(),
            recv: Mutex::new(RecvHalf::default()),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            backpressure_events: AtomicU64::new(0),
            retransmits: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
        })
    }

    fn key(&self) -> StreamKey {
        StreamKey {
            peer: self.peer,
            protocol: self.protocol,
            stream: self.stream_id,
        }
    }

    fn stats(&self) -> StreamStats {
        let in_flight = self
            .send
            .lock()
            .as_ref()
            .map_or(0, |half| half.unacked.len() as u64);
        let window = match self.config.reliability {
            Reliability::Reliable => self.config.window,
            Reliability::FireAndForget => 0,
        };
        StreamStats {
            peer: self.peer,
            stream_id: self.stream_id,
            reliability: self.config.reliability,
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            in_flight,
            window,
            backpressure_events: self.backpressure_events.load(Ordering::Relaxed),
            retransmits: self.retransmits.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
        }
    }
}

/// A resync request's body: the stream id and the epoch it refuses. `None`
/// when one went out for this stream too recently (the sender's
/// retransmissions would otherwise each draw one).
fn resync_request(
    recv: &mut RecvHalf,
    stream_id: u64,
    epoch: u32,
    now: Instant,
) -> Option<[u8; RESYNC_LEN]> {
    if recv
        .last_resync
        .is_some_and(|at| now.duration_since(at) < GAP_ACK_INTERVAL)
    {
        return None;
    }
    recv.last_resync = Some(now);
    let mut body = [0u8; RESYNC_LEN];
    body[..8].copy_from_slice(&stream_id.to_le_bytes());
    body[8..].copy_from_slice(&epoch.to_le_bytes());
    Some(body)
}

fn decode_resync(body: &[u8]) -> Option<(u64, u32)> {
    let body: &[u8; RESYNC_LEN] = body.try_into().ok()?;
    let (stream_id, epoch) = body.split_at(8);
    Some((
        u64::from_le_bytes(stream_id.try_into().ok()?),
        u32::from_le_bytes(epoch.try_into().ok()?),
    ))
}

/// Bytes of a resync request: stream id, then the refused epoch.
const RESYNC_LEN: usize = 12;

fn random_epoch() -> Result<u32> {
    let mut bytes = [0u8; 4];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Error::new(ErrorKind::EntropyUnavailable, e.to_string()))?;
    Ok(u32::from_le_bytes(bytes))
}

/// The refusal a full window gives; each one is counted (a send that waits
/// for room and then succeeds is not a refusal).
fn backpressure(state: &StreamState) -> Error {
    bump(&state.backpressure_events);
    Error::new(
        ErrorKind::StreamBackpressure,
        format!(
            "stream {} to node {:016x}: {} messages in flight, the window is full",
            state.stream_id, state.peer, state.config.window
        ),
    )
}

/// How long a reliable send may wait for room in the window.
#[derive(Clone, Copy)]
pub(super) enum Wait {
    /// Not at all: a full window is `mesh:backpressure`.
    Never,
    /// Up to this many times, backing off between tries.
    Retries(u32),
    /// Until the deadline (`mesh:timeout`), or without limit.
    Until(Option<Instant>),
}

/// A stream opened with [`MeshNode::open_stream`](super::MeshNode::open_stream):
/// a cheap handle to send on and to read the stream's stats.
#[derive(Clone)]
pub struct MeshStream {
    host: Arc<dyn StreamHost>,
    state: Arc<StreamState>,
}

impl std::fmt::Debug for MeshStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshStream")
            .field("peer", &format_args!("{:016x}", self.state.peer))
            .field("stream_id", &self.state.stream_id)
            .field("config", &self.state.config)
            .finish()
    }
}

impl MeshStream {
    pub(super) fn new(host: Arc<dyn StreamHost>, state: Arc<StreamState>) -> MeshStream {
        MeshStream { host, state }
    }

    /// The peer's node id.
    pub fn peer(&self) -> u64 {
        self.state.peer
    }

    /// The stream id.
    pub fn id(&self) -> u64 {
        self.state.stream_id
    }

    /// The protocol whose stream it is ([`APP`](super::protocol::APP) for
    /// the application's own).
    pub fn protocol(&self) -> u16 {
        self.state.protocol
    }

    /// Sends one message. On a reliable stream with a full window this fails
    /// at once with `mesh:backpressure`.
    pub fn send(&self, payload: &[u8]) -> Result<()> {
        send_on(&*self.host, &self.state, payload, Wait::Never, None)
    }

    /// Sends, and on `mesh:backpressure` waits for room and tries again, up
    /// to `max_retries` more times (waits of 1 ms, 2 ms, 4 ms … capped at
    /// 128 ms, each cut short when an ack opens the window).
    pub fn send_with_retry(&self, payload: &[u8], max_retries: u32) -> Result<()> {
        send_on(
            &*self.host,
            &self.state,
            payload,
            Wait::Retries(max_retries),
            None,
        )
    }

    /// Sends, waiting for room in the window up to `timeout` (`None`: as
    /// long as it takes). `mesh:timeout` if the window stays full.
    pub fn send_blocking(&self, payload: &[u8], timeout: Option<Duration>) -> Result<()> {
        let deadline = crate::time::Deadline::after(timeout).instant();
        send_on(
            &*self.host,
            &self.state,
            payload,
            Wait::Until(deadline),
            None,
        )
    }

    /// The stream's counters now.
    pub fn stats(&self) -> StreamStats {
        self.state.stats()
    }

    /// Waits up to `timeout` until the peer has acknowledged every message
    /// sent on this stream: `Ok(true)` once nothing is in flight (at once on
    /// a fire-and-forget stream), `Ok(false)` on timeout. Fails with
    /// `mesh:unknown_peer` while there is no session with the peer, and
    /// with `mesh:shutdown`.
    pub fn wait_acked(&self, timeout: Duration) -> Result<bool> {
        let in_flight = |half: &Option<SendHalf>| half.as_ref().map_or(0, |h| h.unacked.len());
        let deadline = crate::time::Deadline::after(Some(timeout));
        loop {
            if self.request_ack()? == 0 {
                return Ok(true);
            }
            let mut guard = self.state.send.lock();
            if in_flight(&guard) == 0 {
                return Ok(true);
            }
            if deadline.expired() {
                return Ok(false);
            }
            // Short waits, so a lost session is noticed while waiting.
            self.state
                .window_open
                .wait_for(&mut guard, deadline.slice(ACK_WAIT_SLICE));
        }
    }
}

impl MeshStream {
    /// Messages sent and not yet acknowledged.
    pub(crate) fn in_flight(&self) -> usize {
        self.state
            .send
            .lock()
            .as_ref()
            .map_or(0, |h| h.unacked.len())
    }

    /// Asks the peer to acknowledge now, if anything is in flight (the
    /// receiver would otherwise wait for more messages or its timer, and a
    /// lost last message for the retransmit timeout: the ack names the
    /// gap). Returns what is in flight. `mesh:unknown_peer` without a
    /// session, `mesh:shutdown`.
    pub(crate) fn request_ack(&self) -> Result<usize> {
        self.host.check_open()?;
        // Checked outside the send lock (the lock order elsewhere is peers,
        // then a stream's halves).
        let peer = self.host.peer(self.state.peer)?;
        let in_flight = self.in_flight();
        if in_flight > 0 {
            let _ = self.host.send_sealed(
                &peer,
                self.state.protocol,
                control::ACK_REQUEST,
                PacketFlags::CONTROL,
                0,
                &self.state.stream_id.to_le_bytes(),
            );
        }
        Ok(in_flight)
    }

    /// A listener that fires when acks free room in the window (or the
    /// node shuts down): the task-side twin of a blocking send's wait.
    /// Take it before trying, so a wake between try and wait is not lost.
    pub(crate) fn window_listener(&self) -> event_listener::EventListener {
        self.state.window_event.listen()
    }
}

/// How long an ack may wait for the timer once one is due (more messages
/// arriving meanwhile share it).
pub(super) const ACK_DELAY: Duration = Duration::from_millis(5);

/// Every stream of a node, by peer, protocol and stream id, and the
/// *active* ones: those with timer work (messages in flight, an ack due).
/// The timer walks only the active set, so idle streams cost nothing.
#[derive(Default)]
pub(super) struct Streams {
    map: RwLock<HashMap<StreamKey, Arc<StreamState>>>,
    active: Mutex<HashMap<StreamKey, Arc<StreamState>>>,
}

impl Streams {
    /// Opens a stream with `config`: the same one again if it is already
    /// open that way, `mesh:invalid_config` if open another way. A stream
    /// only ever received on takes this side's config now.
    pub(super) fn open(&self, key: StreamKey, config: StreamConfig) -> Result<Arc<StreamState>> {
        let mut streams = self.map.write();
        let state = match streams.get(&key) {
            Some(existing) if existing.config == config => existing.clone(),
            // Only ever received on: take this side's config now.
            Some(existing)
                if existing.config == StreamConfig::default()
                    && existing.sent.load(Ordering::Relaxed) == 0 =>
            {
                let state = Arc::new(StreamState::new(key, config)?);
                *state.recv.lock() = std::mem::take(&mut *existing.recv.lock());
                state
                    .received
                    .store(existing.received.load(Ordering::Relaxed), Ordering::Relaxed);
                state.duplicates.store(
                    existing.duplicates.load(Ordering::Relaxed),
                    Ordering::Relaxed,
                );
                streams.insert(key, state.clone());
                state
            }
            Some(existing) => {
                return Err(Error::new(
                    ErrorKind::InvalidMeshConfig,
                    format!(
                        "stream {} to node {:016x} is already open with {:?}",
                        key.stream, key.peer, existing.config
                    ),
                ))
            }
            None => {
                let state = Arc::new(StreamState::new(key, config)?);
                streams.insert(key, state.clone());
                state
            }
        };
        Ok(state)
    }

    /// The stream's state, created fire-and-forget on first use (the caller
    /// checked that the peer has a session).
    pub(super) fn get_or_default(&self, key: StreamKey) -> Result<Arc<StreamState>> {
        if let Some(state) = self.map.read().get(&key) {
            return Ok(state.clone());
        }
        let mut streams = self.map.write();
        if let Some(state) = streams.get(&key) {
            return Ok(state.clone());
        }
        let state = Arc::new(StreamState::new(key, StreamConfig::default())?);
        streams.insert(key, state.clone());
        Ok(state)
    }

    fn get(&self, key: &StreamKey) -> Option<Arc<StreamState>> {
        self.map.read().get(key).cloned()
    }

    /// Whether the stream exists yet.
    pub(super) fn contains(&self, key: &StreamKey) -> bool {
        self.map.read().contains_key(key)
    }

    /// The counters of one stream, if it exists.
    pub(super) fn stats(&self, key: &StreamKey) -> Option<StreamStats> {
        self.map.read().get(key).map(|s| s.stats())
    }

    /// The ids of `peer`'s streams under `protocol`.
    #[cfg(test)]
    pub(super) fn ids(&self, peer: u64, protocol: u16) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .map
            .read()
            .keys()
            .filter(|k| k.peer == peer && k.protocol == protocol)
            .map(|k| k.stream)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Puts `state` in the active set (idempotent).
    pub(super) fn mark_active(&self, state: &Arc<StreamState>) {
        if !state.active.swap(true, Ordering::AcqRel) {
            self.active.lock().insert(state.key(), state.clone());
        }
    }

    /// How many streams have timer work now.
    #[cfg(test)]
    pub(super) fn active_len(&self) -> usize {
        self.active.lock().len()
    }

    /// Drops the streams of `node_id` that nobody holds a handle to (the
    /// table's and the active set's references aside).
    pub(super) fn forget_peer(&self, node_id: u64) {
        let mut map = self.map.write();
        let mut active = self.active.lock();
        map.retain(|key, state| {
            let own = 1 + usize::from(active.contains_key(key));
            let keep = key.peer != node_id || Arc::strong_count(state) > own;
            if !keep {
                active.remove(key);
            }
            keep
        });
    }

    /// The state of a stream a peer sends on, created on first sight.
    fn inbound(&self, key: StreamKey) -> Option<Arc<StreamState>> {
        if let Some(state) = self.map.read().get(&key) {
            return Some(state.clone());
        }
        let state = Arc::new(StreamState::new(key, StreamConfig::default()).ok()?);
        Some(self.map.write().entry(key).or_insert(state).clone())
    }

    /// A fire-and-forget message: straight to the sink (a full one drops it).
    pub(super) fn on_unordered(&self, key: StreamKey, body: &[u8], sink: &dyn Sink) {
        // Counted first, so a reader that got the message sees it counted.
        let state = self.inbound(key);
        if let Some(state) = &state {
            bump(&state.received);
        }
        if sink.deliver(&mut std::iter::once(body.to_vec()), false) == 0 {
            if let Some(state) = &state {
                state.received.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// A reliable message: accepted in order (a full sink leaves it
    /// unaccepted, so unacknowledged), acknowledged when due.
    pub(super) fn on_reliable(
        &self,
        host: &dyn StreamHost,
        peer: &Peer,
        key: StreamKey,
        seq: u64,
        body: &[u8],
        sink: &dyn Sink,
    ) {
        let counters = host.counters();
        let Some((epoch, bytes)) = split_epoch(body) else {
            return bump(&counters.dropped_malformed);
        };
        if seq == 0 {
            return bump(&counters.dropped_malformed);
        }
        if !sink.has_room() {
            // Not accepted, so not acknowledged: the sender resends later.
            return bump(&counters.dropped_inbox_full);
        }
        let Some(state) = self.inbound(key) else {
            return;
        };
        let mut recv = state.recv.lock();
        let now = host.now();
        let accepted = recv.accept(epoch, seq, bytes);
        if recv.ack_due {
            host.stream_due(&state, now + ACK_DELAY);
        }
        let ack_now = match accepted {
            Accepted::Deliver(run) => {
                // Counted first, so a reader that got the message sees it counted.
                state
                    .received
                    .fetch_add(run.len() as u64, Ordering::Relaxed);
                sink.deliver(&mut run.into_iter(), true);
                recv.unacked_count >= ACK_EVERY
                    || recv.unacked_bytes >= ACK_EVERY_BYTES
                    || recv.has_gap()
            }
            Accepted::Buffered => true,
            Accepted::Duplicate => {
                bump(&state.duplicates);
                // Our ack was probably lost; the timer sends another.
                false
            }
            Accepted::TooFar => {
                bump(&counters.dropped_malformed);
                false
            }
            Accepted::Stale => {
                bump(&state.duplicates);
                false
            }
            Accepted::Resync => {
                let request = resync_request(&mut recv, key.stream, epoch, now);
                drop(recv);
                return send_resync(host, peer, key.protocol, request);
            }
        };
        let recently = recv
            .last_ack
            .is_some_and(|at| now.duration_since(at) < GAP_ACK_INTERVAL);
        let ack = if ack_now && !(recv.has_gap() && recently) {
            recv.take_ack(now)
        } else {
            None
        };
        drop(recv);
        send_ack(host, peer, key, ack);
    }

    /// An ack for one of this node's reliable streams.
    pub(super) fn on_ack(&self, host: &dyn StreamHost, peer: &Peer, key: StreamKey, body: &[u8]) {
        let Some(ack) = Ack::decode(body) else {
            return bump(&host.counters().dropped_malformed);
        };
        let Some(state) = self.get(&key) else {
            return;
        };
        let now = host.now();
        let mut guard = state.send.lock();
        let Some(half) = guard.as_mut() else {
            return;
        };
        let before = half.unacked.len();
        let holdoff = half.nack_holdoff();
        for seq in half.apply_ack(&ack, now) {
            if let Some(entry) = half.unacked.get_mut(&seq) {
                if now.duration_since(entry.last_sent) < holdoff {
                    continue;
                }
                resend(host, peer, &state, seq, entry, now);
            }
        }
        if half.unacked.len() < before {
            state.window_open.notify_all();
            state.window_event.notify(usize::MAX);
            drop(guard);
            host.window_opened(&key);
        }
    }

    /// A peer asks for the ack of one of its streams to this node now.
    pub(super) fn on_ack_request(
        &self,
        host: &dyn StreamHost,
        peer: &Peer,
        protocol: u16,
        body: &[u8],
    ) {
        let Ok(id) = <[u8; 8]>::try_from(body) else {
            return bump(&host.counters().dropped_malformed);
        };
        let key = StreamKey {
            peer: peer.node_id,
            protocol,
            stream: u64::from_le_bytes(id),
        };
        let Some(state) = self.get(&key) else {
            return;
        };
        let now = host.now();
        let mut recv = state.recv.lock();
        if let Some(epoch) = recv.refused {
            // Still waiting for the sender to resync: ask again.
            recv.last_resync = None;
            let request = resync_request(&mut recv, key.stream, epoch, now);
            drop(recv);
            return send_resync(host, peer, protocol, request);
        }
        let ack = recv.take_ack(now);
        drop(recv);
        send_ack(host, peer, key, ack);
    }

    /// The receiver of one of this node's streams has no record of its
    /// epoch (it restarted): start the stream over and send what it lacks.
    pub(super) fn on_resync(&self, host: &dyn StreamHost, peer: &Peer, protocol: u16, body: &[u8]) {
        let Some((stream, epoch)) = decode_resync(body) else {
            return bump(&host.counters().dropped_malformed);
        };
        let key = StreamKey {
            peer: peer.node_id,
            protocol,
            stream,
        };
        let Some(state) = self.get(&key) else {
            return;
        };
        let mut guard = state.send.lock();
        let Some(half) = guard.as_mut() else {
            return;
        };
        // A request about an epoch already left behind is a late copy.
        if half.epoch != epoch {
            return;
        }
        let Ok(fresh) = random_epoch() else {
            return;
        };
        let now = host.now();
        for seq in half.resync(fresh) {
            if let Some(entry) = half.unacked.get_mut(&seq) {
                resend(host, peer, &state, seq, entry, now);
            }
        }
    }

    /// Sends the acks that are due and resends what waited too long, for
    /// the active streams only; returns when the next of their deadlines is
    /// (`None` when no stream has timer work left).
    pub(super) fn timers(&self, host: &dyn StreamHost, now: Instant) -> Option<Instant> {
        let active: Vec<Arc<StreamState>> = self.active.lock().values().cloned().collect();
        let retransmit_timeout = host.retransmit_timeout();
        let mut next: Option<Instant> = None;
        let mut soon = |at: Instant| next = Some(next.map_or(at, |n: Instant| n.min(at)));
        for state in active {
            // Cleared before looking, so work added meanwhile marks it again.
            state.active.store(false, Ordering::Release);
            let Ok(peer) = host.peer(state.peer) else {
                // No session (yet, or for now): look again a timeout later,
                // while there is something to resend.
                if state
                    .send
                    .lock()
                    .as_ref()
                    .is_some_and(|h| !h.unacked.is_empty())
                {
                    self.keep_active(&state);
                    soon(now + retransmit_timeout);
                }
                continue;
            };
            let ack = {
                let mut recv = state.recv.lock();
                if recv.ack_due {
                    recv.take_ack(now)
                } else {
                    None
                }
            };
            send_ack(host, &peer, state.key(), ack);
            let mut guard = state.send.lock();
            let Some(half) = guard.as_mut() else {
                drop(guard);
                self.settle(&state);
                continue;
            };
            let mut earliest: Option<Instant> = None;
            for (&seq, entry) in half.unacked.iter_mut() {
                if now.duration_since(entry.last_sent) >= retransmit_timeout {
                    resend(host, &peer, &state, seq, entry, now);
                }
                let due = entry.last_sent + retransmit_timeout;
                earliest = Some(earliest.map_or(due, |e| e.min(due)));
            }
            drop(guard);
            match earliest {
                Some(due) => {
                    self.keep_active(&state);
                    soon(due);
                }
                None => self.settle(&state),
            }
        }
        next
    }

    /// Keeps a stream the timer looked at in the active set.
    fn keep_active(&self, state: &Arc<StreamState>) {
        self.mark_active(state);
    }

    /// Takes a stream without timer work out of the active set, unless work
    /// came meanwhile (which marked it again).
    fn settle(&self, state: &Arc<StreamState>) {
        let mut active = self.active.lock();
        if !state.active.load(Ordering::Acquire) {
            active.remove(&state.key());
        }
    }

    /// Wakes every sender waiting for window room (on shutdown).
    pub(super) fn wake_waiters(&self) {
        for state in self.map.read().values() {
            let _guard = state.send.lock();
            state.window_open.notify_all();
            state.window_event.notify(usize::MAX);
        }
    }
}

/// Wakes the senders of `state` waiting for window room (a cancelled wait).
pub(super) fn wake_senders(state: &StreamState) {
    let _held = state.send.lock();
    state.window_open.notify_all();
    state.window_event.notify(usize::MAX);
}

/// Sends one message on `state`, waiting for window room as `wait` says.
/// How many messages sent on a reliable stream are not acknowledged yet.
pub(super) fn in_flight(state: &StreamState) -> usize {
    state
        .send
        .lock()
        .as_ref()
        .map_or(0, |half| half.unacked.len())
}

pub(super) fn send_on(
    host: &dyn StreamHost,
    state: &Arc<StreamState>,
    payload: &[u8],
    wait: Wait,
    cancel: Option<&crate::cancel::CancelToken>,
) -> Result<()> {
    host.check_open()?;
    let peer = host.peer(state.peer)?;
    if state.config.reliability == Reliability::FireAndForget {
        host.send_sealed(&peer, state.protocol, state.stream_id, 0, 0, payload)?;
        bump(&state.sent);
        add(&host.counters().bytes_sent, payload.len());
        return Ok(());
    }
    if payload.len() > MAX_PAYLOAD - EPOCH_LEN {
        return Err(Error::new(
            ErrorKind::MessageTooLarge,
            format!(
                "a reliable message is at most {} bytes, got {}",
                MAX_PAYLOAD - EPOCH_LEN,
                payload.len()
            ),
        ));
    }
    let mut guard = state.send.lock();
    let mut tries = 0u32;
    let mut retry_wait = FIRST_RETRY_WAIT;
    loop {
        let half = guard.as_mut().ok_or_else(|| backpressure(state))?;
        if !half.window_full() {
            break;
        }
        host.check_open()?;
        if let Some(cancel) = cancel {
            cancel.check()?;
        }
        match wait {
            Wait::Never => return Err(backpressure(state)),
            Wait::Retries(max) => {
                if tries >= max {
                    return Err(backpressure(state));
                }
                state
                    .window_open
                    .wait_for(&mut guard, retry_wait.min(MAX_RETRY_WAIT));
                retry_wait *= 2;
            }
            Wait::Until(Some(deadline)) => {
                if state
                    .window_open
                    .wait_until(&mut guard, deadline)
                    .timed_out()
                    && guard.as_ref().is_some_and(SendHalf::window_full)
                {
                    host.check_open()?;
                    return Err(Error::new(
                        ErrorKind::MeshTimeout,
                        format!(
                            "stream {} to node {:016x}: the window stayed full",
                            state.stream_id, state.peer
                        ),
                    ));
                }
            }
            Wait::Until(None) => state.window_open.wait(&mut guard),
        }
        tries += 1;
    }
    let half = guard.as_mut().ok_or_else(|| backpressure(state))?;
    let seq = half.next_seq;
    let mut body = Vec::with_capacity(EPOCH_LEN + payload.len());
    body.extend_from_slice(&half.epoch.to_le_bytes());
    body.extend_from_slice(payload);
    host.send_sealed(
        &peer,
        state.protocol,
        state.stream_id,
        PacketFlags::RELIABLE,
        seq,
        &body,
    )?;
    half.next_seq += 1;
    let now = host.now();
    half.unacked.insert(
        seq,
        Unacked {
            body,
            last_sent: now,
            resent: false,
        },
    );
    drop(guard);
    host.stream_due(state, now + host.retransmit_timeout());
    bump(&state.sent);
    add(&host.counters().bytes_sent, payload.len());
    Ok(())
}

/// Sends a held message again (counted as a retransmit).
fn resend(
    host: &dyn StreamHost,
    peer: &Peer,
    state: &StreamState,
    seq: u64,
    entry: &mut Unacked,
    now: Instant,
) {
    let sent = host.send_sealed(
        peer,
        state.protocol,
        state.stream_id,
        PacketFlags::RELIABLE,
        seq,
        &entry.body,
    );
    if sent.is_ok() {
        entry.last_sent = now;
        entry.resent = true;
        bump(&state.retransmits);
    }
}

/// Sends an ack, if there is one to send.
fn send_ack(host: &dyn StreamHost, peer: &Peer, key: StreamKey, ack: Option<Ack>) {
    if let Some(ack) = ack {
        let _ = host.send_sealed(
            peer,
            key.protocol,
            key.stream,
            PacketFlags::ACK,
            0,
            &ack.encode(),
        );
    }
}

/// Sends a resync request, if one is due (see `resync_request`).
fn send_resync(
    host: &dyn StreamHost,
    peer: &Peer,
    protocol: u16,
    request: Option<[u8; RESYNC_LEN]>,
) {
    if let Some(body) = request {
        let _ = host.send_sealed(
            peer,
            protocol,
            control::RESYNC,
            PacketFlags::CONTROL,
            0,
            &body,
        );
    }
}
