//! Interruptible, closable blocking waits shared by every pull-style stream the
//! bindings expose (bus subscriptions, NetDB watches, RedEX tails).
//!
//! A binding's thread may block in `next` for a long time, so the wait sleeps in
//! slices of [`WAIT_SLICE`]: between slices it notices a `close()` from another
//! thread and lets the binding check for interrupts (Ctrl-C in Python).

use net_core::time::Deadline;
use net_core::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Longest a blocking wait sleeps before re-checking for close or interrupts.
pub const WAIT_SLICE: Duration = Duration::from_millis(100);

/// What one wait produced.
#[derive(Debug)]
pub enum Waited<T> {
    /// Something arrived.
    Ready(T),
    /// The timeout passed with nothing new.
    Timeout,
    /// The stream was closed or its source ended.
    Done,
}

/// What one slice of a wait found.
pub(crate) enum Slice<T> {
    Ready(T),
    Empty,
    Ended,
}

/// A close flag that a waiter on another thread observes within one slice.
#[derive(Debug, Default)]
pub(crate) struct CloseFlag(AtomicBool);

impl CloseFlag {
    pub(crate) fn close(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Waits up to `timeout` (forever if `None`): `step` waits at most the slice
    /// it is given; `interrupted` runs between slices and may end the wait with
    /// its error.
    pub(crate) fn wait<T>(
        &self,
        timeout: Option<Duration>,
        mut interrupted: impl FnMut() -> Result<()>,
        mut step: impl FnMut(Duration) -> Result<Slice<T>>,
    ) -> Result<Waited<T>> {
        let deadline = Deadline::after(timeout);
        loop {
            if self.is_closed() {
                return Ok(Waited::Done);
            }
            let slice = deadline.slice(WAIT_SLICE);
            match step(slice)? {
                Slice::Ready(value) => return Ok(Waited::Ready(value)),
                Slice::Ended => return Ok(Waited::Done),
                Slice::Empty => {}
            }
            if deadline.expired() {
                return Ok(Waited::Timeout);
            }
            interrupted()?;
        }
    }
}
