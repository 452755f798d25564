//! NetDB for Node: JSON control plane, snapshot bytes; waits run on the libuv pool.

use crate::{args, spawn, to_js, Engine, EngineTask, Result};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use net::facade::netdb::{NetDbHandle, WatchHandle, WatchNext};
use net::facade::wait::Waited;
use std::sync::Arc;
use std::time::Duration;

/// An open database.
#[napi]
pub struct NetDb {
    inner: Arc<NetDbHandle>,
}

/// One slice of a read-your-writes wait on the libuv pool: `true` once the
/// write is visible, `false` when the slice ended first (the SDK waits again).
pub struct WaitTask {
    db: Arc<NetDbHandle>,
    model: String,
    seq: u64,
    slice: Duration,
    last: bool,
    cancel: Option<net::cancel::CancelToken>,
}

impl EngineTask for WaitTask {
    type Output = bool;
    type JsValue = bool;

    fn run(&mut self) -> net::Result<bool> {
        let cancel = self.cancel.as_ref();
        match self
            .db
            .wait_cancellable(&self.model, self.seq, Some(self.slice), cancel)
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == net::ErrorKind::Timeout && !self.last => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn resolve(&mut self, _env: Env, output: bool) -> napi::Result<bool> {
        Ok(output)
    }
}

#[napi]
impl NetDb {
    /// Opens a database (`{"dir","origin","tasks","memories"}`).
    #[napi(constructor)]
    pub fn new(options_json: Option<String>) -> Result<Self> {
        Ok(NetDb {
            inner: Arc::new(
                NetDbHandle::open(options_json.as_deref().unwrap_or("")).map_err(to_js)?,
            ),
        })
    }

    /// Opens a database restored from snapshot bytes.
    #[napi(factory)]
    pub fn restore(options_json: String, snapshot: Buffer) -> Result<Self> {
        Ok(NetDb {
            inner: Arc::new(NetDbHandle::restore(&options_json, &snapshot).map_err(to_js)?),
        })
    }

    /// Applies a write; returns its sequence.
    #[napi]
    pub fn write(&self, model: String, op: String, args_json: String) -> Result<BigInt> {
        self.inner
            .write(&model, &op, &args_json)
            .map(BigInt::from)
            .map_err(to_js)
    }

    /// One slice of waiting for write `seq` of `model` to be visible:
    /// resolves true once it is, false when the slice ended first; rejects
    /// with `cortex:timeout` once `remainingMs` (negative: no limit) is spent.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn wait(
        &self,
        model: String,
        seq: BigInt,
        remaining_ms: f64,
        cancel: Option<&crate::CancelToken>,
    ) -> Result<AsyncTask<Engine<WaitTask>>> {
        let seq = args::u64_of(seq, net::ErrorKind::InvalidDbArgument, "token")?;
        let (slice, last) = args::slice_of(remaining_ms)?;
        Ok(spawn(WaitTask {
            db: Arc::clone(&self.inner),
            model,
            seq,
            slice,
            last,
            cancel: crate::token_of(cancel),
        }))
    }

    /// Runs a query; returns JSON.
    #[napi]
    pub fn read(&self, model: String, op: String, args_json: String) -> Result<String> {
        self.inner.read(&model, &op, &args_json).map_err(to_js)
    }

    /// Watches a query.
    #[napi]
    pub fn watch(&self, model: String, filter_json: String) -> Result<NetDbWatch> {
        Ok(NetDbWatch {
            inner: Arc::new(self.inner.watch(&model, &filter_json).map_err(to_js)?),
        })
    }

    /// The whole database as snapshot bytes.
    #[napi]
    pub fn snapshot(&self) -> Result<Buffer> {
        Ok(Buffer::from(self.inner.snapshot().map_err(to_js)?))
    }

    /// Stops the folds and closes the logs.
    #[napi]
    pub fn close(&self) -> Result<()> {
        self.inner.close().map_err(to_js)
    }
}

/// A watched query.
#[napi]
pub struct NetDbWatch {
    inner: Arc<WatchHandle>,
}

/// One step of a watch: `json` is the new result (absent on timeout); `done` ends it.
#[napi(object)]
pub struct WatchStep {
    pub done: bool,
    pub json: Option<String>,
}

/// One slice of a watch wait on the libuv pool.
pub struct WatchTask {
    watch: Arc<WatchHandle>,
    slice: Duration,
    cancel: Option<net::cancel::CancelToken>,
}

impl EngineTask for WatchTask {
    type Output = WatchNext;
    type JsValue = WatchStep;

    fn run(&mut self) -> net::Result<WatchNext> {
        self.watch
            .next_cancellable(Some(self.slice), self.cancel.as_ref(), || Ok(()))
    }

    fn resolve(&mut self, _env: Env, output: WatchNext) -> napi::Result<WatchStep> {
        Ok(match output {
            Waited::Ready(json) => WatchStep {
                done: false,
                json: Some(json),
            },
            Waited::Timeout => WatchStep {
                done: false,
                json: None,
            },
            Waited::Done => WatchStep {
                done: true,
                json: None,
            },
        })
    }
}

#[napi]
impl NetDbWatch {
    /// Resolves with the next result, an empty step once `remainingMs`
    /// (negative: no limit) or one wait slice has passed, or done.
    #[napi(ts_return_type = "Promise<WatchStep>")]
    pub fn next(
        &self,
        remaining_ms: f64,
        cancel: Option<&crate::CancelToken>,
    ) -> Result<AsyncTask<Engine<WatchTask>>> {
        let (slice, _) = args::slice_of(remaining_ms)?;
        Ok(spawn(WatchTask {
            watch: Arc::clone(&self.inner),
            slice,
            cancel: crate::token_of(cancel),
        }))
    }

    /// Ends the watch.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
