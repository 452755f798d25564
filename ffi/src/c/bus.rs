//! C exports for the event bus.
//!
//! Threading: every function may be called from any thread. Handles are
//! generational ids, so a freed handle is `NET_ERR_INVALID_HANDLE`, never UB.

use super::common::*;
use crate::facade::bus::{self as facade, Event, Receipt, SubscriptionHandle};
use crate::facade::wait::Waited;
use crate::handles::HandleTable;
use net_core::bus::{Bus, PollResponse};
use net_core::{Error, ErrorKind};
use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;
use std::time::Duration;

/// An event bus. Opaque; always used by pointer. Create with `net_init` or
/// `net_bus_new`; stop with `net_shutdown`; release with `net_bus_free`.
pub struct net_bus_t {
    _opaque: (),
}

/// The handle type of the quick start: a pointer to an opaque bus.
pub type net_handle_t = *mut net_bus_t;

/// A live subscription. Opaque; always used by pointer.
pub struct net_subscription_t {
    _opaque: (),
}

/// Where an emitted event went.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct net_receipt_t {
    /// Shard that holds the event.
    pub shard: u16,
    /// Sequence number within that shard.
    pub seq: u64,
}

/// One event in a poll result. `raw` is NOT NUL-terminated; use `raw_len`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct net_event_t {
    /// Payload bytes (owned by the poll result).
    pub raw: *const c_char,
    /// Payload length in bytes.
    pub raw_len: usize,
    /// Shard that held the event.
    pub shard: u16,
    /// Sequence number within the shard.
    pub seq: u64,
    /// Ingest time, nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
}

/// Events returned by a poll or a subscription. Free with `net_free_poll_result`.
#[repr(C)]
#[derive(Debug)]
pub struct net_poll_result_t {
    /// `count` events (NULL when `count` is 0).
    pub events: *const net_event_t,
    /// Number of events.
    pub count: usize,
    /// NUL-terminated cursor to pass to the next poll (owned by the result).
    pub next_cursor: *const c_char,
    /// Whether more events were buffered beyond this result.
    pub has_more: bool,
    /// Library-owned storage; do not touch.
    pub _owner: *mut c_void,
}

/// Storage behind a `net_poll_result_t`.
struct PollStorage {
    _events: Vec<Event>,
    c_events: Vec<net_event_t>,
    cursor: CString,
}

static BUSES: HandleTable<Bus> = HandleTable::new(0x4E);
static SUBSCRIPTIONS: HandleTable<SubscriptionHandle> = HandleTable::new(0x53);

pub(super) fn bus_arg(bus: *mut net_bus_t) -> Result<Arc<Bus>, Error> {
    BUSES.arg(bus, "bus")
}

/// A new live subscription from a bus handle and the C arguments
/// `net_subscribe` and `net_bus_on_event` share (empty cursor or filter:
/// none).
///
/// # Safety
/// `cursor` and `filter_json` valid for their lengths.
pub(super) unsafe fn subscription_arg(
    bus: *mut net_bus_t,
    cursor: *const c_char,
    cursor_len: usize,
    filter_json: *const c_char,
    filter_len: usize,
) -> Result<net_core::bus::Subscription, Error> {
    let bus = bus_arg(bus)?;
    // SAFETY: forwarded contract.
    let (cursor, filter) = unsafe {
        (
            str_arg(cursor, cursor_len, "cursor")?,
            str_arg(filter_json, filter_len, "filter_json")?,
        )
    };
    facade::subscription(&bus, Some(cursor), Some(filter))
}

fn sub_arg(sub: *mut net_subscription_t) -> Result<Arc<SubscriptionHandle>, Error> {
    SUBSCRIPTIONS.arg(sub, "subscription")
}

fn write_receipt(out: *mut net_receipt_t, receipt: Receipt) {
    if !out.is_null() {
        // SAFETY: non-null; the caller provides a writable net_receipt_t.
        unsafe {
            *out = net_receipt_t {
                shard: receipt.shard,
                seq: receipt.seq,
            }
        };
    }
}

fn fill_result(out: *mut net_poll_result_t, events: Vec<Event>, cursor: String, has_more: bool) {
    let c_events: Vec<net_event_t> = events
        .iter()
        .map(|e| net_event_t {
            raw: e.data.as_ptr().cast(),
            raw_len: e.data.len(),
            shard: e.shard,
            seq: e.seq,
            timestamp_ns: e.timestamp_ns,
        })
        .collect();
    let storage = Box::new(PollStorage {
        _events: events,
        c_events,
        cursor: CString::new(cursor).unwrap_or_default(),
    });
    let result = net_poll_result_t {
        events: if storage.c_events.is_empty() {
            std::ptr::null()
        } else {
            storage.c_events.as_ptr()
        },
        count: storage.c_events.len(),
        next_cursor: storage.cursor.as_ptr(),
        has_more,
        _owner: Box::into_raw(storage).cast(),
    };
    // SAFETY: `out` was checked non-null by the caller of this helper.
    unsafe { out.write(result) };
}

fn empty_result() -> net_poll_result_t {
    net_poll_result_t {
        events: std::ptr::null(),
        count: 0,
        next_cursor: std::ptr::null(),
        has_more: false,
        _owner: std::ptr::null_mut(),
    }
}

/// Collects `count` (pointer, length) pairs into slices.
///
/// # Safety
/// `events` and `lens` must each be valid for `count` elements, and every
/// `events[i]` valid for `lens[i]` bytes.
unsafe fn batch_args<'a>(
    events: *const *const c_char,
    lens: *const usize,
    count: usize,
) -> Result<Vec<&'a [u8]>, Error> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if events.is_null() || lens.is_null() {
        return Err(null_error("events or lens"));
    }
    // SAFETY: non-null and valid for `count` elements per the contract.
    let (ptrs, lens) = unsafe {
        (
            std::slice::from_raw_parts(events, count),
            std::slice::from_raw_parts(lens, count),
        )
    };
    ptrs.iter()
        .zip(lens)
        // SAFETY: each pointer is valid for its length per the contract.
        .map(|(&p, &l)| unsafe { bytes_arg(p.cast(), l, "event") })
        .collect()
}

/// Creates a bus from a NUL-terminated JSON configuration (NULL or `""` for the
/// defaults), as in the quick start. Returns NULL on error; see
/// `net_last_error_message()`. Stop it with `net_shutdown`, release it with
/// `net_bus_free`.
///
/// # Safety
/// `config_json` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn net_init(config_json: *const c_char) -> net_handle_t {
    let mut handle: net_handle_t = std::ptr::null_mut();
    let code = guard(|| {
        // SAFETY: forwarded contract.
        let config = unsafe { cstr_arg(config_json, "config_json")? }.unwrap_or("");
        handle = BUSES.insert(facade::open(config)?)? as net_handle_t;
        Ok(NET_OK)
    });
    if code == NET_OK {
        handle
    } else {
        std::ptr::null_mut()
    }
}

/// Creates a bus from a JSON configuration given as pointer + length
/// (`len` 0 for the defaults) and stores it in `*out`.
///
/// # Safety
/// `config_json` must be valid for `len` bytes; `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_bus_new(
    config_json: *const c_char,
    len: usize,
    out: *mut *mut net_bus_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: forwarded contract.
        let config = unsafe { str_arg(config_json, len, "config_json")? };
        let handle = BUSES.insert(facade::open(config)?)?;
        // SAFETY: checked non-null above.
        unsafe { *out = handle as *mut net_bus_t };
        Ok(NET_OK)
    })
}

/// Emits `len` raw bytes (any content).
///
/// # Safety
/// `data` must be valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_ingest_raw(
    bus: *mut net_bus_t,
    data: *const c_char,
    len: usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { net_ingest_raw_ex(bus, data, len, std::ptr::null_mut()) }
}

/// Emits `len` raw bytes and writes the receipt to `*out` (which may be NULL).
///
/// # Safety
/// `data` must be valid for `len` bytes; `out` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_ingest_raw_ex(
    bus: *mut net_bus_t,
    data: *const c_char,
    len: usize,
    out: *mut net_receipt_t,
) -> i32 {
    guard(|| {
        let bus = bus_arg(bus)?;
        // SAFETY: forwarded contract.
        let data = unsafe { bytes_arg(data.cast(), len, "data")? };
        write_receipt(out, bus.emit_raw(data)?);
        Ok(NET_OK)
    })
}

/// Emits a JSON document (validated: invalid JSON fails with
/// `NET_ERR_INVALID_JSON`) and writes the receipt to `*out` (may be NULL).
///
/// # Safety
/// `json` must be valid for `len` bytes; `out` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_ingest_json(
    bus: *mut net_bus_t,
    json: *const c_char,
    len: usize,
    out: *mut net_receipt_t,
) -> i32 {
    guard(|| {
        let bus = bus_arg(bus)?;
        // SAFETY: forwarded contract.
        let json = unsafe { str_arg(json, len, "json") }
            .map_err(|e| Error::new(ErrorKind::InvalidJson, e.detail().to_owned()))?;
        write_receipt(out, bus.emit_str(json)?);
        Ok(NET_OK)
    })
}

/// Emits `count` raw events (`events[i]`, `lens[i]` bytes each) into one shard,
/// all or nothing; writes the number accepted to `*out_count` (may be NULL).
///
/// # Safety
/// `events` and `lens` must be valid for `count` elements and each event for
/// its length.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_ingest_raw_batch(
    bus: *mut net_bus_t,
    events: *const *const c_char,
    lens: *const usize,
    count: usize,
    out_count: *mut usize,
) -> i32 {
    guard(|| {
        let bus = bus_arg(bus)?;
        // SAFETY: forwarded contract.
        let slices = unsafe { batch_args(events, lens, count)? };
        write_opt(out_count, bus.emit_raw_batch(&slices)?);
        Ok(NET_OK)
    })
}

/// Like `net_ingest_raw_batch`, but every event must be valid JSON.
///
/// # Safety
/// As for `net_ingest_raw_batch`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_ingest_json_batch(
    bus: *mut net_bus_t,
    events: *const *const c_char,
    lens: *const usize,
    count: usize,
    out_count: *mut usize,
) -> i32 {
    guard(|| {
        let bus = bus_arg(bus)?;
        // SAFETY: forwarded contract.
        let slices = unsafe { batch_args(events, lens, count)? };
        let texts = slices
            .iter()
            .map(|s| {
                std::str::from_utf8(s)
                    .map_err(|_| Error::new(ErrorKind::InvalidJson, "event is not UTF-8"))
            })
            .collect::<Result<Vec<&str>, Error>>()?;
        write_opt(out_count, bus.emit_str_batch(&texts)?);
        Ok(NET_OK)
    })
}

/// Emits `count` raw events packed back to back in `data` (`data_len` bytes in
/// all), event `i` being `lens[i]` bytes long. All or nothing; writes the
/// number accepted to `*out_count` (may be NULL). Built for bindings that can
/// fill one buffer without per-event allocations.
///
/// # Safety
/// `data` must be valid for `data_len` bytes and `lens` for `count` elements.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_ingest_raw_packed(
    bus: *mut net_bus_t,
    data: *const u8,
    data_len: usize,
    lens: *const usize,
    count: usize,
    out_count: *mut usize,
) -> i32 {
    guard(|| {
        let bus = bus_arg(bus)?;
        // SAFETY: forwarded contract.
        let data = unsafe { bytes_arg(data, data_len, "data")? };
        // SAFETY: forwarded contract (`lens` valid for `count` elements).
        let lens = unsafe { slice_arg(lens, count, "lens")? };
        write_opt(out_count, facade::emit_raw_packed(&bus, data, lens)?);
        Ok(NET_OK)
    })
}

fn poll_into(
    bus: *mut net_bus_t,
    limit: usize,
    cursor: Option<&str>,
    filter: Option<&str>,
    out: *mut net_poll_result_t,
) -> Result<i32, Error> {
    if out.is_null() {
        return Err(null_error("out"));
    }
    // SAFETY: non-null; give the caller a result that is safe to free even on error.
    unsafe { out.write(empty_result()) };
    let bus = bus_arg(bus)?;
    let PollResponse {
        events,
        next_cursor,
        has_more,
    } = facade::poll(&bus, limit, cursor, filter)?;
    fill_result(out, events, next_cursor, has_more);
    Ok(NET_OK)
}

/// Polls up to `limit` events after `cursor` (NUL-terminated, or NULL to start at
/// the oldest buffered event). Passing a previous `next_cursor` acknowledges the
/// events before it. Free the result with `net_free_poll_result`, also on error
/// (it is then empty).
///
/// # Safety
/// `cursor` must be NULL or NUL-terminated; `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_poll_ex(
    bus: *mut net_bus_t,
    limit: usize,
    cursor: *const c_char,
    out: *mut net_poll_result_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let cursor = unsafe { cstr_arg(cursor, "cursor")? };
        poll_into(bus, limit, cursor, None, out)
    })
}

/// Polls with a cursor and a JSON filter, both pointer + length (length 0 for
/// none). Filter grammar: `{"field":"a.b","eq":v}`, `{"and":[..]}`,
/// `{"or":[..]}`, `{"not":{..}}`.
///
/// # Safety
/// `cursor`/`filter_json` must be valid for their lengths; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_poll_filtered(
    bus: *mut net_bus_t,
    limit: usize,
    cursor: *const c_char,
    cursor_len: usize,
    filter_json: *const c_char,
    filter_len: usize,
    out: *mut net_poll_result_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (cursor, filter) = unsafe {
            (
                str_arg(cursor, cursor_len, "cursor")?,
                str_arg(filter_json, filter_len, "filter_json")?,
            )
        };
        poll_into(bus, limit, Some(cursor), Some(filter), out)
    })
}

/// Frees a poll or subscription result and zeroes it. NULL and already-freed
/// (zeroed) results are ignored.
///
/// # Safety
/// `result` must be NULL or point to a result filled by this library.
#[no_mangle]
pub unsafe extern "C" fn net_free_poll_result(result: *mut net_poll_result_t) {
    if result.is_null() {
        return;
    }
    // SAFETY: non-null and filled by this library per the contract.
    let owner = unsafe { (*result)._owner };
    if !owner.is_null() {
        // SAFETY: `_owner` came from `Box::into_raw` in `fill_result`, freed once
        // because the result is zeroed right after.
        drop(unsafe { Box::from_raw(owner.cast::<PollStorage>()) });
    }
    // SAFETY: as above.
    unsafe { result.write(empty_result()) };
}

/// Returns once every event emitted before the call is visible to polls.
#[no_mangle]
#[must_use]
pub extern "C" fn net_flush(bus: *mut net_bus_t) -> i32 {
    guard(|| {
        bus_arg(bus)?.flush()?;
        Ok(NET_OK)
    })
}

/// Statistics as JSON (`{"ingested","dropped","buffered","shard_depths"}`);
/// free `*out_json` with `net_string_free`. Works after shutdown.
///
/// # Safety
/// `out_json` must be writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_stats(
    bus: *mut net_bus_t,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(facade::stats_json(&*bus_arg(bus)?), out_json, out_len))
}

/// Health as JSON (`{"status","num_shards","full_shards"}`); free with
/// `net_string_free`. Works after shutdown.
///
/// # Safety
/// `out_json` must be writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_health(
    bus: *mut net_bus_t,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(facade::health_json(&*bus_arg(bus)?), out_json, out_len))
}

/// Shuts the bus down (idempotent). Later calls fail with `NET_ERR_SHUTDOWN`;
/// subscriptions drain and end. The handle stays valid until `net_bus_free`.
#[no_mangle]
pub extern "C" fn net_shutdown(bus: *mut net_bus_t) -> i32 {
    guard(|| {
        bus_arg(bus)?.shutdown();
        Ok(NET_OK)
    })
}

/// Shuts down (if needed) and releases a bus. NULL and already-freed handles
/// are ignored.
#[no_mangle]
pub extern "C" fn net_bus_free(bus: *mut net_bus_t) {
    guard(|| {
        if let Some(bus) = BUSES.remove(bus as usize) {
            bus.shutdown();
        }
        Ok(NET_OK)
    });
}

/// Opens a live subscription from `cursor` (length 0: the oldest buffered
/// event) with an optional JSON filter (length 0: none).
///
/// # Safety
/// `cursor`/`filter_json` must be valid for their lengths; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_subscribe(
    bus: *mut net_bus_t,
    cursor: *const c_char,
    cursor_len: usize,
    filter_json: *const c_char,
    filter_len: usize,
    out: *mut *mut net_subscription_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: forwarded contract.
        let sub = unsafe { subscription_arg(bus, cursor, cursor_len, filter_json, filter_len)? };
        let sub = facade::SubscriptionHandle::from(sub);
        let handle = SUBSCRIPTIONS.insert(sub)?;
        // SAFETY: checked non-null above.
        unsafe { *out = handle as *mut net_subscription_t };
        Ok(NET_OK)
    })
}

/// Waits up to `timeout_ms` (negative: forever) for up to `max` events. Returns
/// `NET_OK` with `out->count` events (0 on timeout), or `NET_DONE` once the
/// subscription is closed or the bus has shut down and been drained. Always
/// free `*out` with `net_free_poll_result`.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_subscription_next(
    sub: *mut net_subscription_t,
    max: usize,
    timeout_ms: i64,
    out: *mut net_poll_result_t,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { net_subscription_next_cancellable(sub, max, timeout_ms, std::ptr::null_mut(), out) }
}

/// `net_subscription_next` that also returns `NET_ERR_CANCELLED` as soon as
/// `cancel` (NULL: not cancellable) is cancelled from another thread; events
/// are never taken by a cancelled call. `*out` is still to be freed.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_subscription_next_cancellable(
    sub: *mut net_subscription_t,
    max: usize,
    timeout_ms: i64,
    cancel: *mut super::cancel::net_cancel_t,
    out: *mut net_poll_result_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: non-null; make the result safe to free on every path.
        unsafe { out.write(empty_result()) };
        let sub = sub_arg(sub)?;
        let cancel = super::cancel::cancel_arg(cancel)?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        match sub.next_cancellable(max, timeout, cancel.as_deref(), || Ok(()))? {
            Waited::Ready(events) => {
                fill_result(out, events, sub.cursor(), false);
                Ok(NET_OK)
            }
            Waited::Timeout => {
                fill_result(out, Vec::new(), sub.cursor(), false);
                Ok(NET_OK)
            }
            Waited::Done => Ok(NET_DONE),
        }
    })
}

/// Gives the last `count` events of the batch the latest
/// `net_subscription_next` returned back to the bus, because the caller did
/// not deliver them (an iterator stopped early). They are buffered again,
/// with their shard, sequence and timestamp, and this subscription returns
/// them next. `count` 0 does nothing; more than is left of that batch (it
/// shrinks by what was given back) is `NET_ERR_INVALID_ARGUMENT`. Works on a
/// closed subscription until it is freed.
#[no_mangle]
#[must_use]
pub extern "C" fn net_subscription_unread(sub: *mut net_subscription_t, count: usize) -> i32 {
    guard(|| {
        sub_arg(sub)?.unread(count)?;
        Ok(NET_OK)
    })
}

/// Closes a subscription: a thread blocked in `net_subscription_next` returns
/// `NET_DONE` within about 100 ms. Idempotent.
#[no_mangle]
pub extern "C" fn net_subscription_close(sub: *mut net_subscription_t) -> i32 {
    guard(|| {
        sub_arg(sub)?.close();
        Ok(NET_OK)
    })
}

/// Closes (if needed) and releases a subscription. NULL and already-freed
/// handles are ignored.
#[no_mangle]
pub extern "C" fn net_subscription_free(sub: *mut net_subscription_t) {
    guard(|| {
        if let Some(sub) = SUBSCRIPTIONS.remove(sub as usize) {
            sub.close();
        }
        Ok(NET_OK)
    });
}

/// Process teardown: closes every handler and stops the callback threads,
/// then shuts down and releases every bus, subscription, identity,
/// database, log and mesh node still alive, and stops the engine's runtime
/// threads, so leak checkers report clean. Handles are invalid afterwards
/// (the next call that needs the runtime starts it again).
#[no_mangle]
pub extern "C" fn net_runtime_shutdown() {
    guard(|| {
        // Handlers first: their calls may still use every other handle.
        super::push::drain_handlers();
        super::bus_link::drain_links();
        super::channel::drain_subscriptions();
        for sub in SUBSCRIPTIONS.drain() {
            sub.close();
        }
        for bus in BUSES.drain() {
            bus.shutdown();
        }
        super::identity::drain_identities();
        super::token::drain_caches();
        super::netdb::drain_databases();
        super::redex::drain_logs();
        super::mesh::drain_meshes();
        super::cancel::drain_cancels();
        // Last: every node's timer ran on it, and every node is shut down.
        net_core::runtime::shutdown();
        clear_last_error();
        Ok(NET_OK)
    });
}
