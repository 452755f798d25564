//! The encrypted mesh for Node: a node bound from the engine's JSON config,
//! peers and streams named by 64-bit ids (BigInts), messages as Buffers.
//! Every wait (connect, blocking sends, recv) runs on the libuv pool;
//! shutdown runs on its own thread so it never queues behind those waits.
//! A bus link carries a bus's events to a peer's bus; opening and closing
//! one (which joins its thread) run on the libuv pool too.

use crate::{args, spawn, to_js, Engine, EngineTask, Result};
use napi::bindgen_prelude::*;
use napi::{Env, JsObject};
use napi_derive::napi;
use net::facade::bus::Bus as CoreBus;
use net::facade::bus_link::BusLinkHandle;
use net::facade::capability;
use net::facade::channel;
use net::facade::mesh::{MeshHandle, MeshMessage};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A message received from a peer.
#[napi(object)]
pub struct NativeMeshMessage {
    pub from: BigInt,
    pub stream_id: BigInt,
    pub payload: Buffer,
}

fn messages_to_js(messages: Vec<MeshMessage>) -> Vec<NativeMeshMessage> {
    messages
        .into_iter()
        .map(|m| NativeMeshMessage {
            from: BigInt::from(m.from),
            stream_id: BigInt::from(m.stream_id),
            payload: Buffer::from(m.payload),
        })
        .collect()
}

/// A node or stream id from a JavaScript `bigint`.
fn id(v: BigInt, what: &str) -> Result<u64> {
    args::u64_of(v, net::ErrorKind::InvalidMeshArgument, what)
}

/// A whole number (a window, a count) from JavaScript.
fn whole<T: TryFrom<u64>>(v: f64, what: &str) -> Result<T> {
    args::whole(v, net::ErrorKind::InvalidMeshArgument, what)
}

/// A mesh node.
#[napi]
pub struct Mesh {
    inner: Arc<MeshHandle>,
}

/// A connect in progress, driven by the SDK one slice at a time
/// ([`Connecting::wait`]), so a handshake never holds a libuv thread for
/// longer than a slice. Dropped unfinished (collected, or after an abort),
/// the handshake is abandoned.
#[napi]
pub struct Connecting {
    inner: Arc<parking_lot::Mutex<net::facade::mesh::Connecting>>,
}

/// One slice of a connect on the libuv pool.
pub struct ConnectSlice {
    connecting: Arc<parking_lot::Mutex<net::facade::mesh::Connecting>>,
    slice: Duration,
    cancel: Option<net::cancel::CancelToken>,
}

impl EngineTask for ConnectSlice {
    type Output = Option<u64>;
    type JsValue = Option<BigInt>;

    fn run(&mut self) -> net::Result<Option<u64>> {
        let mut connecting = self.connecting.lock();
        let peer = match &self.cancel {
            Some(cancel) => connecting.wait_cancellable(Some(self.slice), cancel)?,
            None => connecting.wait(Some(self.slice))?,
        };
        Ok(peer.map(|p| p.node_id))
    }

    fn resolve(&mut self, _env: Env, output: Option<u64>) -> napi::Result<Option<BigInt>> {
        Ok(output.map(BigInt::from))
    }
}

#[napi]
impl Connecting {
    /// Drives the handshake for at most one slice: resolves with the peer's
    /// node id once it is done, `null` if the slice ended first (call
    /// again). Rejects with the connect's errors, or `call:cancelled` (the
    /// handshake is then abandoned) when `cancel` is cancelled.
    #[napi(ts_return_type = "Promise<bigint | null>")]
    pub fn wait(&self, cancel: Option<&crate::CancelToken>) -> AsyncTask<Engine<ConnectSlice>> {
        spawn(ConnectSlice {
            connecting: Arc::clone(&self.inner),
            slice: net::facade::wait::WAIT_SLICE,
            cancel: cancel.map(|c| c.inner.clone()),
        })
    }
}

/// How one slice of a send waits for room in a reliable window.
enum SendWait {
    /// Up to this many retries (at most `RETRIES_PER_SLICE` of them).
    Retries(u32),
    /// Up to this long; `last`: the caller's timeout ends with this slice.
    Until { slice: Duration, last: bool },
}

/// Retries one slice of `sendWithRetry` makes at most (the engine's waits
/// double from 1 ms up to 128 ms, so a slice lasts at most ~255 ms).
const RETRIES_PER_SLICE: u32 = 8;

/// One slice of a waiting send on the libuv pool. Resolves with -1 once
/// sent; otherwise with what is left to do (retries left, or 0 for "wait
/// again"), and the SDK calls again.
pub struct SendTask {
    mesh: Arc<MeshHandle>,
    node_id: u64,
    stream_id: u64,
    payload: Vec<u8>,
    wait: SendWait,
    cancel: Option<net::cancel::CancelToken>,
}

impl EngineTask for SendTask {
    type Output = i64;
    type JsValue = i64;

    fn run(&mut self) -> net::Result<i64> {
        let (m, node, stream, payload) = (&self.mesh, self.node_id, self.stream_id, &self.payload);
        let outcome = match self.wait {
            SendWait::Retries(left) => {
                let round = left.min(RETRIES_PER_SLICE);
                match m.send_with_retry(node, stream, payload, round) {
                    Err(e) if e.kind() == net::ErrorKind::StreamBackpressure && left > round => {
                        return Ok(i64::from(left - round));
                    }
                    other => other,
                }
            }
            SendWait::Until { slice, last } => {
                let ms = i64::try_from(slice.as_micros().div_ceil(1000)).unwrap_or(i64::MAX);
                let sent = match &self.cancel {
                    Some(cancel) => m.send_blocking_cancellable(node, stream, payload, ms, cancel),
                    None => m.send_blocking(node, stream, payload, ms),
                };
                match sent {
                    Err(e) if e.kind() == net::ErrorKind::MeshTimeout && !last => return Ok(0),
                    other => other,
                }
            }
        };
        outcome.map(|()| -1)
    }

    fn resolve(&mut self, _env: Env, output: i64) -> napi::Result<i64> {
        Ok(output)
    }
}

/// One slice of a receive on the libuv pool: waits for one message, then
/// takes what else is already there, up to `max`.
pub struct RecvTask {
    mesh: Arc<MeshHandle>,
    max: usize,
    slice: Duration,
    cancel: Option<net::cancel::CancelToken>,
}

impl EngineTask for RecvTask {
    type Output = Vec<MeshMessage>;
    type JsValue = Vec<NativeMeshMessage>;

    fn run(&mut self) -> net::Result<Vec<MeshMessage>> {
        let ms = i64::try_from(self.slice.as_micros().div_ceil(1000)).unwrap_or(i64::MAX);
        let first = match &self.cancel {
            Some(cancel) => self.mesh.recv_cancellable(ms, cancel)?,
            None => self.mesh.recv(ms)?,
        };
        let Some(first) = first else {
            return Ok(Vec::new());
        };
        let mut out = vec![first];
        while out.len() < self.max {
            // A shutdown seen here surfaces on the next call.
            match self.mesh.recv(0) {
                Ok(Some(m)) => out.push(m),
                _ => break,
            }
        }
        Ok(out)
    }

    fn resolve(
        &mut self,
        _env: Env,
        output: Vec<MeshMessage>,
    ) -> napi::Result<Vec<NativeMeshMessage>> {
        Ok(messages_to_js(output))
    }
}

/// A send that waits for room: `retries` (a whole number) or up to
/// `remaining_ms` (negative: no limit), one slice per call.
fn send_wait(retries: Option<f64>, remaining_ms: Option<f64>) -> Result<SendWait> {
    Ok(match (retries, remaining_ms) {
        (Some(r), _) => SendWait::Retries(whole(r, "maxRetries")?),
        (None, ms) => {
            let (slice, last) = args::slice_of(ms.unwrap_or(-1.0))?;
            SendWait::Until { slice, last }
        }
    })
}

fn send_task(
    mesh: &Arc<MeshHandle>,
    node_id: u64,
    stream_id: u64,
    payload: &[u8],
    wait: SendWait,
    cancel: Option<&crate::CancelToken>,
) -> AsyncTask<Engine<SendTask>> {
    spawn(SendTask {
        mesh: Arc::clone(mesh),
        node_id,
        stream_id,
        payload: payload.to_vec(),
        wait,
        cancel: crate::token_of(cancel),
    })
}

/// A bus link being opened on the libuv pool (it may wait on the node's
/// stream table).
pub struct LinkBusTask {
    mesh: Arc<MeshHandle>,
    bus: CoreBus,
    node_id: u64,
    options_json: String,
}

impl EngineTask for LinkBusTask {
    type Output = BusLinkHandle;
    type JsValue = BusLink;

    fn run(&mut self) -> net::Result<BusLinkHandle> {
        self.mesh
            .link_bus(&self.bus, self.node_id, &self.options_json)
    }

    fn resolve(&mut self, _env: Env, output: BusLinkHandle) -> napi::Result<BusLink> {
        Ok(BusLink {
            state: Arc::new(LinkState {
                handle: output,
                closed: AtomicBool::new(false),
            }),
        })
    }
}

#[napi]
impl Mesh {
    /// Binds a node from the engine's JSON configuration.
    #[napi(factory)]
    pub fn bind(config_json: String) -> Result<Self> {
        Ok(Mesh {
            inner: Arc::new(MeshHandle::bind(&config_json).map_err(to_js)?),
        })
    }

    /// The bound address as `ip:port`.
    #[napi]
    pub fn local_addr(&self) -> Result<String> {
        self.inner.local_addr().map_err(to_js)
    }

    /// This node's 32-byte ed25519 public key.
    #[napi]
    pub fn public_key(&self) -> Buffer {
        Buffer::from(self.inner.public_key().to_vec())
    }

    /// This node's id.
    #[napi]
    pub fn node_id(&self) -> BigInt {
        BigInt::from(self.inner.node_id())
    }

    /// Starts a handshake with the node at `addr` (whose key is
    /// `publicKey`), for the SDK to drive with [`Connecting::wait`]. Throws
    /// at once for what fails before any handshake (shutdown, oneself, a
    /// bad key or address, the trust policy).
    #[napi]
    pub fn start_connect(&self, addr: String, public_key: Buffer) -> Result<Connecting> {
        let connecting = self
            .inner
            .start_connect(&addr, &public_key)
            .map_err(to_js)?;
        Ok(Connecting {
            inner: Arc::new(parking_lot::Mutex::new(connecting)),
        })
    }

    /// [`start_connect`](Self::start_connect) through relays, to the node
    /// whose key is `publicKey` (routes come from neighbours' beacons;
    /// `mesh:unknown_peer` when there is none).
    #[napi]
    pub fn start_connect_routed(&self, public_key: Buffer) -> Result<Connecting> {
        let connecting = self
            .inner
            .start_connect_routed(&public_key)
            .map_err(to_js)?;
        Ok(Connecting {
            inner: Arc::new(parking_lot::Mutex::new(connecting)),
        })
    }

    /// The best route to each reachable node as JSON (`[{"dest", "next_hop"`
    /// (decimal strings)`, "hops"}]`).
    #[napi]
    pub fn routes_json(&self) -> String {
        self.inner.routes_json()
    }

    /// Opens a stream (window 0: the default) and returns it.
    #[napi]
    pub fn open_stream(
        &self,
        node_id: BigInt,
        stream_id: BigInt,
        reliable: Option<bool>,
        window: f64,
    ) -> Result<MeshStream> {
        let node_id = id(node_id, "nodeId")?;
        let stream_id = id(stream_id, "streamId")?;
        let window = whole(window, "window")?;
        self.inner
            .open_stream(node_id, stream_id, reliable, window)
            .map_err(to_js)?;
        Ok(MeshStream {
            mesh: Arc::clone(&self.inner),
            node_id,
            stream_id,
        })
    }

    /// Sends at once (`mesh:backpressure` when a reliable window is full).
    #[napi]
    pub fn send(&self, node_id: BigInt, stream_id: BigInt, payload: Buffer) -> Result<()> {
        let node_id = id(node_id, "nodeId")?;
        let stream_id = id(stream_id, "streamId")?;
        self.inner.send(node_id, stream_id, &payload).map_err(to_js)
    }

    /// One slice of a send retrying on backpressure up to `maxRetries`
    /// times: resolves -1 once sent, or the retries left (call again).
    #[napi(ts_return_type = "Promise<number>")]
    pub fn send_with_retry(
        &self,
        node_id: BigInt,
        stream_id: BigInt,
        payload: Buffer,
        max_retries: f64,
    ) -> Result<AsyncTask<Engine<SendTask>>> {
        let node_id = id(node_id, "nodeId")?;
        let stream_id = id(stream_id, "streamId")?;
        let wait = send_wait(Some(max_retries), None)?;
        Ok(send_task(
            &self.inner,
            node_id,
            stream_id,
            &payload,
            wait,
            None,
        ))
    }

    /// One slice of a send waiting for window room: resolves -1 once sent,
    /// 0 when the slice ended first (call again); rejects with
    /// `mesh:timeout` once `remainingMs` (negative: no limit) is spent.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn send_blocking(
        &self,
        node_id: BigInt,
        stream_id: BigInt,
        payload: Buffer,
        remaining_ms: f64,
        cancel: Option<&crate::CancelToken>,
    ) -> Result<AsyncTask<Engine<SendTask>>> {
        let node_id = id(node_id, "nodeId")?;
        let stream_id = id(stream_id, "streamId")?;
        let wait = send_wait(None, Some(remaining_ms))?;
        Ok(send_task(
            &self.inner,
            node_id,
            stream_id,
            &payload,
            wait,
            cancel,
        ))
    }

    /// One slice of a receive: up to `max` messages (waiting for the first
    /// up to `remainingMs`, negative for no limit, or one wait slice), `[]`
    /// when none came; rejects with `mesh:shutdown` once the node is shut
    /// down and drained.
    #[napi(ts_return_type = "Promise<NativeMeshMessage[]>")]
    pub fn recv(
        &self,
        max: f64,
        remaining_ms: f64,
        cancel: Option<&crate::CancelToken>,
    ) -> Result<AsyncTask<Engine<RecvTask>>> {
        let max: usize = whole(max, "max")?;
        let (slice, _) = args::slice_of(remaining_ms)?;
        Ok(spawn(RecvTask {
            mesh: Arc::clone(&self.inner),
            max: max.max(1),
            slice,
            cancel: crate::token_of(cancel),
        }))
    }

    /// Calls `deliver(messages)` on the event loop with each batch of
    /// messages the node receives (taken from the inbox, as `recv` takes
    /// them). `mesh:shutdown` on a shut-down node.
    #[napi(ts_args_type = "deliver: (messages: NativeMeshMessage[]) => void")]
    pub fn on_message(&self, deliver: napi::JsFunction) -> Result<crate::handler::Handler> {
        let source = self.inner.message_source().map_err(to_js)?;
        crate::handler::spawn(
            source,
            deliver,
            "mesh message handler",
            |messages: &[MeshMessage]| messages_to_js(messages.to_vec()),
        )
    }

    /// Peers as JSON (`[{"node_id", "public_key", "addr", "confirmed",
    /// "routed", "health"}]`).
    #[napi]
    pub fn peers_json(&self) -> String {
        self.inner.peers_json()
    }

    /// Announces the capability set (JSON) as this node's.
    #[napi]
    pub fn announce_capabilities(&self, set_json: String) -> Result<()> {
        capability::on_mesh::announce(&self.inner, &set_json).map_err(to_js)
    }

    /// The ids (decimal strings, JSON array) of the nodes whose announced
    /// sets satisfy the predicate (JSON), ascending; `scope` filters by the
    /// providers' scope tags.
    #[napi]
    pub fn find_nodes_json(&self, predicate_json: String, scope: Option<String>) -> Result<String> {
        let ids = capability::on_mesh::find_nodes(&self.inner, &predicate_json, scope.as_deref())
            .map_err(to_js)?;
        Ok(net::facade::json::ids_as_strings(&ids))
    }

    /// The set a node announced, as JSON (null: not known or expired).
    #[napi]
    pub fn capabilities_of(&self, node_id: BigInt) -> Result<Option<String>> {
        let node_id = id(node_id, "nodeId")?;
        Ok(capability::on_mesh::capabilities_of(&self.inner, node_id))
    }

    /// A node's subnet (null: a peer that has not announced).
    #[napi]
    pub fn subnet_of(&self, node_id: BigInt) -> Result<Option<u32>> {
        let node_id = id(node_id, "nodeId")?;
        Ok(capability::on_mesh::subnet_of(&self.inner, node_id))
    }

    /// The capability layer's counters as JSON.
    #[napi]
    pub fn capability_stats_json(&self) -> String {
        capability::on_mesh::stats_json(&self.inner)
    }

    /// Registers a channel from its JSON config.
    #[napi]
    pub fn register_channel(&self, config_json: String) -> Result<()> {
        channel::on_mesh::register(&self.inner, &config_json).map_err(to_js)
    }

    /// Unregisters a channel; whether it was registered.
    #[napi]
    pub fn unregister_channel(&self, name: String) -> bool {
        channel::on_mesh::unregister(&self.inner, &name)
    }

    /// A registered channel's subscribers (decimal strings, JSON array).
    #[napi]
    pub fn channel_subscribers_json(&self, name: String) -> String {
        net::facade::json::ids_as_strings(&channel::on_mesh::subscribers(&self.inner, &name))
    }

    /// The node's token cache (subscribers' chains are checked against it).
    #[napi]
    pub fn token_cache(&self) -> crate::token::TokenCache {
        crate::token::TokenCache::from_handle(channel::on_mesh::token_cache(&self.inner))
    }

    /// Publishes on a registered channel; the report as JSON.
    #[napi]
    pub fn publish(&self, name: String, payload: Buffer) -> Result<String> {
        channel::on_mesh::publish(&self.inner, &name, &[&payload]).map_err(to_js)
    }

    /// Publishes on the libuv pool; resolves the report as JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn publish_async(
        &self,
        name: String,
        payload: Buffer,
    ) -> AsyncTask<Engine<crate::channel::PublishTask>> {
        crate::channel::publish_async(&self.inner, name, payload.to_vec())
    }

    /// The channel layer's counters as JSON.
    #[napi]
    pub fn channel_stats_json(&self) -> String {
        channel::on_mesh::stats_json(&self.inner)
    }

    /// Sends a subscribe request for `pattern` at `publisher` presenting
    /// `chain` (tokens laid end to end) and returns at once; the answer
    /// comes through `PendingSubscribe.poll` slices.
    #[napi]
    pub fn start_subscribe(
        &self,
        publisher: BigInt,
        pattern: String,
        chain: Buffer,
    ) -> Result<crate::channel::PendingSubscribe> {
        let publisher = id(publisher, "publisher")?;
        channel::on_mesh::start_subscribe(&self.inner, publisher, &pattern, &chain)
            .map(crate::channel::PendingSubscribe::new)
            .map_err(to_js)
    }

    /// The peer store's entries as JSON (`[{"addr", "node_id" (decimal
    /// string), "public_key" (hex), "last_success_ms", "failures"}]`; `[]`
    /// without a store).
    #[napi]
    pub fn known_peers_json(&self) -> String {
        self.inner.known_peers_json()
    }

    /// The node's counters as JSON.
    #[napi]
    pub fn stats_json(&self) -> String {
        self.inner.stats_json()
    }

    /// One stream's counters as JSON, null if it was never used.
    #[napi]
    pub fn stream_stats_json(&self, node_id: BigInt, stream_id: BigInt) -> Result<Option<String>> {
        let node_id = id(node_id, "nodeId")?;
        let stream_id = id(stream_id, "streamId")?;
        Ok(self.inner.stream_stats_json(node_id, stream_id))
    }

    /// Resolves with a link between `bus` and the peer `nodeId`, configured
    /// by `optionsJson` (`{"direction": "send" | "receive", "stream_id",
    /// "max_batch", "message_bytes"}`; only `direction` required).
    #[napi(ts_return_type = "Promise<BusLink>")]
    pub fn link_bus(
        &self,
        bus: &crate::Bus,
        node_id: BigInt,
        options_json: String,
    ) -> Result<AsyncTask<Engine<LinkBusTask>>> {
        let node_id = id(node_id, "nodeId")?;
        Ok(spawn(LinkBusTask {
            mesh: Arc::clone(&self.inner),
            bus: bus.bus.clone(),
            node_id,
            options_json,
        }))
    }

    /// Shuts the node down (idempotent) on a thread of its own; waiters wake
    /// with `mesh:shutdown`. Resolves once the node's threads have stopped.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn shutdown(&self, env: Env) -> Result<JsObject> {
        let (deferred, promise) = env
            .create_deferred::<(), fn(Env) -> napi::Result<()>>()
            .map_err(crate::from_napi)?;
        let mesh = Arc::clone(&self.inner);
        std::thread::Builder::new()
            .name("net-mesh-shutdown".into())
            .spawn(move || {
                mesh.shutdown();
                deferred.resolve(|_| Ok(()));
            })
            .map_err(|e| {
                to_js(net::Error::new(
                    net::ErrorKind::MeshIo,
                    format!("spawn shutdown thread: {e}"),
                ))
            })?;
        Ok(promise)
    }
}

/// An open stream to one peer.
#[napi]
pub struct MeshStream {
    mesh: Arc<MeshHandle>,
    node_id: u64,
    stream_id: u64,
}

#[napi]
impl MeshStream {
    /// Sends at once (`mesh:backpressure` when a reliable window is full).
    #[napi]
    pub fn send(&self, payload: Buffer) -> Result<()> {
        self.mesh
            .send(self.node_id, self.stream_id, &payload)
            .map_err(to_js)
    }

    /// One slice of a send retrying on backpressure (see `Mesh.sendWithRetry`).
    #[napi(ts_return_type = "Promise<number>")]
    pub fn send_with_retry(
        &self,
        payload: Buffer,
        max_retries: f64,
    ) -> Result<AsyncTask<Engine<SendTask>>> {
        let wait = send_wait(Some(max_retries), None)?;
        Ok(send_task(
            &self.mesh,
            self.node_id,
            self.stream_id,
            &payload,
            wait,
            None,
        ))
    }

    /// One slice of a send waiting for window room (see `Mesh.sendBlocking`).
    #[napi(ts_return_type = "Promise<number>")]
    pub fn send_blocking(
        &self,
        payload: Buffer,
        remaining_ms: f64,
        cancel: Option<&crate::CancelToken>,
    ) -> Result<AsyncTask<Engine<SendTask>>> {
        let wait = send_wait(None, Some(remaining_ms))?;
        Ok(send_task(
            &self.mesh,
            self.node_id,
            self.stream_id,
            &payload,
            wait,
            cancel,
        ))
    }

    /// The stream's counters as JSON (zero ones if the node holds no state
    /// for it).
    #[napi]
    pub fn stats_json(&self) -> String {
        self.mesh
            .opened_stream_stats_json(self.node_id, self.stream_id)
    }
}

/// A link and whether `close` has finished with it.
struct LinkState {
    handle: BusLinkHandle,
    closed: AtomicBool,
}

/// A bus link: a bus's events carried to a peer's bus, or a peer's into it.
#[napi]
pub struct BusLink {
    state: Arc<LinkState>,
}

/// A link's close on the libuv pool (it joins the link's thread).
pub struct CloseLinkTask {
    state: Arc<LinkState>,
}

impl EngineTask for CloseLinkTask {
    type Output = ();
    type JsValue = ();

    fn run(&mut self) -> net::Result<()> {
        self.state.handle.close();
        self.state.closed.store(true, Ordering::Release);
        Ok(())
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}

#[napi]
impl BusLink {
    /// The link's counters as JSON (`peer` and `stream_id` as decimal
    /// strings).
    #[napi]
    pub fn stats_json(&self) -> String {
        self.state.handle.stats_json()
    }

    /// Stops the link (idempotent); resolves once its thread has stopped.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self) -> AsyncTask<Engine<CloseLinkTask>> {
        spawn(CloseLinkTask {
            state: Arc::clone(&self.state),
        })
    }
}

impl Drop for BusLink {
    /// A link collected without `close` is closed on a thread of its own, so
    /// the garbage collector never waits for the link's thread.
    fn drop(&mut self) {
        if self.state.closed.load(Ordering::Acquire) {
            return;
        }
        let state = Arc::clone(&self.state);
        let _ = std::thread::Builder::new()
            .name("net-bus-link-close".into())
            .spawn(move || state.handle.close());
    }
}
