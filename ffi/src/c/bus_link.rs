//! C exports for the bus over the mesh: a link between a bus and a peer.

use super::bus::{bus_arg, net_bus_t};
use super::common::*;
use super::mesh::{mesh_arg, net_mesh_t};
use crate::facade::bus_link::BusLinkHandle;
use crate::handles::HandleTable;
use net_core::Error;
use std::ffi::c_char;
use std::sync::Arc;

/// A link carrying a bus's events to a peer, or a peer's events into a
/// bus. Opaque; create with `net_bus_link_open`, release with
/// `net_bus_link_free`.
pub struct net_bus_link_t {
    _opaque: (),
}

static LINKS: HandleTable<BusLinkHandle> = HandleTable::new(0x4C);

fn link_arg(link: *mut net_bus_link_t) -> Result<Arc<BusLinkHandle>, Error> {
    LINKS.arg(link, "link")
}

/// Starts a link between `bus` and the peer `node_id` of `mesh`, with JSON
/// options: `direction` (`"send"` or `"receive"`, required), `stream_id`
/// (default 6452595), `max_batch` (events per batch, default 1024),
/// `message_bytes` (default 16384).
///
/// A send link consumes `bus`: it sends its events to the peer on a reliable
/// stream and frees each batch once the peer acknowledged it. A receive
/// link takes that stream from the peer and emits every event into `bus`.
/// Link streams are the bus link protocol's own, not the application's: a
/// link's stream 7 is not `net_mesh_send`'s stream 7, and link messages
/// never reach `net_mesh_recv`. Errors:
/// `NET_ERR_INVALID_MESH_CONFIG` (bad options, stream already open another
/// way or already linked), `NET_ERR_UNKNOWN_PEER` (send: no session),
/// `NET_ERR_SHUTDOWN` / `NET_ERR_MESH_SHUTDOWN`.
///
/// # Safety
/// `options` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_bus_link_open(
    bus: *mut net_bus_t,
    mesh: *mut net_mesh_t,
    node_id: u64,
    options: *const c_char,
    len: usize,
    out: *mut *mut net_bus_link_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let options = unsafe { str_arg(options, len, "options")? };
        let bus = bus_arg(bus)?;
        let link = mesh_arg(mesh)?.link_bus(&bus, node_id, options)?;
        LINKS.store(out, link)
    })
}

/// The link's counters as a JSON object: `direction`, `peer` and
/// `stream_id` (decimal strings), `events`, `bytes`, `messages`,
/// `rejected`, `malformed`, `stalls`, `running`, `error` (why it stopped on
/// its own, or null); free with `net_string_free`.
///
/// # Safety
/// `out` writable; `out_len` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_bus_link_stats(
    link: *mut net_bus_link_t,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(link_arg(link)?.stats_json(), out, out_len))
}

/// Stops the link and waits for its thread (tens of milliseconds). A send
/// link leaves unacknowledged events in its bus; a receive link first
/// emits what it already received. Idempotent.
#[no_mangle]
#[must_use]
pub extern "C" fn net_bus_link_close(link: *mut net_bus_link_t) -> i32 {
    guard(|| {
        link_arg(link)?.close();
        Ok(NET_OK)
    })
}

/// Stops (if needed) and releases a link. NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_bus_link_free(link: *mut net_bus_link_t) {
    guard(|| {
        if let Some(link) = LINKS.remove(link as usize) {
            link.close();
        }
        Ok(NET_OK)
    });
}

/// Stops and releases every link (process teardown, before buses and nodes).
pub(crate) fn drain_links() {
    for link in LINKS.drain() {
        link.close();
    }
}
