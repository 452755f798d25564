//! The binding's one lock discipline and its one argument check.
//!
//! * **Never wait on the engine holding the GIL.** Every call that can block
//!   or contend (waits, batch emits, opens, closes, joins) runs through
//!   [`unlocked`]; the engine never calls back into Python while it holds a
//!   lock of its own, and a wait's Ctrl-C check ([`blocking_wait`]) runs
//!   between slices, outside every engine lock.
//! * **Never re-enter a finalizing interpreter.** At exit, CPython ends any
//!   thread that tries to take the GIL back after finalization started, by
//!   unwinding its stack — which aborts the process when Rust frames are on
//!   it (`FATAL: exception not rethrown`). An `atexit` hook ([`at_exit`],
//!   registered by `net/__init__.py`) closes a gate first: a thread that comes
//!   back from the engine after that parks for good instead of re-entering
//!   Python, and the hook waits (bounded) for the threads already on their
//!   way back. The process then exits normally, flushing its files.
//! * **Numbers are checked by the engine's rules** ([`count`], [`timeout`]):
//!   out-of-range values raise the area's `invalid_argument` error (also a
//!   `ValueError`), never a bare `OverflowError`.

use crate::errors::to_py;
use net::ErrorKind;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyInt;
use std::sync::{Condvar, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

struct Gate {
    /// Set by the atexit hook to the thread running it (the one that goes on
    /// to finalize the interpreter, and the only one that may re-enter).
    closed: Option<ThreadId>,
    /// Threads between "back from the engine" and "holding the GIL again".
    returning: usize,
}

static GATE: Mutex<Gate> = Mutex::new(Gate {
    closed: None,
    returning: 0,
});
static RETURNED: Condvar = Condvar::new();

/// How long the atexit hook waits for threads already on their way back.
const EXIT_GRACE: Duration = Duration::from_secs(2);

fn gate() -> std::sync::MutexGuard<'static, Gate> {
    GATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Called with the GIL released, just before taking it back.
fn enter_back() {
    let mut g = gate();
    if g.closed
        .is_some_and(|closer| closer != std::thread::current().id())
    {
        drop(g);
        // The interpreter is exiting: taking the GIL back would end this
        // thread by unwinding through Rust. Park until the process exits.
        loop {
            std::thread::park();
        }
    }
    g.returning += 1;
}

/// Called holding the GIL again.
fn entered() {
    let mut g = gate();
    g.returning -= 1;
    if g.returning == 0 {
        RETURNED.notify_all();
    }
}

/// Runs `f` with the GIL released (see the module docs).
pub fn unlocked<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> T {
    let out = py.allow_threads(|| {
        let out = f();
        enter_back();
        out
    });
    entered();
    out
}

/// The `atexit` hook: closes the gate, then lets threads already on their way
/// back into Python finish (bounded), so none re-enters after finalization.
#[pyfunction]
pub fn at_exit(py: Python<'_>) {
    // Handlers first, while threads may still take the GIL: their thread
    // finishes its call and leaves before the gate closes.
    crate::handler::stop(py);
    gate().closed = Some(std::thread::current().id());
    py.allow_threads(|| {
        let g = gate();
        let _ = RETURNED.wait_timeout_while(g, EXIT_GRACE, |g| g.returning > 0);
    });
}

/// Whether this is the interpreter's main thread (the only one Python runs
/// signal handlers on).
fn on_main_thread(py: Python<'_>) -> bool {
    static MAIN: GILOnceCell<u64> = GILOnceCell::new();
    let threading = match py.import("threading") {
        Ok(t) => t,
        Err(_) => return false,
    };
    let main = MAIN.get_or_try_init(py, || -> PyResult<u64> {
        threading
            .call_method0("main_thread")?
            .getattr("ident")?
            .extract()
    });
    let me: PyResult<u64> = threading
        .call_method0("get_ident")
        .and_then(|i| i.extract());
    matches!((main, me), (Ok(m), Ok(i)) if *m == i)
}

/// Runs a blocking engine wait with the GIL released. The wait gets a check
/// to call between its slices: on the main thread it looks for a pending
/// signal (Ctrl-C), which ends the wait and is raised as the signal's
/// exception; on other threads (where Python runs no signal handlers) it
/// never takes the GIL.
pub fn blocking_wait<T: Send>(
    py: Python<'_>,
    wait: impl FnOnce(&mut dyn FnMut() -> net::Result<()>) -> net::Result<T> + Send,
) -> PyResult<T> {
    let main = on_main_thread(py);
    let mut interrupt: Option<PyErr> = None;
    let result = unlocked(py, || {
        let mut check = || {
            if !main {
                return Ok(());
            }
            match Python::with_gil(|py| py.check_signals()) {
                Ok(()) => Ok(()),
                Err(e) => {
                    interrupt = Some(e);
                    Err(net::Error::new(
                        net::ErrorKind::InvalidArgument,
                        "interrupted",
                    ))
                }
            }
        };
        wait(&mut check)
    });
    match interrupt {
        Some(e) => Err(e),
        None => result.map_err(to_py),
    }
}

/// A whole number argument, checked by the engine's rule: non-integers are a
/// `TypeError` (as everywhere in Python); negative or too large values raise
/// `kind`, the area's invalid-argument error (also a `ValueError`).
pub fn count<T: TryFrom<u64> + TryFrom<i128>>(
    value: &Bound<'_, PyAny>,
    kind: ErrorKind,
    what: &str,
) -> PyResult<T> {
    match value.extract::<u64>() {
        Ok(v) => <T as TryFrom<u64>>::try_from(v)
            .or_else(|_| net::time::integer::<T>(i128::from(v), kind, what))
            .map_err(to_py),
        Err(e) if !value.is_instance_of::<PyInt>() => Err(e),
        Err(_) => {
            // Negative, or wider than 64 bits: the engine words the error.
            let wide = match value.extract::<i128>() {
                Ok(v) => v,
                Err(_) if value.lt(0)? => i128::MIN,
                Err(_) => i128::MAX,
            };
            net::time::integer::<T>(wide, kind, what).map_err(to_py)
        }
    }
}

/// A timeout in milliseconds (`None`: no limit), checked by the engine's rule.
pub fn timeout(ms: Option<f64>, kind: ErrorKind, what: &str) -> PyResult<Option<Duration>> {
    net::time::timeout_from_ms(ms, kind, what).map_err(to_py)
}
