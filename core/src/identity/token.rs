//! Permission tokens: ed25519-signed grants of what a subject may do on
//! which channels, for how long, and whether it may pass that on.
//!
//! A token names its **issuer** (who signed it), its **subject** (the
//! entity id, a public key, it is for), a **scope** (`publish`, `subscribe`,
//! `admin`, `delegate`), a **channel pattern** (`sensors/lidar`,
//! `sensors/*`, `sensors/**`: see [`crate::channel`]), a validity window
//! (not before / expires, in whole seconds since the Unix epoch), how many
//! further **delegations** it allows, a random nonce, and, for a delegated
//! token, the id of its **parent**.
//!
//! # Choosing a call
//!
//! * [`Identity::issue_token`] grants from a root of trust (a key the checking
//!   side trusts). A zero time to live is rounded up to one second;
//!   [`Identity::try_issue_token`] refuses it (`token:zero_ttl`).
//! * [`Identity::delegate_token`] passes part of a grant on: only the parent's
//!   subject may, only if the parent has the `delegate` scope and depth left,
//!   and only for a scope and a channel pattern the parent's contain
//!   (`token:widened` otherwise); the child never outlives its parent.
//! * [`verify_chain`] checks a chain (root first) for one access (a subject,
//!   a scope, a channel) at one time; [`TokenCache`] does that with a set of
//!   trusted roots, remembers what it verified, and honours revocation by
//!   token id from the next check on.
//!
//! # Bytes
//!
//! A token is [`TOKEN_LEN`] (228) bytes, integers little-endian:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 1 | version ([`TOKEN_VERSION`]) |
//! | 1 | 1 | scope bits: publish 1, subscribe 2, admin 4, delegate 8 (others zero) |
//! | 2 | 1 | delegation depth left (at most [`MAX_DELEGATION_DEPTH`]) |
//! | 3 | 1 | channel pattern kind: 0 exact, 1 `prefix/*`, 2 `prefix/**` |
//! | 4 | 8 | not before (seconds since the Unix epoch) |
//! | 12 | 8 | expires (seconds; the token is valid while now < expires) |
//! | 20 | 16 | nonce |
//! | 36 | 32 | issuer's public key |
//! | 68 | 32 | subject's public key |
//! | 100 | 32 | the channel pattern's digest ([`ChannelPattern::digest`]) |
//! | 132 | 32 | the parent token's id (zero for a root grant) |
//! | 164 | 64 | ed25519 signature by the issuer over "net/token/v1\0" ‖ bytes 0..164 |
//!
//! A token carries its channel pattern as a digest, so it stays the same
//! size whatever the name; whoever checks it knows the channel asked for and
//! recognises the patterns that match it ([`ChannelName::matching_patterns`]).
//! A token's **id** is BLAKE2s-256("net/token-id/v1" ‖ bytes 0..164): the
//! signed part only, so no re-encoding of the signature makes a revoked
//! token look new.

use super::{Identity, PublicKey, PUBLIC_KEY_LEN, SIGNATURE_LEN};
use crate::channel::{ChannelName, ChannelPattern, PatternKind};
use crate::error::{Error, ErrorKind, Result};
use blake2::{Blake2s256, Digest};
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The length of a token in bytes.
pub const TOKEN_LEN: usize = 228;
/// The token format this engine writes and reads.
pub const TOKEN_VERSION: u8 = 1;
/// The most delegations a token may allow below it.
pub const MAX_DELEGATION_DEPTH: u8 = 8;

const SIGNED_LEN: usize = 164;
const SIGNATURE_DOMAIN: &[u8] = b"net/token/v1\0";
const ID_DOMAIN: &[u8] = b"net/token-id/v1";

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bad(kind: ErrorKind, detail: impl Into<String>) -> Error {
    Error::new(kind, detail)
}

/// What a token lets its subject do: a set of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TokenScope(u8);

impl TokenScope {
    /// Publish on the channel.
    pub const PUBLISH: TokenScope = TokenScope(1);
    /// Subscribe to the channel.
    pub const SUBSCRIBE: TokenScope = TokenScope(2);
    /// Administer the channel (its configuration, its subscribers).
    pub const ADMIN: TokenScope = TokenScope(4);
    /// Pass part of this grant on to another subject.
    pub const DELEGATE: TokenScope = TokenScope(8);
    /// Each scope bit's name, in bit order.
    pub const NAMES: [(&'static str, TokenScope); 4] = [
        ("publish", TokenScope::PUBLISH),
        ("subscribe", TokenScope::SUBSCRIBE),
        ("admin", TokenScope::ADMIN),
        ("delegate", TokenScope::DELEGATE),
    ];
    const ALL: u8 = 0x0f;

    /// The scope of `bits`, if they are all scope bits.
    pub fn from_bits(bits: u8) -> Option<TokenScope> {
        (bits & !Self::ALL == 0).then_some(TokenScope(bits))
    }

    /// The bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The scope named by `names` (`"publish"`, `"subscribe"`, `"admin"`,
    /// `"delegate"`); `token:invalid_argument` for another name or none.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<TokenScope> {
        let mut scope = TokenScope::default();
        for name in names {
            let name = name.as_ref();
            let Some((_, bit)) = Self::NAMES.iter().find(|(n, _)| *n == name) else {
                return Err(bad(
                    ErrorKind::InvalidTokenArgument,
                    format!("{name:?} is not a scope (publish, subscribe, admin, delegate)"),
                ));
            };
            scope = scope | *bit;
        }
        if scope.is_empty() {
            return Err(bad(
                ErrorKind::InvalidTokenArgument,
                "a token grants at least one scope",
            ));
        }
        Ok(scope)
    }

    /// The names of the bits set, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(_, bit)| self.contains(*bit))
            .map(|(name, _)| *name)
            .collect()
    }

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: TokenScope) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for TokenScope {
    type Output = TokenScope;
    fn bitor(self, rhs: TokenScope) -> TokenScope {
        TokenScope(self.0 | rhs.0)
    }
}

/// A token's id (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId([u8; 32]);

impl TokenId {
    /// The id from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> TokenId {
        TokenId(bytes)
    }

    /// The id from 64 hex digits; `token:invalid_argument` otherwise.
    pub fn from_hex(text: &str) -> Result<TokenId> {
        let bytes: [u8; 32] = hex::decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                bad(
                    ErrorKind::InvalidTokenArgument,
                    format!("{text:?} is not a token id (64 hex digits)"),
                )
            })?;
        Ok(TokenId(bytes))
    }

    /// Its bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenId({self})")
    }
}

/// What a new token grants: the request to [`Identity::issue_token`] and
/// [`Identity::delegate_token`].
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Whom it is for (their entity id).
    pub subject: PublicKey,
    /// What they may do.
    pub scope: TokenScope,
    /// On which channels.
    pub channel: ChannelPattern,
    /// For how long from `not_before` (rounded up to whole seconds).
    pub ttl: Duration,
    /// How many further delegations it allows (0: none).
    pub depth: u8,
    /// When it starts (seconds since the epoch); `None`: `now`.
    pub not_before: Option<u64>,
    /// The time of issue (seconds since the epoch); `None`: the system
    /// clock's. A test seam and a way to issue for a given time.
    pub now: Option<u64>,
    /// The nonce; `None`: 16 random bytes.
    pub nonce: Option<[u8; 16]>,
}

impl TokenRequest {
    /// A request with the defaults: no delegation, starting now, a random
    /// nonce.
    pub fn new(
        subject: PublicKey,
        scope: TokenScope,
        channel: ChannelPattern,
        ttl: Duration,
    ) -> TokenRequest {
        TokenRequest {
            subject,
            scope,
            channel,
            ttl,
            depth: 0,
            not_before: None,
            now: None,
            nonce: None,
        }
    }

    /// Sets the delegation depth.
    pub fn with_depth(mut self, depth: u8) -> TokenRequest {
        self.depth = depth;
        self
    }
}

/// A permission token (see the module docs). Parsing checks its shape;
/// [`verify`](Self::verify) checks its signature and time.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PermissionToken {
    bytes: [u8; TOKEN_LEN],
}

impl std::fmt::Debug for PermissionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermissionToken")
            .field("id", &self.id())
            .field("scope", &self.scope().names())
            .field("subject", &hex::encode(self.subject()))
            .field("expires", &self.expires())
            .finish()
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

fn array_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&bytes[at..at + N]);
    b
}

impl PermissionToken {
    /// Parses `bytes`: `token:malformed` unless they are [`TOKEN_LEN`] bytes
    /// of this version with only scope bits set, a known channel kind and a
    /// depth within the limit. Does not check the signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<PermissionToken> {
        let malformed = |why: String| bad(ErrorKind::TokenMalformed, why);
        let bytes: [u8; TOKEN_LEN] = bytes
            .try_into()
            .map_err(|_| malformed(format!("a token is {TOKEN_LEN} bytes, got {}", bytes.len())))?;
        if bytes[0] != TOKEN_VERSION {
            return Err(malformed(format!(
                "token version {}, this engine reads {TOKEN_VERSION}",
                bytes[0]
            )));
        }
        if TokenScope::from_bits(bytes[1]).is_none_or(TokenScope::is_empty) {
            return Err(malformed(format!("scope bits {:#04x}", bytes[1])));
        }
        if bytes[2] > MAX_DELEGATION_DEPTH {
            return Err(malformed(format!(
                "delegation depth {} (at most {MAX_DELEGATION_DEPTH})",
                bytes[2]
            )));
        }
        if PatternKind::from_byte(bytes[3]).is_none() {
            return Err(malformed(format!("channel kind {}", bytes[3])));
        }
        Ok(PermissionToken { bytes })
    }

    /// Parses a chain of tokens laid end to end (root first).
    pub fn chain_from_bytes(bytes: &[u8]) -> Result<Vec<PermissionToken>> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(TOKEN_LEN) {
            return Err(bad(
                ErrorKind::TokenMalformed,
                format!(
                    "a chain is one or more {TOKEN_LEN}-byte tokens, got {} bytes",
                    bytes.len()
                ),
            ));
        }
        bytes
            .chunks(TOKEN_LEN)
            .map(PermissionToken::from_bytes)
            .collect()
    }

    /// The token's bytes.
    pub fn as_bytes(&self) -> &[u8; TOKEN_LEN] {
        &self.bytes
    }

    /// Its format version.
    pub fn version(&self) -> u8 {
        self.bytes[0]
    }

    /// What it grants.
    pub fn scope(&self) -> TokenScope {
        TokenScope(self.bytes[1])
    }

    /// How many further delegations it allows.
    pub fn depth(&self) -> u8 {
        self.bytes[2]
    }

    /// Its channel pattern's kind.
    pub fn channel_kind(&self) -> PatternKind {
        PatternKind::from_byte(self.bytes[3]).unwrap_or(PatternKind::Exact)
    }

    /// When it starts (seconds since the epoch).
    pub fn not_before(&self) -> u64 {
        u64_at(&self.bytes, 4)
    }

    /// When it ends (seconds since the epoch; valid while now < expires).
    pub fn expires(&self) -> u64 {
        u64_at(&self.bytes, 12)
    }

    /// Its nonce.
    pub fn nonce(&self) -> [u8; 16] {
        array_at(&self.bytes, 20)
    }

    /// The issuer's public key, as bytes.
    pub fn issuer(&self) -> [u8; PUBLIC_KEY_LEN] {
        array_at(&self.bytes, 36)
    }

    /// The subject's public key (entity id), as bytes.
    pub fn subject(&self) -> [u8; PUBLIC_KEY_LEN] {
        array_at(&self.bytes, 68)
    }

    /// Its channel pattern's digest.
    pub fn channel_digest(&self) -> [u8; 32] {
        array_at(&self.bytes, 100)
    }

    /// The parent token's id; `None` for a root grant.
    pub fn parent(&self) -> Option<TokenId> {
        let parent: [u8; 32] = array_at(&self.bytes, 132);
        (parent != [0u8; 32]).then_some(TokenId(parent))
    }

    /// Its id.
    pub fn id(&self) -> TokenId {
        let mut hasher = Blake2s256::new();
        hasher.update(ID_DOMAIN);
        hasher.update(&self.bytes[..SIGNED_LEN]);
        TokenId(hasher.finalize().into())
    }

    /// Checks the issuer's signature: `token:bad_signature`.
    pub fn check_signature(&self) -> Result<()> {
        let issuer = ed25519_dalek::VerifyingKey::from_bytes(&self.issuer()).map_err(|_| {
            bad(
                ErrorKind::TokenBadSignature,
                "the issuer is not an ed25519 public key",
            )
        })?;
        let signature: [u8; SIGNATURE_LEN] = array_at(&self.bytes, SIGNED_LEN);
        issuer
            .verify_strict(
                &signed_message(&self.bytes),
                &ed25519_dalek::Signature::from_bytes(&signature),
            )
            .map_err(|_| {
                bad(
                    ErrorKind::TokenBadSignature,
                    format!("token {} is not signed by its issuer", self.id()),
                )
            })
    }

    /// Checks the time window at `now` (seconds since the epoch):
    /// `token:not_yet_valid` or `token:expired`.
    pub fn check_time(&self, now: u64) -> Result<()> {
        if now < self.not_before() {
            return Err(bad(
                ErrorKind::TokenNotYetValid,
                format!(
                    "token {} is valid from {}, it is {now}",
                    self.id(),
                    self.not_before()
                ),
            ));
        }
        if now >= self.expires() {
            return Err(bad(
                ErrorKind::TokenExpired,
                format!(
                    "token {} expired at {}, it is {now}",
                    self.id(),
                    self.expires()
                ),
            ));
        }
        Ok(())
    }

    /// Checks the signature, then the time window at `now`.
    pub fn verify(&self, now: u64) -> Result<()> {
        self.check_signature()?;
        self.check_time(now)
    }

    /// Whether its channel pattern matches `channel`.
    pub fn covers(&self, channel: &ChannelName) -> bool {
        self.rank_among(&Matching::of(channel)).is_some()
    }

    /// Where its pattern stands among the patterns matching a channel (0:
    /// the name itself; higher: more general); `None` if it is not one.
    fn rank_among(&self, matching: &Matching) -> Option<usize> {
        let (kind, digest) = (self.channel_kind(), self.channel_digest());
        matching
            .patterns
            .iter()
            .zip(&matching.digests)
            .position(|(p, d)| p.kind() == kind && *d.get_or_init(|| p.digest()) == digest)
    }

    /// Whether its channel pattern contains `pattern`.
    pub fn contains_pattern(&self, pattern: &ChannelPattern) -> bool {
        let digest = self.channel_digest();
        pattern
            .containing()
            .iter()
            .any(|p| p.kind() == self.channel_kind() && p.digest() == digest)
    }

    /// The token as JSON (for inspection; the bytes are what travels).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id().to_string(),
            "version": self.version(),
            "scope": self.scope().names(),
            "scope_bits": self.scope().bits(),
            "depth": self.depth(),
            "channel_kind": match self.channel_kind() {
                PatternKind::Exact => "exact",
                PatternKind::OneLevel => "one_level",
                PatternKind::AnyDepth => "any_depth",
            },
            "channel_digest": hex::encode(self.channel_digest()),
            "not_before": self.not_before(),
            "expires": self.expires(),
            "nonce": hex::encode(self.nonce()),
            "issuer": hex::encode(self.issuer()),
            "subject": hex::encode(self.subject()),
            "parent": self.parent().map(|p| p.to_string()),
        })
    }
}

/// Every pattern matching one channel, specific to general, and each one's
/// digest once it was needed: made once per check, however many tokens it is
/// held against, and hashing only the patterns a token's kind could be.
struct Matching {
    patterns: Vec<ChannelPattern>,
    digests: Vec<std::cell::OnceCell<[u8; 32]>>,
}

impl Matching {
    fn of(channel: &ChannelName) -> Matching {
        let patterns = channel.matching_patterns();
        let digests = patterns
            .iter()
            .map(|_| std::cell::OnceCell::new())
            .collect();
        Matching { patterns, digests }
    }
}

fn signed_message(bytes: &[u8; TOKEN_LEN]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_DOMAIN.len() + SIGNED_LEN);
    message.extend_from_slice(SIGNATURE_DOMAIN);
    message.extend_from_slice(&bytes[..SIGNED_LEN]);
    message
}

/// Whole seconds of `ttl`, rounded up.
fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}

/// The fields a new token gets, once its request was checked.
struct Fields {
    scope: TokenScope,
    depth: u8,
    pattern: ChannelPattern,
    not_before: u64,
    expires: u64,
    subject: [u8; 32],
    parent: [u8; 32],
    nonce: [u8; 16],
}

impl Identity {
    /// Issues a token signed by this identity (a root grant). A zero time
    /// to live is rounded up to one second; `token:depth_exceeded` above
    /// [`MAX_DELEGATION_DEPTH`].
    pub fn issue_token(&self, request: &TokenRequest) -> Result<PermissionToken> {
        let mut request = request.clone();
        if request.ttl.is_zero() {
            request.ttl = Duration::from_secs(1);
        }
        self.try_issue_token(&request)
    }

    /// [`issue_token`](Self::issue_token) that refuses a zero time to live
    /// (`token:zero_ttl`).
    pub fn try_issue_token(&self, request: &TokenRequest) -> Result<PermissionToken> {
        let (not_before, expires) = window(request)?;
        self.sign_token(Fields {
            scope: request.scope,
            depth: request.depth,
            pattern: request.channel.clone(),
            not_before,
            expires,
            subject: *request.subject.as_bytes(),
            parent: [0; 32],
            nonce: nonce(request)?,
        })
    }

    /// Delegates part of `parent` (a token whose subject is this identity)
    /// to `request.subject`. Refused: by another identity than the parent's
    /// subject (`token:broken_chain`); from a parent without the `delegate`
    /// scope or depth left, or for a depth not below the parent's
    /// (`token:depth_exceeded`); for a scope bit or a channel pattern the
    /// parent does not grant (`token:widened`); from a parent that has
    /// expired by then (`token:expired`). The child starts no earlier and
    /// ends no later than its parent (its window is clamped). A zero time
    /// to live is `token:zero_ttl`.
    pub fn delegate_token(
        &self,
        parent: &PermissionToken,
        request: &TokenRequest,
    ) -> Result<PermissionToken> {
        parent.check_signature()?;
        if parent.subject() != *self.public_key().as_bytes() {
            return Err(bad(
                ErrorKind::TokenBrokenChain,
                format!(
                    "token {} is for {}, not for this identity: only its subject may delegate it",
                    parent.id(),
                    hex::encode(parent.subject())
                ),
            ));
        }
        if !parent.scope().contains(TokenScope::DELEGATE) || parent.depth() == 0 {
            return Err(bad(
                ErrorKind::TokenDepthExceeded,
                format!(
                    "token {} may not be delegated (scope {:?}, depth left {})",
                    parent.id(),
                    parent.scope().names(),
                    parent.depth()
                ),
            ));
        }
        if request.depth >= parent.depth() {
            return Err(bad(
                ErrorKind::TokenDepthExceeded,
                format!(
                    "a token delegated from one with depth {} allows at most {} more, not {}",
                    parent.depth(),
                    parent.depth() - 1,
                    request.depth
                ),
            ));
        }
        if !parent.scope().contains(request.scope) {
            return Err(bad(
                ErrorKind::TokenWidened,
                format!(
                    "the parent grants {:?}, not {:?}",
                    parent.scope().names(),
                    request.scope.names()
                ),
            ));
        }
        if !parent.contains_pattern(&request.channel) {
            return Err(bad(
                ErrorKind::TokenWidened,
                format!(
                    "the parent's channel pattern does not contain {}",
                    request.channel
                ),
            ));
        }
        let (not_before, expires) = window(request)?;
        let (not_before, expires) = (
            not_before.max(parent.not_before()),
            expires.min(parent.expires()),
        );
        if expires <= not_before {
            return Err(bad(
                ErrorKind::TokenExpired,
                format!(
                    "the parent {} expires at {}, before the delegated token would start",
                    parent.id(),
                    parent.expires()
                ),
            ));
        }
        self.sign_token(Fields {
            scope: request.scope,
            depth: request.depth,
            pattern: request.channel.clone(),
            not_before,
            expires,
            subject: *request.subject.as_bytes(),
            parent: *parent.id().as_bytes(),
            nonce: nonce(request)?,
        })
    }

    fn sign_token(&self, fields: Fields) -> Result<PermissionToken> {
        if fields.scope.is_empty() {
            return Err(bad(
                ErrorKind::InvalidTokenArgument,
                "a token grants at least one scope",
            ));
        }
        if fields.depth > MAX_DELEGATION_DEPTH {
            return Err(bad(
                ErrorKind::TokenDepthExceeded,
                format!(
                    "a delegation depth of {} (at most {MAX_DELEGATION_DEPTH})",
                    fields.depth
                ),
            ));
        }
        let mut bytes = [0u8; TOKEN_LEN];
        bytes[0] = TOKEN_VERSION;
        bytes[1] = fields.scope.bits();
        bytes[2] = fields.depth;
        bytes[3] = fields.pattern.kind() as u8;
        bytes[4..12].copy_from_slice(&fields.not_before.to_le_bytes());
        bytes[12..20].copy_from_slice(&fields.expires.to_le_bytes());
        bytes[20..36].copy_from_slice(&fields.nonce);
        bytes[36..68].copy_from_slice(self.public_key().as_bytes());
        bytes[68..100].copy_from_slice(&fields.subject);
        bytes[100..132].copy_from_slice(&fields.pattern.digest());
        bytes[132..164].copy_from_slice(&fields.parent);
        let signature = self.sign(&signed_message(&bytes));
        bytes[SIGNED_LEN..].copy_from_slice(&signature);
        Ok(PermissionToken { bytes })
    }
}

/// The (not before, expires) of `request`.
fn window(request: &TokenRequest) -> Result<(u64, u64)> {
    if request.ttl.is_zero() {
        return Err(bad(
            ErrorKind::TokenZeroTtl,
            "a token needs a time to live above zero",
        ));
    }
    let now = request.now.unwrap_or_else(unix_now);
    let not_before = request.not_before.unwrap_or(now);
    let expires = not_before
        .checked_add(ttl_secs(request.ttl))
        .ok_or_else(|| {
            bad(
                ErrorKind::InvalidTokenArgument,
                "not before + time to live does not fit in 64 bits of seconds",
            )
        })?;
    Ok((not_before, expires))
}

fn nonce(request: &TokenRequest) -> Result<[u8; 16]> {
    if let Some(nonce) = request.nonce {
        return Ok(nonce);
    }
    let mut nonce = [0u8; 16];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| bad(ErrorKind::EntropyUnavailable, e.to_string()))?;
    Ok(nonce)
}

/// One access a chain is checked for.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// Who asks (the leaf token's subject must be this key).
    pub subject: &'a [u8; PUBLIC_KEY_LEN],
    /// What they do (the leaf's scope must contain it).
    pub scope: TokenScope,
    /// On which channel (every token's pattern must match it).
    pub channel: &'a ChannelName,
}

/// Checks `chain` (root grant first, each later token delegated from the one
/// before) for `access` at `now`. In order: each token's signature
/// (`token:bad_signature`), revocation (`token:revoked`), time window
/// (`token:expired`, `token:not_yet_valid`); the links (each token issued by
/// its parent's subject and naming its parent, the root naming none:
/// `token:broken_chain`); narrowing (each delegation allowed by its parent's
/// scope and depth, `token:depth_exceeded`; its scope and channel within the
/// parent's, `token:widened`); the root's issuer (`token:untrusted`); and
/// the access (`token:denied`: another subject, a scope the leaf lacks, a
/// channel outside a pattern).
pub fn verify_chain(
    chain: &[PermissionToken],
    trusted: &dyn Fn(&[u8; PUBLIC_KEY_LEN]) -> bool,
    revoked: &dyn Fn(&TokenId) -> bool,
    access: &Access<'_>,
    now: u64,
) -> Result<()> {
    let (Some(root), Some(leaf)) = (chain.first(), chain.last()) else {
        return Err(bad(ErrorKind::TokenBrokenChain, "an empty chain"));
    };
    for token in chain {
        token.check_signature()?;
        if revoked(&token.id()) {
            return Err(bad(
                ErrorKind::TokenRevoked,
                format!("token {} was revoked", token.id()),
            ));
        }
        token.check_time(now)?;
    }
    if let Some(parent) = root.parent() {
        return Err(bad(
            ErrorKind::TokenBrokenChain,
            format!("the chain starts with a delegated token (its parent is {parent})"),
        ));
    }
    for pair in chain.windows(2) {
        let (parent, child) = (&pair[0], &pair[1]);
        if child.issuer() != parent.subject() || child.parent() != Some(parent.id()) {
            return Err(bad(
                ErrorKind::TokenBrokenChain,
                format!(
                    "token {} was not delegated from token {}",
                    child.id(),
                    parent.id()
                ),
            ));
        }
        if !parent.scope().contains(TokenScope::DELEGATE) || child.depth() >= parent.depth() {
            return Err(bad(
                ErrorKind::TokenDepthExceeded,
                format!(
                    "token {} may not delegate token {}",
                    parent.id(),
                    child.id()
                ),
            ));
        }
        if !parent.scope().contains(child.scope()) || child.expires() > parent.expires() {
            return Err(bad(
                ErrorKind::TokenWidened,
                format!("token {} grants more than its parent", child.id()),
            ));
        }
    }
    if !trusted(&root.issuer()) {
        return Err(bad(
            ErrorKind::TokenUntrusted,
            format!(
                "the chain's root is issued by {}, which is not trusted here",
                hex::encode(root.issuer())
            ),
        ));
    }
    if leaf.subject() != *access.subject {
        return Err(bad(
            ErrorKind::TokenDenied,
            format!(
                "token {} is for {}, not for {}",
                leaf.id(),
                hex::encode(leaf.subject()),
                hex::encode(access.subject)
            ),
        ));
    }
    if !leaf.scope().contains(access.scope) {
        return Err(bad(
            ErrorKind::TokenDenied,
            format!(
                "token {} grants {:?}, not {:?}",
                leaf.id(),
                leaf.scope().names(),
                access.scope.names()
            ),
        ));
    }
    // Patterns that match one channel contain one another in rank order, so
    // comparing ranks tells whether each delegation narrowed the channel.
    let matching = Matching::of(access.channel);
    let mut wider = usize::MAX;
    for token in chain {
        let Some(rank) = token.rank_among(&matching) else {
            return Err(bad(
                ErrorKind::TokenDenied,
                format!(
                    "token {} does not cover channel {}",
                    token.id(),
                    access.channel
                ),
            ));
        };
        if rank > wider {
            return Err(bad(
                ErrorKind::TokenWidened,
                format!("token {} widens its parent's channel pattern", token.id()),
            ));
        }
        wider = rank;
    }
    Ok(())
}

/// A verified chain a [`TokenCache`] holds.
struct Held {
    ids: Vec<TokenId>,
    leaf: PermissionToken,
    /// The first second none of the chain is valid any more.
    expires: u64,
}

#[derive(Default)]
struct CacheState {
    trusted: HashSet<[u8; PUBLIC_KEY_LEN]>,
    revoked: HashSet<TokenId>,
    /// Verified chains by their leaf's subject.
    held: HashMap<[u8; PUBLIC_KEY_LEN], Vec<Held>>,
}

/// The tokens one node accepts: the roots it trusts, the chains it has
/// verified (by subject), and the token ids it has revoked. A revocation
/// takes effect at the next [`check`](Self::check). Share it between threads
/// (`Arc`); every call takes its lock briefly.
#[derive(Default)]
pub struct TokenCache {
    state: RwLock<CacheState>,
    /// Bumped by every revocation: a holder of a verified chain re-checks
    /// its ids only when this moved (the publish path's fast check).
    epoch: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.read();
        f.debug_struct("TokenCache")
            .field("trusted", &state.trusted.len())
            .field("revoked", &state.revoked.len())
            .field("held", &state.held.values().map(Vec::len).sum::<usize>())
            .finish()
    }
}

impl TokenCache {
    /// An empty cache that trusts no one.
    pub fn new() -> TokenCache {
        TokenCache::default()
    }

    /// Trusts `root` to issue root grants.
    pub fn trust(&self, root: &PublicKey) {
        self.state.write().trusted.insert(*root.as_bytes());
    }

    /// Revokes the token `id`, and with it every chain that rests on it,
    /// from the next check on.
    pub fn revoke(&self, id: TokenId) {
        let mut state = self.state.write();
        state.revoked.insert(id);
        for chains in state.held.values_mut() {
            chains.retain(|held| !held.ids.contains(&id));
        }
        self.epoch
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// How many revocations this cache has seen: a chain verified at one
    /// epoch needs its ids re-checked only once this has moved.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether `id` was revoked here.
    pub fn is_revoked(&self, id: &TokenId) -> bool {
        self.state.read().revoked.contains(id)
    }

    /// Verifies `chain` for `access` at `now` (see [`verify_chain`]) against
    /// the roots trusted and the ids revoked here, without keeping it.
    /// Returns the leaf's id.
    pub fn verify(
        &self,
        chain: &[PermissionToken],
        access: &Access<'_>,
        now: u64,
    ) -> Result<TokenId> {
        let state = self.state.read();
        verify_chain(
            chain,
            &|key| state.trusted.contains(key),
            &|id| state.revoked.contains(id),
            access,
            now,
        )?;
        Ok(chain
            .last()
            .map(PermissionToken::id)
            .unwrap_or(TokenId([0; 32])))
    }

    /// [`verify`](Self::verify), then keeps the chain for its subject, so
    /// [`check`](Self::check) finds it until it expires or is revoked.
    pub fn install(
        &self,
        chain: &[PermissionToken],
        access: &Access<'_>,
        now: u64,
    ) -> Result<TokenId> {
        let id = self.verify(chain, access, now)?;
        let Some(leaf) = chain.last() else {
            return Err(bad(ErrorKind::TokenBrokenChain, "an empty chain"));
        };
        let held = Held {
            ids: chain.iter().map(PermissionToken::id).collect(),
            leaf: leaf.clone(),
            expires: chain
                .iter()
                .map(PermissionToken::expires)
                .min()
                .unwrap_or(0),
        };
        let mut state = self.state.write();
        let chains = state.held.entry(*access.subject).or_default();
        chains.retain(|h| h.leaf.id() != id);
        chains.push(held);
        Ok(id)
    }

    /// Whether a chain held here lets `access` happen at `now`: the id of
    /// the first that does; `token:denied` when none does (none held for
    /// that subject, scope or channel), `token:expired` when the ones that
    /// would have have expired.
    pub fn check(&self, access: &Access<'_>, now: u64) -> Result<TokenId> {
        let state = self.state.read();
        let chains = state
            .held
            .get(access.subject)
            .map_or(&[][..], Vec::as_slice);
        let matching = Matching::of(access.channel);
        let mut expired = false;
        for held in chains {
            if !held.leaf.scope().contains(access.scope)
                || held.leaf.rank_among(&matching).is_none()
            {
                continue;
            }
            if now >= held.expires || now < held.leaf.not_before() {
                expired = true;
                continue;
            }
            return Ok(held.leaf.id());
        }
        let kind = if expired {
            ErrorKind::TokenExpired
        } else {
            ErrorKind::TokenDenied
        };
        Err(bad(
            kind,
            format!(
                "no token held here lets {} {:?} on {}",
                hex::encode(access.subject),
                access.scope.names(),
                access.channel
            ),
        ))
    }

    /// Drops the chains that have expired by `now`; how many went.
    pub fn sweep(&self, now: u64) -> usize {
        let mut state = self.state.write();
        let mut dropped = 0;
        for chains in state.held.values_mut() {
            let before = chains.len();
            chains.retain(|held| now < held.expires);
            dropped += before - chains.len();
        }
        state.held.retain(|_, chains| !chains.is_empty());
        dropped
    }

    /// How many verified chains are held.
    pub fn len(&self) -> usize {
        self.state.read().held.values().map(Vec::len).sum()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
