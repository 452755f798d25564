//! The encrypted mesh for Node: a node bound from the engine's JSON config,
//! peers and streams named by 64-bit ids (BigInts), messages as Buffers.
//! Every wait (connect, blocking sends, recv) runs on the libuv pool;
//! shutdown runs on its own thread so it never queues behind those waits.
//! A bus link carries a bus's events to a peer's bus; opening and closing
//! one (which joins its thread) run on the libuv pool too.

use crate::redex::u64_arg;
use crate::to_js;
use napi::bindgen_prelude::*;
use napi::{Env, JsObject, Task};
use napi_derive::napi;
use net::facade::bus::Bus as CoreBus;
use net::facade::bus_link::BusLinkHandle;
use net::facade::mesh::{MeshHandle, MeshMessage};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// A mesh node.
#[napi]
pub struct Mesh {
    inner: Arc<MeshHandle>,
}

/// A handshake on the libuv pool.
pub struct ConnectTask {
    mesh: Arc<MeshHandle>,
    addr: String,
    public_key: Vec<u8>,
}

impl Task for ConnectTask {
    type Output = u64;
    type JsValue = BigInt;

    fn compute(&mut self) -> Result<u64> {
        self.mesh
            .connect(&self.addr, &self.public_key)
            .map_err(to_js)
    }

    fn resolve(&mut self, _env: Env, output: u64) -> Result<BigInt> {
        Ok(BigInt::from(output))
    }
}

/// A handshake through relays on the libuv pool.
pub struct ConnectRoutedTask {
    mesh: Arc<MeshHandle>,
    public_key: Vec<u8>,
}

impl Task for ConnectRoutedTask {
    type Output = u64;
    type JsValue = BigInt;

    fn compute(&mut self) -> Result<u64> {
        self.mesh.connect_routed(&self.public_key).map_err(to_js)
    }

    fn resolve(&mut self, _env: Env, output: u64) -> Result<BigInt> {
        Ok(BigInt::from(output))
    }
}

/// How a send waits for room in a reliable window.
enum SendWait {
    Retries(u32),
    Until(i64),
}

/// A waiting send on the libuv pool.
pub struct SendTask {
    mesh: Arc<MeshHandle>,
    node_id: u64,
    stream_id: u64,
    payload: Vec<u8>,
    wait: SendWait,
}

impl Task for SendTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        let (m, node, stream, payload) = (&self.mesh, self.node_id, self.stream_id, &self.payload);
        match self.wait {
            SendWait::Retries(max) => m.send_with_retry(node, stream, payload, max),
            SendWait::Until(ms) => m.send_blocking(node, stream, payload, ms),
        }
        .map_err(to_js)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// A receive on the libuv pool: waits for one message, then takes what else
/// is already there, up to `max`.
pub struct RecvTask {
    mesh: Arc<MeshHandle>,
    max: usize,
    timeout_ms: i64,
}

impl Task for RecvTask {
    type Output = Vec<MeshMessage>;
    type JsValue = Vec<NativeMeshMessage>;

    fn compute(&mut self) -> Result<Vec<MeshMessage>> {
        let Some(first) = self.mesh.recv(self.timeout_ms).map_err(to_js)? else {
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

    fn resolve(&mut self, _env: Env, output: Vec<MeshMessage>) -> Result<Vec<NativeMeshMessage>> {
        Ok(messages_to_js(output))
    }
}

fn send_task(
    mesh: &Arc<MeshHandle>,
    node_id: u64,
    stream_id: u64,
    payload: &[u8],
    wait: SendWait,
) -> AsyncTask<SendTask> {
    AsyncTask::new(SendTask {
        mesh: Arc::clone(mesh),
        node_id,
        stream_id,
        payload: payload.to_vec(),
        wait,
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

impl Task for LinkBusTask {
    type Output = BusLinkHandle;
    type JsValue = BusLink;

    fn compute(&mut self) -> Result<BusLinkHandle> {
        self.mesh
            .link_bus(&self.bus, self.node_id, &self.options_json)
            .map_err(to_js)
    }

    fn resolve(&mut self, _env: Env, output: BusLinkHandle) -> Result<BusLink> {
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

    /// Resolves with the peer's node id once the handshake with the node at
    /// `addr` (whose key is `publicKey`) is done.
    #[napi(ts_return_type = "Promise<bigint>")]
    pub fn connect(&self, addr: String, public_key: Buffer) -> AsyncTask<ConnectTask> {
        AsyncTask::new(ConnectTask {
            mesh: Arc::clone(&self.inner),
            addr,
            public_key: public_key.to_vec(),
        })
    }

    /// Resolves with the peer's node id once the handshake through relays
    /// with the node whose key is `publicKey` is done (routes come from
    /// neighbours' beacons; `mesh:unknown_peer` when there is none).
    #[napi(ts_return_type = "Promise<bigint>")]
    pub fn connect_routed(&self, public_key: Buffer) -> AsyncTask<ConnectRoutedTask> {
        AsyncTask::new(ConnectRoutedTask {
            mesh: Arc::clone(&self.inner),
            public_key: public_key.to_vec(),
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
        reliable: bool,
        window: u32,
    ) -> Result<MeshStream> {
        let node_id = u64_arg(node_id, "nodeId")?;
        let stream_id = u64_arg(stream_id, "streamId")?;
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
        let node_id = u64_arg(node_id, "nodeId")?;
        let stream_id = u64_arg(stream_id, "streamId")?;
        self.inner.send(node_id, stream_id, &payload).map_err(to_js)
    }

    /// Sends, retrying on backpressure up to `maxRetries` times.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_with_retry(
        &self,
        node_id: BigInt,
        stream_id: BigInt,
        payload: Buffer,
        max_retries: u32,
    ) -> Result<AsyncTask<SendTask>> {
        let node_id = u64_arg(node_id, "nodeId")?;
        let stream_id = u64_arg(stream_id, "streamId")?;
        Ok(send_task(
            &self.inner,
            node_id,
            stream_id,
            &payload,
            SendWait::Retries(max_retries),
        ))
    }

    /// Sends, waiting up to `timeoutMs` (negative: no limit) for window room.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_blocking(
        &self,
        node_id: BigInt,
        stream_id: BigInt,
        payload: Buffer,
        timeout_ms: i64,
    ) -> Result<AsyncTask<SendTask>> {
        let node_id = u64_arg(node_id, "nodeId")?;
        let stream_id = u64_arg(stream_id, "streamId")?;
        Ok(send_task(
            &self.inner,
            node_id,
            stream_id,
            &payload,
            SendWait::Until(timeout_ms),
        ))
    }

    /// Resolves with up to `max` messages (waiting up to `timeoutMs` for the
    /// first; negative: no limit), `[]` on timeout; rejects with
    /// `mesh:shutdown` once the node is shut down and drained.
    #[napi(ts_return_type = "Promise<NativeMeshMessage[]>")]
    pub fn recv(&self, max: u32, timeout_ms: i64) -> AsyncTask<RecvTask> {
        AsyncTask::new(RecvTask {
            mesh: Arc::clone(&self.inner),
            max: max.max(1) as usize,
            timeout_ms,
        })
    }

    /// Peers as JSON (`[{"node_id", "public_key", "addr", "confirmed",
    /// "routed", "health"}]`).
    #[napi]
    pub fn peers_json(&self) -> String {
        self.inner.peers_json()
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
        let node_id = u64_arg(node_id, "nodeId")?;
        let stream_id = u64_arg(stream_id, "streamId")?;
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
    ) -> Result<AsyncTask<LinkBusTask>> {
        let node_id = u64_arg(node_id, "nodeId")?;
        Ok(AsyncTask::new(LinkBusTask {
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
        let (deferred, promise) = env.create_deferred::<(), fn(Env) -> Result<()>>()?;
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

    /// Sends, retrying on backpressure up to `maxRetries` times.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_with_retry(&self, payload: Buffer, max_retries: u32) -> AsyncTask<SendTask> {
        send_task(
            &self.mesh,
            self.node_id,
            self.stream_id,
            &payload,
            SendWait::Retries(max_retries),
        )
    }

    /// Sends, waiting up to `timeoutMs` (negative: no limit) for window room.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_blocking(&self, payload: Buffer, timeout_ms: i64) -> AsyncTask<SendTask> {
        send_task(
            &self.mesh,
            self.node_id,
            self.stream_id,
            &payload,
            SendWait::Until(timeout_ms),
        )
    }

    /// The stream's counters as JSON.
    #[napi]
    pub fn stats_json(&self) -> Option<String> {
        self.mesh.stream_stats_json(self.node_id, self.stream_id)
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

impl Task for CloseLinkTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        self.state.handle.close();
        self.state.closed.store(true, Ordering::Release);
        Ok(())
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
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
    pub fn close(&self) -> AsyncTask<CloseLinkTask> {
        AsyncTask::new(CloseLinkTask {
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
