//! `@netmesh/core`: the Node.js addon, a thin napi-rs layer over the net-ffi
//! safe facade. It marshals only; behaviour lives in the engine. Errors are JS
//! `Error`s whose `code` is the engine's kind (`"bus:shutdown"`, Node's idiom
//! for `err.code`) and whose message is `"<kind>: <detail>"`; the TypeScript
//! SDK turns them into typed classes by `code`, never by reading the message.
//! A failure of napi's own marshalling (a wrong JS type) keeps napi's status
//! as its `code` (`"InvalidArg"`, ...).

use napi::bindgen_prelude::*;
use napi::{Env, Task};
use napi_derive::napi;
use net::facade::bus::{self as facade, Event, SubscriptionHandle};
use net::facade::wait::Waited;
use std::sync::Arc;
use std::time::Duration;

pub mod args;
pub mod capability;
pub mod channel;
pub mod handler;
pub mod identity;
pub mod mesh;
pub mod netdb;
pub mod redex;
pub mod token;

/// A thrown error's `code`: the engine's kind, or napi's status when
/// marshalling failed before the engine was called.
pub enum Code {
    /// An engine error kind.
    Kind(net::ErrorKind),
    /// A napi status.
    Napi(Status),
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::Kind(kind) => kind.as_str(),
            Code::Napi(status) => status.as_ref(),
        }
    }
}

impl From<Status> for Code {
    fn from(status: Status) -> Self {
        Code::Napi(status)
    }
}

/// The result of a synchronous call: its error is thrown with `err.code`
/// set to the engine's kind.
pub type Result<T> = std::result::Result<T, napi::Error<Code>>;

/// An engine error as a thrown JS error (`err.code` = its kind).
pub fn to_js(err: net::Error) -> napi::Error<Code> {
    napi::Error::new(Code::Kind(err.kind()), err.to_string())
}

/// A napi marshalling error in a synchronous call's result type.
pub fn from_napi(err: napi::Error) -> napi::Error<Code> {
    napi::Error::new(Code::Napi(err.status), err.reason)
}

/// Work for the libuv pool (one wait slice, a connect, a close): an engine
/// failure rejects the promise with `err.code` set to its kind, as a
/// synchronous call's does.
pub trait EngineTask: Send + Sized {
    /// What the work produces off the JS thread.
    type Output: Send + Sized + 'static;
    /// What the promise resolves with.
    type JsValue: ToNapiValue + TypeName;
    /// Runs on a pool thread.
    fn run(&mut self) -> net::Result<Self::Output>;
    /// Runs on the JS thread with the output.
    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue>;
}

/// An [`EngineTask`] as a napi [`Task`]; keeps the engine error for `reject`.
pub struct Engine<T> {
    task: T,
    failed: Option<net::Error>,
}

/// Queues `task` on the libuv pool.
pub fn spawn<T: EngineTask>(task: T) -> AsyncTask<Engine<T>> {
    AsyncTask::new(Engine { task, failed: None })
}

impl<T: EngineTask> Task for Engine<T> {
    type Output = T::Output;
    type JsValue = T::JsValue;

    fn compute(&mut self) -> napi::Result<T::Output> {
        self.task.run().map_err(|err| {
            let text = err.to_string();
            self.failed = Some(err);
            napi::Error::new(Status::GenericFailure, text)
        })
    }

    fn resolve(&mut self, env: Env, output: T::Output) -> napi::Result<T::JsValue> {
        self.task.resolve(env, output)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<T::JsValue> {
        let Some(failed) = self.failed.take() else {
            return Err(err);
        };
        let thrown = (|| {
            let mut obj =
                env.create_error(napi::Error::new(Status::GenericFailure, failed.to_string()))?;
            obj.set_named_property("code", env.create_string(failed.kind().as_str())?)?;
            Ok::<_, napi::Error>(obj.into_unknown())
        })();
        Err(match thrown {
            Ok(value) => napi::Error::from(value),
            Err(e) => e,
        })
    }
}

/// A cancel token: `cancel()` wakes every wait it was given at once (they
/// reject with `call:cancelled`); the SDK cancels one from an `AbortSignal`.
#[napi]
pub struct CancelToken {
    inner: net::cancel::CancelToken,
}

#[napi]
impl CancelToken {
    /// A token not cancelled yet.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        CancelToken {
            inner: net::cancel::CancelToken::new(),
        }
    }

    /// Cancels (idempotent).
    #[napi]
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether `cancel` was called.
    #[napi]
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// The engine token behind an optional JS one.
pub(crate) fn token_of(cancel: Option<&CancelToken>) -> Option<net::cancel::CancelToken> {
    cancel.map(|c| c.inner.clone())
}

/// The ABI version of the engine.
#[napi]
pub fn abi_version() -> u32 {
    net::facade::abi_version()
}

/// One error kind of the engine's table.
#[napi(object)]
pub struct ErrorKindInfo {
    pub kind: String,
    pub area: String,
    pub reason: String,
    pub code: i32,
}

/// The engine's error table, in code order.
#[napi]
pub fn error_kinds() -> Vec<ErrorKindInfo> {
    net::ErrorKind::ALL
        .iter()
        .map(|k| ErrorKindInfo {
            kind: k.as_str().to_owned(),
            area: k.area().to_owned(),
            reason: k.reason().to_owned(),
            code: k.code(),
        })
        .collect()
}

/// Where an accepted event went.
#[napi(object)]
pub struct Receipt {
    pub shard: u32,
    pub seq: BigInt,
}

/// One event.
#[napi(object)]
pub struct NativeEvent {
    pub shard: u32,
    pub seq: BigInt,
    pub timestamp_ns: BigInt,
    pub raw: Buffer,
}

/// The result of a poll.
#[napi(object)]
pub struct NativePoll {
    pub events: Vec<NativeEvent>,
    pub next_cursor: String,
    pub has_more: bool,
}

fn receipt(r: net::facade::bus::Receipt) -> Receipt {
    Receipt {
        shard: u32::from(r.shard),
        seq: BigInt::from(r.seq),
    }
}

fn events_to_js(events: Vec<Event>) -> Vec<NativeEvent> {
    events
        .into_iter()
        .map(|e| NativeEvent {
            shard: u32::from(e.shard),
            seq: BigInt::from(e.seq),
            timestamp_ns: BigInt::from(e.timestamp_ns),
            raw: Buffer::from(e.data.to_vec()),
        })
        .collect()
}

/// A bus.
#[napi]
pub struct Bus {
    bus: facade::Bus,
}

#[napi]
impl Bus {
    /// Opens a bus from the engine's JSON configuration (empty: defaults).
    #[napi(constructor)]
    pub fn new(config_json: Option<String>) -> Result<Self> {
        Ok(Bus {
            bus: facade::open(config_json.as_deref().unwrap_or("")).map_err(to_js)?,
        })
    }

    /// Emits raw bytes.
    #[napi]
    pub fn emit_raw(&self, data: Buffer) -> Result<Receipt> {
        self.bus.emit_raw(&data).map(receipt).map_err(to_js)
    }

    /// Emits a JSON document given as text (validated).
    #[napi]
    pub fn emit_json(&self, text: String) -> Result<Receipt> {
        self.bus.emit_str(&text).map(receipt).map_err(to_js)
    }

    /// Emits raw events in one call; all or nothing.
    #[napi]
    pub fn emit_raw_batch(&self, events: Vec<Buffer>) -> Result<u32> {
        let slices: Vec<&[u8]> = events.iter().map(|b| b.as_ref()).collect();
        self.bus
            .emit_raw_batch(&slices)
            .map(|n| n as u32)
            .map_err(to_js)
    }

    /// Emits events packed back to back in `data`, with their byte lengths.
    #[napi]
    pub fn emit_packed(&self, data: Buffer, lens: Vec<u32>) -> Result<u32> {
        let lens: Vec<usize> = lens.into_iter().map(|l| l as usize).collect();
        facade::emit_raw_packed(&self.bus, &data, &lens)
            .map(|n| n as u32)
            .map_err(to_js)
    }

    /// Emits JSON texts (each validated) in one call; all or nothing.
    #[napi]
    pub fn emit_json_batch(&self, events: Vec<String>) -> Result<u32> {
        self.bus
            .emit_str_batch(&events)
            .map(|n| n as u32)
            .map_err(to_js)
    }

    /// Polls up to `limit` events after `cursor`.
    #[napi]
    pub fn poll(
        &self,
        limit: f64,
        cursor: Option<String>,
        filter_json: Option<String>,
    ) -> Result<NativePoll> {
        let limit: usize = args::whole(limit, net::ErrorKind::InvalidArgument, "limit")?;
        let resp = facade::poll(&self.bus, limit, cursor.as_deref(), filter_json.as_deref())
            .map_err(to_js)?;
        Ok(NativePoll {
            events: events_to_js(resp.events),
            next_cursor: resp.next_cursor,
            has_more: resp.has_more,
        })
    }

    /// Opens a live subscription.
    #[napi]
    pub fn subscribe(
        &self,
        cursor: Option<String>,
        filter_json: Option<String>,
    ) -> Result<Subscription> {
        let handle = facade::subscribe(&self.bus, cursor.as_deref(), filter_json.as_deref())
            .map_err(to_js)?;
        Ok(Subscription {
            handle: Arc::new(handle),
        })
    }

    /// Calls `deliver(events)` on the event loop with each batch of a new
    /// live subscription's events (see `handler.rs`).
    #[napi(
        ts_args_type = "deliver: (events: NativeEvent[]) => void, cursor?: string, filterJson?: string"
    )]
    pub fn on_event(
        &self,
        deliver: napi::JsFunction,
        cursor: Option<String>,
        filter_json: Option<String>,
    ) -> Result<handler::Handler> {
        let sub = facade::subscription(&self.bus, cursor.as_deref(), filter_json.as_deref())
            .map_err(to_js)?;
        handler::spawn(sub, deliver, "bus event handler", |events: &[Event]| {
            events_to_js(events.to_vec())
        })
    }

    /// Returns once earlier events are visible to polls.
    #[napi]
    pub fn flush(&self) -> Result<()> {
        self.bus.flush().map_err(to_js)
    }

    /// Counters as JSON.
    #[napi]
    pub fn stats(&self) -> String {
        facade::stats_json(&self.bus)
    }

    /// Publishes on a local channel; how many subscriptions took a copy.
    #[napi]
    pub fn channel_publish(&self, name: String, payload: Buffer) -> Result<u32> {
        let n = net::facade::channel::on_bus::publish(&self.bus, &name, &payload).map_err(to_js)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Subscribes to a local channel name or pattern.
    #[napi]
    pub fn channel_subscribe(&self, pattern: String) -> Result<channel::ChannelSubscription> {
        net::facade::channel::on_bus::subscribe(&self.bus, &pattern)
            .map(channel::ChannelSubscription::new)
            .map_err(to_js)
    }

    /// The local channels' counters as JSON.
    #[napi]
    pub fn channel_stats_json(&self) -> String {
        net::facade::channel::on_bus::stats_json(&self.bus)
    }

    /// Health as JSON.
    #[napi]
    pub fn health(&self) -> String {
        facade::health_json(&self.bus)
    }

    /// Shuts the bus down (idempotent).
    #[napi]
    pub fn shutdown(&self) {
        self.bus.shutdown();
    }
}

/// A live subscription.
#[napi]
pub struct Subscription {
    handle: Arc<SubscriptionHandle>,
}

/// One slice of a wait for events on the libuv thread pool.
pub struct NextTask {
    handle: Arc<SubscriptionHandle>,
    max: usize,
    slice: Duration,
    cancel: Option<net::cancel::CancelToken>,
}

impl EngineTask for NextTask {
    type Output = Option<Vec<Event>>;
    type JsValue = Option<Vec<NativeEvent>>;

    fn run(&mut self) -> net::Result<Self::Output> {
        let cancel = self.cancel.as_ref();
        match self
            .handle
            .next_cancellable(self.max, Some(self.slice), cancel, || Ok(()))?
        {
            Waited::Ready(events) => Ok(Some(events)),
            Waited::Timeout => Ok(Some(Vec::new())),
            Waited::Done => Ok(None),
        }
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output.map(events_to_js))
    }
}

#[napi]
impl Subscription {
    /// Resolves with up to `max` events, an empty array once `remainingMs`
    /// (negative: no limit) or one wait slice has passed, or null once the
    /// stream has ended. The SDK calls again until its deadline.
    #[napi(ts_return_type = "Promise<NativeEvent[] | null>")]
    pub fn next_batch(
        &self,
        max: f64,
        remaining_ms: f64,
        cancel: Option<&CancelToken>,
    ) -> Result<AsyncTask<Engine<NextTask>>> {
        let max = args::whole(max, net::ErrorKind::InvalidArgument, "max")?;
        let (slice, _) = args::slice_of(remaining_ms)?;
        Ok(spawn(NextTask {
            handle: Arc::clone(&self.handle),
            max,
            slice,
            cancel: token_of(cancel),
        }))
    }

    /// Gives the last `count` events of the latest batch back to the bus
    /// (they were not delivered); this subscription reads them again next.
    #[napi]
    pub fn unread(&self, count: f64) -> Result<()> {
        let count = args::whole(count, net::ErrorKind::InvalidArgument, "count")?;
        self.handle.unread(count).map_err(to_js)
    }

    /// The cursor just past everything taken (a snapshot: never waits).
    #[napi]
    pub fn cursor(&self) -> String {
        self.handle.cursor()
    }

    /// Ends the subscription; a pending wait resolves null within ~100 ms.
    #[napi]
    pub fn close(&self) {
        self.handle.close();
    }
}
