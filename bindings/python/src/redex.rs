//! Raw RedEX logs for Python: a manager, logs, live tails and the record /
//! event-meta codecs. Entries come back as `(seq, timestamp_ns, payload)` tuples.

use crate::blocking::{blocking_wait, count, timeout, unlocked};
use crate::errors::to_py;
use net::facade::redex::{self as facade, LogHandle, RedexEntry, RedexHandle, TailHandle};
use net::facade::wait::Waited;
use net::ErrorKind;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::sync::Arc;

type PyEntry<'py> = (u64, u64, Bound<'py, PyBytes>);

fn entries_to_py(py: Python<'_>, entries: Vec<RedexEntry>) -> Vec<PyEntry<'_>> {
    entries
        .into_iter()
        .map(|e| (e.seq, e.timestamp_ns, PyBytes::new(py, &e.payload)))
        .collect()
}

/// A RedEX manager (`{"dir": ...}` or in memory).
#[pyclass(module = "net._net", frozen)]
pub struct Redex {
    inner: RedexHandle,
}

#[pymethods]
impl Redex {
    #[new]
    #[pyo3(signature = (options_json = ""))]
    fn new(options_json: &str) -> PyResult<Self> {
        Ok(Redex {
            inner: RedexHandle::open(options_json).map_err(to_py)?,
        })
    }

    /// Opens (or returns the already open) log for `channel`; a persistent log
    /// is replayed first (GIL released).
    fn open_log(&self, py: Python<'_>, channel: &str, config_json: &str) -> PyResult<Log> {
        let inner = unlocked(py, || self.inner.open_file(channel, config_json)).map_err(to_py)?;
        Ok(Log {
            inner: Arc::new(inner),
        })
    }

    /// Closes every log (each syncs first).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        unlocked(py, || self.inner.close()).map_err(to_py)
    }
}

/// One open log.
#[pyclass(module = "net._net", frozen)]
pub struct Log {
    inner: Arc<LogHandle>,
}

#[pymethods]
impl Log {
    /// Appends one entry; returns its sequence.
    fn append(&self, payload: &[u8]) -> PyResult<u64> {
        self.inner.append(payload).map_err(to_py)
    }

    /// Appends an atomic batch; returns the first sequence, None if empty.
    fn append_batch(&self, payloads: Vec<PyBackedBytes>) -> PyResult<Option<u64>> {
        let total = payloads.iter().map(|p| p.len()).sum();
        let mut data = Vec::with_capacity(total);
        let mut lens = Vec::with_capacity(payloads.len());
        for p in &payloads {
            data.extend_from_slice(p);
            lens.push(p.len());
        }
        self.inner.append_packed(&data, &lens).map_err(to_py)
    }

    /// Retained entries with `start <= seq < end`.
    fn read_range<'py>(
        &self,
        py: Python<'py>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<PyEntry<'py>>> {
        let start = count(start, ErrorKind::InvalidLogArgument, "start")?;
        let end = count(end, ErrorKind::InvalidLogArgument, "end")?;
        Ok(entries_to_py(py, self.inner.read_range(start, end)))
    }

    /// A live reader from `from_seq`.
    fn tail(&self, from_seq: &Bound<'_, PyAny>) -> PyResult<Tail> {
        let from_seq = count(from_seq, ErrorKind::InvalidLogArgument, "from_seq")?;
        Ok(Tail {
            inner: Arc::new(self.inner.tail(from_seq)),
        })
    }

    /// The sequence the next append will get.
    fn next_seq(&self) -> u64 {
        self.inner.next_seq()
    }

    /// Entries currently retained.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Applies retention now; returns how many entries were evicted.
    fn sweep_retention(&self) -> PyResult<usize> {
        self.inner.sweep_retention().map_err(to_py)
    }

    /// Durability barrier (GIL released).
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        unlocked(py, || self.inner.sync()).map_err(to_py)
    }

    /// Closes the log (idempotent).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        unlocked(py, || self.inner.close()).map_err(to_py)
    }

    /// What reopening found, as JSON.
    fn recovery_json(&self) -> String {
        self.inner.recovery_json()
    }
}

/// A live tail.
#[pyclass(module = "net._net", frozen)]
pub struct Tail {
    inner: Arc<TailHandle>,
}

#[pymethods]
impl Tail {
    /// Waits (GIL released, Ctrl-C honoured) up to `timeout_ms` (None: forever)
    /// for up to `max` entries: a list (empty on timeout), or None at the end.
    /// A `cancel` token cancelled from another thread ends the wait at
    /// once (`call:cancelled`, nothing taken).
    #[pyo3(signature = (max, timeout_ms = None, cancel = None))]
    fn next<'py>(
        &self,
        py: Python<'py>,
        max: &Bound<'_, PyAny>,
        timeout_ms: Option<f64>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> PyResult<Option<Vec<PyEntry<'py>>>> {
        let max: usize = count(max, ErrorKind::InvalidLogArgument, "max")?;
        let timeout = timeout(timeout_ms, ErrorKind::InvalidLogArgument, "timeout")?;
        let tail = Arc::clone(&self.inner);
        let token = cancel.map(|c| c.inner.clone());
        let next = blocking_wait(py, |check| {
            tail.next_cancellable(max, timeout, token.as_ref(), check)
        })?;
        Ok(match next {
            Waited::Ready(entries) => Some(entries_to_py(py, entries)),
            Waited::Timeout => Some(Vec::new()),
            Waited::Done => None,
        })
    }

    /// The next sequence this tail will return.
    fn position(&self) -> u64 {
        self.inner.position()
    }

    /// Ends the tail; a waiter returns None within ~100 ms.
    fn close(&self) {
        self.inner.close();
    }
}

/// Encodes a heap index record (20 bytes).
#[pyfunction]
pub fn record_heap<'py>(
    py: Python<'py>,
    seq: u64,
    offset: u32,
    payload: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = facade::record_heap(seq, offset, payload).map_err(to_py)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Encodes an inline index record carrying exactly 8 payload bytes.
#[pyfunction]
pub fn record_inline<'py>(
    py: Python<'py>,
    seq: u64,
    payload: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = facade::record_inline(seq, payload).map_err(to_py)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Decodes an index record: `(seq, offset, len, flags_checksum, inline, inline_payload)`.
#[pyfunction]
pub fn record_decode<'py>(
    py: Python<'py>,
    data: &[u8],
) -> PyResult<(u64, u32, u32, u32, bool, Bound<'py, PyBytes>)> {
    let r = facade::record_decode(data).map_err(to_py)?;
    Ok((
        r.seq,
        r.offset,
        r.len,
        r.flags_checksum,
        r.inline,
        PyBytes::new(py, &r.inline_payload),
    ))
}

/// Frames a CortEX payload behind its 20-byte event meta.
#[pyfunction]
pub fn event_frame<'py>(
    py: Python<'py>,
    dispatch: u8,
    origin_hash: u32,
    seq_or_ts: u64,
    payload: &[u8],
) -> Bound<'py, PyBytes> {
    PyBytes::new(
        py,
        &facade::event_frame(dispatch, origin_hash, seq_or_ts, payload),
    )
}

/// Decodes a framed entry's meta, checking the checksum:
/// `(dispatch, flags, origin_hash, seq_or_ts, checksum)`; the payload follows byte 20.
#[pyfunction]
pub fn event_unframe(data: &[u8]) -> PyResult<(u8, u8, u32, u64, u32)> {
    let m = facade::event_unframe(data).map_err(to_py)?;
    Ok((m.dispatch, m.flags, m.origin_hash, m.seq_or_ts, m.checksum))
}
