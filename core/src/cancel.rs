//! One cancellation for every blocking call: a [`CancelToken`].
//!
//! A caller hands a token to a wait (`Subscription::next_batch_cancellable`,
//! `MeshNode::recv_cancellable`, ...) and cancels it from any thread; the wait
//! wakes at once and fails with `call:cancelled`. Cancelling is sticky: a
//! token cancelled before the wait starts makes the wait fail at once, so
//! there is no race between "cancel" and "start waiting". Each SDK maps its
//! own idiom onto a token: a Go `context.Context` (through the C ABI's
//! `net_cancel_t`), and later a JS `AbortSignal` or a Python task.
//!
//! A wait registers how to wake itself with [`CancelToken::on_cancel`] (for
//! example "notify the bus's new-data event") for as long as it waits; the
//! token calls every registered waker when it is cancelled. Tokens are cheap
//! to clone (one `Arc`) and cheap to leave uncancelled.

use crate::error::{Error, ErrorKind, Result};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

type Waker = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    next_id: AtomicU64,
    wakers: Mutex<Vec<(u64, Waker)>>,
}

/// A cancellation shared by a caller and the waits it started. Clones are
/// the same token.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<Inner>);

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels: every wait holding the token wakes and fails with
    /// `call:cancelled`, and so does every later one. Idempotent; any thread.
    pub fn cancel(&self) {
        if self.0.cancelled.swap(true, Ordering::SeqCst) {
            return;
        }
        let wakers = std::mem::take(&mut *self.0.wakers.lock());
        for (_, wake) in wakers {
            wake();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// `call:cancelled` if the token is cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            return Err(cancelled());
        }
        Ok(())
    }

    /// Registers `wake` to run when the token is cancelled, for as long as
    /// the returned guard lives (a wait holds it while it sleeps). Runs
    /// `wake` at once if the token is already cancelled.
    pub fn on_cancel(&self, wake: impl Fn() + Send + Sync + 'static) -> OnCancel<'_> {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let wake: Waker = Arc::new(wake);
        self.0.wakers.lock().push((id, Arc::clone(&wake)));
        // Cancelled between the caller's check and the push: the waker list
        // was already taken, so wake now.
        if self.is_cancelled() {
            wake();
        }
        OnCancel { token: self, id }
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Keeps a waker registered; unregisters it on drop.
#[must_use = "the waker is unregistered when this guard is dropped"]
pub struct OnCancel<'a> {
    token: &'a CancelToken,
    id: u64,
}

impl Drop for OnCancel<'_> {
    fn drop(&mut self) {
        self.token.0.wakers.lock().retain(|(id, _)| *id != self.id);
    }
}

/// Test aid: cancels a clone of `token` from another thread after `ms`.
#[cfg(test)]
pub(crate) fn cancel_after(token: &CancelToken, ms: u64) -> std::thread::JoinHandle<()> {
    let token = token.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        token.cancel();
    })
}

/// The error a cancelled wait fails with.
pub fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "the call was cancelled")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn cancel_runs_registered_wakers_once_and_is_sticky() {
        let token = CancelToken::new();
        let woken = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&woken);
        let guard = token.on_cancel(move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        assert!(token.check().is_ok());
        token.clone().cancel();
        token.cancel();
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        drop(guard);
        assert_eq!(token.check().unwrap_err().kind(), ErrorKind::Cancelled);
        // Registering on a cancelled token wakes at once.
        let w = Arc::clone(&woken);
        let _late = token.on_cancel(move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(woken.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_dropped_guard_is_not_woken() {
        let token = CancelToken::new();
        let woken = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&woken);
        drop(token.on_cancel(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        token.cancel();
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        assert!(token.0.wakers.lock().is_empty());
    }

    #[test]
    fn cancelling_from_many_threads_wakes_once() {
        let token = CancelToken::new();
        let woken = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&woken);
        let _guard = token.on_cancel(move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let t = token.clone();
                std::thread::spawn(move || t.cancel())
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(woken.load(Ordering::SeqCst), 1);
    }
}
