//! NetDB for Node: JSON control plane, snapshot bytes; waits run on the libuv pool.

use crate::to_js;
use napi::bindgen_prelude::*;
use napi::{Env, Task};
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

/// A read-your-writes wait on the libuv pool.
pub struct WaitTask {
    db: Arc<NetDbHandle>,
    model: String,
    seq: u64,
    timeout_ms: u64,
}

impl Task for WaitTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        self.db
            .wait(&self.model, self.seq, self.timeout_ms)
            .map_err(to_js)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
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
    pub fn write(&self, model: String, op: String, args_json: String) -> Result<i64> {
        self.inner
            .write(&model, &op, &args_json)
            .map(|seq| seq as i64)
            .map_err(to_js)
    }

    /// Resolves once write `seq` of `model` is visible to queries.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn wait(&self, model: String, seq: i64, timeout_ms: u32) -> AsyncTask<WaitTask> {
        AsyncTask::new(WaitTask {
            db: Arc::clone(&self.inner),
            model,
            seq: seq.max(0) as u64,
            timeout_ms: u64::from(timeout_ms),
        })
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

/// A watch wait on the libuv pool.
pub struct WatchTask {
    watch: Arc<WatchHandle>,
    timeout_ms: u32,
}

impl Task for WatchTask {
    type Output = WatchNext;
    type JsValue = WatchStep;

    fn compute(&mut self) -> Result<WatchNext> {
        self.watch
            .next(
                Some(Duration::from_millis(u64::from(self.timeout_ms))),
                || Ok(()),
            )
            .map_err(to_js)
    }

    fn resolve(&mut self, _env: Env, output: WatchNext) -> Result<WatchStep> {
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
    /// Resolves with the next result, an empty step after `timeoutMs`, or done.
    #[napi(ts_return_type = "Promise<WatchStep>")]
    pub fn next(&self, timeout_ms: u32) -> AsyncTask<WatchTask> {
        AsyncTask::new(WatchTask {
            watch: Arc::clone(&self.inner),
            timeout_ms,
        })
    }

    /// Ends the watch.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
