//! The encrypted mesh for Python: one `Mesh` class over the facade's node
//! handle. Peers are node ids (ints), streams are `(node id, stream id)`,
//! messages come back as `(from, stream_id, payload)` tuples; peers, known
//! peers and counters as the facade's JSON.
//!
//! Every call that can block runs with the GIL released and wakes at least
//! every `WAIT_SLICE` to honour Ctrl-C: `recv` and `send_blocking` wait in
//! slices, `send_with_retry` retries in rounds of at most
//! `RETRIES_PER_ROUND`, and `connect` and `connect_routed` (one handshake,
//! bounded by the node's handshake timeout) run on a helper thread while the
//! caller waits in slices. Starting and closing a `BusLink` (which joins the
//! link's thread, a few tens of milliseconds at most) release the GIL too.

use crate::blocking::{blocking_wait, count, timeout, unlocked};
use crate::bus::Bus;
use crate::errors::to_py;
use net::facade::bus_link::BusLinkHandle;
use net::facade::capability;
use net::facade::channel;
use net::facade::mesh::{Connecting, MeshHandle};
use net::facade::wait::WAIT_SLICE;
use net::time::Deadline;
use net::ErrorKind;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::sync::Arc;

/// A received message as Python sees it: `(from, stream_id, payload)`.
type PyMessage = (u64, u64, Py<PyBytes>);

/// Retries per call of the facade's `send_with_retry` (its waits double from
/// 1 ms up to 128 ms, so one round waits at most ~255 ms).
const RETRIES_PER_ROUND: u32 = 8;

/// The next slice of a wait, in whole milliseconds (rounded up, so a wait
/// never spins on a sub-millisecond remainder), and whether it is the last.
pub(crate) fn slice_ms(deadline: Deadline) -> (i64, bool) {
    let slice = deadline.slice(WAIT_SLICE);
    let last = deadline.remaining().is_some_and(|left| left <= WAIT_SLICE);
    let ms = slice.as_micros().div_ceil(1000);
    (i64::try_from(ms).unwrap_or(i64::MAX), last)
}

/// A node or stream id.
fn id(value: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    count(value, ErrorKind::InvalidMeshArgument, what)
}

/// A mesh timeout in milliseconds as a deadline (`None`: no limit).
pub(crate) fn mesh_deadline(timeout_ms: Option<f64>) -> PyResult<Deadline> {
    Ok(Deadline::after(timeout(
        timeout_ms,
        ErrorKind::InvalidMeshArgument,
        "timeout",
    )?))
}

/// Drives a connect on the calling thread with the GIL released, in
/// `WAIT_SLICE` steps so Ctrl-C is honoured between them (an interrupted
/// connect is abandoned). No helper thread.
fn drive_connect(py: Python<'_>, mut connecting: Connecting) -> PyResult<u64> {
    blocking_wait(py, move |check| loop {
        if let Some(peer) = connecting.wait(Some(WAIT_SLICE))? {
            return Ok(peer.node_id);
        }
        check()?;
    })
}

/// A mesh node: an encrypted UDP endpoint bound from the engine's JSON
/// configuration. Dropping it shuts it down.
#[pyclass(module = "net._net", frozen)]
pub struct Mesh {
    inner: Arc<MeshHandle>,
}

#[pymethods]
impl Mesh {
    /// Binds a node from the engine's JSON configuration
    /// (`{"network_key": "<64 hex>", "bind": "ip:port", ...}`).
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let handle = unlocked(py, || MeshHandle::bind(config_json)).map_err(to_py)?;
        Ok(Mesh {
            inner: Arc::new(handle),
        })
    }

    /// The bound address as `ip:port`.
    fn local_addr(&self) -> PyResult<String> {
        self.inner.local_addr().map_err(to_py)
    }

    /// This node's 32-byte ed25519 public key.
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.public_key())
    }

    /// This node's id.
    fn node_id(&self) -> u64 {
        self.inner.node_id()
    }

    /// Connects to the node at `addr` (`ip:port`) whose public key is
    /// `public_key`; returns its node id. Waits up to the handshake timeout
    /// (GIL released, Ctrl-C honoured).
    fn connect(&self, py: Python<'_>, addr: String, public_key: PyBackedBytes) -> PyResult<u64> {
        let connecting = self
            .inner
            .start_connect(&addr, &public_key)
            .map_err(to_py)?;
        drive_connect(py, connecting)
    }

    /// Connects through relays to the node whose public key is `public_key`
    /// (routes come from neighbours' beacons); returns its node id.
    /// `mesh:unknown_peer` without a route. Waits up to the handshake
    /// timeout (GIL released, Ctrl-C honoured).
    fn connect_routed(&self, py: Python<'_>, public_key: PyBackedBytes) -> PyResult<u64> {
        let connecting = self
            .inner
            .start_connect_routed(&public_key)
            .map_err(to_py)?;
        drive_connect(py, connecting)
    }

    /// The best route to each node reachable through relays, as a JSON array
    /// of `{"dest", "next_hop"` (decimal strings)`, "hops"}`.
    fn routes_json(&self) -> String {
        self.inner.routes_json()
    }

    /// Opens stream `stream_id` to a connected peer: reliable with a window
    /// of `window` messages (0: the engine's default), or fire-and-forget
    /// (`reliable` None: the engine's default, fire-and-forget).
    #[pyo3(signature = (node_id, stream_id, reliable = None, window = None))]
    fn open_stream(
        &self,
        node_id: &Bound<'_, PyAny>,
        stream_id: &Bound<'_, PyAny>,
        reliable: Option<bool>,
        window: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let window = match window {
            Some(w) => count(w, ErrorKind::InvalidMeshArgument, "window")?,
            None => 0,
        };
        self.inner
            .open_stream(
                id(node_id, "node_id")?,
                id(stream_id, "stream_id")?,
                reliable,
                window,
            )
            .map_err(to_py)
    }

    /// Sends at once; `mesh:backpressure` when a reliable window is full.
    fn send(
        &self,
        node_id: &Bound<'_, PyAny>,
        stream_id: &Bound<'_, PyAny>,
        payload: PyBackedBytes,
    ) -> PyResult<()> {
        let (node_id, stream_id) = (id(node_id, "node_id")?, id(stream_id, "stream_id")?);
        self.inner.send(node_id, stream_id, &payload).map_err(to_py)
    }

    /// Sends, retrying on backpressure up to `max_retries` times (GIL
    /// released, Ctrl-C honoured between rounds of retries).
    fn send_with_retry(
        &self,
        py: Python<'_>,
        node_id: &Bound<'_, PyAny>,
        stream_id: &Bound<'_, PyAny>,
        payload: PyBackedBytes,
        max_retries: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (node_id, stream_id) = (id(node_id, "node_id")?, id(stream_id, "stream_id")?);
        let max_retries: u32 = count(max_retries, ErrorKind::InvalidMeshArgument, "max_retries")?;
        let handle = &self.inner;
        blocking_wait(py, |check| {
            let mut left = max_retries;
            loop {
                let round = left.min(RETRIES_PER_ROUND);
                left -= round;
                match handle.send_with_retry(node_id, stream_id, &payload, round) {
                    Err(e) if e.kind() == ErrorKind::StreamBackpressure && left > 0 => check()?,
                    other => return other,
                }
            }
        })
    }

    /// Sends, waiting up to `timeout_ms` (None: no limit) for room in the
    /// window (GIL released, Ctrl-C honoured); `mesh:timeout` if it stays full.
    /// A `cancel` token cancelled from another thread ends the wait at
    /// once (`call:cancelled`, nothing sent).
    #[pyo3(signature = (node_id, stream_id, payload, timeout_ms = None, cancel = None))]
    fn send_blocking(
        &self,
        py: Python<'_>,
        node_id: &Bound<'_, PyAny>,
        stream_id: &Bound<'_, PyAny>,
        payload: PyBackedBytes,
        timeout_ms: Option<f64>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> PyResult<()> {
        let (node_id, stream_id) = (id(node_id, "node_id")?, id(stream_id, "stream_id")?);
        let handle = &self.inner;
        let deadline = mesh_deadline(timeout_ms)?;
        let token = cancel.map(|c| c.inner.clone());
        blocking_wait(py, |check| loop {
            let (slice, last) = slice_ms(deadline);
            let sent = match &token {
                Some(token) => {
                    handle.send_blocking_cancellable(node_id, stream_id, &payload, slice, token)
                }
                None => handle.send_blocking(node_id, stream_id, &payload, slice),
            };
            match sent {
                Err(e) if e.kind() == ErrorKind::MeshTimeout && !last => check()?,
                other => return other,
            }
        })
    }

    /// The next message within `timeout_ms` (None: no limit), as
    /// `(from, stream_id, payload)`; None on timeout (GIL released, Ctrl-C
    /// honoured). `mesh:shutdown` once the node is shut down and drained.
    /// A `cancel` token cancelled from another thread ends the wait at
    /// once (`call:cancelled`).
    #[pyo3(signature = (timeout_ms = None, cancel = None))]
    fn recv(
        &self,
        py: Python<'_>,
        timeout_ms: Option<f64>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> PyResult<Option<PyMessage>> {
        let handle = &self.inner;
        let deadline = mesh_deadline(timeout_ms)?;
        let token = cancel.map(|c| c.inner.clone());
        let message = blocking_wait(py, |check| loop {
            let (slice, last) = slice_ms(deadline);
            let received = match &token {
                Some(token) => handle.recv_cancellable(slice, token)?,
                None => handle.recv(slice)?,
            };
            if let Some(message) = received {
                return Ok(Some(message));
            }
            if last {
                return Ok(None);
            }
            check()?;
        })?;
        Ok(message.map(|m| (m.from, m.stream_id, PyBytes::new(py, &m.payload).unbind())))
    }

    /// Peers as a JSON array of `{"node_id", "public_key" (hex), "addr",
    /// "confirmed", "routed", "health" ("alive" | "suspect" | "failed")}`.
    fn peers_json(&self) -> String {
        self.inner.peers_json()
    }

    /// The peer store's entries as a JSON array of `{"addr", "node_id"
    /// (decimal string), "public_key" (hex), "last_success_ms", "failures"}`,
    /// most recently successful first (`[]` without a store).
    fn known_peers_json(&self) -> String {
        self.inner.known_peers_json()
    }

    /// The node's counters as a JSON object.
    fn stats_json(&self) -> String {
        self.inner.stats_json()
    }

    /// Announces the capability set (JSON) as this node's.
    fn announce_capabilities(&self, set_json: &str) -> PyResult<()> {
        capability::on_mesh::announce(&self.inner, set_json).map_err(to_py)
    }

    /// The ids of the nodes whose announced sets satisfy the predicate
    /// (JSON), ascending; `scope` filters by the providers' scope tags.
    #[pyo3(signature = (predicate_json, scope=None))]
    fn find_nodes(&self, predicate_json: &str, scope: Option<&str>) -> PyResult<Vec<u64>> {
        capability::on_mesh::find_nodes(&self.inner, predicate_json, scope).map_err(to_py)
    }

    /// The set a node announced, as JSON (None: not known or expired).
    fn capabilities_of(&self, node_id: u64) -> Option<String> {
        capability::on_mesh::capabilities_of(&self.inner, node_id)
    }

    /// A node's subnet (None: a peer that has not announced).
    fn subnet_of(&self, node_id: u64) -> Option<u32> {
        capability::on_mesh::subnet_of(&self.inner, node_id)
    }

    /// The capability layer's counters as a JSON object.
    fn capability_stats_json(&self) -> String {
        capability::on_mesh::stats_json(&self.inner)
    }

    /// Registers a channel from its JSON config.
    fn register_channel(&self, config_json: &str) -> PyResult<()> {
        channel::on_mesh::register(&self.inner, config_json).map_err(to_py)
    }

    /// Unregisters a channel; whether it was registered.
    fn unregister_channel(&self, name: &str) -> bool {
        channel::on_mesh::unregister(&self.inner, name)
    }

    /// A registered channel's subscribers, ascending.
    fn channel_subscribers(&self, name: &str) -> Vec<u64> {
        channel::on_mesh::subscribers(&self.inner, name)
    }

    /// The node's token cache (subscribers' chains are checked against it).
    fn token_cache(&self) -> crate::token::TokenCache {
        crate::token::TokenCache::from_handle(channel::on_mesh::token_cache(&self.inner))
    }

    /// Publishes on a registered channel; the report as JSON.
    fn publish(&self, name: &str, payload: PyBackedBytes) -> PyResult<String> {
        channel::on_mesh::publish(&self.inner, name, &[&payload]).map_err(to_py)
    }

    /// The channel layer's counters as a JSON object.
    fn channel_stats_json(&self) -> String {
        channel::on_mesh::stats_json(&self.inner)
    }

    /// Subscribes to `pattern` at `publisher` presenting `chain` (tokens
    /// laid end to end), waiting up to `timeout_ms` for the answer (GIL
    /// released).
    fn subscribe(
        &self,
        py: Python<'_>,
        publisher: u64,
        pattern: String,
        chain: PyBackedBytes,
        timeout_ms: u64,
    ) -> PyResult<crate::channel::ChannelSubscription> {
        let pending = channel::on_mesh::start_subscribe(&self.inner, publisher, &pattern, &chain)
            .map_err(to_py)?;
        // In slices, GIL released, so Ctrl-C is honoured between them (an
        // interrupted subscribe is withdrawn).
        let deadline = Deadline::after(Some(std::time::Duration::from_millis(timeout_ms)));
        let sub = blocking_wait(py, move |check| {
            let outcome = loop {
                let (slice, last) = slice_ms(deadline);
                match pending.poll(u64::try_from(slice).unwrap_or(0)) {
                    Ok(Some(sub)) => break Ok(sub),
                    Ok(None) if last => {
                        break Err(net::Error::new(
                            ErrorKind::MeshTimeout,
                            format!("no answer to the subscribe request within {timeout_ms} ms"),
                        ))
                    }
                    Ok(None) => {}
                    Err(e) => break Err(e),
                }
                if let Err(e) = check() {
                    break Err(e);
                }
            };
            pending.abandon();
            outcome
        })?;
        Ok(crate::channel::ChannelSubscription::new(sub))
    }

    /// The counters of a stream a handle was opened for: always a JSON
    /// object, zero counters if the node holds no state for it.
    fn opened_stream_stats_json(
        &self,
        node_id: &Bound<'_, PyAny>,
        stream_id: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        let (node_id, stream_id) = (id(node_id, "node_id")?, id(stream_id, "stream_id")?);
        Ok(self.inner.opened_stream_stats_json(node_id, stream_id))
    }

    /// One stream's counters as a JSON object, None if it was never used.
    fn stream_stats_json(
        &self,
        node_id: &Bound<'_, PyAny>,
        stream_id: &Bound<'_, PyAny>,
    ) -> PyResult<Option<String>> {
        let (node_id, stream_id) = (id(node_id, "node_id")?, id(stream_id, "stream_id")?);
        Ok(self.inner.stream_stats_json(node_id, stream_id))
    }

    /// Starts a link between `bus` and the peer `node_id` (GIL released);
    /// `options_json` is `{"direction": "send" | "receive", "stream_id",
    /// "max_batch", "message_bytes"}` (only `direction` required).
    fn link_bus(
        &self,
        py: Python<'_>,
        bus: &Bound<'_, Bus>,
        node_id: &Bound<'_, PyAny>,
        options_json: &str,
    ) -> PyResult<BusLink> {
        let node_id = id(node_id, "node_id")?;
        let bus = bus.get().inner().clone();
        let handle =
            unlocked(py, || self.inner.link_bus(&bus, node_id, options_json)).map_err(to_py)?;
        Ok(BusLink { inner: handle })
    }

    /// Calls `handler((from, stream_id, payload))` for every message the
    /// node receives (taken from the inbox, as `recv` takes it), on the
    /// `net-callbacks` thread. Returns the `Handler`.
    fn on_message(&self, py: Python<'_>, handler: Py<PyAny>) -> PyResult<crate::handler::Handler> {
        let source = self.inner.message_source().map_err(to_py)?;
        crate::handler::spawn(
            py,
            source,
            handler,
            "mesh message handler",
            |py, m: net::facade::mesh::MeshMessage| {
                Ok((m.from, m.stream_id, PyBytes::new(py, &m.payload))
                    .into_pyobject(py)?
                    .into_any()
                    .unbind())
            },
        )
    }

    /// Shuts the node down (idempotent, GIL released); blocked calls wake
    /// with `mesh:shutdown`.
    fn shutdown(&self, py: Python<'_>) {
        unlocked(py, || self.inner.shutdown());
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        // Joining the node's threads takes up to a reader tick: not under the GIL.
        let inner = &self.inner;
        Python::with_gil(|py| unlocked(py, || inner.shutdown()));
    }
}

/// A running link carrying a bus's events to a peer's bus, or a peer's
/// events into a bus (see `Mesh.link_bus`). Dropping it closes it.
#[pyclass(module = "net._net", frozen)]
pub struct BusLink {
    inner: BusLinkHandle,
}

#[pymethods]
impl BusLink {
    /// The link's counters as a JSON object (`peer` and `stream_id` as
    /// decimal strings).
    fn stats_json(&self) -> String {
        self.inner.stats_json()
    }

    /// Stops the link and joins its thread (idempotent, GIL released).
    fn close(&self, py: Python<'_>) {
        unlocked(py, || self.inner.close());
    }
}

impl Drop for BusLink {
    fn drop(&mut self) {
        // Joining the link's thread takes up to one of its ticks: not under the GIL.
        let inner = &self.inner;
        Python::with_gil(|py| unlocked(py, || inner.close()));
    }
}
