//! Typed channels: JSON values of one serde type on a channel name.
//!
//! | | [`Channel`] (`net.channel::<T>(name)`) | [`MeshChannel`] (`mesh.channel::<T>(name)`) |
//! |---|---|---|
//! | reach | this process's local channels: every local subscriber | subscribers on other nodes the channel's rules admit |
//! | before publishing | nothing | [`Mesh::register_channel`] with the rules |
//! | `publish` returns | how many subscriptions took the value | a [`PublishReport`] |
//! | `subscribe` | [`Channel::subscribe`] | [`MeshChannel::subscribe`] with the publisher and a token chain |
//!
//! Both subscribe into a [`TypedChannelSubscription`], an async `Stream` of
//! `Result<T>` (plus [`next_blocking`](TypedChannelSubscription::next_blocking)
//! for threads). A message that does not decode as `T` is an
//! `SdkError::InvalidChannelMessage` item, and the stream goes on; a value
//! that does not serialize fails `publish` the same way. Messages are the
//! value's JSON, so a TypeScript, Python or Go subscriber reads them with its
//! own type for the same shape. (One serde habit to know: a derived struct
//! also reads the array form, `["A1", 22.5]` for `{sensor_id, celsius}`,
//! where the other SDKs want an object.)
//!
//! ```
//! use futures::StreamExt;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Reading {
//!     sensor_id: String,
//!     celsius: f64,
//! }
//!
//! # futures::executor::block_on(async {
//! let net = net_sdk::Net::builder().build().await?;
//! let temps = net.channel::<Reading>("sensors/temperature")?;
//! let mut sub = temps.subscribe()?;
//! temps.publish(&Reading { sensor_id: "A1".into(), celsius: 22.5 })?;
//! let got = sub.next().await.expect("a value")?;
//! assert_eq!(got.celsius, 22.5);
//! # net.shutdown().await?;
//! # Ok::<(), net_sdk::SdkError>(())
//! # }).unwrap();
//! ```

use crate::error::{Result, SdkError};
use crate::mesh::{ChannelSubscription, Mesh, PublishReport};
use net_core::bus::Bus;
use net_core::channel::ChannelName;
use net_core::identity::token::PermissionToken;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

fn encode<T: Serialize>(name: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| {
        SdkError::InvalidChannelMessage(format!("a value for {name} does not encode: {e}"))
    })
}

fn decode<T: DeserializeOwned>(channel: &str, payload: &[u8]) -> Result<T> {
    serde_json::from_slice(payload).map_err(|e| {
        SdkError::InvalidChannelMessage(format!(
            "a message on {channel} does not decode as {}: {e}",
            std::any::type_name::<T>()
        ))
    })
}

/// A typed channel on this process's local channels (see the
/// [module docs](self)). Cheap to clone.
pub struct Channel<T> {
    bus: Bus,
    name: ChannelName,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Channel {
            bus: self.bus.clone(),
            name: self.name.clone(),
            _type: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel").field("name", &self.name).finish()
    }
}

impl<T: Serialize + DeserializeOwned> Channel<T> {
    pub(crate) fn new(bus: Bus, name: &str) -> Result<Channel<T>> {
        Ok(Channel {
            bus,
            name: ChannelName::new(name)?,
            _type: PhantomData,
        })
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// Publishes `value`; how many local subscriptions took it.
    pub fn publish(&self, value: &T) -> Result<usize> {
        let payload = encode(self.name.as_str(), value)?;
        Ok(self.bus.channels().publish(self.name.as_str(), &payload)?)
    }

    /// Every value published from now on.
    pub fn subscribe(&self) -> Result<TypedChannelSubscription<T>> {
        let inner = self.bus.channels().subscribe(self.name.as_str())?;
        Ok(TypedChannelSubscription::new(
            ChannelSubscription::from_core(inner),
        ))
    }
}

/// A typed channel over the mesh (see the [module docs](self)).
pub struct MeshChannel<'m, T> {
    mesh: &'m Mesh,
    name: ChannelName,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> std::fmt::Debug for MeshChannel<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshChannel")
            .field("name", &self.name)
            .finish()
    }
}

impl<'m, T: Serialize + DeserializeOwned> MeshChannel<'m, T> {
    pub(crate) fn new(mesh: &'m Mesh, name: &str) -> Result<MeshChannel<'m, T>> {
        Ok(MeshChannel {
            mesh,
            name: ChannelName::new(name)?,
            _type: PhantomData,
        })
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// Publishes `value` on the channel (registered on this node) to every
    /// subscriber its rules admit.
    pub fn publish(&self, value: &T) -> Result<PublishReport> {
        let payload = encode(self.name.as_str(), value)?;
        self.mesh.publish(self.name.as_str(), &payload)
    }

    /// Asks `publisher` for the channel, presenting `chain` (see
    /// [`Mesh::subscribe`]).
    pub fn subscribe(
        &self,
        publisher: u64,
        chain: &[PermissionToken],
        timeout: Duration,
    ) -> Result<TypedChannelSubscription<T>> {
        let sub = self
            .mesh
            .subscribe(publisher, self.name.as_str(), chain, timeout)?;
        Ok(TypedChannelSubscription::new(sub))
    }
}

/// A channel subscription yielding values of `T`: an async `Stream` of
/// `Result<T>` that ends when the subscription closes.
#[derive(Debug)]
pub struct TypedChannelSubscription<T> {
    inner: ChannelSubscription,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> TypedChannelSubscription<T> {
    fn new(inner: ChannelSubscription) -> Self {
        TypedChannelSubscription {
            inner,
            _type: PhantomData,
        }
    }

    /// The publisher's node id (0 for local channels).
    pub fn publisher(&self) -> u64 {
        self.inner.publisher()
    }

    /// The channels the publisher admitted this subscription to.
    pub fn accepted(&self) -> &[String] {
        self.inner.accepted()
    }

    /// The next value, blocking the thread up to `timeout` (`None`: until
    /// one comes); `Ok(None)` on timeout, `InvalidChannelMessage` for a
    /// message that does not decode (the next call reads the next one).
    pub fn next_blocking(&self, timeout: Option<Duration>) -> Result<Option<T>> {
        match self.inner.next_blocking(timeout)? {
            Some(m) => decode(&m.channel, &m.payload).map(Some),
            None => Ok(None),
        }
    }

    /// Calls `f` with each decoded value (or the decode error) on the
    /// engine's callback threads, in order; see
    /// [`ChannelSubscription::on_message`].
    pub fn on_message(&self, mut f: impl FnMut(Result<T>) + Send + 'static) -> crate::Handler
    where
        T: 'static,
    {
        self.inner
            .on_message(move |m| f(decode(&m.channel, &m.payload)))
    }

    /// Unsubscribes (also on drop).
    pub fn close(&self) {
        self.inner.close();
    }
}

impl<T: DeserializeOwned> futures_core::Stream for TypedChannelSubscription<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        Pin::new(&mut this.inner)
            .poll_next(cx)
            .map(|m| m.map(|m| decode(&m.channel, &m.payload)))
    }
}
