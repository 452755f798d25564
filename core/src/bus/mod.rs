//! The in-memory event bus: sharded, bounded, with cursors and live subscriptions.
//!
//! # Model
//! * Events are opaque bytes. Each producer thread writes to one shard (assigned
//!   round-robin the first time the thread emits), so one thread's events keep
//!   their order and producers on different threads rarely share a lock.
//! * Every accepted event gets a [`Receipt`] `(shard, seq)`. From then on it is
//!   either delivered to a consumer or counted in [`Stats::dropped`] by the
//!   backpressure policy; nothing with a receipt vanishes silently.
//! * [`Bus::poll`] reads without removing. Passing the cursor of the previous poll
//!   acknowledges everything before it, which frees those events and lets the
//!   shard take new ones: at-least-once delivery that resumes exactly where the
//!   last poll stopped. A [`Subscription`] is a live consumer: it takes events as
//!   it yields them.
//! * [`Bus::shutdown`] is idempotent: it seals every shard, then wakes the
//!   subscriptions, which drain what is buffered and end. Every later call fails
//!   with `bus:shutdown`, except [`Bus::stats`] and [`Bus::health`].

mod config;
mod cursor;
mod event;
mod filter;
mod shard;

mod give_back;
mod subscription;

pub use config::{Backpressure, BusConfig, DEFAULT_MAX_EVENT_SIZE, DEFAULT_RING_CAPACITY};
pub use cursor::Cursor;
pub use event::{Event, Receipt};
pub use filter::Filter;
pub use subscription::{SubscribeOptions, Subscription};

use crate::error::{Error, ErrorKind, Result};
use parking_lot::Mutex;
use serde::Serialize;
use shard::{Payload, ShardState};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A shard padded to its own cache lines so neighbouring locks do not false-share.
#[repr(align(128))]
struct PaddedShard(Mutex<ShardState>);

struct Inner {
    config: BusConfig,
    shards: Box<[PaddedShard]>,
    /// Set first by shutdown: fast rejection of new calls.
    closing: AtomicBool,
    /// Set once every shard is sealed: subscriptions may end once drained.
    sealed: AtomicBool,
    /// Live subscriptions; emits skip the wake-up when there are none.
    listeners: AtomicUsize,
    new_data: event_listener::Event,
    /// This bus's local channels (see [`Bus::channels`]).
    channels: Arc<crate::mesh::LocalChannels>,
}

/// The event bus. Cheap to clone: clones share one bus.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

/// What to poll.
#[derive(Debug, Clone)]
pub struct PollRequest {
    /// Most events to return (at least 1).
    pub limit: usize,
    /// The previous poll's `next_cursor`; `None` starts at the oldest buffered event.
    pub cursor: Option<String>,
    /// Only return events matching this filter.
    pub filter: Option<Filter>,
}

impl Default for PollRequest {
    fn default() -> Self {
        PollRequest {
            limit: 100,
            cursor: None,
            filter: None,
        }
    }
}

/// The result of a poll.
#[derive(Debug, Clone)]
pub struct PollResponse {
    /// Events in shard order, each shard in sequence order.
    pub events: Vec<Event>,
    /// Pass this to the next poll to resume (and to acknowledge these events).
    pub next_cursor: String,
    /// Whether more events were buffered beyond this response.
    pub has_more: bool,
}

/// Counters for the whole bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events accepted (receipts issued).
    pub ingested: u64,
    /// Events discarded by the backpressure policy.
    pub dropped: u64,
    /// Events buffered now, over all shards.
    pub buffered: u64,
    /// Events buffered now, per shard.
    pub shard_depths: Vec<u64>,
}

/// Overall state of a bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `healthy`, `saturated` (some shard is full) or `shutdown`.
    pub status: &'static str,
    /// Number of shards.
    pub num_shards: usize,
    /// Shards at capacity.
    pub full_shards: usize,
}

static NEXT_PRODUCER: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static PRODUCER_SLOT: usize = NEXT_PRODUCER.fetch_add(1, Ordering::Relaxed);
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn shutdown_error() -> Error {
    Error::new(ErrorKind::Shutdown, "the bus has been shut down")
}

fn validate_json(data: &[u8]) -> Result<()> {
    serde_json::from_slice::<serde::de::IgnoredAny>(data)
        .map(|_| ())
        .map_err(|e| Error::new(ErrorKind::InvalidJson, e.to_string()))
}

impl Bus {
    /// Creates a bus; the configuration is validated first.
    pub fn new(config: BusConfig) -> Result<Bus> {
        config.validate()?;
        let shards = (0..config.num_shards)
            .map(|_| PaddedShard(Mutex::new(ShardState::new())))
            .collect();
        let channels = crate::mesh::LocalChannels::new(config.ring_buffer_capacity, shutdown_error);
        Ok(Bus {
            inner: Arc::new(Inner {
                config,
                channels,
                shards,
                closing: AtomicBool::new(false),
                sealed: AtomicBool::new(false),
                listeners: AtomicUsize::new(0),
                new_data: event_listener::Event::new(),
            }),
        })
    }

    /// Creates a bus from a JSON configuration (see [`BusConfig::from_json`]).
    pub fn from_json(config: &str) -> Result<Bus> {
        Bus::new(BusConfig::from_json(config)?)
    }

    /// This bus's channels: publish on a name and every matching
    /// subscription gets a copy, where the bus itself hands each event to
    /// one consumer (see [`crate::mesh::local_channels`]). Closed by
    /// [`Bus::shutdown`] (`bus:shutdown` from then on); a subscription holds
    /// up to `ring_buffer_capacity` messages.
    pub fn channels(&self) -> &Arc<crate::mesh::LocalChannels> {
        &self.inner.channels
    }

    /// The configuration this bus runs with.
    pub fn config(&self) -> &BusConfig {
        &self.inner.config
    }

    /// Number of shards.
    pub fn num_shards(&self) -> usize {
        self.inner.shards.len()
    }

    fn producer_shard(&self) -> usize {
        PRODUCER_SLOT.with(|slot| *slot % self.inner.shards.len())
    }

    /// A producer slot of its own, for an engine task that emits from
    /// whichever runtime thread it runs on: its events go to one shard, as
    /// a producer thread's do, so they keep their order (see
    /// [`emit_bytes_from`](Self::emit_bytes_from)).
    pub(crate) fn new_producer() -> usize {
        NEXT_PRODUCER.fetch_add(1, Ordering::Relaxed)
    }

    /// [`emit_bytes`](Self::emit_bytes) as producer `slot` (from
    /// [`new_producer`](Self::new_producer)), not as the calling thread.
    pub(crate) fn emit_bytes_from(&self, slot: usize, data: bytes::Bytes) -> Result<Receipt> {
        self.push_to(slot % self.inner.shards.len(), Payload::Owned(data))
    }

    /// Emits owned events as producer `slot` into one shard under one lock,
    /// all or nothing (as [`emit_raw_batch`](Self::emit_raw_batch)).
    pub(crate) fn emit_bytes_batch_from(
        &self,
        slot: usize,
        events: &[bytes::Bytes],
    ) -> Result<usize> {
        for e in events {
            self.check_size(e.len())?;
        }
        self.push_batch_to(
            slot % self.inner.shards.len(),
            events.iter().map(|e| Payload::Owned(e.clone())),
        )
    }

    fn check_size(&self, len: usize) -> Result<()> {
        let max = self.inner.config.max_event_size;
        if len > max {
            return Err(Error::new(
                ErrorKind::EventTooLarge,
                format!("event is {len} bytes, the limit is {max}"),
            ));
        }
        Ok(())
    }

    fn wake(&self) {
        if self.inner.listeners.load(Ordering::SeqCst) > 0 {
            self.inner.new_data.notify(usize::MAX);
        }
    }

    fn push(&self, payload: Payload<'_>) -> Result<Receipt> {
        self.push_to(self.producer_shard(), payload)
    }

    fn push_to(&self, shard: usize, payload: Payload<'_>) -> Result<Receipt> {
        self.check_size(payload.len())?;
        let config = &self.inner.config;
        let seq = self.inner.shards[shard].0.lock().push(
            payload,
            now_ns(),
            config.ring_buffer_capacity,
            config.backpressure,
        )?;
        self.wake();
        Ok(Receipt {
            shard: shard as u16,
            seq,
        })
    }

    /// Emits raw bytes (any content). The fastest path.
    pub fn emit_raw(&self, data: &[u8]) -> Result<Receipt> {
        self.push(Payload::Borrowed(data))
    }

    /// Emits bytes the caller already owns, without copying them.
    pub fn emit_bytes(&self, data: bytes::Bytes) -> Result<Receipt> {
        self.push(Payload::Owned(data))
    }

    /// Emits a JSON document given as text; it must be valid JSON.
    pub fn emit_str(&self, json: &str) -> Result<Receipt> {
        self.check_size(json.len())?;
        validate_json(json.as_bytes())?;
        self.push(Payload::Borrowed(json.as_bytes()))
    }

    /// Serializes `value` to JSON and emits it.
    pub fn emit<T: Serialize + ?Sized>(&self, value: &T) -> Result<Receipt> {
        let data = serde_json::to_vec(value)
            .map_err(|e| Error::new(ErrorKind::InvalidJson, e.to_string()))?;
        self.push(Payload::Owned(data.into()))
    }

    fn push_batch<'a>(
        &self,
        payloads: impl ExactSizeIterator<Item = Payload<'a>>,
    ) -> Result<usize> {
        self.push_batch_to(self.producer_shard(), payloads)
    }

    fn push_batch_to<'a>(
        &self,
        shard: usize,
        payloads: impl ExactSizeIterator<Item = Payload<'a>>,
    ) -> Result<usize> {
        if payloads.len() == 0 {
            if self.inner.closing.load(Ordering::Acquire) {
                return Err(shutdown_error());
            }
            return Ok(0);
        }
        let config = &self.inner.config;
        let n = self.inner.shards[shard].0.lock().push_batch(
            payloads,
            now_ns(),
            config.ring_buffer_capacity,
            config.backpressure,
        )?;
        self.wake();
        Ok(n)
    }

    /// Emits many raw events into one shard under one lock. Either every event is
    /// accepted or, on error, none is. Returns the number accepted.
    pub fn emit_raw_batch<B: AsRef<[u8]>>(&self, events: &[B]) -> Result<usize> {
        for e in events {
            self.check_size(e.as_ref().len())?;
        }
        self.push_batch(events.iter().map(|e| Payload::Borrowed(e.as_ref())))
    }

    /// Emits many JSON texts; each must be valid JSON. All or nothing.
    pub fn emit_str_batch<S: AsRef<str>>(&self, events: &[S]) -> Result<usize> {
        for e in events {
            self.check_size(e.as_ref().len())?;
            validate_json(e.as_ref().as_bytes())?;
        }
        self.push_batch(
            events
                .iter()
                .map(|e| Payload::Borrowed(e.as_ref().as_bytes())),
        )
    }

    /// Serializes and emits many values. All or nothing.
    pub fn emit_batch<T: Serialize>(&self, values: &[T]) -> Result<usize> {
        let encoded = values
            .iter()
            .map(|v| {
                let data = serde_json::to_vec(v)
                    .map_err(|e| Error::new(ErrorKind::InvalidJson, e.to_string()))?;
                self.check_size(data.len())?;
                Ok(bytes::Bytes::from(data))
            })
            .collect::<Result<Vec<_>>>()?;
        self.push_batch(encoded.into_iter().map(Payload::Owned))
    }

    /// Decodes and checks a cursor against the current shard positions.
    fn decode_cursor(&self, cursor: Option<&str>) -> Result<Cursor> {
        let n = self.num_shards();
        let Some(text) = cursor else {
            return Ok(Cursor::beginning(n));
        };
        let cursor = Cursor::decode(text, n)?;
        for (i, &pos) in cursor.positions.iter().enumerate() {
            self.inner.shards[i].0.lock().check_position(i, pos)?;
        }
        Ok(cursor)
    }

    /// Reads up to `limit` events after the request's cursor, acknowledging
    /// (and freeing) every event before that cursor.
    pub fn poll(&self, request: &PollRequest) -> Result<PollResponse> {
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(shutdown_error());
        }
        if request.limit == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "poll limit must be at least 1",
            ));
        }
        let mut cursor = self.decode_cursor(request.cursor.as_deref())?;
        let n = self.num_shards();
        let mut events = Vec::with_capacity(request.limit.min(16 * 1024));
        let mut has_more = false;
        for step in 0..n {
            let shard = (cursor.start + step) % n;
            let mut state = self.inner.shards[shard].0.lock();
            if request.cursor.is_some() {
                state.release(cursor.positions[shard]);
            }
            if events.len() >= request.limit {
                has_more |= state.has_from(cursor.positions[shard]);
                continue;
            }
            let end = state.read(
                shard as u16,
                cursor.positions[shard],
                request.limit,
                request.filter.as_ref(),
                &mut events,
            );
            cursor.positions[shard] = end.next;
            has_more |= end.more;
        }
        cursor.start = (cursor.start + 1) % n;
        Ok(PollResponse {
            events,
            next_cursor: cursor.encode(),
            has_more,
        })
    }

    /// Opens a live subscription: buffered events from the cursor on, then new ones.
    pub fn subscribe(&self, options: SubscribeOptions) -> Result<Subscription> {
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(shutdown_error());
        }
        let cursor = self.decode_cursor(options.cursor.as_deref())?;
        Ok(Subscription::new(self.clone(), cursor, options.filter))
    }

    /// A barrier: returns once every event emitted before the call is visible to
    /// `poll` and to subscriptions. The in-memory bus publishes each event as it
    /// is emitted, so this only checks the bus is open; durable adapters wait here.
    pub fn flush(&self) -> Result<()> {
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(shutdown_error());
        }
        for shard in self.inner.shards.iter() {
            drop(shard.0.lock());
        }
        Ok(())
    }

    /// Counters; still answers after shutdown.
    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            ingested: 0,
            dropped: 0,
            buffered: 0,
            shard_depths: Vec::with_capacity(self.num_shards()),
        };
        for shard in self.inner.shards.iter() {
            let state = shard.0.lock();
            stats.ingested += state.ingested;
            stats.dropped += state.dropped;
            stats.buffered += state.depth() as u64;
            stats.shard_depths.push(state.depth() as u64);
        }
        stats
    }

    /// Health; still answers after shutdown.
    pub fn health(&self) -> Health {
        let capacity = self.inner.config.ring_buffer_capacity;
        let full_shards = self
            .inner
            .shards
            .iter()
            .filter(|s| s.0.lock().depth() >= capacity)
            .count();
        let status = if self.is_shutdown() {
            "shutdown"
        } else if full_shards > 0 {
            "saturated"
        } else {
            "healthy"
        };
        Health {
            status,
            num_shards: self.num_shards(),
            full_shards,
        }
    }

    /// Makes emits wake listeners for as long as the watch lives (they skip
    /// the wake-up when nobody watches). For consumers inside the engine
    /// that poll and then wait, like the mesh link.
    pub(crate) fn watch(&self) -> Watch {
        self.inner.listeners.fetch_add(1, Ordering::SeqCst);
        Watch { bus: self.clone() }
    }

    /// Whether shutdown has begun.
    pub fn is_shutdown(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire)
    }

    /// Shuts the bus down. Idempotent. Emits that return after this call began
    /// either completed before it (and hold a receipt) or fail with `bus:shutdown`;
    /// subscriptions drain what is buffered and then end.
    pub fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::Release);
        for shard in self.inner.shards.iter() {
            shard.0.lock().close();
        }
        self.inner.sealed.store(true, Ordering::Release);
        self.inner.new_data.notify(usize::MAX);
        self.inner.channels.close();
    }
}

/// See [`Bus::watch`].
pub(crate) struct Watch {
    bus: Bus,
}

impl Watch {
    /// A listener that fires at the next emit (or shutdown). Take it
    /// *before* polling, so an emit between the poll and the wait is not
    /// missed.
    pub(crate) fn listen(&self) -> event_listener::EventListener {
        self.bus.inner.new_data.listen()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.bus.inner.listeners.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("config", &self.inner.config)
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

#[cfg(test)]
mod tests;
