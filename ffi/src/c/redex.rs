//! C exports for raw RedEX logs and the record / event-meta codecs.
//!
//! Reads and tails return entries packed into one byte buffer (free it with
//! `net_bytes_free`): for each entry `seq u64 | timestamp_ns u64 | len u32 |
//! payload`, little-endian, back to back.

use super::common::*;
use crate::facade::redex::{self as facade, LogHandle, RedexHandle, TailHandle};
use crate::facade::wait::Waited;
use crate::handles::HandleTable;
use net_core::Error;
use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

/// A RedEX manager: maps channel names to logs, in memory or under a directory.
/// Opaque; create with `net_redex_open`, release with `net_redex_free`.
pub struct net_redex_t {
    _opaque: (),
}

/// One open RedEX log. Opaque; create with `net_redex_open_log`, release with
/// `net_log_free`.
pub struct net_log_t {
    _opaque: (),
}

/// A live reader of a log. Opaque; create with `net_log_tail`, release with
/// `net_tail_free`.
pub struct net_tail_t {
    _opaque: (),
}

/// A decoded 20-byte RedEX index record.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct net_redex_record_t {
    /// Sequence number.
    pub seq: u64,
    /// Heap: offset into the payload segment. Inline: payload bytes 0..4.
    pub offset: u32,
    /// Heap: payload length. Inline: payload bytes 4..8.
    pub len: u32,
    /// Flags (bit 31 = inline) and the 28-bit payload checksum.
    pub flags_checksum: u32,
    /// Whether the payload is stored inline.
    pub is_inline: bool,
    /// The inline payload (zero for heap records).
    pub inline_payload: [u8; 8],
}

/// A decoded 20-byte CortEX event meta.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct net_event_meta_t {
    /// Event kind (0x00–0x7F CortEX models, 0x80–0xFF applications).
    pub dispatch: u8,
    /// Flags (none defined yet).
    pub flags: u8,
    /// The producer's origin hash.
    pub origin_hash: u32,
    /// Per-origin counter or Unix nanoseconds.
    pub seq_or_ts: u64,
    /// CRC-32 of the payload.
    pub checksum: u32,
}

/// Size of a RedEX index record and of a CortEX event meta.
pub const NET_REDEX_RECORD_LEN: usize = 20;
/// Size of each entry's header in a packed entry buffer.
pub const NET_REDEX_ENTRY_HEADER_LEN: usize = 20;
const _: () = assert!(NET_REDEX_ENTRY_HEADER_LEN == facade::PACKED_ENTRY_HEADER);

static MANAGERS: HandleTable<RedexHandle> = HandleTable::new(0x52);
static LOGS: HandleTable<LogHandle> = HandleTable::new(0x4C);
static TAILS: HandleTable<TailHandle> = HandleTable::new(0x54);

fn redex_arg(rx: *mut net_redex_t) -> Result<Arc<RedexHandle>, Error> {
    MANAGERS.arg(rx, "redex")
}

fn log_arg(log: *mut net_log_t) -> Result<Arc<LogHandle>, Error> {
    LOGS.arg(log, "log")
}

fn tail_arg(tail: *mut net_tail_t) -> Result<Arc<TailHandle>, Error> {
    TAILS.arg(tail, "tail")
}

/// Opens a manager from JSON options: `{"dir": "..."}` persists logs under a
/// directory; length 0 keeps them in memory.
///
/// # Safety
/// `options` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_redex_open(
    options: *const c_char,
    len: usize,
    out: *mut *mut net_redex_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { str_arg(options, len, "options")? };
        MANAGERS.store(out, RedexHandle::open(options)?)
    })
}

/// Closes every log of the manager (each syncs first). Handles stay valid.
#[no_mangle]
#[must_use]
pub extern "C" fn net_redex_close(rx: *mut net_redex_t) -> i32 {
    guard(|| {
        redex_arg(rx)?.close()?;
        Ok(NET_OK)
    })
}

/// Closes (if needed) and releases a manager. NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_redex_free(rx: *mut net_redex_t) {
    guard(|| {
        if let Some(rx) = MANAGERS.remove(rx as usize) {
            let _ = rx.close();
        }
        Ok(NET_OK)
    });
}

/// Opens the log for `channel` (NUL-terminated, segments of `[A-Za-z0-9_.-]`
/// separated by `/`) with a JSON configuration (length 0 for defaults):
/// `max_events`, `max_bytes`, `max_age_ms`, `max_payload`, and `fsync` as
/// `{"every_n": N}`, `{"interval_ms": N}` or `{"interval_ms": N, "max_bytes": N}`.
/// A persistent log is replayed first; see `net_log_recovery`.
///
/// # Safety
/// `channel` NUL-terminated; `config` valid for `config_len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_redex_open_log(
    rx: *mut net_redex_t,
    channel: *const c_char,
    config: *const c_char,
    config_len: usize,
    out: *mut *mut net_log_t,
) -> i32 {
    guard(|| {
        let rx = redex_arg(rx)?;
        // SAFETY: forwarded contract.
        let (channel, config) = unsafe {
            (
                cstr_arg(channel, "channel")?.ok_or_else(|| null_error("channel"))?,
                str_arg(config, config_len, "config")?,
            )
        };
        LOGS.store(out, rx.open_file(channel, config)?)
    })
}

/// Appends one entry; its sequence goes to `*out_seq` (may be NULL).
///
/// # Safety
/// `data` valid for `len` bytes; `out_seq` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_log_append(
    log: *mut net_log_t,
    data: *const u8,
    len: usize,
    out_seq: *mut u64,
) -> i32 {
    guard(|| {
        let log = log_arg(log)?;
        // SAFETY: forwarded contract.
        let data = unsafe { bytes_arg(data, len, "data")? };
        write_opt(out_seq, log.append(data)?);
        Ok(NET_OK)
    })
}

/// Appends `count` entries packed back to back in `data` (entry `i` is
/// `lens[i]` bytes) as one atomic batch: either every entry gets a sequence,
/// consecutive from `*out_first_seq`, or none does. Returns `NET_DONE` (and
/// appends nothing) for an empty batch, so it cannot be mistaken for seq 0.
///
/// # Safety
/// `data` valid for `data_len` bytes, `lens` for `count` elements; `out_first_seq` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_log_append_packed(
    log: *mut net_log_t,
    data: *const u8,
    data_len: usize,
    lens: *const usize,
    count: usize,
    out_first_seq: *mut u64,
) -> i32 {
    guard(|| {
        let log = log_arg(log)?;
        // SAFETY: forwarded contract.
        let data = unsafe { bytes_arg(data, data_len, "data")? };
        // SAFETY: forwarded contract (`lens` valid for `count` elements).
        let lens = unsafe { slice_arg(lens, count, "lens")? };
        match log.append_packed(data, lens)? {
            Some(first) => {
                write_opt(out_first_seq, first);
                Ok(NET_OK)
            }
            None => Ok(NET_DONE),
        }
    })
}

/// Reads retained entries with `from <= seq < to` into a packed buffer (see the
/// module docs; free with `net_bytes_free`).
///
/// # Safety
/// `out` and `out_len` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_log_read_range(
    log: *mut net_log_t,
    from: u64,
    to: u64,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let entries = log_arg(log)?.read_range(from, to);
        bytes_out(facade::pack_entries(&entries)?, out, out_len)
    })
}

/// Writes the next sequence and the number of retained entries (either may be NULL).
///
/// # Safety
/// Out-pointers NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_log_info(
    log: *mut net_log_t,
    out_next_seq: *mut u64,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let log = log_arg(log)?;
        write_opt(out_next_seq, log.next_seq());
        write_opt(out_len, log.len());
        Ok(NET_OK)
    })
}

/// Applies the retention limits now; the number evicted goes to `*out_evicted` (may be NULL).
///
/// # Safety
/// `out_evicted` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_log_sweep_retention(
    log: *mut net_log_t,
    out_evicted: *mut usize,
) -> i32 {
    guard(|| {
        write_opt(out_evicted, log_arg(log)?.sweep_retention()?);
        Ok(NET_OK)
    })
}

/// Durability barrier: payload, then index, then timestamps reach the disk.
#[no_mangle]
#[must_use]
pub extern "C" fn net_log_sync(log: *mut net_log_t) -> i32 {
    guard(|| {
        log_arg(log)?.sync()?;
        Ok(NET_OK)
    })
}

/// Closes the log (idempotent): later appends fail with `NET_ERR_LOG_CLOSED`,
/// tails end once they have read everything.
#[no_mangle]
#[must_use]
pub extern "C" fn net_log_close(log: *mut net_log_t) -> i32 {
    guard(|| {
        log_arg(log)?.close()?;
        Ok(NET_OK)
    })
}

/// Releases a log handle (the log itself stays open in its manager until
/// `net_log_close` or `net_redex_close`). NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_log_free(log: *mut net_log_t) {
    guard(|| {
        LOGS.remove(log as usize);
        Ok(NET_OK)
    });
}

/// What reopening the log found, as JSON (free with `net_string_free`):
/// `{"entries", "truncated_records", "corrupt_seqs": ["..."], "missing_timestamps"}`.
///
/// # Safety
/// `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_log_recovery(
    log: *mut net_log_t,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(log_arg(log)?.recovery_json(), out_json, out_len))
}

/// Opens a live reader: every retained entry from `from_seq`, then each new one,
/// with no gap and no duplicate at the hand-off.
///
/// # Safety
/// `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_log_tail(
    log: *mut net_log_t,
    from_seq: u64,
    out: *mut *mut net_tail_t,
) -> i32 {
    guard(|| {
        let tail = log_arg(log)?.tail(from_seq);
        TAILS.store(out, tail)
    })
}

/// Waits up to `timeout_ms` (negative: forever) for up to `max` entries:
/// `NET_OK` with a packed buffer in `*out` (NULL and length 0 on timeout; free
/// with `net_bytes_free`), or `NET_DONE` once the tail is closed, or the log is
/// closed and everything before the close was read.
///
/// # Safety
/// `out` and `out_len` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_tail_next(
    tail: *mut net_tail_t,
    max: usize,
    timeout_ms: i64,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { net_tail_next_cancellable(tail, max, timeout_ms, std::ptr::null_mut(), out, out_len) }
}

/// `net_tail_next` that also returns `NET_ERR_CANCELLED` as soon as `cancel`
/// (NULL: not cancellable) is cancelled; entries are never taken by a
/// cancelled call.
///
/// # Safety
/// `out` and `out_len` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_tail_next_cancellable(
    tail: *mut net_tail_t,
    max: usize,
    timeout_ms: i64,
    cancel: *mut super::cancel::net_cancel_t,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        if out.is_null() || out_len.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: both checked non-null; start from "nothing".
        unsafe {
            *out = std::ptr::null_mut();
            *out_len = 0;
        }
        let tail = tail_arg(tail)?;
        let cancel = super::cancel::cancel_arg(cancel)?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        match tail.next_cancellable(max, timeout, cancel.as_deref(), || Ok(()))? {
            Waited::Ready(entries) => bytes_out(facade::pack_entries(&entries)?, out, out_len),
            Waited::Timeout => Ok(NET_OK),
            Waited::Done => Ok(NET_DONE),
        }
    })
}

/// Ends a tail; a waiter returns `NET_DONE` within ~100 ms. Idempotent.
#[no_mangle]
#[must_use]
pub extern "C" fn net_tail_close(tail: *mut net_tail_t) -> i32 {
    guard(|| {
        tail_arg(tail)?.close();
        Ok(NET_OK)
    })
}

/// Closes (if needed) and releases a tail. NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_tail_free(tail: *mut net_tail_t) {
    guard(|| {
        if let Some(tail) = TAILS.remove(tail as usize) {
            tail.close();
        }
        Ok(NET_OK)
    });
}

/// Encodes a heap index record for `payload` stored at `offset` into `out` (20 bytes).
///
/// # Safety
/// `payload` valid for `len` bytes; `out` writable for 20 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_redex_record_heap(
    seq: u64,
    offset: u32,
    payload: *const u8,
    len: usize,
    out: *mut u8,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let payload = unsafe { bytes_arg(payload, len, "payload")? };
        write_fixed(out, &facade::record_heap(seq, offset, payload)?)
    })
}

/// Encodes an inline index record carrying exactly 8 payload bytes into `out` (20 bytes).
///
/// # Safety
/// `payload` valid for `len` bytes; `out` writable for 20 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_redex_record_inline(
    seq: u64,
    payload: *const u8,
    len: usize,
    out: *mut u8,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let payload = unsafe { bytes_arg(payload, len, "payload")? };
        write_fixed(out, &facade::record_inline(seq, payload)?)
    })
}

/// Decodes a 20-byte index record; `NET_ERR_MALFORMED` with the reason otherwise.
///
/// # Safety
/// `bytes` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_redex_record_decode(
    bytes: *const u8,
    len: usize,
    out: *mut net_redex_record_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: forwarded contract.
        let r = facade::record_decode(unsafe { bytes_arg(bytes, len, "bytes")? })?;
        let record = net_redex_record_t {
            seq: r.seq,
            offset: r.offset,
            len: r.len,
            flags_checksum: r.flags_checksum,
            is_inline: r.inline,
            inline_payload: r.inline_payload,
        };
        // SAFETY: checked non-null; caller-provided storage.
        unsafe { out.write(record) };
        Ok(NET_OK)
    })
}

/// Frames a CortEX payload (20-byte event meta with its checksum, then the
/// payload) into a new buffer (free with `net_bytes_free`).
///
/// # Safety
/// `payload` valid for `len` bytes; `out` and `out_len` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_cortex_frame(
    dispatch: u8,
    origin_hash: u32,
    seq_or_ts: u64,
    payload: *const u8,
    len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let payload = unsafe { bytes_arg(payload, len, "payload")? };
        bytes_out(
            facade::event_frame(dispatch, origin_hash, seq_or_ts, payload),
            out,
            out_len,
        )
    })
}

/// Decodes the event meta of a framed CortEX entry and checks the payload's
/// checksum (the payload starts at byte 20); `NET_ERR_DECODE` otherwise.
///
/// # Safety
/// `bytes` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_cortex_unframe(
    bytes: *const u8,
    len: usize,
    out: *mut net_event_meta_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: forwarded contract.
        let m = facade::event_unframe(unsafe { bytes_arg(bytes, len, "bytes")? })?;
        let meta = net_event_meta_t {
            dispatch: m.dispatch,
            flags: m.flags,
            origin_hash: m.origin_hash,
            seq_or_ts: m.seq_or_ts,
            checksum: m.checksum,
        };
        // SAFETY: checked non-null; caller-provided storage.
        unsafe { out.write(meta) };
        Ok(NET_OK)
    })
}

pub(crate) fn drain_logs() {
    for tail in TAILS.drain() {
        tail.close();
    }
    drop(LOGS.drain());
    for rx in MANAGERS.drain() {
        let _ = rx.close();
    }
}
