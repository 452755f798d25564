//! `CancelToken`: the engine's one cancellation, for Python threads.

use pyo3::prelude::*;

/// A cancel token: `cancel()` (from any thread) wakes every wait it was
/// given at once; they raise `CancelledError` (`call:cancelled`). A token
/// stays cancelled: use a fresh one per operation.
#[pyclass(module = "net._net", frozen)]
#[derive(Default)]
pub struct CancelToken {
    pub(crate) inner: net::cancel::CancelToken,
}

#[pymethods]
impl CancelToken {
    #[new]
    fn new() -> Self {
        CancelToken::default()
    }

    /// Cancels (idempotent; never blocks).
    fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether `cancel` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    fn __repr__(&self) -> String {
        format!("CancelToken(cancelled={})", self.inner.is_cancelled())
    }
}
