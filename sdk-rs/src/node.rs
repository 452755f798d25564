//! The node: builder, emits, polls, subscriptions and lifecycle.

use crate::error::{Result, SdkError};
use crate::stream::{EventStream, TypedEventStream};
use net_core::bus::{
    Backpressure, Bus, BusConfig, Health, PollRequest, PollResponse, Receipt, Stats,
    SubscribeOptions,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Configures a [`Net`] node. Unset options keep the engine's defaults.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct NetBuilder {
    config: BusConfig,
    config_json: Option<String>,
}

impl NetBuilder {
    /// Number of shards (default: the number of CPU cores).
    pub fn shards(mut self, n: usize) -> Self {
        self.config.num_shards = n;
        self
    }

    /// What a full shard does (default: [`Backpressure::DropOldest`]).
    pub fn backpressure(mut self, policy: Backpressure) -> Self {
        self.config.backpressure = policy;
        self
    }

    /// Events each shard buffers (default 65 536).
    pub fn ring_buffer_capacity(mut self, n: usize) -> Self {
        self.config.ring_buffer_capacity = n;
        self
    }

    /// Largest accepted event in bytes (default 1 MiB).
    pub fn max_event_size(mut self, n: usize) -> Self {
        self.config.max_event_size = n;
        self
    }

    /// Takes the whole configuration as engine JSON (the format every language
    /// shares); it replaces the options set above.
    pub fn config_json(mut self, json: impl Into<String>) -> Self {
        self.config_json = Some(json.into());
        self
    }

    /// Uses the in-memory transport (the default, single process).
    pub fn memory(self) -> Self {
        self
    }

    /// Builds the node, validating the configuration.
    pub async fn build(self) -> Result<Net> {
        self.build_blocking()
    }

    /// Builds the node without an async context.
    pub fn build_blocking(self) -> Result<Net> {
        let bus = match self.config_json {
            Some(json) => Bus::from_json(&json)?,
            None => Bus::new(self.config)?,
        };
        Ok(Net { bus })
    }
}

/// A Net node. Cheap to clone; clones share the node.
#[derive(Debug, Clone)]
pub struct Net {
    bus: Bus,
}

impl Net {
    /// Starts configuring a node.
    pub fn builder() -> NetBuilder {
        NetBuilder::default()
    }

    /// Serializes `value` to JSON and emits it.
    pub fn emit<T: Serialize + ?Sized>(&self, value: &T) -> Result<Receipt> {
        Ok(self.bus.emit(value)?)
    }

    /// Emits raw bytes (any content). The fastest path.
    pub fn emit_raw(&self, data: impl AsRef<[u8]>) -> Result<Receipt> {
        Ok(self.bus.emit_raw(data.as_ref())?)
    }

    /// Emits a JSON document given as text (validated).
    pub fn emit_str(&self, json: &str) -> Result<Receipt> {
        Ok(self.bus.emit_str(json)?)
    }

    /// Serializes and emits many values into one shard; all or nothing.
    pub fn emit_batch<T: Serialize>(&self, values: &[T]) -> Result<usize> {
        Ok(self.bus.emit_batch(values)?)
    }

    /// Emits many raw events into one shard; all or nothing.
    pub fn emit_raw_batch<B: AsRef<[u8]>>(&self, events: impl AsRef<[B]>) -> Result<usize> {
        Ok(self.bus.emit_raw_batch(events.as_ref())?)
    }

    /// Emits many JSON texts (each validated); all or nothing.
    pub fn emit_str_batch<S: AsRef<str>>(&self, events: impl AsRef<[S]>) -> Result<usize> {
        Ok(self.bus.emit_str_batch(events.as_ref())?)
    }

    /// Reads up to `request.limit` events after `request.cursor`, acknowledging
    /// everything before that cursor.
    pub async fn poll(&self, request: PollRequest) -> Result<PollResponse> {
        Ok(self.bus.poll(&request)?)
    }

    /// A live stream of events: what is buffered from the cursor on, then new
    /// events; it ends after [`Net::shutdown`] once drained. Opening errors (bad
    /// cursor, shut down) arrive as the stream's first item.
    pub fn subscribe(&self, options: SubscribeOptions) -> EventStream {
        EventStream::new(self.bus.subscribe(options).map_err(SdkError::from))
    }

    /// Like [`Net::subscribe`], but reports opening errors (bad cursor, shut
    /// down) directly instead of as the stream's first item.
    pub fn try_subscribe(&self, options: SubscribeOptions) -> Result<EventStream> {
        Ok(EventStream::new(Ok(self.bus.subscribe(options)?)))
    }

    /// Calls `f` for every event of a new live subscription (buffered events
    /// first, from `options.cursor`, matching `options.filter`) on the
    /// engine's callback threads, until the [`Handler`] is closed or dropped
    /// or the node shuts down; see [`crate::handler`]. Each event `f` is given
    /// is taken from the bus, as [`subscribe`](Self::subscribe) takes it.
    pub fn on_event(
        &self,
        options: SubscribeOptions,
        f: impl FnMut(net_core::bus::Event) + Send + 'static,
    ) -> Result<crate::Handler> {
        let sub = self.bus.subscribe(options)?;
        Ok(crate::handler::spawn(sub, "bus event handler", f))
    }

    /// Like [`Net::subscribe`], decoding each event's JSON into `T`; an event that
    /// does not decode yields `SdkError::InvalidJson` and the stream goes on.
    pub fn subscribe_typed<T: DeserializeOwned>(
        &self,
        options: SubscribeOptions,
    ) -> TypedEventStream<T> {
        TypedEventStream::new(self.subscribe(options))
    }

    /// Publishes `payload` on this node's local channel `channel` (no
    /// registration: any valid name) and returns how many subscriptions took
    /// a copy. Where [`emit`](Self::emit) hands each event to one consumer,
    /// a channel fans out: every matching subscription gets every message
    /// (one whose queue is full misses it; see
    /// [`channel_stats`](Self::channel_stats)).
    pub fn publish(&self, channel: &str, payload: &[u8]) -> Result<usize> {
        Ok(self.bus.channels().publish(channel, payload)?)
    }

    /// Every later [`publish`](Self::publish) on `pattern` (a name,
    /// `prefix/*` or `prefix/**`), read like a mesh subscription (its
    /// publisher is 0); [`shutdown`](Self::shutdown) ends it.
    pub fn subscribe_channel(&self, pattern: &str) -> Result<crate::mesh::ChannelSubscription> {
        Ok(crate::mesh::ChannelSubscription::from_core(
            self.bus.channels().subscribe(pattern)?,
        ))
    }

    /// A typed channel on this node's local channels (see
    /// [`crate::typed_channel`]). `InvalidChannelName` for a bad name.
    pub fn channel<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<crate::typed_channel::Channel<T>> {
        crate::typed_channel::Channel::new(self.bus.clone(), name)
    }

    /// The local channels' counters.
    pub fn channel_stats(&self) -> net_core::mesh::LocalChannelStats {
        self.bus.channels().stats()
    }

    /// Counters: ingested, dropped, buffered, per-shard depth.
    pub fn stats(&self) -> Stats {
        self.bus.stats()
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.bus.num_shards()
    }

    /// Health summary.
    pub fn health(&self) -> Health {
        self.bus.health()
    }

    /// Returns once every event emitted before it is visible to polls.
    pub async fn flush(&self) -> Result<()> {
        Ok(self.bus.flush()?)
    }

    /// Shuts the node down (idempotent): later calls fail with
    /// [`SdkError::Shutdown`], streams drain and end.
    pub async fn shutdown(&self) -> Result<()> {
        self.bus.shutdown();
        Ok(())
    }

    /// The underlying engine bus.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }
}
