//! The bus for Python: `Bus` and `Subscription`.

use crate::blocking::{blocking_wait, count, timeout, unlocked};
use crate::errors::to_py;
use net::facade::bus::{self as facade, Event, SubscriptionHandle};
use net::facade::wait::Waited;
use net::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::sync::Arc;

/// An event as Python receives it: `(shard, seq, timestamp_ns, payload)`.
type PyEvent = (u16, u64, u64, Py<PyBytes>);

fn events_to_py(py: Python<'_>, events: Vec<Event>) -> Vec<PyEvent> {
    events
        .into_iter()
        .map(|e| {
            (
                e.shard,
                e.seq,
                e.timestamp_ns,
                PyBytes::new(py, &e.data).unbind(),
            )
        })
        .collect()
}

/// A bus handle.
#[pyclass(module = "net._net", frozen)]
pub struct Bus {
    bus: facade::Bus,
}

impl Bus {
    /// The engine's bus (for `Mesh.link_bus`).
    pub(crate) fn inner(&self) -> &facade::Bus {
        &self.bus
    }
}

#[pymethods]
impl Bus {
    /// Opens a bus from the engine's JSON configuration ("" for defaults).
    #[new]
    #[pyo3(signature = (config_json = ""))]
    fn new(config_json: &str) -> PyResult<Self> {
        Ok(Bus {
            bus: facade::open(config_json).map_err(to_py)?,
        })
    }

    /// Emits raw bytes; returns `(shard, seq)`.
    fn emit_raw(&self, data: &[u8]) -> PyResult<(u16, u64)> {
        let r = self.bus.emit_raw(data).map_err(to_py)?;
        Ok((r.shard, r.seq))
    }

    /// Emits a JSON document given as text (validated); returns `(shard, seq)`.
    fn emit_json(&self, text: &str) -> PyResult<(u16, u64)> {
        let r = self.bus.emit_str(text).map_err(to_py)?;
        Ok((r.shard, r.seq))
    }

    /// Emits raw events in one call, all or nothing; returns the count.
    fn emit_raw_batch(&self, py: Python<'_>, events: Vec<PyBackedBytes>) -> PyResult<usize> {
        let bus = self.bus.clone();
        unlocked(py, move || bus.emit_raw_batch(&events)).map_err(to_py)
    }

    /// Emits JSON texts (each validated, given as UTF-8 bytes) in one call.
    fn emit_json_batch(&self, py: Python<'_>, events: Vec<PyBackedBytes>) -> PyResult<usize> {
        let bus = self.bus.clone();
        unlocked(py, move || {
            let texts = events
                .iter()
                .map(|e| {
                    std::str::from_utf8(e)
                        .map_err(|_| Error::new(ErrorKind::InvalidJson, "event is not UTF-8"))
                })
                .collect::<Result<Vec<&str>, Error>>()?;
            bus.emit_str_batch(&texts)
        })
        .map_err(to_py)
    }

    /// Polls; returns `(events, next_cursor, has_more)`.
    #[pyo3(signature = (limit, cursor = None, filter_json = None))]
    fn poll(
        &self,
        py: Python<'_>,
        limit: &Bound<'_, PyAny>,
        cursor: Option<String>,
        filter_json: Option<String>,
    ) -> PyResult<(Vec<PyEvent>, String, bool)> {
        let limit: usize = count(limit, ErrorKind::InvalidArgument, "limit")?;
        let bus = self.bus.clone();
        let resp = unlocked(py, move || {
            facade::poll(&bus, limit, cursor.as_deref(), filter_json.as_deref())
        })
        .map_err(to_py)?;
        Ok((
            events_to_py(py, resp.events),
            resp.next_cursor,
            resp.has_more,
        ))
    }

    /// Opens a live subscription.
    #[pyo3(signature = (cursor = None, filter_json = None))]
    fn subscribe(&self, cursor: Option<&str>, filter_json: Option<&str>) -> PyResult<Subscription> {
        let handle = facade::subscribe(&self.bus, cursor, filter_json).map_err(to_py)?;
        Ok(Subscription {
            handle: Arc::new(handle),
        })
    }

    /// Calls `handler((shard, seq, timestamp_ns, data))` for every event of
    /// a new live subscription, on the `net-callbacks` thread (see
    /// `handler.rs`). Returns the `Handler`.
    #[pyo3(signature = (handler, cursor = None, filter_json = None))]
    fn on_event(
        &self,
        py: Python<'_>,
        handler: Py<PyAny>,
        cursor: Option<&str>,
        filter_json: Option<&str>,
    ) -> PyResult<crate::handler::Handler> {
        let sub = facade::subscription(&self.bus, cursor, filter_json).map_err(to_py)?;
        crate::handler::spawn(py, sub, handler, "bus event handler", |py, e: Event| {
            Ok((e.shard, e.seq, e.timestamp_ns, PyBytes::new(py, &e.data))
                .into_pyobject(py)?
                .into_any()
                .unbind())
        })
    }

    /// Returns once earlier events are visible to polls.
    fn flush(&self) -> PyResult<()> {
        self.bus.flush().map_err(to_py)
    }

    /// Counters as JSON.
    fn stats(&self) -> String {
        facade::stats_json(&self.bus)
    }

    /// Publishes on a local channel; how many subscriptions took a copy.
    fn channel_publish(&self, name: &str, payload: PyBackedBytes) -> PyResult<usize> {
        net::facade::channel::on_bus::publish(&self.bus, name, &payload).map_err(to_py)
    }

    /// Subscribes to a local channel name or pattern.
    fn channel_subscribe(&self, pattern: &str) -> PyResult<crate::channel::ChannelSubscription> {
        net::facade::channel::on_bus::subscribe(&self.bus, pattern)
            .map(crate::channel::ChannelSubscription::new)
            .map_err(to_py)
    }

    /// The local channels' counters as JSON.
    fn channel_stats_json(&self) -> String {
        net::facade::channel::on_bus::stats_json(&self.bus)
    }

    /// Health as JSON.
    fn health(&self) -> String {
        facade::health_json(&self.bus)
    }

    /// Shuts the bus down (idempotent).
    fn shutdown(&self, py: Python<'_>) {
        let bus = self.bus.clone();
        unlocked(py, move || bus.shutdown());
    }
}

/// A live subscription.
#[pyclass(module = "net._net", frozen)]
pub struct Subscription {
    handle: Arc<SubscriptionHandle>,
}

#[pymethods]
impl Subscription {
    /// Waits up to `timeout_ms` (None: forever) for up to `max` events, without
    /// holding the GIL, waking every ~100 ms to honour Ctrl-C. Returns a list
    /// (empty on timeout) or None once the stream has ended. A `cancel`
    /// token cancelled from another thread ends the wait at once
    /// (`call:cancelled`, nothing taken).
    #[pyo3(signature = (max, timeout_ms = None, cancel = None))]
    fn next_batch(
        &self,
        py: Python<'_>,
        max: &Bound<'_, PyAny>,
        timeout_ms: Option<f64>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> PyResult<Option<Vec<PyEvent>>> {
        let max: usize = count(max, ErrorKind::InvalidArgument, "max")?;
        let timeout = timeout(timeout_ms, ErrorKind::InvalidArgument, "timeout")?;
        let handle = Arc::clone(&self.handle);
        let token = cancel.map(|c| c.inner.clone());
        let next = blocking_wait(py, |check| {
            handle.next_cancellable(max, timeout, token.as_ref(), check)
        })?;
        match next {
            Waited::Ready(events) => Ok(Some(events_to_py(py, events))),
            Waited::Timeout => Ok(Some(Vec::new())),
            Waited::Done => Ok(None),
        }
    }

    /// Gives the last `count` events of the latest batch back to the bus
    /// (they were not delivered); this subscription reads them again next.
    fn unread(&self, py: Python<'_>, count: usize) -> PyResult<()> {
        let handle = Arc::clone(&self.handle);
        unlocked(py, move || handle.unread(count)).map_err(to_py)
    }

    /// The cursor just past everything taken (a snapshot: never waits).
    fn cursor(&self) -> String {
        self.handle.cursor()
    }

    /// Ends the subscription; a waiter returns None within ~100 ms.
    fn close(&self) {
        self.handle.close();
    }
}
