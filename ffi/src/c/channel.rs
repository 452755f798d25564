//! `net_mesh_*` channel calls and `net_channel_subscription_*`: register
//! channels, subscribe, publish, receive.

use super::bus::{bus_arg, net_bus_t};
use super::common::*;
use super::mesh::{mesh_arg, net_mesh_t};
use super::token::{net_token_cache_t, CACHES};
use crate::facade::channel::{on_bus, on_mesh};
use crate::handles::HandleTable;
use net_core::Error;
use std::os::raw::c_char;
use std::sync::Arc;

/// A channel subscription. Opaque; always used by pointer.
pub struct net_channel_subscription_t {
    _opaque: (),
}

/// A message received on a channel; free its buffers with
/// `net_channel_message_free`.
#[repr(C)]
pub struct net_channel_message_t {
    /// The publisher's node id.
    pub publisher: u64,
    /// The channel name (NUL-terminated).
    pub channel: *mut c_char,
    /// The payload.
    pub payload: *mut u8,
    /// The payload's length.
    pub payload_len: usize,
}

static SUBS: HandleTable<on_mesh::SubscriptionHandle> = HandleTable::new(0x46);

pub(super) fn sub_arg(
    sub: *mut net_channel_subscription_t,
) -> Result<Arc<on_mesh::SubscriptionHandle>, Error> {
    SUBS.arg(sub, "channel subscription")
}

/// Registers a channel this node publishes on, from its JSON config:
/// `{"name", "visibility" ("global", "subnet_local", "parent_visible"),
/// "publish_caps", "subscribe_caps" (predicates), "require_token",
/// "reliable"}` (only `name` required). `NET_ERR_INVALID_CHANNEL_CONFIG`
/// when it is registered already or the config is not valid.
///
/// # Safety
/// `mesh` a live handle; `config` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_register_channel(
    mesh: *mut net_mesh_t,
    config: *const c_char,
    len: usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        // SAFETY: forwarded contract.
        let config = unsafe { str_arg(config, len, "config")? };
        on_mesh::register(&mesh, config)?;
        Ok(NET_OK)
    })
}

/// Unregisters a channel (its roster is dropped); `NET_DONE` when it was
/// not registered.
///
/// # Safety
/// `mesh` a live handle; `name` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_unregister_channel(
    mesh: *mut net_mesh_t,
    name: *const c_char,
    len: usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        // SAFETY: forwarded contract.
        let name = unsafe { str_arg(name, len, "name")? };
        Ok(if on_mesh::unregister(&mesh, name) {
            NET_OK
        } else {
            NET_DONE
        })
    })
}

/// Writes the subscribers of a registered channel, ascending, as an array
/// freed with `net_node_ids_free(*out_ids, *out_count)` (NULL when empty).
///
/// # Safety
/// `mesh` a live handle; `name` valid for `len` bytes; outs writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_channel_subscribers(
    mesh: *mut net_mesh_t,
    name: *const c_char,
    len: usize,
    out_ids: *mut *mut u64,
    out_count: *mut usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        // SAFETY: forwarded contract.
        let name = unsafe { str_arg(name, len, "name")? };
        ids_out(on_mesh::subscribers(&mesh, name), out_ids, out_count)
    })
}

/// A handle on the node's token cache: trust roots and revoke tokens there
/// (the next publish drops members whose chains rest on a revoked token).
/// Release it with `net_token_cache_free` (the node keeps its cache).
///
/// # Safety
/// `mesh` a live handle; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_token_cache(
    mesh: *mut net_mesh_t,
    out: *mut *mut net_token_cache_t,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        CACHES.store(out, on_mesh::token_cache(&mesh))
    })
}

/// Publishes `payload` on a registered channel to every subscriber the
/// guard admits; writes the report as JSON (`{"attempted", "delivered",
/// "skipped": [{"node_id", "reason"}]}`, free with `net_string_free`).
/// `NET_ERR_UNKNOWN_CHANNEL` for a channel not registered here,
/// `NET_ERR_CHANNEL_UNAUTHORIZED` when this node misses its `publish_caps`.
///
/// # Safety
/// `mesh` a live handle; `name` valid for `len` bytes, `payload` for
/// `payload_len`; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_publish(
    mesh: *mut net_mesh_t,
    name: *const c_char,
    len: usize,
    payload: *const u8,
    payload_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        // SAFETY: forwarded contract.
        let (name, payload) = unsafe {
            (
                str_arg(name, len, "name")?,
                bytes_arg(payload, payload_len, "payload")?,
            )
        };
        string_out(
            on_mesh::publish(&mesh, name, &[payload])?,
            out_json,
            out_len,
        )
    })
}

/// Writes the channel layer's counters as JSON (`published`, `delivered`,
/// `skipped`, `subscribes_accepted`, `subscribes_refused`, `rate_limited`,
/// `evicted_revoked`, `evicted_expired`, `received`).
///
/// # Safety
/// `mesh` a live handle; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_channel_stats(
    mesh: *mut net_mesh_t,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        string_out(on_mesh::stats_json(&mesh), out_json, out_len)
    })
}

/// Reads a channel config (the JSON `net_mesh_register_channel` takes) and
/// writes it back with every default filled in, as a node registering it
/// would enforce it (free with `net_string_free`):
/// `NET_ERR_INVALID_CHANNEL_CONFIG`, `NET_ERR_INVALID_CHANNEL_NAME` or
/// `NET_ERR_INVALID_PREDICATE` for a bad one.
///
/// # Safety
/// `config` valid for `len` bytes; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_channel_config_normalize(
    config: *const c_char,
    len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let config = unsafe { str_arg(config, len, "config")? };
        string_out(
            crate::facade::channel::normalize_config(config)?,
            out_json,
            out_len,
        )
    })
}

/// Publishes `payload` on the bus's local channel `name` (no registration:
/// any valid name) and writes to `*delivered` (may be NULL) how many local
/// subscriptions took a copy; a subscription whose queue is full misses it
/// (counted in `net_bus_channel_stats`). `NET_ERR_INVALID_CHANNEL_NAME`,
/// `NET_ERR_SHUTDOWN` after `net_shutdown`.
///
/// # Safety
/// `bus` a live handle; `name` valid for `len` bytes, `payload` for
/// `payload_len`; `delivered` writable or NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_bus_channel_publish(
    bus: *mut net_bus_t,
    name: *const c_char,
    len: usize,
    payload: *const u8,
    payload_len: usize,
    delivered: *mut usize,
) -> i32 {
    guard(|| {
        let bus = bus_arg(bus)?;
        // SAFETY: forwarded contract.
        let (name, payload) = unsafe {
            (
                str_arg(name, len, "name")?,
                bytes_arg(payload, payload_len, "payload")?,
            )
        };
        let n = on_bus::publish(&bus, name, payload)?;
        if !delivered.is_null() {
            // SAFETY: non-null and writable per the contract.
            unsafe { delivered.write(n) };
        }
        Ok(NET_OK)
    })
}

/// Subscribes to the bus's local channel `pattern` (a name, or a prefix and
/// a last segment of one star or two stars): every later
/// `net_bus_channel_publish` that matches. The subscription is read like a
/// mesh one (`net_channel_subscription_next`, its publisher is 0) and
/// released with `net_channel_subscription_free`; `net_shutdown` ends it.
///
/// # Safety
/// `bus` a live handle; `pattern` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_bus_channel_subscribe(
    bus: *mut net_bus_t,
    pattern: *const c_char,
    len: usize,
    out: *mut *mut net_channel_subscription_t,
) -> i32 {
    guard(|| {
        let bus = bus_arg(bus)?;
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: forwarded contract.
        let pattern = unsafe { str_arg(pattern, len, "pattern")? };
        SUBS.store(out, on_bus::subscribe(&bus, pattern)?)
    })
}

/// The bus's local channel counters as JSON (`{"published", "delivered",
/// "dropped", "subscriptions"}`); free with `net_string_free`.
///
/// # Safety
/// `bus` a live handle; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_bus_channel_stats(
    bus: *mut net_bus_t,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let bus = bus_arg(bus)?;
        string_out(on_bus::stats_json(&bus), out_json, out_len)
    })
}

/// Subscribes to `pattern` (a channel name, or a prefix and a last segment
/// of one star or two stars) at the publisher `publisher`, presenting `chain` (tokens of
/// `NET_TOKEN_LEN` bytes laid end to end, root grant first; empty for
/// none), and waits up to `timeout_ms` for the acknowledgement. A refusal
/// returns its reason: `NET_ERR_UNKNOWN_CHANNEL`,
/// `NET_ERR_CHANNEL_UNAUTHORIZED`, `NET_ERR_CHANNEL_RATE_LIMITED`,
/// `NET_ERR_CHANNEL_SUBNET`; no answer in time `NET_ERR_MESH_TIMEOUT`.
/// Release the subscription with `net_channel_subscription_free`.
///
/// # Safety
/// `mesh` a live handle; `pattern` valid for `len` bytes, `chain` for
/// `chain_len`; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_subscribe(
    mesh: *mut net_mesh_t,
    publisher: u64,
    pattern: *const c_char,
    len: usize,
    chain: *const u8,
    chain_len: usize,
    timeout_ms: u64,
    out: *mut *mut net_channel_subscription_t,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: forwarded contract.
        let (pattern, chain) = unsafe {
            (
                str_arg(pattern, len, "pattern")?,
                bytes_arg(chain, chain_len, "chain")?,
            )
        };
        let sub = on_mesh::subscribe(&mesh, publisher, pattern, chain, timeout_ms)?;
        SUBS.store(out, sub)
    })
}

/// Writes the next message of a subscription, waiting up to `timeout_ms`
/// (negative: no limit): `NET_OK` with `*out` filled (free it with
/// `net_channel_message_free`), `NET_TIMED_OUT` with nothing.
///
/// # Safety
/// `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_channel_subscription_next(
    sub: *mut net_channel_subscription_t,
    timeout_ms: i64,
    out: *mut net_channel_message_t,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { net_channel_subscription_next_cancellable(sub, timeout_ms, std::ptr::null_mut(), out) }
}

/// `net_channel_subscription_next` that returns `NET_ERR_CANCELLED` as soon
/// as `cancel` (NULL: not cancellable) is cancelled.
///
/// # Safety
/// `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_channel_subscription_next_cancellable(
    sub: *mut net_channel_subscription_t,
    timeout_ms: i64,
    cancel: *mut super::cancel::net_cancel_t,
    out: *mut net_channel_message_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: non-null; an empty message is safe to free on every path.
        unsafe {
            out.write(net_channel_message_t {
                publisher: 0,
                channel: std::ptr::null_mut(),
                payload: std::ptr::null_mut(),
                payload_len: 0,
            })
        };
        let sub = sub_arg(sub)?;
        let message = match super::cancel::cancel_arg(cancel)? {
            Some(cancel) => sub.next_cancellable(timeout_ms, &cancel)?,
            None => sub.next(timeout_ms)?,
        };
        let Some(message) = message else {
            return Ok(NET_TIMED_OUT);
        };
        let mut channel: *mut c_char = std::ptr::null_mut();
        string_out(
            message.channel.to_string(),
            &mut channel,
            std::ptr::null_mut(),
        )?;
        let mut payload: *mut u8 = std::ptr::null_mut();
        let mut payload_len = 0usize;
        bytes_out(message.payload, &mut payload, &mut payload_len)?;
        // SAFETY: checked non-null above.
        unsafe {
            out.write(net_channel_message_t {
                publisher: message.publisher,
                channel,
                payload,
                payload_len,
            })
        };
        Ok(NET_OK)
    })
}

/// Frees a message's buffers (and zeroes it). NULL is ignored.
///
/// # Safety
/// `message` NULL or filled by `net_channel_subscription_next`, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn net_channel_message_free(message: *mut net_channel_message_t) {
    if message.is_null() {
        return;
    }
    // SAFETY: the caller passes a message this library filled.
    let m = unsafe { &mut *message };
    // SAFETY: each buffer came from string_out / bytes_out.
    unsafe {
        net_string_free(m.channel);
        net_bytes_free(m.payload, m.payload_len);
    }
    m.channel = std::ptr::null_mut();
    m.payload = std::ptr::null_mut();
    m.payload_len = 0;
}

/// Writes the channels the publisher admitted a subscription to, as a JSON
/// array of names.
///
/// # Safety
/// `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_channel_subscription_accepted(
    sub: *mut net_channel_subscription_t,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(sub_arg(sub)?.accepted_json(), out_json, out_len))
}

/// Unsubscribes and releases a subscription. NULL and freed handles are
/// ignored.
#[no_mangle]
pub extern "C" fn net_channel_subscription_free(sub: *mut net_channel_subscription_t) {
    guard(|| {
        if let Some(sub) = SUBS.remove(sub as usize) {
            sub.close();
        }
        Ok(NET_OK)
    });
}

/// Process teardown: every channel subscription.
pub(crate) fn drain_subscriptions() {
    for sub in SUBS.drain() {
        sub.close();
    }
}
