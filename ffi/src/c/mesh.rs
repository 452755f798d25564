//! C exports for the encrypted mesh: a node, peers, streams, messages.

use super::common::*;
use crate::facade::mesh::MeshHandle;
use crate::handles::HandleTable;
use net_core::Error;
use std::ffi::c_char;
use std::sync::Arc;

/// A mesh node: a UDP socket, its sessions and streams. Opaque; create with
/// `net_mesh_bind`, release with `net_mesh_free`.
pub struct net_mesh_t {
    _opaque: (),
}

/// A message received from a peer. `payload` is owned by the caller: free it
/// with `net_bytes_free(payload, len)` (it is NULL when `len` is 0).
#[repr(C)]
#[derive(Debug)]
pub struct net_mesh_message_t {
    /// The sender's node id.
    pub from: u64,
    /// The stream it came on.
    pub stream_id: u64,
    /// The decrypted bytes.
    pub payload: *mut u8,
    /// Their length.
    pub len: usize,
}

/// Stream reliability: each message one datagram, no resends, no window.
pub const NET_STREAM_FIRE_AND_FORGET: u32 = 0;
/// Stream reliability: in order, exactly once, resent until acknowledged.
pub const NET_STREAM_RELIABLE: u32 = 1;
/// Length of an ed25519 public key.
pub const NET_PUBLIC_KEY_LEN: usize = 32;

static MESHES: HandleTable<MeshHandle> = HandleTable::new(0x4D);

pub(super) fn mesh_arg(mesh: *mut net_mesh_t) -> Result<Arc<MeshHandle>, Error> {
    MESHES.arg(mesh, "mesh")
}

/// Binds a node from a JSON configuration: `network_key` (64 hex digits,
/// required), `bind` (`"ip:port"`, default `"0.0.0.0:0"`), `seed` (64 hex
/// digits; default a fresh identity), `handshake_timeout_ms`,
/// `handshake_retry_ms`, `inbox_capacity`, `retransmit_timeout_ms`,
/// `beacon_interval_ms`,
/// `max_hops`, `rekey_interval_ms` (default 120000), `session_timeout_ms`
/// (default 30000, at least three beacon intervals), and the sections
/// `trust`, `peer_store`, `audit_log` and `capabilities` (`subnet`,
/// `subnet_policy`, `ttl_ms`, `min_announce_interval_ms`; see the README).
/// Unknown keys or bad
/// values: `NET_ERR_INVALID_MESH_CONFIG`.
///
/// # Safety
/// `config` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_bind(
    config: *const c_char,
    len: usize,
    out: *mut *mut net_mesh_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let config = unsafe { str_arg(config, len, "config")? };
        MESHES.store(out, MeshHandle::bind(config)?)
    })
}

/// Shuts a node down: blocked calls return `NET_ERR_MESH_SHUTDOWN`, the
/// socket closes. Messages already received can still be read. Idempotent.
#[no_mangle]
#[must_use]
pub extern "C" fn net_mesh_shutdown(mesh: *mut net_mesh_t) -> i32 {
    guard(|| {
        mesh_arg(mesh)?.shutdown();
        Ok(NET_OK)
    })
}

/// Shuts down (if needed) and releases a node. NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_mesh_free(mesh: *mut net_mesh_t) {
    guard(|| {
        if let Some(mesh) = MESHES.remove(mesh as usize) {
            mesh.shutdown();
        }
        Ok(NET_OK)
    });
}

/// The bound address as `"ip:port"`; free it with `net_string_free`.
///
/// # Safety
/// `out` writable; `out_len` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_local_addr(
    mesh: *mut net_mesh_t,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(mesh_arg(mesh)?.local_addr()?, out, out_len))
}

/// Writes the node's 32-byte public key to `out` and its id to `node_id`
/// (either may be NULL, not both).
///
/// # Safety
/// `out` NULL or writable for 32 bytes; `node_id` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_identity(
    mesh: *mut net_mesh_t,
    out: *mut u8,
    node_id: *mut u64,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        if out.is_null() && node_id.is_null() {
            return Err(null_error("out and node_id"));
        }
        if !out.is_null() {
            write_fixed(out, &mesh.public_key())?;
        }
        write_opt(node_id, mesh.node_id());
        Ok(NET_OK)
    })
}

/// Connects to the node at `addr` (NUL-terminated `"ip:port"`) whose public
/// key is `public_key` (`key_len` must be 32), blocking until the handshake
/// completes; writes the peer's node id. Fails with
/// `NET_ERR_HANDSHAKE_FAILED` (another network key) or `NET_ERR_MESH_TIMEOUT`.
///
/// # Safety
/// `addr` NUL-terminated; `public_key` valid for `key_len` bytes; `out_node_id`
/// NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_connect(
    mesh: *mut net_mesh_t,
    addr: *const c_char,
    public_key: *const u8,
    key_len: usize,
    out_node_id: *mut u64,
) -> i32 {
    // SAFETY: forwarded contract; a NULL token is "not cancellable".
    unsafe {
        net_mesh_connect_cancellable(
            mesh,
            addr,
            public_key,
            key_len,
            std::ptr::null_mut(),
            out_node_id,
        )
    }
}

/// Connects through relays to the node whose public key is `public_key`
/// (`key_len` must be 32), blocking until the handshake completes; writes its
/// node id. Routes come from neighbours' beacons (`net_mesh_routes`); with no
/// route: `NET_ERR_UNKNOWN_PEER`. The relays never hold this session's keys.
///
/// # Safety
/// `public_key` valid for `key_len` bytes; `out_node_id` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_connect_routed(
    mesh: *mut net_mesh_t,
    public_key: *const u8,
    key_len: usize,
    out_node_id: *mut u64,
) -> i32 {
    // SAFETY: forwarded contract; a NULL token is "not cancellable".
    unsafe {
        net_mesh_connect_routed_cancellable(
            mesh,
            public_key,
            key_len,
            std::ptr::null_mut(),
            out_node_id,
        )
    }
}

/// `net_mesh_connect` that returns `NET_ERR_CANCELLED` as soon as `cancel`
/// (NULL: not cancellable) is cancelled from another thread; the handshake
/// is then abandoned.
///
/// # Safety
/// As `net_mesh_connect`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_connect_cancellable(
    mesh: *mut net_mesh_t,
    addr: *const c_char,
    public_key: *const u8,
    key_len: usize,
    cancel: *mut super::cancel::net_cancel_t,
    out_node_id: *mut u64,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        // SAFETY: forwarded contract.
        let addr = unsafe { cstr_arg(addr, "addr")? }.ok_or_else(|| null_error("addr"))?;
        // SAFETY: forwarded contract.
        let key = unsafe { bytes_arg(public_key, key_len, "public_key")? };
        let connecting = mesh.start_connect(addr, key)?;
        write_opt(out_node_id, drive(connecting, cancel)?);
        Ok(NET_OK)
    })
}

/// `net_mesh_connect_routed` that returns `NET_ERR_CANCELLED` as soon as
/// `cancel` (NULL: not cancellable) is cancelled from another thread.
///
/// # Safety
/// As `net_mesh_connect_routed`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_connect_routed_cancellable(
    mesh: *mut net_mesh_t,
    public_key: *const u8,
    key_len: usize,
    cancel: *mut super::cancel::net_cancel_t,
    out_node_id: *mut u64,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        // SAFETY: forwarded contract.
        let key = unsafe { bytes_arg(public_key, key_len, "public_key")? };
        let connecting = mesh.start_connect_routed(key)?;
        write_opt(out_node_id, drive(connecting, cancel)?);
        Ok(NET_OK)
    })
}

/// Runs a connect to its end on the calling thread, cancellable.
fn drive(
    mut connecting: crate::facade::mesh::Connecting,
    cancel: *mut super::cancel::net_cancel_t,
) -> Result<u64, Error> {
    let done = match super::cancel::cancel_arg(cancel)? {
        Some(cancel) => connecting.wait_cancellable(None, &cancel)?,
        None => connecting.wait(None)?,
    };
    done.map(|peer| peer.node_id).ok_or_else(|| {
        Error::new(
            net_core::ErrorKind::MeshTimeout,
            "the handshake did not finish",
        )
    })
}

/// The best route to each node reachable through relays, as a JSON array of
/// `{"dest", "next_hop"` (decimal strings)`, "hops"}`; free with `net_string_free`.
///
/// # Safety
/// `out` writable; `out_len` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_routes(
    mesh: *mut net_mesh_t,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(mesh_arg(mesh)?.routes_json(), out, out_len))
}

/// Peers as a JSON array of `{"node_id"` (decimal string)`, "public_key", "addr", "confirmed",
/// "routed", "health", "cipher"}` (`health`: `"alive"`, `"suspect"` or `"failed"`;
/// `cipher`, the packet cipher the handshake agreed: `"aes-256-gcm"` or
/// `"chacha20-poly1305"`); free with `net_string_free`.
///
/// # Safety
/// `out` writable; `out_len` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_peers(
    mesh: *mut net_mesh_t,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(mesh_arg(mesh)?.peers_json(), out, out_len))
}

/// The peer store's entries as a JSON array of `{"addr", "node_id"` (decimal
/// string)`, "public_key", "last_success_ms", "failures"}`; `[]` without a
/// store. Free with `net_string_free`.
///
/// # Safety
/// `out` writable; `out_len` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_known_peers(
    mesh: *mut net_mesh_t,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(mesh_arg(mesh)?.known_peers_json(), out, out_len))
}

/// Opens stream `stream_id` to a connected peer: `reliability` is
/// `NET_STREAM_FIRE_AND_FORGET` or `NET_STREAM_RELIABLE`; `window` is the
/// reliable stream's credit (messages in flight; 0 for the default 256).
/// Streams never opened are fire-and-forget.
#[no_mangle]
#[must_use]
pub extern "C" fn net_mesh_open_stream(
    mesh: *mut net_mesh_t,
    node_id: u64,
    stream_id: u64,
    reliability: u32,
    window: u32,
) -> i32 {
    guard(|| {
        let reliable = match reliability {
            NET_STREAM_FIRE_AND_FORGET => false,
            NET_STREAM_RELIABLE => true,
            other => {
                return Err(Error::new(
                    net_core::ErrorKind::InvalidMeshConfig,
                    format!("reliability must be 0 or 1, got {other}"),
                ))
            }
        };
        mesh_arg(mesh)?.open_stream(node_id, stream_id, Some(reliable), window)?;
        Ok(NET_OK)
    })
}

/// Sends `len` bytes on a stream. On a reliable stream whose window is full
/// this returns `NET_ERR_STREAM_BACKPRESSURE` at once: drop, retry or wait.
///
/// # Safety
/// `data` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_send(
    mesh: *mut net_mesh_t,
    node_id: u64,
    stream_id: u64,
    data: *const u8,
    len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let data = unsafe { bytes_arg(data, len, "data")? };
        mesh_arg(mesh)?.send(node_id, stream_id, data)?;
        Ok(NET_OK)
    })
}

/// Like `net_mesh_send`, but on backpressure waits for window room and tries
/// again, up to `max_retries` more times (waits of 1, 2, 4 … 128 ms).
///
/// # Safety
/// `data` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_send_with_retry(
    mesh: *mut net_mesh_t,
    node_id: u64,
    stream_id: u64,
    data: *const u8,
    len: usize,
    max_retries: u32,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let data = unsafe { bytes_arg(data, len, "data")? };
        mesh_arg(mesh)?.send_with_retry(node_id, stream_id, data, max_retries)?;
        Ok(NET_OK)
    })
}

/// Like `net_mesh_send`, but waits up to `timeout_ms` (negative: no limit)
/// for window room; `NET_ERR_MESH_TIMEOUT` if it stays full.
///
/// # Safety
/// `data` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_send_blocking(
    mesh: *mut net_mesh_t,
    node_id: u64,
    stream_id: u64,
    data: *const u8,
    len: usize,
    timeout_ms: i64,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        net_mesh_send_blocking_cancellable(
            mesh,
            node_id,
            stream_id,
            data,
            len,
            timeout_ms,
            std::ptr::null_mut(),
        )
    }
}

/// `net_mesh_send_blocking` that also returns `NET_ERR_CANCELLED` as soon
/// as `cancel` (NULL: not cancellable) is cancelled; nothing is sent then.
///
/// # Safety
/// `data` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_send_blocking_cancellable(
    mesh: *mut net_mesh_t,
    node_id: u64,
    stream_id: u64,
    data: *const u8,
    len: usize,
    timeout_ms: i64,
    cancel: *mut super::cancel::net_cancel_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let data = unsafe { bytes_arg(data, len, "data")? };
        let mesh = mesh_arg(mesh)?;
        match super::cancel::cancel_arg(cancel)? {
            Some(cancel) => {
                mesh.send_blocking_cancellable(node_id, stream_id, data, timeout_ms, &cancel)?
            }
            None => mesh.send_blocking(node_id, stream_id, data, timeout_ms)?,
        }
        Ok(NET_OK)
    })
}

/// Waits up to `timeout_ms` (negative: no limit) for the next message.
/// `NET_OK` fills `out` (free `out->payload` with `net_bytes_free`);
/// `NET_TIMED_OUT` means none came; `NET_ERR_MESH_SHUTDOWN` once the node is
/// shut down and every received message has been read.
///
/// # Safety
/// `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_recv(
    mesh: *mut net_mesh_t,
    timeout_ms: i64,
    out: *mut net_mesh_message_t,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { net_mesh_recv_cancellable(mesh, timeout_ms, std::ptr::null_mut(), out) }
}

/// `net_mesh_recv` that also returns `NET_ERR_CANCELLED` as soon as `cancel`
/// (NULL: not cancellable) is cancelled from another thread.
///
/// # Safety
/// `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_recv_cancellable(
    mesh: *mut net_mesh_t,
    timeout_ms: i64,
    cancel: *mut super::cancel::net_cancel_t,
    out: *mut net_mesh_message_t,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        let empty = net_mesh_message_t {
            from: 0,
            stream_id: 0,
            payload: std::ptr::null_mut(),
            len: 0,
        };
        // SAFETY: checked non-null; start from "nothing".
        unsafe { out.write(empty) };
        let mesh = mesh_arg(mesh)?;
        let received = match super::cancel::cancel_arg(cancel)? {
            Some(cancel) => mesh.recv_cancellable(timeout_ms, &cancel)?,
            None => mesh.recv(timeout_ms)?,
        };
        let Some(message) = received else {
            return Ok(NET_TIMED_OUT);
        };
        let (from, stream_id) = (message.from, message.stream_id);
        let mut payload = std::ptr::null_mut();
        let mut len = 0usize;
        if !message.payload.is_empty() {
            bytes_out(message.payload, &mut payload, &mut len)?;
        }
        // SAFETY: checked non-null above.
        unsafe {
            out.write(net_mesh_message_t {
                from,
                stream_id,
                payload,
                len,
            })
        };
        Ok(NET_OK)
    })
}

/// The node's counters as a JSON object; free with `net_string_free`.
///
/// # Safety
/// `out` writable; `out_len` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_stats(
    mesh: *mut net_mesh_t,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(mesh_arg(mesh)?.stats_json(), out, out_len))
}

/// One stream's counters as a JSON object (`peer`, `stream_id` (decimal strings),
/// `reliability`, `sent`, `received`, `in_flight`, `window`,
/// `backpressure_events`, `retransmits`, `duplicates`); free with
/// `net_string_free`. `NET_DONE` (and `*out` NULL) if the stream was never used.
///
/// # Safety
/// `out` writable; `out_len` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_stream_stats(
    mesh: *mut net_mesh_t,
    node_id: u64,
    stream_id: u64,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: checked non-null.
        unsafe { *out = std::ptr::null_mut() };
        match mesh_arg(mesh)?.stream_stats_json(node_id, stream_id) {
            Some(json) => string_out(json, out, out_len),
            None => Ok(NET_DONE),
        }
    })
}

/// The counters of a stream a handle was opened for, as `net_mesh_stream_stats`
/// gives them, but always `NET_OK`: zero counters (fire-and-forget) when the
/// node holds no state for it, as a stream handle reports in every language.
///
/// # Safety
/// `out` writable; `out_len` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_opened_stream_stats(
    mesh: *mut net_mesh_t,
    node_id: u64,
    stream_id: u64,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null_error("out"));
        }
        // SAFETY: checked non-null.
        unsafe { *out = std::ptr::null_mut() };
        let json = mesh_arg(mesh)?.opened_stream_stats_json(node_id, stream_id);
        string_out(json, out, out_len)
    })
}

/// Shuts down and releases every node (process teardown).
pub(crate) fn drain_meshes() {
    for mesh in MESHES.drain() {
        mesh.shutdown();
    }
}
