//! Channels for Node: subscribe as a pool task bounded by its timeout,
//! receive in ≤100 ms slices (like `Mesh.recv`), messages as objects.

use crate::{args, spawn, Engine, EngineTask, Result};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use net::facade::channel::on_mesh::{self, ChannelMessage, SubscriptionHandle};
use net::facade::mesh::MeshHandle;
use std::sync::Arc;
use std::time::Duration;

/// A message received on a channel.
#[napi(object)]
pub struct NativeChannelMessage {
    pub publisher: BigInt,
    pub channel: String,
    pub payload: Buffer,
}

/// A subscription to one publisher's channel or pattern of channels.
#[napi]
pub struct ChannelSubscription {
    inner: Arc<SubscriptionHandle>,
}

/// One slice of a wait for the next message.
pub struct ChannelNextTask {
    sub: Arc<SubscriptionHandle>,
    slice: Duration,
    cancel: Option<net::cancel::CancelToken>,
}

impl EngineTask for ChannelNextTask {
    type Output = Option<ChannelMessage>;
    type JsValue = Option<NativeChannelMessage>;

    fn run(&mut self) -> net::Result<Option<ChannelMessage>> {
        let ms = i64::try_from(self.slice.as_micros().div_ceil(1000)).unwrap_or(i64::MAX);
        match &self.cancel {
            Some(cancel) => self.sub.next_cancellable(ms, cancel),
            None => self.sub.next(ms),
        }
    }

    fn resolve(
        &mut self,
        _env: Env,
        output: Option<ChannelMessage>,
    ) -> napi::Result<Option<NativeChannelMessage>> {
        Ok(output.map(|m| NativeChannelMessage {
            publisher: BigInt::from(m.publisher),
            channel: m.channel.to_string(),
            payload: m.payload.into(),
        }))
    }
}

impl ChannelSubscription {
    /// Wraps a subscription (a bus's local one).
    pub(crate) fn new(inner: SubscriptionHandle) -> ChannelSubscription {
        ChannelSubscription {
            inner: Arc::new(inner),
        }
    }
}

#[napi]
impl ChannelSubscription {
    /// The publisher's node id.
    #[napi]
    pub fn publisher(&self) -> BigInt {
        BigInt::from(self.inner.publisher())
    }

    /// The channels the publisher admitted this node to, as JSON.
    #[napi]
    pub fn accepted_json(&self) -> String {
        self.inner.accepted_json()
    }

    /// One slice (≤100 ms) of a wait for the next message: resolves the
    /// message, or null when none came in the slice.
    #[napi(ts_return_type = "Promise<NativeChannelMessage | null>")]
    pub fn next(
        &self,
        remaining_ms: f64,
        cancel: Option<&crate::CancelToken>,
    ) -> Result<AsyncTask<Engine<ChannelNextTask>>> {
        let (slice, _) = args::slice_of(remaining_ms)?;
        Ok(spawn(ChannelNextTask {
            sub: Arc::clone(&self.inner),
            slice,
            cancel: crate::token_of(cancel),
        }))
    }

    /// Calls `deliver(messages)` on the event loop with each batch of
    /// messages until the subscription closes (the queued ones first) or
    /// the handler is closed.
    #[napi(ts_args_type = "deliver: (messages: NativeChannelMessage[]) => void")]
    pub fn on_message(&self, deliver: napi::JsFunction) -> Result<crate::handler::Handler> {
        crate::handler::spawn(
            self.inner.source(),
            deliver,
            "channel message handler",
            |messages: &[ChannelMessage]| {
                messages
                    .iter()
                    .map(|m| NativeChannelMessage {
                        publisher: BigInt::from(m.publisher),
                        channel: m.channel.to_string(),
                        payload: m.payload.clone().into(),
                    })
                    .collect::<Vec<_>>()
            },
        )
    }

    /// Unsubscribes (idempotent).
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

/// A publish run off the event loop: a reliable channel's `block`
/// congestion policy may wait for a full subscriber.
pub struct PublishTask {
    pub(crate) mesh: Arc<MeshHandle>,
    pub(crate) name: String,
    pub(crate) payload: Vec<u8>,
}

impl EngineTask for PublishTask {
    type Output = String;
    type JsValue = String;

    fn run(&mut self) -> net::Result<String> {
        on_mesh::publish(&self.mesh, &self.name, &[&self.payload])
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// Publishes on the pool (see `Mesh.publishAsync`).
pub fn publish_async(
    mesh: &Arc<MeshHandle>,
    name: String,
    payload: Vec<u8>,
) -> AsyncTask<Engine<PublishTask>> {
    spawn(PublishTask {
        mesh: Arc::clone(mesh),
        name,
        payload,
    })
}

/// A subscribe request waiting for the publisher's answer.
#[napi]
pub struct PendingSubscribe {
    inner: Arc<on_mesh::PendingHandle>,
}

impl PendingSubscribe {
    pub(crate) fn new(inner: on_mesh::PendingHandle) -> PendingSubscribe {
        PendingSubscribe {
            inner: Arc::new(inner),
        }
    }
}

/// One slice (≤100 ms) of a wait for the answer.
pub struct PollSubscribeTask {
    pending: Arc<on_mesh::PendingHandle>,
    slice: Duration,
}

impl EngineTask for PollSubscribeTask {
    type Output = Option<SubscriptionHandle>;
    type JsValue = Option<ChannelSubscription>;

    fn run(&mut self) -> net::Result<Option<SubscriptionHandle>> {
        let ms = u64::try_from(self.slice.as_millis()).unwrap_or(u64::MAX);
        self.pending.poll(ms)
    }

    fn resolve(
        &mut self,
        _env: Env,
        output: Option<SubscriptionHandle>,
    ) -> napi::Result<Option<ChannelSubscription>> {
        Ok(output.map(ChannelSubscription::new))
    }
}

#[napi]
impl PendingSubscribe {
    /// One slice (≤100 ms) of a wait for the answer: resolves the
    /// subscription, or null when none came in the slice; rejects with the
    /// refusal.
    #[napi(ts_return_type = "Promise<ChannelSubscription | null>")]
    pub fn poll(&self, remaining_ms: f64) -> Result<AsyncTask<Engine<PollSubscribeTask>>> {
        let (slice, _) = args::slice_of(remaining_ms)?;
        Ok(spawn(PollSubscribeTask {
            pending: Arc::clone(&self.inner),
            slice,
        }))
    }

    /// Gives up (idempotent; nothing after an answer).
    #[napi]
    pub fn abandon(&self) {
        self.inner.abandon();
    }
}
