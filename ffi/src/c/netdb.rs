//! C exports for NetDB: JSON control plane (see `facade::netdb`), snapshot bytes.

use super::common::*;
use crate::facade::netdb::{NetDbHandle, WatchHandle};
use crate::facade::wait::Waited;
use crate::handles::HandleTable;
use net_core::Error;
use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

/// An open NetDB. Opaque; always used by pointer. Create with `net_netdb_open`
/// or `net_netdb_restore`; stop with `net_netdb_close`; release with `net_netdb_free`.
pub struct net_netdb_t {
    _opaque: (),
}

static DATABASES: HandleTable<NetDbHandle> = HandleTable::new(0x44);
static WATCHES: HandleTable<WatchHandle> = HandleTable::new(0x57);

/// A watched NetDB query. Opaque; always used by pointer.
pub struct net_watch_t {
    _opaque: (),
}

fn watch_arg(w: *mut net_watch_t) -> Result<Arc<WatchHandle>, Error> {
    WATCHES.arg(w, "watch")
}

fn db_arg(db: *mut net_netdb_t) -> Result<Arc<NetDbHandle>, Error> {
    DATABASES.arg(db, "db")
}

/// Opens a database from JSON options (`dir`, `origin`, `tasks`, `memories`;
/// length 0 for in-memory with both models). Returns once any existing log is folded.
///
/// # Safety
/// `options` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_netdb_open(
    options: *const c_char,
    len: usize,
    out: *mut *mut net_netdb_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { str_arg(options, len, "options")? };
        DATABASES.store(out, NetDbHandle::open(options)?)
    })
}

/// Opens a database restored from snapshot bytes (from any language).
///
/// # Safety
/// `options` valid for `len` bytes, `snapshot` for `snapshot_len`; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_netdb_restore(
    options: *const c_char,
    len: usize,
    snapshot: *const u8,
    snapshot_len: usize,
    out: *mut *mut net_netdb_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (options, snapshot) = unsafe {
            (
                str_arg(options, len, "options")?,
                bytes_arg(snapshot, snapshot_len, "snapshot")?,
            )
        };
        DATABASES.store(out, NetDbHandle::restore(options, snapshot)?)
    })
}

/// Applies a write (`model` "tasks"/"memories", `op` such as "create", `args`
/// JSON such as `{"id":1,"title":"plan","ts":0}`); writes its sequence to
/// `*out_seq` (wait on it with `net_netdb_wait`).
///
/// # Safety
/// `model` and `op` NUL-terminated; `args` valid for `args_len`; `out_seq` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_netdb_write(
    db: *mut net_netdb_t,
    model: *const c_char,
    op: *const c_char,
    args: *const c_char,
    args_len: usize,
    out_seq: *mut u64,
) -> i32 {
    guard(|| {
        let db = db_arg(db)?;
        // SAFETY: forwarded contract.
        let (model, op, args) = unsafe {
            (
                cstr_arg(model, "model")?.unwrap_or_default(),
                cstr_arg(op, "op")?.unwrap_or_default(),
                str_arg(args, args_len, "args")?,
            )
        };
        let seq = db.write(model, op, args)?;
        if !out_seq.is_null() {
            // SAFETY: checked non-null; caller-provided storage.
            unsafe { *out_seq = seq };
        }
        Ok(NET_OK)
    })
}

/// Blocks until write `seq` of `model` is visible to queries
/// (`NET_ERR_FOLD_STOPPED`, `NET_ERR_TIMEOUT` otherwise).
///
/// # Safety
/// `model` NUL-terminated.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_netdb_wait(
    db: *mut net_netdb_t,
    model: *const c_char,
    seq: u64,
    timeout_ms: u64,
) -> i32 {
    guard(|| {
        let db = db_arg(db)?;
        // SAFETY: forwarded contract.
        let model = unsafe { cstr_arg(model, "model")? }.unwrap_or_default();
        db.wait(model, seq, Some(Duration::from_millis(timeout_ms)))?;
        Ok(NET_OK)
    })
}

/// `net_netdb_wait` with a timeout that may be negative (no limit) and a
/// cancel token (NULL: not cancellable): `NET_ERR_CANCELLED` as soon as it
/// is cancelled.
///
/// # Safety
/// `model` NUL-terminated.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_netdb_wait_cancellable(
    db: *mut net_netdb_t,
    model: *const c_char,
    seq: u64,
    timeout_ms: i64,
    cancel: *mut super::cancel::net_cancel_t,
) -> i32 {
    guard(|| {
        let db = db_arg(db)?;
        // SAFETY: forwarded contract.
        let model = unsafe { cstr_arg(model, "model")? }.unwrap_or_default();
        let cancel = super::cancel::cancel_arg(cancel)?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        db.wait_cancellable(model, seq, timeout, cancel.as_deref())?;
        Ok(NET_OK)
    })
}

/// Runs a query (`find_unique {id}`, `find_many`/`count_where`/`exists_where`
/// with a filter, `fold_errors`); the JSON result goes to `*out_json` (free with
/// `net_string_free`).
///
/// # Safety
/// `model`, `op` NUL-terminated; `args` valid for `args_len`; `out_json` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_netdb_read(
    db: *mut net_netdb_t,
    model: *const c_char,
    op: *const c_char,
    args: *const c_char,
    args_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let db = db_arg(db)?;
        // SAFETY: forwarded contract.
        let (model, op, args) = unsafe {
            (
                cstr_arg(model, "model")?.unwrap_or_default(),
                cstr_arg(op, "op")?.unwrap_or_default(),
                str_arg(args, args_len, "args")?,
            )
        };
        string_out(db.read(model, op, args)?, out_json, out_len)
    })
}

/// The whole database as snapshot bytes in `*out` / `*out_len`; free them with
/// `net_bytes_free(*out, *out_len)`.
///
/// # Safety
/// `out` and `out_len` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_netdb_snapshot(
    db: *mut net_netdb_t,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    guard(|| bytes_out(db_arg(db)?.snapshot()?, out, out_len))
}

/// Stops the folds and closes the logs (persistent logs sync). Idempotent.
#[no_mangle]
pub extern "C" fn net_netdb_close(db: *mut net_netdb_t) -> i32 {
    guard(|| {
        db_arg(db)?.close()?;
        Ok(NET_OK)
    })
}

/// Closes (if needed) and releases a database. NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_netdb_free(db: *mut net_netdb_t) {
    guard(|| {
        if let Some(db) = DATABASES.remove(db as usize) {
            let _ = db.close();
        }
        Ok(NET_OK)
    });
}

/// Watches a query (`filter` JSON as for `find_many`): the first
/// `net_watch_next` gives the current result, later ones each changed result.
///
/// # Safety
/// `model` NUL-terminated; `filter` valid for `filter_len`; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_netdb_watch(
    db: *mut net_netdb_t,
    model: *const c_char,
    filter: *const c_char,
    filter_len: usize,
    out: *mut *mut net_watch_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        let db = db_arg(db)?;
        // SAFETY: forwarded contract.
        let (model, filter) = unsafe {
            (
                cstr_arg(model, "model")?.unwrap_or_default(),
                str_arg(filter, filter_len, "filter")?,
            )
        };
        let id = WATCHES.insert(db.watch(model, filter)?)?;
        // SAFETY: checked non-null above.
        unsafe { *out = id as *mut net_watch_t };
        Ok(NET_OK)
    })
}

/// Waits up to `timeout_ms` (negative: forever) for the next result: `NET_OK`
/// with a JSON array in `*out_json` (free with `net_string_free`; NULL on
/// timeout), or `NET_DONE` once the watch is closed or the database closed.
///
/// # Safety
/// `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_watch_next(
    w: *mut net_watch_t,
    timeout_ms: i64,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { net_watch_next_cancellable(w, timeout_ms, std::ptr::null_mut(), out_json, out_len) }
}

/// `net_watch_next` that also returns `NET_ERR_CANCELLED` as soon as
/// `cancel` (NULL: not cancellable) is cancelled.
///
/// # Safety
/// `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_watch_next_cancellable(
    w: *mut net_watch_t,
    timeout_ms: i64,
    cancel: *mut super::cancel::net_cancel_t,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        if out_json.is_null() {
            return Err(null_error("out_json"));
        }
        // SAFETY: checked non-null; start from "no result".
        unsafe { *out_json = std::ptr::null_mut() };
        let w = watch_arg(w)?;
        let cancel = super::cancel::cancel_arg(cancel)?;
        let timeout = u64::try_from(timeout_ms)
            .ok()
            .map(std::time::Duration::from_millis);
        match w.next_cancellable(timeout, cancel.as_deref(), || Ok(()))? {
            Waited::Ready(json) => string_out(json, out_json, out_len),
            Waited::Timeout => Ok(NET_OK),
            Waited::Done => Ok(NET_DONE),
        }
    })
}

/// Ends a watch; a waiter returns `NET_DONE` within ~100 ms. Idempotent.
#[no_mangle]
pub extern "C" fn net_watch_close(w: *mut net_watch_t) -> i32 {
    guard(|| {
        watch_arg(w)?.close();
        Ok(NET_OK)
    })
}

/// Closes (if needed) and releases a watch. NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_watch_free(w: *mut net_watch_t) {
    guard(|| {
        if let Some(w) = WATCHES.remove(w as usize) {
            w.close();
        }
        Ok(NET_OK)
    });
}

pub(crate) fn drain_databases() {
    for w in WATCHES.drain() {
        w.close();
    }
    for db in DATABASES.drain() {
        let _ = db.close();
    }
}
