//! NetDB for Python: JSON in, JSON out for the control plane; snapshots as bytes.

use crate::blocking::{blocking_wait, count, timeout, unlocked};
use crate::errors::to_py;
use net::facade::netdb::{NetDbHandle, WatchHandle};
use net::facade::wait::Waited;
use net::ErrorKind;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// An open database.
#[pyclass(module = "net._net", frozen)]
pub struct NetDb {
    inner: NetDbHandle,
}

#[pymethods]
impl NetDb {
    /// Opens a database (`{"dir","origin","tasks","memories"}`).
    #[new]
    #[pyo3(signature = (options_json = ""))]
    fn new(py: Python<'_>, options_json: &str) -> PyResult<Self> {
        let inner = unlocked(py, || NetDbHandle::open(options_json)).map_err(to_py)?;
        Ok(NetDb { inner })
    }

    /// Opens a database restored from snapshot bytes.
    #[staticmethod]
    fn restore(py: Python<'_>, options_json: &str, snapshot: &[u8]) -> PyResult<Self> {
        let inner = unlocked(py, || NetDbHandle::restore(options_json, snapshot)).map_err(to_py)?;
        Ok(NetDb { inner })
    }

    /// Applies a write; returns its sequence.
    fn write(&self, model: &str, op: &str, args_json: &str) -> PyResult<u64> {
        self.inner.write(model, op, args_json).map_err(to_py)
    }

    /// Waits (GIL released) until write `seq` of `model` is visible.
    /// A `cancel` token cancelled from another thread ends the wait at once.
    #[pyo3(signature = (model, seq, timeout_ms = None, cancel = None))]
    fn wait(
        &self,
        py: Python<'_>,
        model: &str,
        seq: &Bound<'_, PyAny>,
        timeout_ms: Option<f64>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> PyResult<()> {
        let seq: u64 = count(seq, ErrorKind::InvalidDbArgument, "token")?;
        let timeout = timeout(timeout_ms, ErrorKind::InvalidDbArgument, "timeout")?;
        let token = cancel.map(|c| c.inner.clone());
        unlocked(py, || {
            self.inner
                .wait_cancellable(model, seq, timeout, token.as_ref())
        })
        .map_err(to_py)
    }

    /// Runs a query; returns JSON.
    fn read(&self, model: &str, op: &str, args_json: &str) -> PyResult<String> {
        self.inner.read(model, op, args_json).map_err(to_py)
    }

    /// Watches a query; see `Watch.next`.
    fn watch(&self, model: &str, filter_json: &str) -> PyResult<Watch> {
        Ok(Watch {
            inner: self.inner.watch(model, filter_json).map_err(to_py)?,
        })
    }

    /// The whole database as snapshot bytes.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.inner.snapshot().map_err(to_py)?))
    }

    /// Stops the folds and closes the logs.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        unlocked(py, || self.inner.close()).map_err(to_py)
    }
}

/// A watched query.
#[pyclass(module = "net._net", frozen)]
pub struct Watch {
    inner: WatchHandle,
}

#[pymethods]
impl Watch {
    /// Waits (GIL released, Ctrl-C honoured) up to `timeout_ms` (None: forever).
    /// Returns the JSON result, "" on timeout, or None once the watch ended.
    /// A `cancel` token cancelled from another thread ends the wait at once.
    #[pyo3(signature = (timeout_ms = None, cancel = None))]
    fn next(
        &self,
        py: Python<'_>,
        timeout_ms: Option<f64>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> PyResult<Option<String>> {
        let timeout = timeout(timeout_ms, ErrorKind::InvalidDbArgument, "timeout")?;
        let token = cancel.map(|c| c.inner.clone());
        let next = blocking_wait(py, |check| {
            self.inner.next_cancellable(timeout, token.as_ref(), check)
        })?;
        Ok(match next {
            Waited::Ready(json) => Some(json),
            Waited::Timeout => Some(String::new()),
            Waited::Done => None,
        })
    }

    /// Ends the watch.
    fn close(&self) {
        self.inner.close();
    }
}
