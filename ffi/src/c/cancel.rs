//! Cancel tokens: one cancellation for every blocking call that takes one.
//!
//! Create a token, pass it to a `*_cancellable` call, and cancel it from any
//! thread: the call wakes at once and returns `NET_ERR_CANCELLED`. A token
//! stays cancelled (later calls with it fail at once); use a fresh one per
//! operation. A NULL token means "not cancellable".

use super::common::{guard, NET_OK};
use crate::handles::HandleTable;
use net_core::cancel::CancelToken;
use net_core::Result;
use std::sync::Arc;

/// A cancel token. Opaque; create with `net_cancel_new`, release with
/// `net_cancel_free`.
pub struct net_cancel_t {
    _opaque: (),
}

static CANCELS: HandleTable<CancelToken> = HandleTable::new(0x43);

/// The token behind `cancel`, or `None` for NULL (not cancellable).
pub(crate) fn cancel_arg(cancel: *mut net_cancel_t) -> Result<Option<Arc<CancelToken>>> {
    if cancel.is_null() {
        return Ok(None);
    }
    CANCELS.get(cancel as usize).map(Some)
}

/// Creates a token, not cancelled yet.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_cancel_new(out: *mut *mut net_cancel_t) -> i32 {
    guard(|| CANCELS.store(out, CancelToken::new()))
}

/// Cancels: every call waiting with the token returns `NET_ERR_CANCELLED`
/// at once, and so does every later one. Idempotent; any thread.
/// `NET_ERR_INVALID_HANDLE` for a freed token.
#[no_mangle]
#[must_use]
pub extern "C" fn net_cancel_cancel(cancel: *mut net_cancel_t) -> i32 {
    guard(|| {
        CANCELS.arg(cancel, "cancel")?.cancel();
        Ok(NET_OK)
    })
}

/// Releases a token (NULL is ignored). A call still waiting with it keeps
/// its own reference and is not cancelled by this.
#[no_mangle]
pub extern "C" fn net_cancel_free(cancel: *mut net_cancel_t) {
    let _ = guard(|| {
        if !cancel.is_null() {
            drop(CANCELS.remove(cancel as usize));
        }
        Ok(NET_OK)
    });
}

/// Process teardown.
pub(crate) fn drain_cancels() {
    drop(CANCELS.drain());
}
