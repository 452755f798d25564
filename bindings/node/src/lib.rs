//! `@netmesh/core`: the Node.js addon, a thin napi-rs layer over the net-ffi
//! safe facade. It marshals only; behaviour lives in the engine. Errors are JS
//! `Error`s whose message starts with the stable kind (`"bus:shutdown: ..."`);
//! the TypeScript SDK turns them into typed classes.

use napi::bindgen_prelude::*;
use napi::{Env, Task};
use napi_derive::napi;
use net::facade::bus::{self as facade, Event, SubscriptionHandle};
use net::facade::wait::Waited;
use std::sync::Arc;
use std::time::Duration;

pub mod args;
pub mod identity;
pub mod mesh;
pub mod netdb;
pub mod redex;

fn to_js(err: net::Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, err.to_string())
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
    pub code: i32,
}

/// The engine's error table, in code order.
#[napi]
pub fn error_kinds() -> Vec<ErrorKindInfo> {
    net::ErrorKind::ALL
        .iter()
        .map(|k| ErrorKindInfo {
            kind: k.as_str().to_owned(),
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
}

impl Task for NextTask {
    type Output = Option<Vec<Event>>;
    type JsValue = Option<Vec<NativeEvent>>;

    fn compute(&mut self) -> Result<Self::Output> {
        match self
            .handle
            .next(self.max, Some(self.slice), || Ok(()))
            .map_err(to_js)?
        {
            Waited::Ready(events) => Ok(Some(events)),
            Waited::Timeout => Ok(Some(Vec::new())),
            Waited::Done => Ok(None),
        }
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.map(events_to_js))
    }
}

#[napi]
impl Subscription {
    /// Resolves with up to `max` events, an empty array once `remainingMs`
    /// (negative: no limit) or one wait slice has passed, or null once the
    /// stream has ended. The SDK calls again until its deadline.
    #[napi(ts_return_type = "Promise<NativeEvent[] | null>")]
    pub fn next_batch(&self, max: f64, remaining_ms: f64) -> Result<AsyncTask<NextTask>> {
        let max = args::whole(max, net::ErrorKind::InvalidArgument, "max")?;
        let (slice, _) = args::slice_of(remaining_ms)?;
        Ok(AsyncTask::new(NextTask {
            handle: Arc::clone(&self.handle),
            max,
            slice,
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
