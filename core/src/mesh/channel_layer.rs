//! The channel layer on a node: registering, subscribing, the auth guard,
//! publishing and receiving (see [`super::channels`] for the rules).

use super::channels::{
    data_stream, data_stream_kind, decode_data, encode_batch, pack_limit, refusal_error, Ack,
    ChannelConfig, ChannelMessage, ChannelStats, Congestion, Frames, Grant, GuardRefusal, Member,
    Pack, PublishReport, Registered, SkipReason, Standing, Sub, BURST_GAP, CONTROL, DATA_WINDOW,
    MAX_CHANNEL_PRIORITY, PACK_AFTER, PACK_MESSAGE_LIMIT, PACK_RETRY, PACK_STALL_RETRY, REPLY,
    UNANNOUNCED,
};
use super::inbox::Queue;
use super::node::Inner;
use super::protocol::{Protocol, Remote, CHANNELS};
use super::stats::{add, bump};
use super::stream::StreamConfig;
use super::streaming::{self, StreamKey, Wait};
use crate::channel::{ChannelName, ChannelPattern};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::token::{unix_now, Access, PermissionToken, TokenCache, TokenScope};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// The protocol object registered under [`CHANNELS`].
struct ChannelProtocol(Weak<Inner>);

impl Protocol for ChannelProtocol {
    fn on_message(&self, from: &Remote, stream_id: u64, payload: Vec<u8>) {
        if let Some(inner) = self.0.upgrade() {
            match stream_id {
                CONTROL | REPLY => inner.channel_control(from, &payload),
                id => {
                    if let Some((_, priority)) = data_stream_kind(id) {
                        inner.channel_data(from.node_id, priority, &payload)
                    }
                }
            }
        }
    }

    fn has_room(&self, from: &Remote, stream_id: u64) -> bool {
        let Some((_, priority)) = data_stream_kind(stream_id) else {
            return true; // control streams
        };
        let bit = 1u8 << priority;
        self.0.upgrade().is_none_or(|inner| {
            inner
                .channels
                .subs
                .read()
                .values()
                .filter(|s| {
                    s.publisher == from.node_id && s.priorities.load(Ordering::Relaxed) & bit != 0
                })
                .all(|s| s.queue.has_room())
        })
    }

    fn on_peer_down(&self, node_id: u64) {
        if let Some(inner) = self.0.upgrade() {
            inner.channel_peer_down(node_id);
        }
    }

    fn on_shutdown(&self) {
        if let Some(inner) = self.0.upgrade() {
            for sub in inner.channels.subs.read().values() {
                sub.queue.close();
            }
            inner.channels.answered.notify_all();
        }
    }
}

/// Where a local subscription is listed, so closing it can leave.
pub(super) trait Roster: Send + Sync {
    /// Forgets subscription `id`.
    fn remove(&self, id: u64);
}

/// Who holds a subscription's roster entry.
pub(super) enum Owner {
    /// A mesh node: closing tells the publisher.
    Mesh(Weak<Inner>),
    /// One process's local channels.
    Local(Weak<dyn Roster>),
}

/// A subscription to a channel (or a pattern of channels) of one
/// publisher: the stream of what it publishes there. Dropping or closing it
/// unsubscribes.
///
/// The same type serves subscriptions to a remote publisher
/// ([`MeshNode::subscribe`](super::MeshNode::subscribe)) and to this
/// process's own channels ([`LocalChannels::subscribe`](super::LocalChannels::subscribe)),
/// so every language reads both the same way.
pub struct ChannelSubscription {
    id: u64,
    publisher: u64,
    pattern_text: String,
    accepted: Vec<String>,
    sub: Arc<Sub>,
    owner: Owner,
    /// The wake-up a pending [`poll_next`](Self::poll_next) waits on.
    listener: Option<event_listener::EventListener>,
}

impl std::fmt::Debug for ChannelSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSubscription")
            .field("publisher", &self.publisher)
            .field("pattern", &self.pattern_text)
            .field("accepted", &self.accepted)
            .finish()
    }
}

impl ChannelSubscription {
    /// The publisher's node id.
    pub fn publisher(&self) -> u64 {
        self.publisher
    }

    /// The channel name or pattern subscribed to.
    pub fn pattern(&self) -> &str {
        &self.pattern_text
    }

    /// The channels the publisher admitted this node to.
    pub fn accepted(&self) -> &[String] {
        &self.accepted
    }

    /// The next message, waiting up to `timeout` (`None`: until one comes);
    /// `Ok(None)` on timeout, `mesh:shutdown` once the node shut down.
    pub fn next(&self, timeout: Option<Duration>) -> Result<Option<ChannelMessage>> {
        self.sub.queue.pop(timeout)
    }

    /// [`next`](Self::next) that fails with `call:cancelled` as soon as
    /// `cancel` is cancelled.
    pub fn next_cancellable(
        &self,
        timeout: Option<Duration>,
        cancel: &crate::cancel::CancelToken,
    ) -> Result<Option<ChannelMessage>> {
        let sub = Arc::clone(&self.sub);
        let _wake = cancel.on_cancel(move || sub.queue.wake_all());
        self.sub.queue.pop_cancellable(timeout, Some(cancel))
    }

    /// The next message without blocking: `Ready(Some)`, or `Pending` with
    /// `cx`'s waker registered for the next one; `Ready(None)` once the
    /// subscription is closed (or its node shut down) and drained. What an
    /// async `Stream` is built on.
    pub fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ChannelMessage>> {
        self.sub.queue.poll_pop(&mut self.listener, cx)
    }

    /// A subscription to local channels.
    pub(super) fn local(
        id: u64,
        pattern_text: String,
        sub: Arc<Sub>,
        owner: Weak<dyn Roster>,
    ) -> ChannelSubscription {
        ChannelSubscription {
            id,
            publisher: 0,
            accepted: vec![pattern_text.clone()],
            pattern_text,
            sub,
            owner: Owner::Local(owner),
            listener: None,
        }
    }

    /// The subscription's queue as a push source: a
    /// [`push`](crate::push) handler over it is called for each message
    /// (`on_message` in every SDK). The subscription stays the caller's:
    /// closing or dropping it unsubscribes and ends the source (the handler
    /// gets what was queued first). A handler and a pull loop on one
    /// subscription share its messages, each getting some.
    pub fn source(&self) -> super::QueueSource<ChannelMessage> {
        super::QueueSource::new(Arc::clone(&self.sub.queue))
    }

    /// Unsubscribes (also on drop).
    pub fn close(&self) {
        let node = match &self.owner {
            Owner::Mesh(node) => node,
            Owner::Local(hub) => {
                if let Some(hub) = hub.upgrade() {
                    hub.remove(self.id);
                }
                self.sub.queue.close();
                return;
            }
        };
        let Some(inner) = node.upgrade() else {
            return;
        };
        if inner.channels.subs.write().remove(&self.id).is_some() {
            let message = json!({"op": "unsub", "pattern": self.pattern_text});
            inner.channel_send_control(self.publisher, &message);
            self.sub.queue.close();
        }
    }
}

impl Drop for ChannelSubscription {
    fn drop(&mut self) {
        self.close();
    }
}

/// A subscribe request waiting for the publisher's answer (see
/// [`MeshNode::start_subscribe`](super::MeshNode::start_subscribe)).
/// Dropping it unanswered gives up, as [`abandon`](Self::abandon) does.
pub struct PendingSubscribe {
    id: u64,
    publisher: u64,
    pattern_text: String,
    sub: Arc<Sub>,
    node: Weak<Inner>,
    done: bool,
}

impl std::fmt::Debug for PendingSubscribe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSubscribe")
            .field("publisher", &self.publisher)
            .field("pattern", &self.pattern_text)
            .finish()
    }
}

impl PendingSubscribe {
    /// Waits up to `slice` for the answer: `Ok(Some(subscription))` when
    /// accepted, the refusal's error (`channel:unknown_channel`,
    /// `channel:unauthorized`, `channel:rate_limited`, `channel:subnet`), or
    /// `Ok(None)` when none came yet (call again, or give up). After an
    /// answer it returns `Ok(None)`.
    pub fn poll(&mut self, slice: Duration) -> Result<Option<ChannelSubscription>> {
        if self.done {
            return Ok(None);
        }
        let Some(inner) = self.node.upgrade() else {
            self.done = true;
            return Err(super::transport::shutdown_error());
        };
        let ack = match inner.channel_wait_ack(self.id, slice) {
            Ok(ack) => ack,
            Err(e) if e.kind() == ErrorKind::MeshTimeout => return Ok(None),
            Err(e) => {
                self.forget();
                return Err(e);
            }
        };
        self.done = true;
        inner.channels.pending.lock().remove(&self.id);
        if ack.accepted.is_empty() {
            inner.channels.subs.write().remove(&self.id);
            return Err(refusal_error(
                ack.reason.as_deref().unwrap_or("unauthorized"),
                &ack.detail,
            ));
        }
        Ok(Some(ChannelSubscription {
            id: self.id,
            publisher: self.publisher,
            pattern_text: std::mem::take(&mut self.pattern_text),
            accepted: ack.accepted,
            sub: self.sub.clone(),
            owner: Owner::Mesh(self.node.clone()),
            listener: None,
        }))
    }

    /// Gives up waiting: tells the publisher to drop the request (in case
    /// it accepts later) and forgets it.
    pub fn abandon(mut self) {
        self.give_up();
    }

    fn give_up(&mut self) {
        if self.done {
            return;
        }
        if let Some(inner) = self.node.upgrade() {
            let undo = json!({"op": "unsub", "pattern": self.pattern_text});
            inner.channel_send_control(self.publisher, &undo);
        }
        self.forget();
    }

    /// Forgets the request without telling the publisher.
    fn forget(&mut self) {
        self.done = true;
        if let Some(inner) = self.node.upgrade() {
            inner.channels.pending.lock().remove(&self.id);
            inner.channels.subs.write().remove(&self.id);
        }
    }
}

impl Drop for PendingSubscribe {
    fn drop(&mut self) {
        self.give_up();
    }
}

/// Channels: register, subscribe, publish.
impl super::MeshNode {
    /// Registers a channel this node publishes on. `channel:invalid_config`
    /// when it is registered already. Peers holding a pattern subscription
    /// that matches it join it if its rules admit them.
    pub fn register_channel(&self, config: ChannelConfig) -> Result<()> {
        self.inner.check_open()?;
        if config.priority > MAX_CHANNEL_PRIORITY {
            return Err(Error::new(
                ErrorKind::InvalidChannelConfig,
                format!(
                    "a channel's priority is 0 to {MAX_CHANNEL_PRIORITY}, got {}",
                    config.priority
                ),
            ));
        }
        let name = config.name.as_str().to_string();
        {
            let mut registered = self.inner.channels.registered.write();
            if registered.contains_key(&name) {
                return Err(Error::new(
                    ErrorKind::InvalidChannelConfig,
                    format!("channel {name:?} is already registered on this node"),
                ));
            }
            registered.insert(
                name.clone(),
                Registered {
                    config,
                    members: Default::default(),
                },
            );
        }
        self.inner.channel_admit_standing(&name);
        Ok(())
    }

    /// Unregisters a channel: its roster is dropped. Returns whether it was
    /// registered.
    pub fn unregister_channel(&self, name: &str) -> bool {
        self.inner
            .channels
            .registered
            .write()
            .remove(name)
            .is_some()
    }

    /// The channels this node has registered, by name.
    pub fn channels(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .channels
            .registered
            .read()
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// The node ids subscribed to a registered channel, ascending.
    pub fn channel_subscribers(&self, name: &str) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .inner
            .channels
            .registered
            .read()
            .get(name)
            .map(|r| r.members.keys().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// The token cache subscribers' chains are checked against: trust the
    /// roots that may grant access here, revoke tokens (the next publish
    /// drops members whose chains rest on them).
    pub fn token_cache(&self) -> Arc<TokenCache> {
        self.inner.channels.tokens.clone()
    }

    /// Subscribes to `pattern` (a channel name, or `prefix/*`,
    /// `prefix/**`) at the publisher `publisher`, presenting `chain` (root
    /// grant first; empty when the channels need no token), and waits up to
    /// `timeout` for the acknowledgement. A refusal is its reason's error
    /// (`channel:unknown_channel`, `channel:unauthorized`,
    /// `channel:rate_limited`, `channel:subnet`); no answer in time is
    /// `mesh:timeout`.
    pub fn subscribe(
        &self,
        publisher: u64,
        pattern: &str,
        chain: &[PermissionToken],
        timeout: Duration,
    ) -> Result<ChannelSubscription> {
        let mut pending = self.start_subscribe(publisher, pattern, chain)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(sub) = pending.poll(left)? {
                return Ok(sub);
            }
            if left.is_zero() {
                pending.abandon();
                return Err(Error::new(
                    ErrorKind::MeshTimeout,
                    format!("no answer to the subscribe request within {timeout:?}"),
                ));
            }
        }
    }

    /// Sends a subscribe request and returns at once: the publisher's answer
    /// comes through [`PendingSubscribe::poll`], which callers that must not
    /// block long (an event loop, a thread that checks for Ctrl-C) call in
    /// slices. [`subscribe`](Self::subscribe) is this plus a loop.
    pub fn start_subscribe(
        &self,
        publisher: u64,
        pattern: &str,
        chain: &[PermissionToken],
    ) -> Result<PendingSubscribe> {
        self.inner.check_open()?;
        let pattern = ChannelPattern::new(pattern)?;
        self.inner.peer(publisher)?;
        let channels = &self.inner.channels;
        let id = channels.next_id.fetch_add(1, Ordering::Relaxed);
        let sub = Arc::new(Sub {
            publisher,
            pattern: pattern.clone(),
            queue: Arc::new(Queue::new(self.inner.config.inbox_capacity)),
            priorities: Default::default(),
        });
        channels.subs.write().insert(id, sub.clone());
        channels.pending.lock().insert(id, None);
        let tokens: Vec<String> = chain.iter().map(|t| hex::encode(t.as_bytes())).collect();
        let pattern_text = pattern.to_string();
        let request = json!({"op": "sub", "id": id, "pattern": pattern_text, "tokens": tokens});
        let mut pending = PendingSubscribe {
            id,
            publisher,
            pattern_text,
            sub,
            node: Arc::downgrade(&self.inner),
            done: false,
        };
        if !self.inner.channel_send_control(publisher, &request) {
            pending.forget();
            return Err(Error::new(
                ErrorKind::StreamBackpressure,
                "the control stream to the publisher is full",
            ));
        }
        Ok(pending)
    }

    /// Publishes `payload` on a registered channel to every subscriber the
    /// guard admits (see [`super::channels`]). `channel:unknown_channel`
    /// for a channel not registered here; `channel:unauthorized` when this
    /// node's own announced capabilities miss the channel's
    /// `publish_caps` (nothing is sent then).
    pub fn publish(&self, channel: &str, payload: &[u8]) -> Result<PublishReport> {
        self.publish_many(channel, &[payload])
    }

    /// [`publish`](Self::publish) for several messages in order: one guard
    /// pass, each admitted subscriber sent every message.
    pub fn publish_many(&self, channel: &str, payloads: &[&[u8]]) -> Result<PublishReport> {
        self.inner.check_open()?;
        self.inner.channel_publish(channel, payloads)
    }

    /// The channel layer's counters.
    pub fn channel_stats(&self) -> ChannelStats {
        self.inner.channels.counters.snapshot()
    }
}

impl Inner {
    /// Registers the channel protocol on a new node.
    pub(super) fn install_channels(self: &Arc<Self>) -> Result<()> {
        let weak: Weak<Inner> = Arc::downgrade(self);
        self.protocols
            .insert(CHANNELS, Arc::new(ChannelProtocol(weak)))
    }

    fn channel_stream(
        &self,
        peer: u64,
        stream: u64,
        reliable: bool,
    ) -> Result<Arc<streaming::StreamState>> {
        let key = StreamKey {
            peer,
            protocol: CHANNELS,
            stream,
        };
        let config = if reliable {
            StreamConfig::reliable().with_window(DATA_WINDOW)
        } else {
            StreamConfig::default()
        };
        self.streams.open(key, config)
    }

    /// Sends a control message on `stream`; whether it went out.
    fn channel_send_on(&self, peer: u64, stream: u64, message: &serde_json::Value) -> bool {
        match self.channel_stream(peer, stream, true) {
            Ok(state) => {
                let bytes = message.to_string().into_bytes();
                streaming::send_on(self, &state, &bytes, Wait::Never, None).is_ok()
            }
            Err(_) => false,
        }
    }

    /// Sends a request (subscribe, unsubscribe) to a publisher.
    fn channel_send_control(&self, peer: u64, message: &serde_json::Value) -> bool {
        self.channel_send_on(peer, CONTROL, message)
    }

    fn channel_wait_ack(&self, id: u64, timeout: Duration) -> Result<Ack> {
        let deadline = Instant::now() + timeout;
        let channels = &self.channels;
        let mut pending = channels.pending.lock();
        loop {
            if let Some(Some(ack)) = pending.get(&id) {
                return Ok(ack.clone());
            }
            self.check_open()?;
            if channels
                .answered
                .wait_until(&mut pending, deadline)
                .timed_out()
            {
                if let Some(Some(ack)) = pending.get(&id) {
                    return Ok(ack.clone());
                }
                return Err(Error::new(
                    ErrorKind::MeshTimeout,
                    format!("no answer to the subscribe request within {timeout:?}"),
                ));
            }
        }
    }

    fn channel_control(self: &Arc<Self>, from: &Remote, payload: &[u8]) {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(payload) else {
            return;
        };
        match message["op"].as_str() {
            Some("sub") => self.channel_subscribe_request(from, &message),
            Some("ack") => {
                let Some(id) = message["id"].as_u64() else {
                    return;
                };
                let accepted = message["accepted"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let ack = Ack {
                    accepted,
                    reason: message["reason"].as_str().map(str::to_string),
                    detail: message["detail"].as_str().unwrap_or_default().to_string(),
                };
                let mut pending = self.channels.pending.lock();
                if let Some(slot) = pending.get_mut(&id) {
                    *slot = Some(ack);
                    self.channels.answered.notify_all();
                }
            }
            Some("unsub") => {
                if let Some(Ok(pattern)) = message["pattern"].as_str().map(ChannelPattern::new) {
                    self.channel_unsubscribe(from.node_id, &pattern);
                }
            }
            _ => {}
        }
    }

    fn channel_unsubscribe(&self, peer: u64, pattern: &ChannelPattern) {
        for (name, channel) in self.channels.registered.write().iter_mut() {
            if ChannelName::new(name).is_ok_and(|n| pattern.matches(&n)) {
                channel.members.remove(&peer);
            }
        }
        self.channels
            .standing
            .lock()
            .retain(|s| !(s.peer == peer && s.pattern == *pattern));
    }

    /// Refuses `peer` with `reason`: counted, audited, limited.
    fn channel_refuse(&self, peer: u64, what: &str, reason: &str, detail: &str) {
        bump(&self.channels.counters.subscribes_refused);
        self.channels.failed(peer, self.clock.now());
        self.record(
            "channel_refused",
            json!({"peer": peer.to_string(), "channel": what, "reason": reason, "detail": detail}),
        );
    }

    /// Decides whether `peer` may join `channel`: the reason and detail of a
    /// refusal, or the grant to hold.
    fn channel_admission(
        &self,
        peer: &Remote,
        channel: &Registered,
        chain: &[PermissionToken],
    ) -> std::result::Result<Option<Grant>, (&'static str, String)> {
        let config = &channel.config;
        let (peer_caps, peer_subnet) = {
            let index = self.capabilities.index.lock();
            match index.get(peer.node_id) {
                Some(e) => (Some(e.caps.clone()), e.subnet),
                None => (None, UNANNOUNCED),
            }
        };
        let own_subnet = self.config.capabilities.subnet;
        if !config.visibility.allows(own_subnet, peer_subnet) {
            return Err((
                "subnet",
                format!(
                    "{} is {} and the subscriber's subnet is {peer_subnet}",
                    config.name,
                    config.visibility.as_str()
                ),
            ));
        }
        if let Some(want) = &config.subscribe_caps {
            if !peer_caps.as_ref().is_some_and(|caps| want.matches(caps)) {
                return Err((
                    "unauthorized",
                    format!(
                        "the subscriber's announced capabilities do not satisfy {}",
                        want.describe()
                    ),
                ));
            }
        }
        if !config.require_token {
            return Ok(None);
        }
        if chain.is_empty() {
            return Err((
                "unauthorized",
                format!("{} requires a token and none was presented", config.name),
            ));
        }
        let access = Access {
            subject: peer.public_key.as_bytes(),
            scope: TokenScope::SUBSCRIBE,
            channel: &config.name,
        };
        let now = unix_now();
        let tokens = &self.channels.tokens;
        match tokens.verify(chain, &access, now) {
            Ok(_) => Ok(Some(Grant {
                ids: chain.iter().map(PermissionToken::id).collect(),
                expires: chain
                    .iter()
                    .map(PermissionToken::expires)
                    .min()
                    .unwrap_or(0),
                epoch: AtomicU64::new(tokens.epoch()),
            })),
            Err(e) => Err(("unauthorized", e.to_string())),
        }
    }

    fn channel_subscribe_request(self: &Arc<Self>, from: &Remote, message: &serde_json::Value) {
        let Some(id) = message["id"].as_u64() else {
            return;
        };
        let peer = from.node_id;
        let pattern_text = message["pattern"].as_str().unwrap_or_default();
        let answer = |accepted: Vec<String>, reason: Option<&str>, detail: &str| {
            let ack = json!({"op": "ack", "id": id, "accepted": accepted, "reason": reason, "detail": detail});
            self.channel_send_on(peer, REPLY, &ack);
        };
        // The failure limiter runs before anything costly.
        if self.channels.limited(peer, self.clock.now()) {
            bump(&self.channels.counters.rate_limited);
            bump(&self.channels.counters.subscribes_refused);
            self.record(
                "channel_refused",
                json!({"peer": peer.to_string(), "channel": pattern_text, "reason": "rate_limited"}),
            );
            answer(
                Vec::new(),
                Some("rate_limited"),
                "too many refused requests lately",
            );
            return;
        }
        let Ok(pattern) = ChannelPattern::new(pattern_text) else {
            self.channel_refuse(
                peer,
                pattern_text,
                "unknown_channel",
                "not a channel pattern",
            );
            answer(Vec::new(), Some("unknown_channel"), "not a channel pattern");
            return;
        };
        let chain: Vec<PermissionToken> = message["tokens"]
            .as_array()
            .map(|tokens| {
                tokens
                    .iter()
                    .filter_map(|t| hex::decode(t.as_str()?).ok())
                    .filter_map(|b| PermissionToken::from_bytes(&b).ok())
                    .collect()
            })
            .unwrap_or_default();
        let mut accepted = Vec::new();
        let mut refusal: Option<(&'static str, String)> = None;
        let mut matched = false;
        let mut next_expiry = None;
        {
            let mut registered = self.channels.registered.write();
            for (name, channel) in registered.iter_mut() {
                if !ChannelName::new(name).is_ok_and(|n| pattern.matches(&n)) {
                    continue;
                }
                matched = true;
                match self.channel_admission(from, channel, &chain) {
                    Ok(grant) => {
                        if let Some(g) = &grant {
                            next_expiry =
                                Some(next_expiry.map_or(g.expires, |e: u64| e.min(g.expires)));
                        }
                        channel.members.insert(peer, Member { grant });
                        accepted.push(name.clone());
                    }
                    Err(why) => {
                        refusal.get_or_insert(why);
                    }
                }
            }
        }
        if pattern.kind() != crate::channel::PatternKind::Exact {
            self.channels.standing.lock().push(Standing {
                peer,
                pattern: pattern.clone(),
                chain: chain.clone(),
            });
        }
        if let Some(expires) = next_expiry {
            self.channel_expiry_due(expires);
        }
        accepted.sort();
        if !accepted.is_empty() {
            bump(&self.channels.counters.subscribes_accepted);
            answer(accepted, None, "");
            return;
        }
        let (reason, detail) = match (matched, refusal) {
            (false, _) => (
                "unknown_channel",
                format!("no channel here matches {pattern_text:?}"),
            ),
            (true, Some(why)) => why,
            (true, None) => ("unauthorized", String::new()),
        };
        self.channel_refuse(peer, pattern_text, reason, &detail);
        answer(Vec::new(), Some(reason), &detail);
    }

    /// Admits standing pattern subscriptions to a newly registered channel.
    fn channel_admit_standing(self: &Arc<Self>, name: &str) {
        let Ok(channel_name) = ChannelName::new(name) else {
            return;
        };
        let standing: Vec<(u64, Vec<PermissionToken>)> = self
            .channels
            .standing
            .lock()
            .iter()
            .filter(|s| s.pattern.matches(&channel_name))
            .map(|s| (s.peer, s.chain.clone()))
            .collect();
        for (peer, chain) in standing {
            let Some(remote) = self.peers.read().by_node.get(&peer).map(|p| p.remote()) else {
                continue;
            };
            let mut registered = self.channels.registered.write();
            let Some(channel) = registered.get_mut(name) else {
                return;
            };
            match self.channel_admission(&remote, channel, &chain) {
                Ok(grant) => {
                    let expires = grant.as_ref().map(|g| g.expires);
                    channel.members.insert(peer, Member { grant });
                    drop(registered);
                    if let Some(expires) = expires {
                        self.channel_expiry_due(expires);
                    }
                }
                Err((reason, detail)) => {
                    drop(registered);
                    self.channel_refuse(peer, name, reason, &detail);
                }
            }
        }
    }

    /// Notes a member's expiry for the sweep.
    fn channel_expiry_due(&self, expires: u64) {
        let mut next = self.channels.next_expiry.lock();
        if next.is_none_or(|n| expires < n) {
            *next = Some(expires);
            let now = unix_now();
            let wait = Duration::from_secs(expires.saturating_sub(now));
            self.timer.due(self.clock.now() + wait);
        }
    }

    /// The sweep: evicts members whose chains expired. Returns when it is
    /// next due.
    pub(super) fn channel_timers(&self, now: Instant) -> Option<Instant> {
        let packs = match self.flush_dirty() {
            Left::Nothing => None,
            Left::Busy => Some(now + PACK_RETRY),
            // Acknowledgements wake the flusher when the window opens; this
            // is the safety net, slow so a subscriber that stopped reading
            // costs next to nothing.
            Left::Blocked => Some(now + PACK_STALL_RETRY),
        };
        let sweep = self.channel_sweep(now);
        match (packs, sweep) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Acknowledgements made room on a channel stream: packs waiting for
    /// room can go.
    pub(super) fn channel_window_opened(&self) {
        if !self.channels.dirty.lock().is_empty() {
            self.channels.flusher.notify_one();
        }
    }

    /// Sends the packs of the lanes on the flusher's list. A lane a
    /// publish holds, or whose subscriber's window is full, stays on the
    /// list; what is left.
    pub(super) fn flush_dirty(&self) -> Left {
        let mut dirty = std::mem::take(&mut *self.channels.dirty.lock());
        if dirty.is_empty() {
            return Left::Nothing;
        }
        let mut busy = false;
        // Higher priorities first (the sort is stable: lanes of one
        // priority keep their order).
        dirty.sort_by_key(|((_, stream), _)| {
            std::cmp::Reverse(data_stream_kind(*stream).map_or(0, |(_, p)| p))
        });
        let mut left = Vec::new();
        // The guards are held until the corked datagrams are out, so a
        // publish that takes a lane next never sends ahead of its pack.
        let mut guards = Vec::with_capacity(dirty.len());
        let cork = self.cork();
        for ((peer, stream), lane) in &dirty {
            let Some(mut held) = lane.try_lock() else {
                left.push(((*peer, *stream), lane.clone()));
                busy = true;
                continue;
            };
            let Some(mut pack) = held.pack.take() else {
                held.queued = false;
                continue;
            };
            // A lane its subscriber left (`channel_peer_down` dropped it
            // from the table): its pack goes with it, and never onto a
            // session the peer may have opened since.
            let current = self
                .channels
                .lanes
                .lock()
                .get(&(*peer, *stream))
                .is_some_and(|now| Arc::ptr_eq(now, lane));
            if !current {
                held.queued = false;
                continue;
            }
            let reliable = data_stream_kind(*stream).is_some_and(|(reliable, _)| reliable);
            let Ok(state) = self.channel_stream(*peer, *stream, reliable) else {
                held.queued = false;
                continue; // open with another configuration
            };
            match streaming::send_on(self, &state, pack.frame(), Wait::Never, None) {
                // A full window: the pack waits for the timer's next try or
                // the next publish.
                Err(e) if e.kind() == ErrorKind::StreamBackpressure => {
                    held.pack = Some(pack);
                    left.push(((*peer, *stream), lane.clone()));
                }
                // Sent, or the subscriber's session is gone (and the
                // subscriber with it).
                _ => held.queued = false,
            }
            guards.push(held);
        }
        drop(cork);
        drop(guards);
        if left.is_empty() {
            return Left::Nothing;
        }
        self.channels.dirty.lock().extend(left);
        if busy {
            Left::Busy
        } else {
            Left::Blocked
        }
    }

    /// Starts the node's pack flusher: a task on the engine's runtime that
    /// sends packs as soon as it runs after a publish started one, so a
    /// burst's datagrams go out while the publisher goes on. It ends when
    /// the node shuts down.
    pub(super) fn start_pack_flusher(self: &Arc<Self>) -> std::io::Result<()> {
        /// How often the flusher tries again at once when a publish holds a
        /// lane, before it leaves the pack to the timer.
        const TRIES: usize = 16;
        let inner = self.clone();
        crate::runtime::spawn(async move {
            loop {
                inner.channels.flusher.notified().await;
                if inner.closed.load(Ordering::Acquire) {
                    break;
                }
                let mut tries = 0;
                loop {
                    match inner.flush_dirty() {
                        Left::Nothing => break,
                        Left::Blocked => {
                            inner.timer.due(Instant::now() + PACK_STALL_RETRY);
                            break;
                        }
                        Left::Busy => {
                            tries += 1;
                            if tries == TRIES {
                                inner.timer.due(Instant::now() + PACK_RETRY);
                                break;
                            }
                            tokio::task::yield_now().await;
                        }
                    }
                }
            }
        })?;
        Ok(())
    }

    /// The sweep: evicts members whose chains expired. Returns when it is
    /// next due.
    fn channel_sweep(&self, now: Instant) -> Option<Instant> {
        let due = (*self.channels.next_expiry.lock())?;
        let unix = unix_now();
        if unix < due {
            return Some(now + Duration::from_secs(due - unix));
        }
        let mut next: Option<u64> = None;
        let mut evicted = Vec::new();
        for (name, channel) in self.channels.registered.write().iter_mut() {
            channel.members.retain(|peer, member| match &member.grant {
                Some(g) if g.expires <= unix => {
                    evicted.push((name.clone(), *peer));
                    false
                }
                Some(g) => {
                    next = Some(next.map_or(g.expires, |n| n.min(g.expires)));
                    true
                }
                None => true,
            });
        }
        for (name, peer) in evicted {
            bump(&self.channels.counters.evicted_expired);
            self.record(
                "channel_evicted",
                json!({"peer": peer.to_string(), "channel": name, "reason": "expired"}),
            );
        }
        *self.channels.next_expiry.lock() = next;
        next.map(|n| now + Duration::from_secs(n.saturating_sub(unix)))
    }

    fn channel_publish(&self, channel: &str, payloads: &[&[u8]]) -> Result<PublishReport> {
        // When the caller called: a call soon after the previous one
        // returned is part of a burst.
        let called = Instant::now();
        let counters = &self.channels.counters;
        bump(&counters.published);
        let now = unix_now();
        let tokens = &self.channels.tokens;
        let mut report = PublishReport::default();
        let mut targets: Vec<u64> = Vec::new();
        let mut evict: Vec<(u64, &'static str)> = Vec::new();
        let reliable;
        let block;
        let block_timeout;
        let priority;
        {
            let registered = self.channels.registered.read();
            let Some(entry) = registered.get(channel) else {
                return Err(Error::new(
                    ErrorKind::UnknownChannel,
                    format!("channel {channel:?} is not registered on this node"),
                ));
            };
            if let Some(want) = &entry.config.publish_caps {
                let own = self
                    .capabilities
                    .index
                    .lock()
                    .get(self.node_id())
                    .map(|e| e.caps.clone());
                if !own.is_some_and(|caps| want.matches(&caps)) {
                    return Err(Error::new(
                        ErrorKind::ChannelUnauthorized,
                        format!(
                            "this node's announced capabilities do not satisfy {} (publish_caps of {channel})",
                            want.describe()
                        ),
                    ));
                }
            }
            reliable = entry.config.reliable;
            block = reliable && entry.config.congestion == Congestion::Block;
            block_timeout = entry.config.block_timeout;
            priority = entry.config.priority;
            report.attempted = entry.members.len() * payloads.len();
            for (peer, member) in &entry.members {
                match member.admit(tokens, now) {
                    Ok(()) => targets.push(*peer),
                    Err(GuardRefusal::Expired) => {
                        report.skipped.push((*peer, SkipReason::Expired));
                        evict.push((*peer, "expired"));
                    }
                    Err(GuardRefusal::Revoked) => {
                        report.skipped.push((*peer, SkipReason::Revoked));
                        evict.push((*peer, "revoked"));
                    }
                }
            }
        }
        if !evict.is_empty() {
            if let Some(entry) = self.channels.registered.write().get_mut(channel) {
                for (peer, reason) in &evict {
                    entry.members.remove(peer);
                    if *reason == "revoked" {
                        bump(&counters.evicted_revoked);
                    } else {
                        bump(&counters.evicted_expired);
                    }
                    self.record(
                        "channel_evicted",
                        json!({"peer": peer.to_string(), "channel": channel, "reason": reason}),
                    );
                }
            }
        }
        let stream = data_stream(reliable, priority);
        let single = match payloads {
            [one] if one.len() <= PACK_MESSAGE_LIMIT => Some(*one),
            _ => None,
        };
        // Each subscriber's lane (its pending pack) is held while its
        // frames go out, so a flush never overtakes them. Lanes are locked
        // in node-id order, the same for every publish, so two publishes on
        // channels that share subscribers never wait on each other in a
        // cycle.
        targets.sort_unstable();
        let mut lanes = Vec::with_capacity(targets.len());
        for peer in targets {
            match self.channel_stream(peer, stream, reliable) {
                Ok(state) => lanes.push((peer, state, self.channels.lane(peer, stream))),
                Err(_) => report.skipped.push((peer, SkipReason::NoSession)),
            }
        }
        let mut guards: Vec<_> = lanes.iter().map(|(_, _, lane)| lane.lock()).collect();
        // Small messages of one publish share sealed datagrams (encoded once
        // for every subscriber that sends them at once).
        let mut encoded: Option<Frames> = None;
        let mut packed = Vec::new();
        // The first pass's datagrams leave together (one `sendmmsg` for many
        // subscribers) when it ends, before anything waits for an answer.
        let cork = self.cork();
        // First pass: every subscriber gets what fits in its window now.
        // Second pass (Block only): wait for the ones that were full, each up
        // to the block timeout, so a slow subscriber delays no other's copy.
        let mut full: Vec<(usize, Frames, usize)> = Vec::new();
        for (at, ((peer, state, lane), held)) in lanes.iter().zip(guards.iter_mut()).enumerate() {
            // A lone small message joins the subscriber's pack when one is
            // waiting, or starts one when the subscriber is busy (many
            // messages unacknowledged) or the publisher is in a burst; the
            // flusher sends it as soon as it runs. Otherwise it goes at
            // once, so light traffic waits for nothing. A pack that is full
            // (or of another channel) goes now, and in a burst the message
            // starts the next pack.
            let mut starts_pack = false;
            if let Some(payload) = single {
                let held = &mut **held;
                if let Some(pack) = held.pack.as_mut() {
                    if pack.channel == channel && pack.fits(payload) {
                        pack.push(payload);
                        report.delivered += 1;
                        continue;
                    }
                }
                starts_pack = streaming::in_flight(state) >= PACK_AFTER
                    || held
                        .last
                        .is_some_and(|last| called.saturating_duration_since(last) < BURST_GAP);
            }
            let mut frames = match held.pack.take() {
                // Already counted as delivered when packed.
                Some(pack) => vec![(pack.into_frame().0, 0)],
                None => Vec::new(),
            };
            match single {
                Some(payload) if starts_pack => {
                    held.pack = Some(Pack::new(channel, payload, pack_limit(reliable)));
                    if !held.queued {
                        held.queued = true;
                        packed.push(((*peer, stream), lane.clone()));
                    }
                    report.delivered += 1;
                }
                _ => frames.extend(
                    encoded
                        .get_or_insert_with(|| {
                            encode_batch(channel, payloads, pack_limit(reliable))
                        })
                        .iter()
                        .cloned(),
                ),
            }
            for (i, (bytes, count)) in frames.iter().enumerate() {
                match streaming::send_on(self, state, bytes, Wait::Never, None) {
                    Ok(()) => report.delivered += count,
                    Err(e) if e.kind() == ErrorKind::StreamBackpressure && block => {
                        full.push((at, frames.clone(), i));
                        break;
                    }
                    Err(e) => {
                        report.skipped.push((*peer, skip_reason(&e)));
                        break;
                    }
                }
            }
        }
        drop(cork);
        for (at, frames, from) in full {
            let (peer, state, _) = &lanes[at];
            let deadline = Instant::now() + block_timeout;
            for (bytes, count) in &frames[from..] {
                match streaming::send_on(self, state, bytes, Wait::Until(Some(deadline)), None) {
                    Ok(()) => report.delivered += count,
                    Err(e) => {
                        report.skipped.push((*peer, skip_reason(&e)));
                        break;
                    }
                }
            }
        }
        if single.is_some() {
            let finished = Instant::now();
            for held in guards.iter_mut() {
                held.last = Some(finished);
            }
        }
        drop(guards);
        if !packed.is_empty() {
            self.channels.dirty.lock().extend(packed);
            self.channels.flusher.notify_one();
        }
        add(&counters.delivered, report.delivered);
        add(&counters.skipped, report.skipped.len());
        report.skipped.sort_by_key(|(peer, _)| *peer);
        Ok(report)
    }

    fn channel_data(&self, publisher: u64, priority: u8, payload: &[u8]) {
        let Some((name, bodies)) = decode_data(payload) else {
            return;
        };
        let Ok(channel) = ChannelName::new(name) else {
            return;
        };
        let name: Arc<str> = Arc::from(name);
        let subs = self.channels.subs.read();
        for sub in subs.values() {
            if sub.publisher == publisher && sub.pattern.matches(&channel) {
                add(&self.channels.counters.received, bodies.len());
                sub.priorities.fetch_or(1 << priority, Ordering::Relaxed);
                sub.queue.push(
                    bodies.iter().map(|body| ChannelMessage {
                        publisher,
                        channel: name.clone(),
                        payload: body.to_vec(),
                    }),
                    true,
                    None,
                );
            }
        }
    }

    fn channel_peer_down(&self, node_id: u64) {
        self.channels
            .lanes
            .lock()
            .retain(|(peer, _), _| *peer != node_id);
        for channel in self.channels.registered.write().values_mut() {
            channel.members.remove(&node_id);
        }
        self.channels.standing.lock().retain(|s| s.peer != node_id);
        self.channels.failures.lock().remove(&node_id);
    }
}

/// What a flush of the dirty lanes left behind.
pub(super) enum Left {
    /// Every pack went.
    Nothing,
    /// A publish held a lane: try again soon.
    Busy,
    /// Only full windows: an acknowledgement wakes the flusher.
    Blocked,
}

/// Why a failed send skips a subscriber.
fn skip_reason(e: &Error) -> SkipReason {
    match e.kind() {
        ErrorKind::StreamBackpressure | ErrorKind::MeshTimeout => SkipReason::Backpressure,
        _ => SkipReason::NoSession,
    }
}
