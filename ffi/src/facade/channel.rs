//! Channel names and patterns for the bindings (see `net_core::channel`).

use net_core::channel::{ChannelName, ChannelPattern};
use net_core::Result;

/// Checks a channel name; `channel:invalid_name` otherwise.
pub fn check_channel_name(name: &str) -> Result<()> {
    ChannelName::new(name).map(|_| ())
}

/// A channel name's stable 64-bit hash.
pub fn channel_hash(name: &str) -> Result<u64> {
    Ok(ChannelName::new(name)?.hash())
}

/// Whether the channel pattern `pattern` matches the channel `name`.
pub fn channel_matches(pattern: &str, name: &str) -> Result<bool> {
    Ok(ChannelPattern::new(pattern)?.matches(&ChannelName::new(name)?))
}

/// A channel config (JSON) with every default filled in: what a node
/// registering it enforces. `channel:invalid_config` /
/// `channel:invalid_name` / `capability:invalid_predicate` otherwise.
pub fn normalize_config(config: &str) -> Result<String> {
    Ok(net_core::mesh::ChannelConfig::from_json(config)?
        .to_json()
        .to_string())
}

/// A bus's local channels: publish, subscribe (the subscription is the
/// mesh's [`on_mesh::SubscriptionHandle`], read the same way).
pub mod on_bus {
    use super::on_mesh::SubscriptionHandle;
    use net_core::bus::Bus;
    use net_core::Result;

    /// Publishes on a local channel; how many subscriptions took a copy.
    pub fn publish(bus: &Bus, name: &str, payload: &[u8]) -> Result<usize> {
        bus.channels().publish(name, payload)
    }

    /// Subscribes to a local channel name or pattern.
    pub fn subscribe(bus: &Bus, pattern: &str) -> Result<SubscriptionHandle> {
        Ok(SubscriptionHandle::new(bus.channels().subscribe(pattern)?))
    }

    /// The local channels' counters as JSON (`{"published", "delivered",
    /// "dropped", "subscriptions"}`).
    pub fn stats_json(bus: &Bus) -> String {
        serde_json::to_string(&bus.channels().stats()).unwrap_or_default()
    }
}

/// Channels on a mesh node: register, subscribe, publish, receive.
pub mod on_mesh {
    use super::*;
    use crate::facade::mesh::MeshHandle;
    use crate::facade::token::TokenCacheHandle;
    use net_core::identity::token::PermissionToken;
    pub use net_core::mesh::ChannelMessage;
    use net_core::mesh::{ChannelConfig, ChannelSubscription};
    use std::time::Duration;

    /// Registers a channel from its JSON config (`{"name", "visibility",
    /// "publish_caps", "subscribe_caps", "require_token", "reliable"}`).
    pub fn register(mesh: &MeshHandle, config: &str) -> Result<()> {
        mesh.node()
            .register_channel(ChannelConfig::from_json(config)?)
    }

    /// Unregisters a channel; whether it was registered.
    pub fn unregister(mesh: &MeshHandle, name: &str) -> bool {
        mesh.node().unregister_channel(name)
    }

    /// A registered channel's subscribers, ascending.
    pub fn subscribers(mesh: &MeshHandle, name: &str) -> Vec<u64> {
        mesh.node().channel_subscribers(name)
    }

    /// The node's token cache (subscribers' chains are checked against it).
    pub fn token_cache(mesh: &MeshHandle) -> TokenCacheHandle {
        TokenCacheHandle::shared(mesh.node().token_cache())
    }

    /// Publishes on a registered channel; the report as JSON.
    pub fn publish(mesh: &MeshHandle, name: &str, payloads: &[&[u8]]) -> Result<String> {
        Ok(mesh.node().publish_many(name, payloads)?.to_json())
    }

    /// The channel layer's counters as JSON.
    pub fn stats_json(mesh: &MeshHandle) -> String {
        serde_json::to_string(&mesh.node().channel_stats()).unwrap_or_default()
    }

    /// A subscribe request waiting for its answer, behind a handle (for
    /// bindings that wait in slices).
    #[derive(Debug)]
    pub struct PendingHandle {
        inner: parking_lot::Mutex<Option<net_core::mesh::PendingSubscribe>>,
    }

    /// Sends a subscribe request (see `subscribe`) and returns at once.
    pub fn start_subscribe(
        mesh: &MeshHandle,
        publisher: u64,
        pattern: &str,
        chain: &[u8],
    ) -> Result<PendingHandle> {
        let chain = if chain.is_empty() {
            Vec::new()
        } else {
            PermissionToken::chain_from_bytes(chain)?
        };
        let pending = mesh.node().start_subscribe(publisher, pattern, &chain)?;
        Ok(PendingHandle {
            inner: parking_lot::Mutex::new(Some(pending)),
        })
    }

    impl PendingHandle {
        /// Waits up to `slice_ms` for the answer: the subscription, the
        /// refusal, or `None` (not yet, or already answered or abandoned).
        pub fn poll(&self, slice_ms: u64) -> Result<Option<SubscriptionHandle>> {
            let mut guard = self.inner.lock();
            let Some(pending) = guard.as_mut() else {
                return Ok(None);
            };
            match pending.poll(Duration::from_millis(slice_ms)) {
                Ok(Some(sub)) => {
                    *guard = None;
                    Ok(Some(SubscriptionHandle { inner: sub }))
                }
                Ok(None) => Ok(None),
                Err(e) => {
                    *guard = None;
                    Err(e)
                }
            }
        }

        /// Gives up (idempotent; nothing after an answer).
        pub fn abandon(&self) {
            if let Some(pending) = self.inner.lock().take() {
                pending.abandon();
            }
        }
    }

    /// A subscription behind a handle.
    #[derive(Debug)]
    pub struct SubscriptionHandle {
        inner: ChannelSubscription,
    }

    /// Subscribes to `pattern` at `publisher`, presenting `chain` (tokens
    /// laid end to end, root grant first; empty for none), waiting up to
    /// `timeout_ms` for the acknowledgement.
    pub fn subscribe(
        mesh: &MeshHandle,
        publisher: u64,
        pattern: &str,
        chain: &[u8],
        timeout_ms: u64,
    ) -> Result<SubscriptionHandle> {
        let chain = if chain.is_empty() {
            Vec::new()
        } else {
            PermissionToken::chain_from_bytes(chain)?
        };
        let inner = mesh.node().subscribe(
            publisher,
            pattern,
            &chain,
            Duration::from_millis(timeout_ms),
        )?;
        Ok(SubscriptionHandle { inner })
    }

    impl SubscriptionHandle {
        /// The subscription's queue as a push source (what `on_message`
        /// handlers drain); the subscription stays open until closed.
        pub fn source(&self) -> net_core::mesh::QueueSource<ChannelMessage> {
            self.inner.source()
        }

        /// Wraps a subscription (a mesh one, or a bus's local one).
        pub(crate) fn new(inner: ChannelSubscription) -> SubscriptionHandle {
            SubscriptionHandle { inner }
        }

        /// The publisher's node id.
        pub fn publisher(&self) -> u64 {
            self.inner.publisher()
        }

        /// The channels the publisher admitted this node to, as a JSON array.
        pub fn accepted_json(&self) -> String {
            serde_json::Value::from(self.inner.accepted().to_vec()).to_string()
        }

        /// The next message, waiting up to `timeout_ms` (negative: no
        /// limit); `None` on timeout.
        pub fn next(&self, timeout_ms: i64) -> Result<Option<ChannelMessage>> {
            self.inner
                .next(u64::try_from(timeout_ms).ok().map(Duration::from_millis))
        }

        /// [`next`](Self::next) that ends with `call:cancelled` when
        /// `cancel` is cancelled.
        pub fn next_cancellable(
            &self,
            timeout_ms: i64,
            cancel: &net_core::cancel::CancelToken,
        ) -> Result<Option<ChannelMessage>> {
            self.inner.next_cancellable(
                u64::try_from(timeout_ms).ok().map(Duration::from_millis),
                cancel,
            )
        }

        /// Unsubscribes (also when the handle is dropped).
        pub fn close(&self) {
            self.inner.close();
        }
    }
}
