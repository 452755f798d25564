//! Channels over the mesh: a publisher registers named channels with their
//! rules, subscribers ask to join, and a publish reaches every subscriber
//! the rules still admit.
//!
//! # Joining
//!
//! A subscriber sends the publisher a subscribe request for a channel name
//! or a pattern (`sensors/*`, `sensors/**`), with a permission-token chain
//! when the channel asks for one, and waits for the acknowledgement. The
//! publisher checks, for each registered channel the request matches:
//!
//! | check | refusal |
//! |---|---|
//! | the peer has not been refused too often lately (checked first, before any signature) | `rate_limited` |
//! | the channel is registered | `unknown_channel` |
//! | the channel's [`Visibility`] reaches the peer's subnet | `subnet` |
//! | the peer's announced capabilities satisfy `subscribe_caps` | `unauthorized` |
//! | with `require_token`: a chain this node's [`TokenCache`] verifies, granting `subscribe` on the channel to the peer's key | `unauthorized` |
//!
//! The request is accepted when at least one channel admits the peer; it
//! joins those channels' rosters (and, for a pattern, channels registered
//! later that admit it). Every refusal is counted and written to the audit
//! log.
//!
//! # Publishing
//!
//! [`publish`](super::MeshNode::publish) sends to each roster member the
//! auth guard admits and returns a [`PublishReport`]: how many were
//! attempted, how many were sent, and who was skipped and why. The guard's
//! check on the publish path is an epoch compare and an expiry compare: a
//! revocation in the token cache bumps its epoch, so the next publish
//! re-checks the member's chain ids and drops a revoked one; an expired
//! chain is skipped there and evicted by the sweep at its expiry. A
//! subscriber whose session goes away leaves every roster.
//!
//! # Wire
//!
//! Control messages are JSON on the
//! [`CHANNELS`](super::protocol::CHANNELS) protocol's reliable streams:
//! subscribe and unsubscribe on stream 0, acknowledgements on stream 3.
//! Data goes on stream 1 (reliable channels) or 2 (fire-and-forget): a
//! 2-byte little-endian name length, the channel name, the payload.

use super::inbox::{Queue, Queued};
use crate::capability::Predicate;
use crate::channel::{ChannelName, ChannelPattern};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::token::{PermissionToken, TokenCache, TokenId};
use crate::subnet::{SubnetId, Visibility};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The control stream subscribers send on (subscribe, unsubscribe).
pub(super) const CONTROL: u64 = 0;
/// The control stream publishers answer on (acknowledgements). Apart from
/// [`CONTROL`] so an answer, sent while the request's stream is delivering,
/// never opens that same stream.
pub(super) const REPLY: u64 = 3;
/// Data of reliable channels (priority 0; see [`data_stream`]).
pub(super) const DATA_RELIABLE: u64 = 1;
/// Data of fire-and-forget channels (priority 0).
pub(super) const DATA_FAST: u64 = 2;
/// Data of reliable channels of priority 1..=7: this plus the priority.
const DATA_RELIABLE_PRIORITY: u64 = 16;
/// Data of fire-and-forget channels of priority 1..=7.
const DATA_FAST_PRIORITY: u64 = 32;

/// The highest channel priority (the header's priority field is 0..=7).
pub const MAX_CHANNEL_PRIORITY: u8 = 7;

/// The data stream of a channel's messages to a subscriber: one per
/// reliability and priority, so a backlog at one priority (a full window)
/// never holds up another's messages.
pub(super) fn data_stream(reliable: bool, priority: u8) -> u64 {
    match (reliable, priority) {
        (true, 0) => DATA_RELIABLE,
        (false, 0) => DATA_FAST,
        (true, p) => DATA_RELIABLE_PRIORITY + u64::from(p),
        (false, p) => DATA_FAST_PRIORITY + u64::from(p),
    }
}

/// A data stream's reliability and priority; `None` for other streams.
pub(super) fn data_stream_kind(stream: u64) -> Option<(bool, u8)> {
    let max = u64::from(MAX_CHANNEL_PRIORITY);
    match stream {
        DATA_RELIABLE => Some((true, 0)),
        DATA_FAST => Some((false, 0)),
        s if (DATA_RELIABLE_PRIORITY + 1..=DATA_RELIABLE_PRIORITY + max).contains(&s) => {
            Some((true, (s - DATA_RELIABLE_PRIORITY) as u8))
        }
        s if (DATA_FAST_PRIORITY + 1..=DATA_FAST_PRIORITY + max).contains(&s) => {
            Some((false, (s - DATA_FAST_PRIORITY) as u8))
        }
        _ => None,
    }
}
/// In flight per subscriber on a reliable data stream.
pub(super) const DATA_WINDOW: u32 = 1024;
/// Refusals from one peer within [`FAILURE_WINDOW`] before its requests are
/// refused unchecked.
pub const MAX_FAILURES: u32 = 8;
/// How long refusals count against a peer.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(10);

/// A channel a node publishes on, and its rules.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// The channel.
    pub name: ChannelName,
    /// Which subnets may subscribe (default: all).
    pub visibility: Visibility,
    /// What this node's own announced capabilities must satisfy for it to
    /// publish (default: nothing).
    pub publish_caps: Option<Predicate>,
    /// What a subscriber's announced capabilities must satisfy (default:
    /// nothing).
    pub subscribe_caps: Option<Predicate>,
    /// Whether a subscriber must present a token chain granting
    /// `subscribe` on the channel (default: no).
    pub require_token: bool,
    /// Reliable delivery (default) or fire-and-forget.
    pub reliable: bool,
    /// What a publish on a reliable channel does when a subscriber's window
    /// is full (default [`Congestion::Block`]).
    pub congestion: Congestion,
    /// How long [`Congestion::Block`] waits for one subscriber's window
    /// within one publish before skipping it as `backpressure` (default
    /// [`DEFAULT_BLOCK_TIMEOUT`]).
    pub block_timeout: Duration,
    /// 0 (default) to [`MAX_CHANNEL_PRIORITY`]. Each priority has its own
    /// data stream to each subscriber, so a backlog on a lower one never
    /// holds up a higher one's messages, and the pack flusher sends higher
    /// priorities first. Order holds within a channel, not across channels
    /// of different priorities.
    pub priority: u8,
}

/// How long a blocking publish waits for a full subscriber by default.
pub const DEFAULT_BLOCK_TIMEOUT: Duration = Duration::from_secs(1);

/// What a publish on a reliable channel does when a subscriber's stream
/// window is full (it has [`DATA_WINDOW`] messages unacknowledged).
///
/// | | a slow subscriber | a gone subscriber (until its session expires) |
/// |---|---|---|
/// | `Block` | slows the publisher; nothing lost | each publish waits up to `block_timeout` for it, then skips it |
/// | `Drop` | misses messages (`backpressure` in the report) | skipped at once |
///
/// Either way a publish first sends to every subscriber with room and only
/// then waits, so one slow subscriber does not delay the others' copies of
/// the same publish. Fire-and-forget channels never wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Congestion {
    /// Wait for room (up to the channel's `block_timeout`).
    Block,
    /// Skip the subscriber for this publish.
    Drop,
}

impl Congestion {
    /// The stable name (`block`, `drop`).
    pub fn as_str(self) -> &'static str {
        match self {
            Congestion::Block => "block",
            Congestion::Drop => "drop",
        }
    }

    /// Reads a stable name; `channel:invalid_config` otherwise.
    pub fn parse(text: &str) -> Result<Congestion> {
        match text {
            "block" => Ok(Congestion::Block),
            "drop" => Ok(Congestion::Drop),
            other => Err(Error::new(
                ErrorKind::InvalidChannelConfig,
                format!("\"congestion\" is \"block\" or \"drop\", got {other:?}"),
            )),
        }
    }
}

impl ChannelConfig {
    /// A global, reliable channel with no rules.
    pub fn new(name: ChannelName) -> ChannelConfig {
        ChannelConfig {
            name,
            visibility: Visibility::Global,
            publish_caps: None,
            subscribe_caps: None,
            require_token: false,
            reliable: true,
            congestion: Congestion::Block,
            block_timeout: DEFAULT_BLOCK_TIMEOUT,
            priority: 0,
        }
    }

    /// Reads the JSON form: `{"name", "visibility", "publish_caps",
    /// "subscribe_caps", "require_token", "reliable", "congestion",
    /// "block_timeout_ms", "priority"}` (only `name` required; the caps are
    /// predicates' JSON; `block_timeout_ms` from 1 to 3 600 000; `priority`
    /// from 0 to 7).
    pub fn from_json(json: &str) -> Result<ChannelConfig> {
        let bad = |why: String| Error::new(ErrorKind::InvalidChannelConfig, why);
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| bad(format!("a channel config must be JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("a channel config is a JSON object".into()))?;
        let known = [
            "name",
            "visibility",
            "publish_caps",
            "subscribe_caps",
            "require_token",
            "reliable",
            "congestion",
            "block_timeout_ms",
            "priority",
        ];
        if let Some(k) = object.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(bad(format!(
                "unknown key {k:?} in a channel config ({})",
                known.join(", ")
            )));
        }
        let name = object
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("a channel config needs a \"name\"".into()))?;
        let mut config = ChannelConfig::new(ChannelName::new(name)?);
        if let Some(v) = object.get("visibility") {
            let text = v
                .as_str()
                .ok_or_else(|| bad("\"visibility\" must be a string".into()))?;
            config.visibility = Visibility::parse(text)?;
        }
        let predicate = |key: &str| -> Result<Option<Predicate>> {
            match object.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => Predicate::from_value(v).map(Some),
            }
        };
        config.publish_caps = predicate("publish_caps")?;
        config.subscribe_caps = predicate("subscribe_caps")?;
        let flag = |key: &str, default: bool| -> Result<bool> {
            match object.get(key) {
                None => Ok(default),
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| bad(format!("{key:?} must be true or false"))),
            }
        };
        config.require_token = flag("require_token", false)?;
        config.reliable = flag("reliable", true)?;
        if let Some(v) = object.get("congestion") {
            let text = v
                .as_str()
                .ok_or_else(|| bad("\"congestion\" must be a string".into()))?;
            config.congestion = Congestion::parse(text)?;
        }
        if let Some(v) = object.get("block_timeout_ms") {
            let ms = v
                .as_u64()
                .filter(|ms| (1..=MAX_BLOCK_TIMEOUT_MS).contains(ms))
                .ok_or_else(|| {
                    bad(format!(
                        "\"block_timeout_ms\" must be a whole number from 1 to {MAX_BLOCK_TIMEOUT_MS}, got {v}"
                    ))
                })?;
            config.block_timeout = Duration::from_millis(ms);
        }
        if let Some(v) = object.get("priority") {
            config.priority = v
                .as_u64()
                .filter(|p| *p <= u64::from(MAX_CHANNEL_PRIORITY))
                .map(|p| p as u8)
                .ok_or_else(|| {
                    bad(format!(
                        "\"priority\" must be a whole number from 0 to {MAX_CHANNEL_PRIORITY}, got {v}"
                    ))
                })?;
        }
        Ok(config)
    }

    /// The JSON form with every default filled in: what this node enforces.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name.as_str(),
            "visibility": self.visibility.as_str(),
            "publish_caps": self.publish_caps.as_ref().map(Predicate::to_value),
            "subscribe_caps": self.subscribe_caps.as_ref().map(Predicate::to_value),
            "require_token": self.require_token,
            "reliable": self.reliable,
            "congestion": self.congestion.as_str(),
            "block_timeout_ms": self.block_timeout.as_millis() as u64,
            "priority": self.priority,
        })
    }
}

/// The longest `block_timeout` a channel accepts (one hour).
pub const MAX_BLOCK_TIMEOUT_MS: u64 = 3_600_000;

/// Why a publish skipped a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// Its token chain expired (it is evicted).
    Expired,
    /// A token of its chain was revoked (it is evicted).
    Revoked,
    /// Its reliable stream's window is full.
    Backpressure,
    /// It has no session with this node now.
    NoSession,
}

impl SkipReason {
    /// The stable name (`expired`, `revoked`, `backpressure`, `no_session`).
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Expired => "expired",
            SkipReason::Revoked => "revoked",
            SkipReason::Backpressure => "backpressure",
            SkipReason::NoSession => "no_session",
        }
    }
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Roster members considered (for `publish_many`: members × messages).
    pub attempted: usize,
    /// Messages handed to a subscriber's stream.
    pub delivered: usize,
    /// Who was skipped, and why.
    pub skipped: Vec<(u64, SkipReason)>,
}

impl PublishReport {
    /// The report as JSON: `{"attempted", "delivered", "skipped":
    /// [{"node_id" (decimal string), "reason"}]}`.
    pub fn to_json(&self) -> String {
        let skipped: Vec<serde_json::Value> = self
            .skipped
            .iter()
            .map(|(node, reason)| {
                serde_json::json!({"node_id": node.to_string(), "reason": reason.as_str()})
            })
            .collect();
        serde_json::json!({
            "attempted": self.attempted,
            "delivered": self.delivered,
            "skipped": skipped,
        })
        .to_string()
    }
}

/// A message received on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMessage {
    /// The publisher's node id.
    pub publisher: u64,
    /// The channel it was published on.
    pub channel: Arc<str>,
    /// The bytes.
    pub payload: Vec<u8>,
}

impl Queued for ChannelMessage {
    fn payload_len(&self) -> usize {
        self.payload.len()
    }
}

super::stats::stats_record! {
    /// Counters of the channel layer.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
    pub struct ChannelStats {
        /// Publish calls on this node.
        pub published: u64,
        /// Messages handed to subscribers' streams.
        pub delivered: u64,
        /// Subscribers skipped by publishes.
        pub skipped: u64,
        /// Subscribe requests accepted here.
        pub subscribes_accepted: u64,
        /// Subscribe requests refused here (every reason).
        pub subscribes_refused: u64,
        /// Of those, refused by the failure limiter before any check.
        pub rate_limited: u64,
        /// Members evicted because a token of their chain was revoked.
        pub evicted_revoked: u64,
        /// Members evicted because their chain expired.
        pub evicted_expired: u64,
        /// Channel messages received for this node's subscriptions.
        pub received: u64,
    }
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) published: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) skipped: AtomicU64,
    pub(super) subscribes_accepted: AtomicU64,
    pub(super) subscribes_refused: AtomicU64,
    pub(super) rate_limited: AtomicU64,
    pub(super) evicted_revoked: AtomicU64,
    pub(super) evicted_expired: AtomicU64,
    pub(super) received: AtomicU64,
}

impl Counters {
    pub(super) fn snapshot(&self) -> ChannelStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ChannelStats {
            published: get(&self.published),
            delivered: get(&self.delivered),
            skipped: get(&self.skipped),
            subscribes_accepted: get(&self.subscribes_accepted),
            subscribes_refused: get(&self.subscribes_refused),
            rate_limited: get(&self.rate_limited),
            evicted_revoked: get(&self.evicted_revoked),
            evicted_expired: get(&self.evicted_expired),
            received: get(&self.received),
        }
    }
}

/// A subscriber's verified token chain, as the guard needs it.
#[derive(Debug)]
pub(super) struct Grant {
    /// Every token id of the chain (a revoked one ends the membership).
    pub(super) ids: Vec<TokenId>,
    /// The chain's earliest expiry, seconds since the epoch.
    pub(super) expires: u64,
    /// The token cache's epoch when the ids were last checked.
    pub(super) epoch: AtomicU64,
}

/// One subscriber of one channel.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) grant: Option<Grant>,
}

/// The auth guard's check on the publish path: an expiry compare and, when
/// the token cache's epoch moved, a look at the chain's ids.
#[inline]
pub fn guard_admits(
    grant_expires: u64,
    grant_epoch: &AtomicU64,
    ids: &[TokenId],
    cache: &TokenCache,
    now: u64,
) -> std::result::Result<(), GuardRefusal> {
    if now >= grant_expires {
        return Err(GuardRefusal::Expired);
    }
    let epoch = cache.epoch();
    if grant_epoch.load(Ordering::Relaxed) != epoch {
        if ids.iter().any(|id| cache.is_revoked(id)) {
            return Err(GuardRefusal::Revoked);
        }
        grant_epoch.store(epoch, Ordering::Relaxed);
    }
    Ok(())
}

/// Why [`guard_admits`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardRefusal {
    /// The chain expired.
    Expired,
    /// A token of the chain was revoked.
    Revoked,
}

impl Member {
    pub(super) fn admit(
        &self,
        cache: &TokenCache,
        now: u64,
    ) -> std::result::Result<(), GuardRefusal> {
        match &self.grant {
            None => Ok(()),
            Some(g) => guard_admits(g.expires, &g.epoch, &g.ids, cache, now),
        }
    }
}

/// A registered channel and its roster.
pub(super) struct Registered {
    pub(super) config: ChannelConfig,
    pub(super) members: HashMap<u64, Member>,
}

/// A pattern subscription kept for channels registered later.
pub(super) struct Standing {
    pub(super) peer: u64,
    pub(super) pattern: ChannelPattern,
    pub(super) chain: Vec<PermissionToken>,
}

/// One of this node's subscriptions.
pub(super) struct Sub {
    pub(super) publisher: u64,
    pub(super) pattern: ChannelPattern,
    pub(super) queue: Arc<Queue<ChannelMessage>>,
    /// The priorities (a bit each) of the data streams that delivered into
    /// the queue: a full queue holds back only those streams, so a backlog
    /// of one priority never stalls another's.
    pub(super) priorities: std::sync::atomic::AtomicU8,
}

/// The answer to a subscribe request.
#[derive(Debug, Clone)]
pub(super) struct Ack {
    pub(super) accepted: Vec<String>,
    pub(super) reason: Option<String>,
    pub(super) detail: String,
}

/// The channel layer's state, a part of every node.
pub(super) struct ChannelState {
    /// Channels this node publishes, by name.
    pub(super) registered: RwLock<HashMap<String, Registered>>,
    pub(super) standing: Mutex<Vec<Standing>>,
    /// This node's subscriptions, by id.
    pub(super) subs: RwLock<HashMap<u64, Arc<Sub>>>,
    pub(super) next_id: AtomicU64,
    /// Subscribe requests waiting for their acknowledgement, by request id.
    pub(super) pending: Mutex<HashMap<u64, Option<Ack>>>,
    pub(super) answered: Condvar,
    /// Recent refusals by peer: count and when the window started.
    pub(super) failures: Mutex<HashMap<u64, (u32, Instant)>>,
    /// The tokens this node accepts from subscribers.
    pub(super) tokens: Arc<TokenCache>,
    /// When the next member's chain expires (the sweep's deadline).
    pub(super) next_expiry: Mutex<Option<u64>>,
    pub(super) counters: Counters,
    /// Each subscriber's data stream lane: messages packed while the stream
    /// is busy, by (peer, stream).
    pub(super) lanes: Mutex<HashMap<(u64, u64), Lane>>,
    /// Lanes with a pack for the flusher to send.
    pub(super) dirty: Mutex<Vec<((u64, u64), Lane)>>,
    /// Wakes the node's pack flusher.
    pub(super) flusher: tokio::sync::Notify,
}

impl ChannelState {
    /// The lane of `peer`'s data stream `stream`.
    pub(super) fn lane(&self, peer: u64, stream: u64) -> Lane {
        self.lanes.lock().entry((peer, stream)).or_default().clone()
    }

    pub(super) fn new() -> Self {
        ChannelState {
            registered: RwLock::new(HashMap::new()),
            standing: Mutex::new(Vec::new()),
            subs: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
            answered: Condvar::new(),
            failures: Mutex::new(HashMap::new()),
            tokens: Arc::new(TokenCache::new()),
            next_expiry: Mutex::new(None),
            lanes: Mutex::new(HashMap::new()),
            dirty: Mutex::new(Vec::new()),
            flusher: tokio::sync::Notify::new(),
            counters: Counters::default(),
        }
    }

    /// Whether `peer` is over the failure limit now (and forgets old
    /// windows).
    pub(super) fn limited(&self, peer: u64, now: Instant) -> bool {
        let mut failures = self.failures.lock();
        match failures.get(&peer) {
            Some((count, since)) if now.duration_since(*since) < FAILURE_WINDOW => {
                *count >= MAX_FAILURES
            }
            Some(_) => {
                failures.remove(&peer);
                false
            }
            None => false,
        }
    }

    /// Counts a refusal against `peer`.
    pub(super) fn failed(&self, peer: u64, now: Instant) {
        let mut failures = self.failures.lock();
        let entry = failures.entry(peer).or_insert((0, now));
        if now.duration_since(entry.1) >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }
}

/// Encodes a data message.
pub(super) fn encode_data(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + name.len() + payload.len());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Unacknowledged messages on a subscriber's reliable stream from which a
/// lone small message is packed instead of sent at once: well above what a
/// publisher waiting for each answer ever has in flight (a receiver
/// acknowledges every [`ACK_EVERY`](super::stream::ACK_EVERY) messages), so
/// only a publisher that outruns its subscriber packs.
pub(super) const PACK_AFTER: usize = 2 * super::stream::ACK_EVERY as usize;

/// A lone message that follows the previous publish to the same subscriber
/// within this gap is part of a burst: it goes into the subscriber's pack,
/// which the node's pack flusher sends as soon as it runs (on another core
/// while the publisher goes on), so a publish loop sends few large
/// datagrams. A publisher that waits for anything between messages (an
/// answer, a clock, work of its own) leaves longer gaps and sends each
/// message at once.
pub(super) const BURST_GAP: Duration = Duration::from_micros(5);

/// How long a pack the flusher could not send because a publish held the
/// lane waits before the timer tries again.
pub(super) const PACK_RETRY: Duration = Duration::from_millis(1);

/// How often the timer looks at packs waiting for a full window, in case an
/// acknowledgement's wake-up was missed (acknowledgements wake the flusher).
pub(super) const PACK_STALL_RETRY: Duration = Duration::from_millis(50);

/// The largest message that is packed with others.
pub(super) const PACK_MESSAGE_LIMIT: usize = 4 * 1024;

/// One subscriber data stream's lane: its pending pack and its pace.
pub(super) type Lane = Arc<Mutex<LaneState>>;

/// What a lane holds (under its lock, which is held while its datagrams go
/// out, so a flush never overtakes a publish or the other way round).
#[derive(Default)]
pub(super) struct LaneState {
    /// Messages waiting to share a datagram.
    pub(super) pack: Option<Pack>,
    /// When the last publish to this subscriber finished.
    pub(super) last: Option<Instant>,
    /// Whether the lane is on the flusher's list.
    pub(super) queued: bool,
}

/// Data messages and how many payloads each carries.
pub(super) type Frames = Vec<(Vec<u8>, usize)>;

/// Messages of one channel waiting to share a datagram to one subscriber:
/// the packed data message itself, built as messages arrive (at most
/// [`PACK_LIMIT`] bytes).
pub(super) struct Pack {
    pub(super) channel: String,
    frame: Vec<u8>,
    count: usize,
    limit: usize,
}

impl Pack {
    /// A pack of at most `limit` bytes ([`pack_limit`]).
    pub(super) fn new(channel: &str, payload: &[u8], limit: usize) -> Pack {
        let mut frame = Vec::with_capacity(2048);
        packed_head(&mut frame, channel, 0);
        push_packed(&mut frame, payload);
        Pack {
            channel: channel.to_string(),
            frame,
            count: 1,
            limit,
        }
    }

    /// Whether `payload` still fits.
    pub(super) fn fits(&self, payload: &[u8]) -> bool {
        self.frame.len() + 4 + payload.len() <= self.limit && self.count < usize::from(u16::MAX)
    }

    pub(super) fn push(&mut self, payload: &[u8]) {
        push_packed(&mut self.frame, payload);
        self.count += 1;
    }

    /// The data message that carries it.
    pub(super) fn frame(&mut self) -> &[u8] {
        self.frame[2..4].copy_from_slice(&(self.count as u16).to_le_bytes());
        &self.frame
    }

    /// The data message that carries it, and how many payloads that is.
    pub(super) fn into_frame(mut self) -> (Vec<u8>, usize) {
        self.frame();
        (self.frame, self.count)
    }
}

/// Writes the head of a packed data message.
fn packed_head(frame: &mut Vec<u8>, name: &str, count: usize) {
    frame.extend_from_slice(&PACKED.to_le_bytes());
    frame.extend_from_slice(&(count as u16).to_le_bytes());
    frame.extend_from_slice(&(name.len() as u16).to_le_bytes());
    frame.extend_from_slice(name.as_bytes());
}

/// Appends one payload to a packed data message.
fn push_packed(frame: &mut Vec<u8>, payload: &[u8]) {
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(payload);
}

/// The first two bytes of a packed data message (no channel name is this
/// long).
const PACKED: u16 = 0xFFFF;

/// The most bytes one packed data message carries: small messages of one
/// publish share a sealed datagram up to this size.
pub(super) const PACK_LIMIT: usize = 16 * 1024;

/// The most bytes one packed data message carries on a fire-and-forget
/// channel: a sealed datagram of it stays within a 1500-byte Ethernet frame,
/// so it is never split into IP fragments, whose loss (nothing resends it)
/// would take every message of the pack with it.
pub(super) const FAST_PACK_LIMIT: usize = 1200;

/// The pack limit of a channel's data.
pub(super) fn pack_limit(reliable: bool) -> usize {
    if reliable {
        PACK_LIMIT
    } else {
        FAST_PACK_LIMIT
    }
}

/// Encodes `payloads` of one channel into data messages, each with how many
/// payloads it carries: consecutive payloads that fit together in
/// [`PACK_LIMIT`] bytes share one packed message (`0xFFFF`, a `u16` count,
/// the name, then each payload behind its `u32` length); a lone payload is a
/// plain message.
pub(super) fn encode_batch(name: &str, payloads: &[&[u8]], limit: usize) -> Frames {
    let head = 2 + 2 + 2 + name.len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < payloads.len() {
        let mut end = start;
        let mut size = head;
        while end < payloads.len()
            && end - start < usize::from(u16::MAX)
            && (end == start || size + 4 + payloads[end].len() <= limit)
        {
            size += 4 + payloads[end].len();
            end += 1;
        }
        if end - start == 1 {
            out.push((encode_data(name, payloads[start]), 1));
        } else {
            let mut frame = Vec::with_capacity(size);
            packed_head(&mut frame, name, end - start);
            for p in &payloads[start..end] {
                push_packed(&mut frame, p);
            }
            out.push((frame, end - start));
        }
        start = end;
    }
    out
}

/// Decodes a data message, plain or packed, into its channel name and
/// payloads; `None` for a malformed one (nothing of it is delivered).
pub(super) fn decode_data(bytes: &[u8]) -> Option<(&str, Vec<&[u8]>)> {
    let len = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    if len != PACKED {
        let len = usize::from(len);
        let name = std::str::from_utf8(bytes.get(2..2 + len)?).ok()?;
        return Some((name, vec![&bytes[2 + len..]]));
    }
    let count = usize::from(u16::from_le_bytes([*bytes.get(2)?, *bytes.get(3)?]));
    let name_len = usize::from(u16::from_le_bytes([*bytes.get(4)?, *bytes.get(5)?]));
    let name = std::str::from_utf8(bytes.get(6..6 + name_len)?).ok()?;
    let mut at = 6 + name_len;
    let mut payloads = Vec::with_capacity(count);
    for _ in 0..count {
        let n = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        payloads.push(bytes.get(at + 4..(at + 4).checked_add(n)?)?);
        at += 4 + n;
    }
    (at == bytes.len()).then_some((name, payloads))
}

/// The error a refused subscribe returns, from the acknowledgement's reason.
pub(super) fn refusal_error(reason: &str, detail: &str) -> Error {
    let kind = match reason {
        "unknown_channel" => ErrorKind::UnknownChannel,
        "rate_limited" => ErrorKind::ChannelRateLimited,
        "subnet" => ErrorKind::ChannelSubnet,
        _ => ErrorKind::ChannelUnauthorized,
    };
    Error::new(kind, detail.to_string())
}

/// The subnet a peer is taken to be in when it has not announced.
pub(super) const UNANNOUNCED: SubnetId = SubnetId::GLOBAL;

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn data_messages_round_trip_and_refuse_short_input() {
        let bytes = encode_data("sensors/lidar", b"\x00\x01payload");
        assert_eq!(
            decode_data(&bytes),
            Some(("sensors/lidar", vec![&b"\x00\x01payload"[..]]))
        );
        assert_eq!(decode_data(&[]), None);
        assert_eq!(decode_data(&[5, 0, b'a']), None);
        assert_eq!(decode_data(&[1, 0, 0xff]), None);
    }

    #[test]
    fn small_payloads_pack_and_large_ones_go_alone() {
        let small: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_le_bytes().repeat(16)).collect();
        let refs: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
        let frames = encode_batch("a/b", &refs, PACK_LIMIT);
        assert!(frames.len() < 10, "{} frames", frames.len());
        assert!(frames.iter().all(|(f, _)| f.len() <= PACK_LIMIT));
        assert_eq!(frames.iter().map(|(_, n)| n).sum::<usize>(), 300);
        let mut back = Vec::new();
        for (frame, n) in &frames {
            let (name, payloads) = decode_data(frame).unwrap();
            assert_eq!((name, payloads.len()), ("a/b", *n));
            back.extend(payloads.into_iter().map(<[u8]>::to_vec));
        }
        assert_eq!(back, small);
        // One payload, or one too big to share: a plain message.
        let big = vec![7u8; PACK_LIMIT];
        let frames = encode_batch("a", &[&big, b"x", b""], PACK_LIMIT);
        assert_eq!(frames.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(frames[0].0, encode_data("a", &big));
        assert_eq!(decode_data(&frames[1].0).unwrap().1, [&b"x"[..], &b""[..]]);
        assert_eq!(
            encode_batch("a", &[b"solo"], PACK_LIMIT),
            [(encode_data("a", b"solo"), 1)]
        );
        // Malformed packed messages deliver nothing.
        let good = &frames[1].0;
        for cut in 0..good.len() {
            assert_eq!(decode_data(&good[..cut]), None, "cut at {cut}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(decode_data(&longer), None);
        let mut lying = good.clone();
        lying[2] = 200; // the count says 200
        assert_eq!(decode_data(&lying), None);
    }

    #[test]
    fn configs_read_from_json() {
        let c = ChannelConfig::from_json(
            r#"{"name":"a/b","visibility":"subnet_local","subscribe_caps":{"exists":"gpu"},"require_token":true,"reliable":false}"#,
        )
        .unwrap();
        assert_eq!(c.visibility, Visibility::SubnetLocal);
        assert!(c.require_token && !c.reliable && c.subscribe_caps.is_some());
        for bad in [
            "{}",
            r#"{"name":"a b"}"#,
            r#"{"name":"a","colour":1}"#,
            r#"{"name":"a","visibility":"public"}"#,
            r#"{"name":"a","reliable":1}"#,
            r#"{"name":"a","subscribe_caps":{"exist":"x"}}"#,
        ] {
            assert!(ChannelConfig::from_json(bad).is_err(), "{bad}");
        }
    }
}
