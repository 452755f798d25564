//! The bus over the mesh: a link that carries the events of a bus on one
//! node into a bus on a connected peer, over one reliable stream.
//!
//! A link has a direction.
//! * A **send** link is the consumer of its local bus. It polls events,
//!   packs them into messages (see [`frame`]) and sends them on a reliable
//!   stream; it moves its poll cursor on, which frees the events, only once
//!   the peer has acknowledged every message of the batch.
//! * A **receive** link takes that stream's messages from that peer and
//!   emits each event into its local bus, where `poll` and subscriptions
//!   read it like any local event.
//!
//! Links are a mesh protocol ([`BUS_LINK`](super::protocol::BUS_LINK),
//! see [`super::protocol`]): their streams are in the bus link's own
//! namespace, so a link's stream id never takes one of the application's
//! (stream 7 of a link and stream 7 of `send`/`recv` are two streams), and
//! link messages never reach `recv`. Messages for a stream no receive link
//! is open on yet are not acknowledged, so the sender resends them until
//! one is.
//!
//! Delivery is at least once, as for `poll`: an event leaves the sending bus
//! only after the peer's node acknowledged it. A link closed mid-batch leaves
//! the batch in the bus for the next link (which may send part of it again);
//! a session that goes away makes the send link wait for the peer to come
//! back, with the reliable stream resending what was unacknowledged.
//! Pressure travels back to the producer: a receiving bus that refuses
//! events (`bus:backpressure` under the `fail` policy) makes the receive link
//! wait, its queue fills, the stream stops acknowledging, the sender's window
//! closes and the sending bus fills up under its own policy.
//!
//! A link is a task on the engine's runtime (see [`crate::runtime`]), not a
//! thread: it sleeps on the bus, the stream's window and the link queue's
//! wake-ups, never on a tick.
//!
//! For two-way traffic, use two links on two stream ids (and, on each node,
//! one bus to send from and one to receive into: a send link would otherwise
//! send the received events straight back).

mod frame;
mod options;

pub use options::{BusLinkOptions, LinkDirection, DEFAULT_LINK_STREAM};

use super::node::MeshNode;
use super::protocol::{Protocol, Remote, BUS_LINK};
use super::stream::StreamConfig;
use super::streaming::MeshStream;
use crate::bus::{Bus, PollRequest};
use crate::error::{Error, ErrorKind, Result};
use event_listener::{Event, EventListener};
use frame::{Packer, Unpacker};
use parking_lot::{Condvar, Mutex, RwLock};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// How long a link waits for a lost session before it tries again, the
/// longest pause after the receiving bus refused an event, and how often a
/// send link asks for the ack of a batch while it waits for it.
const TICK: Duration = Duration::from_millis(50);
/// The first pause after the receiving bus refused an event; it doubles up
/// to `TICK`.
const FIRST_BUS_WAIT: Duration = Duration::from_millis(1);

/// The share of the socket's receive buffer a send link fills at most. The
/// kernel counts each datagram with its overhead (on Linux a 16 KiB
/// datagram can cost 32 KiB), and other traffic shares the buffer; more in
/// flight than it holds is dropped at the receiver and waits for a resend.
const BUFFER_SHARE: usize = 4;

/// The credit window (in messages) of a link's stream, from the receive
/// buffer the local socket got (peers are assumed to be set up alike).
fn window_for(recv_buffer: usize, message_bytes: usize) -> u32 {
    (recv_buffer / BUFFER_SHARE / message_bytes).clamp(2, 256) as u32
}

/// How a send link opens its stream.
fn link_stream(mesh: &MeshNode, options: &BusLinkOptions) -> StreamConfig {
    StreamConfig::reliable().with_window(window_for(mesh.recv_buffer_size(), options.message_bytes))
}

/// The bus link protocol on one node: hands each stream's messages to the
/// receive link open on it.
#[derive(Default)]
struct Links {
    receivers: RwLock<HashMap<(u64, u64), Arc<Inbound>>>,
    closed: AtomicBool,
    /// Fired when the node shuts down (send links waiting on their bus
    /// stop then).
    shutdown: Event,
}

impl Protocol for Links {
    fn on_message(&self, from: &Remote, stream_id: u64, payload: Vec<u8>) {
        if let Some(inbound) = self.receivers.read().get(&(from.node_id, stream_id)) {
            // The node asked `has_room` first: this one is taken.
            inbound.take(payload);
        }
    }

    fn has_room(&self, from: &Remote, stream_id: u64) -> bool {
        self.receivers
            .read()
            .get(&(from.node_id, stream_id))
            .is_some_and(|inbound| inbound.has_room())
    }

    fn on_shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        for inbound in self.receivers.read().values() {
            inbound.close();
        }
        self.shutdown.notify(usize::MAX);
    }
}

/// A receive link's side of the protocol. The node's reader thread unpacks
/// each message and emits its events into the bus itself when the bus takes
/// them all at once (no hand-over to another thread on the common path);
/// what the bus refuses waits in the backlog for the link's task, which
/// emits it as room comes, and every later message queues behind it, so
/// events keep their order.
struct Inbound {
    bus: Bus,
    /// The link emits as one producer: its events land in one shard, in
    /// the order they came, whichever thread emits them.
    producer: usize,
    shared: Arc<Shared>,
    /// How many messages the backlog holds at most (more are left
    /// unacknowledged, and the sender resends them).
    capacity: usize,
    state: Mutex<InboundState>,
    /// Fired when the backlog gets a message, or the node shuts down.
    arrived: Event,
}

struct InboundState {
    unpacker: Unpacker,
    /// Events the bus did not take yet, a message's worth each, in order.
    backlog: VecDeque<Vec<bytes::Bytes>>,
    /// The task is emitting events it took from the backlog: later ones
    /// queue behind them.
    busy: bool,
    /// The node shut down.
    closed: bool,
}

impl Inbound {
    fn has_room(&self) -> bool {
        self.state.lock().backlog.len() < self.capacity
    }

    /// One message from the peer (on the node's reader thread).
    fn take(&self, payload: Vec<u8>) {
        let counters = &self.shared.counters;
        let mut state = self.state.lock();
        Shared::add(&counters.messages, 1);
        let unpacked = state.unpacker.unpack(payload.into());
        if unpacked.malformed {
            Shared::add(&counters.malformed, 1);
        }
        Shared::add(&counters.rejected, unpacked.oversized);
        if unpacked.events.is_empty()
            || (state.backlog.is_empty()
                && !state.busy
                && emit_all(&self.shared, &self.bus, self.producer, &unpacked.events))
        {
            return;
        }
        state.backlog.push_back(unpacked.events);
        drop(state);
        self.arrived.notify(1);
    }

    fn close(&self) {
        self.state.lock().closed = true;
        self.arrived.notify(usize::MAX);
    }

    /// The next message's events for the task to emit (it is then busy
    /// until it asks again). `Ok(None)`: none now; `mesh:shutdown` once
    /// the node shut down and the backlog is empty.
    fn next(&self) -> Result<Option<Vec<bytes::Bytes>>> {
        let mut state = self.state.lock();
        let next = state.backlog.pop_front();
        state.busy = next.is_some();
        if next.is_none() && state.closed {
            return Err(Error::new(
                ErrorKind::MeshShutdown,
                "the mesh node has shut down",
            ));
        }
        Ok(next)
    }
}

/// A receive link's place in [`Links`]: its stream's messages, until
/// dropped (or detached).
struct Receiver {
    links: Arc<Links>,
    key: (u64, u64),
    inbound: Arc<Inbound>,
}

impl Receiver {
    fn open(
        mesh: &MeshNode,
        bus: &Bus,
        shared: &Arc<Shared>,
        peer: u64,
        stream_id: u64,
    ) -> Result<Receiver> {
        let links = shared.links.clone();
        let key = (peer, stream_id);
        let inbound = Arc::new(Inbound {
            bus: bus.clone(),
            producer: Bus::new_producer(),
            shared: shared.clone(),
            capacity: mesh.inbox_capacity(),
            state: Mutex::new(InboundState {
                unpacker: Unpacker::new(bus.config().max_event_size),
                backlog: VecDeque::new(),
                busy: false,
                closed: false,
            }),
            arrived: Event::new(),
        });
        let mut receivers = links.receivers.write();
        if links.closed.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::MeshShutdown,
                "the mesh node has shut down",
            ));
        }
        if receivers.contains_key(&key) {
            return Err(Error::new(
                ErrorKind::InvalidMeshConfig,
                format!(
                    "a receive link from node {peer:016x} on stream {stream_id} is already open"
                ),
            ));
        }
        receivers.insert(key, inbound.clone());
        drop(receivers);
        Ok(Receiver {
            links,
            key,
            inbound,
        })
    }

    /// Leaves the protocol: no message reaches this link once it returns
    /// (the reader thread hands messages over under the map's read lock).
    fn detach(&self) {
        let mut receivers = self.links.receivers.write();
        if receivers
            .get(&self.key)
            .is_some_and(|open| Arc::ptr_eq(open, &self.inbound))
        {
            receivers.remove(&self.key);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.detach();
    }
}

/// A link's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusLinkStats {
    /// `send` or `receive`.
    pub direction: LinkDirection,
    /// The peer's node id.
    pub peer: u64,
    /// The stream the link uses.
    pub stream_id: u64,
    /// Events carried: acknowledged by the peer (send) or emitted into the
    /// local bus (receive).
    pub events: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Stream messages sent or received.
    pub messages: u64,
    /// Receive: events the local bus refused for good: bigger than its
    /// `max_event_size`, or still refused for room when the link closed.
    pub rejected: u64,
    /// Receive: messages that were not well-formed link messages.
    pub malformed: u64,
    /// Times the link had to wait: the peer's session was gone (send), or
    /// the local bus was full (receive).
    pub stalls: u64,
    /// Whether the link's thread is still running.
    pub running: bool,
    /// Why the link stopped on its own (the bus or the node shut down), if
    /// it did: the error's text (`<area>:<reason>: <detail>`).
    pub error: Option<String>,
    /// That error's code in the one error table (so no SDK parses the text).
    pub error_code: Option<i32>,
    /// That error's detail, without the kind.
    pub error_detail: Option<String>,
}

#[derive(Default)]
struct Counters {
    events: AtomicU64,
    bytes: AtomicU64,
    messages: AtomicU64,
    rejected: AtomicU64,
    malformed: AtomicU64,
    stalls: AtomicU64,
}

struct Shared {
    direction: LinkDirection,
    peer: u64,
    stream_id: u64,
    stop: AtomicBool,
    /// Fired by `close` (with `stop` set first).
    stopped: Event,
    running: AtomicBool,
    /// Set with `running` cleared, for `close` to wait on.
    ended: Condvar,
    error: Mutex<Option<Error>>,
    counters: Counters,
    /// The node's link protocol (its shutdown wakes the link).
    links: Arc<Links>,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Waits until `listener` fires, `timeout` passes, the link is told to
    /// stop or the node shuts down. `false` once the link should stop.
    async fn wait(&self, listener: EventListener, timeout: Option<Duration>) -> bool {
        let mut listener = listener;
        let mut stop = self.stopped.listen();
        let mut node_down = self.links.shutdown.listen();
        if self.stopping() {
            return false;
        }
        if self.links.closed.load(Ordering::Acquire) {
            return true;
        }
        let any = std::future::poll_fn(|cx| {
            for l in [&mut listener, &mut stop, &mut node_down] {
                if Pin::new(l).poll(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            Poll::Pending
        });
        match timeout {
            Some(t) => {
                let _ = tokio::time::timeout(t, any).await;
            }
            None => any.await,
        }
        !self.stopping()
    }

    /// Sleeps `pause` unless the link is told to stop first.
    async fn pause(&self, pause: Duration) -> bool {
        self.wait(self.stopped.listen(), Some(pause)).await
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A running link between a local bus and a peer. Closing it (or dropping
/// it) stops its thread; see the module docs for what is delivered.
pub struct BusLink {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for BusLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusLink")
            .field("direction", &self.shared.direction)
            .field("peer", &format_args!("{:016x}", self.shared.peer))
            .field("stream_id", &self.shared.stream_id)
            .finish()
    }
}

impl BusLink {
    /// Starts a link between `bus` and the peer `node_id` of `mesh`.
    ///
    /// A send link needs a session with the peer (`mesh:unknown_peer`
    /// otherwise) and opens the stream reliable (`mesh:invalid_config` if it
    /// is already open another way). A receive link takes the stream from
    /// that peer (`mesh:invalid_config` if another receive link has); it
    /// does not need the session yet. Both fail with `bus:shutdown` or
    /// `mesh:shutdown` when either side is shut down.
    pub fn open(
        bus: &Bus,
        mesh: &MeshNode,
        node_id: u64,
        options: BusLinkOptions,
    ) -> Result<BusLink> {
        options.validate()?;
        if bus.is_shutdown() {
            return Err(Error::new(
                ErrorKind::Shutdown,
                "the bus has been shut down",
            ));
        }
        let links = mesh.protocol_instance(BUS_LINK, Links::default)?;
        let shared = Arc::new(Shared {
            direction: options.direction,
            peer: node_id,
            stream_id: options.stream_id,
            stop: AtomicBool::new(false),
            stopped: Event::new(),
            running: AtomicBool::new(true),
            ended: Condvar::new(),
            error: Mutex::new(None),
            counters: Counters::default(),
            links,
        });
        let bus = bus.clone();
        let mut task = Task {
            shared: shared.clone(),
            receiver: None,
        };
        let spawned = match options.direction {
            LinkDirection::Send => {
                let config = link_stream(mesh, &options);
                let stream = mesh.open_stream_in(BUS_LINK, node_id, options.stream_id, config)?;
                crate::runtime::spawn(async move {
                    let outcome = send_loop(&task.shared, &bus, &stream, &options).await;
                    task.shared.record(outcome);
                })
            }
            LinkDirection::Receive => {
                let receiver = Receiver::open(mesh, &bus, &shared, node_id, options.stream_id)?;
                task.receiver = Some(receiver);
                crate::runtime::spawn(async move {
                    let outcome = match &task.receiver {
                        Some(receiver) => receive_loop(&task.shared, receiver).await,
                        None => Ok(()),
                    };
                    task.shared.record(outcome);
                })
            }
        };
        spawned
            .map_err(|e| Error::new(ErrorKind::MeshIo, format!("start the link's task: {e}")))?;
        Ok(BusLink { shared })
    }

    /// The link's counters now.
    pub fn stats(&self) -> BusLinkStats {
        let c = &self.shared.counters;
        let error = self.shared.error.lock().clone();
        BusLinkStats {
            direction: self.shared.direction,
            peer: self.shared.peer,
            stream_id: self.shared.stream_id,
            events: c.events.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            messages: c.messages.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            stalls: c.stalls.load(Ordering::Relaxed),
            running: self.shared.running.load(Ordering::Acquire),
            error: error.as_ref().map(ToString::to_string),
            error_code: error.as_ref().map(|e| e.kind().code()),
            error_detail: error.map(|e| e.detail().to_owned()),
        }
    }

    /// Stops the link and waits for its task to end (at once, or after
    /// the event in hand: at most a few tens of milliseconds). A receive
    /// link first hands what it already received to its bus. Idempotent.
    pub fn close(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.stopped.notify(usize::MAX);
        let mut error = self.shared.error.lock();
        while self.shared.running.load(Ordering::Acquire) {
            self.shared.ended.wait(&mut error);
        }
    }
}

impl Drop for BusLink {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    /// Keeps why the link stopped on its own, if it did.
    fn record(&self, outcome: Result<()>) {
        if let Err(e) = outcome {
            *self.error.lock() = Some(e);
        }
    }
}

/// Owned by a link's task: frees the link's stream (a receive link's place
/// in the protocol) and then marks the link ended, however the task ends
/// (also when the runtime drops it unfinished), so `close` returns only
/// once the stream is free for the next link.
struct Task {
    shared: Arc<Shared>,
    receiver: Option<Receiver>,
}

impl Drop for Task {
    fn drop(&mut self) {
        drop(self.receiver.take());
        let _held = self.shared.error.lock();
        self.shared.running.store(false, Ordering::Release);
        self.shared.ended.notify_all();
    }
}

async fn send_loop(
    shared: &Shared,
    bus: &Bus,
    stream: &MeshStream,
    options: &BusLinkOptions,
) -> Result<()> {
    let watch = bus.watch();
    // The cursor past the last batch the peer acknowledged: passing it to
    // the next poll frees that batch.
    let mut cursor: Option<String> = None;
    while !shared.stopping() {
        if shared.links.closed.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::MeshShutdown,
                "the mesh node has shut down",
            ));
        }
        let listener = watch.listen();
        let batch = bus.poll(&PollRequest {
            limit: options.max_batch,
            cursor: cursor.clone(),
            filter: None,
        })?;
        if batch.events.is_empty() {
            cursor = Some(batch.next_cursor);
            shared.wait(listener, None).await;
            continue;
        }
        let mut packer = Packer::new(options.message_bytes);
        let mut bytes = 0u64;
        for event in &batch.events {
            packer.push(&event.data);
            bytes += event.data.len() as u64;
        }
        let messages = packer.finish();
        let count = messages.len() as u64;
        for message in messages {
            if !send_one(shared, stream, &message).await? {
                return Ok(());
            }
        }
        if !wait_acked(shared, stream).await? {
            return Ok(());
        }
        Shared::add(&shared.counters.messages, count);
        Shared::add(&shared.counters.events, batch.events.len() as u64);
        Shared::add(&shared.counters.bytes, bytes);
        cursor = Some(batch.next_cursor);
    }
    Ok(())
}

/// What one try of a step came to.
enum Step {
    Done,
    /// Not yet: wait for this listener (or the tick) and try again.
    Again(EventListener),
    /// No session with the peer: try again a tick later.
    NoSession,
}

/// Runs `step` until it is done, through a lost session (counted once as a
/// stall) and until the link is told to stop (`Ok(false)`).
async fn patiently(shared: &Shared, mut step: impl FnMut() -> Result<Step>) -> Result<bool> {
    let mut stalled = false;
    while !shared.stopping() {
        match step()? {
            Step::Done => return Ok(true),
            Step::Again(listener) => {
                shared.wait(listener, Some(TICK)).await;
            }
            Step::NoSession => {
                if !stalled {
                    stalled = true;
                    Shared::add(&shared.counters.stalls, 1);
                }
                shared.pause(TICK).await;
            }
        }
    }
    Ok(false)
}

/// Sends one message, waiting for window room and for a lost session to
/// come back. `Ok(false)` when the link was told to stop meanwhile.
async fn send_one(shared: &Shared, stream: &MeshStream, message: &[u8]) -> Result<bool> {
    patiently(shared, || {
        // Listening first: an ack between the try and the wait is not missed.
        let room = stream.window_listener();
        match stream.send(message) {
            Ok(()) => Ok(Step::Done),
            Err(e) if e.kind() == ErrorKind::StreamBackpressure => Ok(Step::Again(room)),
            Err(e) if e.kind() == ErrorKind::UnknownPeer => Ok(Step::NoSession),
            Err(e) => Err(e),
        }
    })
    .await
}

/// Waits until the peer acknowledged everything sent, asking for the ack
/// every tick. `Ok(false)` when the link was told to stop meanwhile.
async fn wait_acked(shared: &Shared, stream: &MeshStream) -> Result<bool> {
    patiently(shared, || {
        let acked = stream.window_listener();
        match stream.request_ack() {
            Ok(0) => Ok(Step::Done),
            Ok(_) => Ok(Step::Again(acked)),
            Err(e) if e.kind() == ErrorKind::UnknownPeer => Ok(Step::NoSession),
            Err(e) => Err(e),
        }
    })
    .await
}

/// Emits what the reader thread left in the backlog, as the bus makes room.
/// Once told to stop, the link leaves the protocol and then empties the
/// backlog (what is in it was acknowledged, so the sender will not send it
/// again).
async fn receive_loop(shared: &Shared, receiver: &Receiver) -> Result<()> {
    let inbound = &receiver.inbound;
    let mut full_at_close = false;
    let mut detached = false;
    loop {
        let events = match inbound.next()? {
            Some(events) => events,
            None if shared.stopping() => {
                if detached {
                    return Ok(());
                }
                receiver.detach();
                detached = true;
                continue;
            }
            None => {
                // Listening, then looking once more: a message queued
                // between the two is not missed.
                let arrived = inbound.arrived.listen();
                match inbound.next()? {
                    Some(events) => events,
                    None => {
                        shared.wait(arrived, None).await;
                        continue;
                    }
                }
            }
        };
        for event in events {
            emit(
                shared,
                &inbound.bus,
                inbound.producer,
                event,
                &mut full_at_close,
            )
            .await?;
        }
    }
}

/// Emits a message's events into the bus under one lock, if the bus takes
/// them all at once (`false`: it did not, and took none; `emit` then takes
/// them one by one, waiting for room).
fn emit_all(shared: &Shared, bus: &Bus, producer: usize, events: &[bytes::Bytes]) -> bool {
    let counters = &shared.counters;
    let bytes: u64 = events.iter().map(|e| e.len() as u64).sum();
    // Counted before the emit, as in `emit`.
    Shared::add(&counters.events, events.len() as u64);
    Shared::add(&counters.bytes, bytes);
    if bus.emit_bytes_batch_from(producer, events).is_ok() {
        return true;
    }
    counters
        .events
        .fetch_sub(events.len() as u64, Ordering::Relaxed);
    counters.bytes.fetch_sub(bytes, Ordering::Relaxed);
    false
}

/// Emits one received event, waiting while the bus refuses it for room.
/// `full_at_close` is set once an event was given up while closing, so the
/// rest are given up at once rather than each after a wait.
async fn emit(
    shared: &Shared,
    bus: &Bus,
    producer: usize,
    event: bytes::Bytes,
    full_at_close: &mut bool,
) -> Result<()> {
    let len = event.len() as u64;
    let counters = &shared.counters;
    // Counted before the emit, so a reader that polled the event sees it
    // counted; taken back if the bus refuses it for good.
    Shared::add(&counters.events, 1);
    Shared::add(&counters.bytes, len);
    let refused = |into_rejected: bool| {
        counters.events.fetch_sub(1, Ordering::Relaxed);
        counters.bytes.fetch_sub(len, Ordering::Relaxed);
        if into_rejected {
            Shared::add(&counters.rejected, 1);
        }
    };
    let mut wait = FIRST_BUS_WAIT;
    let mut stalled = false;
    loop {
        match bus.emit_bytes_from(producer, event.clone()) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Backpressure => {
                if shared.stopping() && (wait >= TICK || *full_at_close) {
                    // Closing, and the bus stays full: give the event up,
                    // counted, rather than never letting `close` return.
                    *full_at_close = true;
                    refused(true);
                    return Ok(());
                }
                if !stalled {
                    stalled = true;
                    Shared::add(&counters.stalls, 1);
                }
                // Not cut short by `close`: closing keeps trying for a tick.
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(TICK);
            }
            Err(e) if e.kind() == ErrorKind::EventTooLarge => {
                refused(true);
                return Ok(());
            }
            Err(e) => {
                refused(false);
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests;
