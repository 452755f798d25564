//! Push delivery for Python: handlers run on one Python-owned thread.
//!
//! The engine never calls Python from its own threads (they would wait for
//! the GIL). A delivery's scheduler only queues it; one `threading.Thread`
//! named `net-callbacks`, started on the first handler, takes queued
//! deliveries and runs them, calling the Python handler with the GIL. So
//! every handler of the process runs on that thread, one call at a time, in
//! order per handler. An exception in a handler goes to
//! `sys.unraisablehook` (printed by default), is counted, and the handler
//! keeps being called.
//!
//! At exit ([`stop`], called by the binding's `atexit` hook before the
//! gate closes) the thread is stopped and joined (bounded), so no Rust frame
//! is on a Python thread when the interpreter finalizes.

use crate::blocking::unlocked;
use net::push::{Control, Delivery, Ran, Source};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How long the exit hook waits for a handler still running.
const STOP_GRACE: f64 = 2.0;

struct Queue {
    jobs: VecDeque<Arc<dyn Control>>,
    /// The process the thread runs in (a forked child starts its own).
    pid: u32,
    started: bool,
    stop: bool,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    jobs: VecDeque::new(),
    pid: 0,
    started: false,
    stop: false,
});
static READY: Condvar = Condvar::new();
/// Every handler not ended yet: a handler keeps running after its Python
/// object is garbage-collected, until `close()` or the end of its source.
static LIVE: Mutex<Vec<Arc<dyn Control>>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<Arc<dyn Control>>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
static THREAD: GILOnceCell<Mutex<Option<Py<PyAny>>>> = GILOnceCell::new();

fn queue() -> MutexGuard<'static, Queue> {
    QUEUE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn submit(job: Arc<dyn Control>) {
    let mut q = queue();
    if q.stop {
        return;
    }
    q.jobs.push_back(job);
    drop(q);
    READY.notify_one();
}

/// Starts the `net-callbacks` thread if this process has none yet.
fn ensure_thread(py: Python<'_>) -> PyResult<()> {
    {
        let mut q = queue();
        let pid = std::process::id();
        if q.started && q.pid == pid {
            return Ok(());
        }
        if q.stop {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "net: the interpreter is exiting; no new handlers",
            ));
        }
        q.started = true;
        q.pid = pid;
    }
    let run = wrap_pyfunction!(run_handlers, py)?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("target", run)?;
    kwargs.set_item("name", "net-callbacks")?;
    kwargs.set_item("daemon", true)?;
    let thread = py
        .import("threading")?
        .getattr("Thread")?
        .call((), Some(&kwargs))?;
    thread.call_method0("start")?;
    let slot = THREAD.get_or_init(py, || Mutex::new(None));
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread.unbind());
    Ok(())
}

/// The body of the `net-callbacks` thread.
#[pyfunction]
fn run_handlers(py: Python<'_>) {
    loop {
        let job = unlocked(py, || {
            let mut q = queue();
            loop {
                if q.stop {
                    return None;
                }
                if let Some(job) = q.jobs.pop_front() {
                    return Some(job);
                }
                q = READY.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        });
        match job {
            Some(job) => {
                // Holding the GIL: taking items never waits, and the
                // handler's call needs it anyway.
                if job.run() == Ran::Ended {
                    live().retain(|d| !d.is_closed());
                }
            }
            None => return,
        }
    }
}

/// Stops the `net-callbacks` thread and joins it (bounded): the exit hook.
pub fn stop(py: Python<'_>) {
    {
        let mut q = queue();
        q.stop = true;
        q.jobs.clear();
    }
    live().clear();
    READY.notify_all();
    let thread = THREAD
        .get(py)
        .and_then(|slot| slot.lock().unwrap_or_else(|p| p.into_inner()).take());
    if let Some(thread) = thread {
        let _ = thread.call_method1(py, "join", (STOP_GRACE,));
    }
}

/// Registers `callable` for every item of `source`, converting each with
/// `convert`, on the `net-callbacks` thread.
pub fn spawn<S, F>(
    py: Python<'_>,
    source: S,
    callable: Py<PyAny>,
    what: &'static str,
    convert: F,
) -> PyResult<Handler>
where
    S: Source,
    F: Fn(Python<'_>, S::Item) -> PyResult<PyObject> + Send + 'static,
{
    ensure_thread(py)?;
    let handler = move |item: S::Item| -> Result<(), String> {
        // The net-callbacks thread holds the GIL already: this is cheap.
        Python::with_gil(|py| {
            let outcome = convert(py, item).and_then(|arg| callable.call1(py, (arg,)));
            match outcome {
                Ok(_) => Ok(()),
                Err(err) => {
                    let text = err.to_string();
                    err.write_unraisable(py, Some(callable.bind(py)));
                    Err(text)
                }
            }
        })
    };
    let delivery = Delivery::new(source, handler, what, |me| {
        if let Some(me) = me.upgrade() {
            let job: Arc<dyn Control> = me;
            submit(job);
        }
    });
    live().push(Arc::clone(&delivery) as Arc<dyn Control>);
    Ok(Handler { delivery })
}

/// A Python function the engine calls for each item (see `Bus.on_event`,
/// `Mesh.on_message`).
#[pyclass(module = "net._net", frozen)]
pub struct Handler {
    delivery: Arc<dyn Control>,
}

#[pymethods]
impl Handler {
    /// Stops the calls. From outside a handler it waits for a call in
    /// progress to return; from inside one (on the `net-callbacks` thread)
    /// it does not wait, and that call is the last. Idempotent.
    fn close(&self, py: Python<'_>) {
        let delivery = Arc::clone(&self.delivery);
        unlocked(py, move || delivery.close());
        live().retain(|d| !d.is_closed());
    }

    /// Whether it has ended (closed and its last call returned, or its
    /// source ended).
    #[getter]
    fn closed(&self) -> bool {
        self.delivery.is_closed()
    }

    /// `(delivered, failed)`: items handled, and items the handler raised on.
    fn stats(&self) -> (u64, u64) {
        let stats = self.delivery.stats();
        (stats.delivered, stats.failed)
    }
}
