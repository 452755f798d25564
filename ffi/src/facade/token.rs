//! Permission tokens and channel names for the bindings: tokens cross as
//! their 228 bytes, requests and inspections as JSON, scopes as bits.
//!
//! A token request is a JSON object:
//!
//! ```json
//! {"subject": "<64 hex digits: the subject's public key>",
//!  "scope": ["subscribe"], "channel": "sensors/*", "ttl_ms": 300000,
//!  "depth": 0, "not_before": 1800000000, "now": 1800000000,
//!  "nonce": "<32 hex digits>"}
//! ```
//!
//! `scope` may also be the scope bits as a number (publish 1, subscribe 2,
//! admin 4, delegate 8). `subject`, `scope`, `channel` and `ttl_ms` are
//! required; `depth`
//! defaults to 0, `now` (the time of issue, seconds since the epoch) to the
//! system clock, `not_before` to `now`, `nonce` to 16 random bytes. Unknown
//! keys, unknown scope names and bad hex are `token:invalid_argument`.

use net_core::channel::{ChannelName, ChannelPattern};
use net_core::identity::token::{
    unix_now, Access, PermissionToken, TokenCache, TokenId, TokenRequest, TokenScope,
};
use net_core::identity::{Identity, PublicKey};
use net_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use std::time::Duration;

pub use net_core::identity::token::{MAX_DELEGATION_DEPTH, TOKEN_LEN, TOKEN_VERSION};

fn invalid(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidTokenArgument, detail)
}

/// A scope as names (`["publish", "subscribe"]`) or as bits (`3`).
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeJson {
    Names(Vec<String>),
    Bits(u8),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestJson {
    subject: String,
    scope: ScopeJson,
    channel: String,
    ttl_ms: u64,
    #[serde(default)]
    depth: u8,
    not_before: Option<u64>,
    now: Option<u64>,
    nonce: Option<String>,
}

fn hex_array<const N: usize>(text: &str, what: &str) -> Result<[u8; N]> {
    hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid(format!("{what} must be {} hex digits, got {text:?}", N * 2)))
}

/// Parses a token request (see the module docs).
pub fn parse_request(json: &str) -> Result<TokenRequest> {
    let raw: RequestJson =
        serde_json::from_str(json).map_err(|e| invalid(format!("not a token request: {e}")))?;
    let subject = hex::decode(&raw.subject)
        .map_err(|_| invalid(format!("subject must be hex, got {:?}", raw.subject)))?;
    let subject = PublicKey::from_bytes(&subject)?;
    Ok(TokenRequest {
        subject,
        scope: match raw.scope {
            ScopeJson::Names(names) => TokenScope::from_names(&names)?,
            ScopeJson::Bits(bits) => scope_of(bits)?,
        },
        channel: ChannelPattern::new(&raw.channel)?,
        ttl: Duration::from_millis(raw.ttl_ms),
        depth: raw.depth,
        not_before: raw.not_before,
        now: raw.now,
        nonce: raw
            .nonce
            .as_deref()
            .map(|n| hex_array::<16>(n, "nonce"))
            .transpose()?,
    })
}

/// Issues a token signed by `identity` for the request `json`; `strict`
/// refuses a zero time to live (`token:zero_ttl`) instead of rounding it
/// up to a second.
pub fn issue(identity: &Identity, json: &str, strict: bool) -> Result<[u8; TOKEN_LEN]> {
    let request = parse_request(json)?;
    let token = if strict {
        identity.try_issue_token(&request)?
    } else {
        identity.issue_token(&request)?
    };
    Ok(*token.as_bytes())
}

/// Delegates part of `parent` (228 bytes, whose subject is `identity`) as
/// asked by `json`.
pub fn delegate(identity: &Identity, parent: &[u8], json: &str) -> Result<[u8; TOKEN_LEN]> {
    let parent = PermissionToken::from_bytes(parent)?;
    let request = parse_request(json)?;
    Ok(*identity.delegate_token(&parent, &request)?.as_bytes())
}

/// A token's fields as JSON (`token:malformed` if the bytes are not one).
pub fn inspect(token: &[u8]) -> Result<String> {
    Ok(PermissionToken::from_bytes(token)?.to_json().to_string())
}

/// Checks a token's signature and its time window at `now` (seconds since
/// the epoch; `None`: the system clock).
pub fn verify(token: &[u8], now: Option<u64>) -> Result<()> {
    PermissionToken::from_bytes(token)?.verify(now.unwrap_or_else(unix_now))
}

/// A token's id (32 bytes).
pub fn id(token: &[u8]) -> Result<[u8; 32]> {
    Ok(*PermissionToken::from_bytes(token)?.id().as_bytes())
}

/// Whether a token's channel pattern matches the channel `name`.
pub fn covers(token: &[u8], name: &str) -> Result<bool> {
    Ok(PermissionToken::from_bytes(token)?.covers(&ChannelName::new(name)?))
}

/// The scope bits of `names` (`token:invalid_argument` for an unknown one,
/// or none): how bindings that name scopes get the bits the cache takes.
pub fn scope_bits<S: AsRef<str>>(names: &[S]) -> Result<u8> {
    Ok(TokenScope::from_names(names)?.bits())
}

/// Each scope bit's name and value (`publish` 1, `subscribe` 2, `admin` 4,
/// `delegate` 8), for bindings that name them.
pub fn scopes() -> impl Iterator<Item = (&'static str, u8)> {
    TokenScope::NAMES
        .iter()
        .map(|(name, scope)| (*name, scope.bits()))
}

fn scope_of(bits: u8) -> Result<TokenScope> {
    TokenScope::from_bits(bits)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            invalid(format!(
                "scope bits {bits:#04x} (publish 1, subscribe 2, admin 4, delegate 8)"
            ))
        })
}

/// A token cache (see `net_core::identity::token::TokenCache`) for the
/// bindings: chains cross as bytes laid end to end, scopes as bits.
#[derive(Debug, Default)]
pub struct TokenCacheHandle {
    cache: std::sync::Arc<TokenCache>,
}

impl TokenCacheHandle {
    /// An empty cache that trusts no one.
    pub fn new() -> TokenCacheHandle {
        TokenCacheHandle::default()
    }

    /// A handle on a cache shared with the engine (a mesh node's, whose
    /// channels check subscribers' chains against it).
    pub fn shared(cache: std::sync::Arc<TokenCache>) -> TokenCacheHandle {
        TokenCacheHandle { cache }
    }

    /// Trusts the root key `public_key` (32 bytes).
    pub fn trust(&self, public_key: &[u8]) -> Result<()> {
        self.cache.trust(&PublicKey::from_bytes(public_key)?);
        Ok(())
    }

    /// Revokes the token with id `id` (32 bytes).
    pub fn revoke(&self, id: &[u8]) -> Result<()> {
        self.cache.revoke(token_id(id)?);
        Ok(())
    }

    /// Whether the token with id `id` was revoked.
    pub fn is_revoked(&self, id: &[u8]) -> Result<bool> {
        Ok(self.cache.is_revoked(&token_id(id)?))
    }

    fn with_access<T>(
        subject: &[u8],
        scope: u8,
        channel: &str,
        f: impl FnOnce(&Access<'_>) -> Result<T>,
    ) -> Result<T> {
        let subject = *PublicKey::from_bytes(subject)?.as_bytes();
        let channel = ChannelName::new(channel)?;
        f(&Access {
            subject: &subject,
            scope: scope_of(scope)?,
            channel: &channel,
        })
    }

    /// Verifies `chain` for (`subject`, `scope`, `channel`) at `now` and
    /// keeps it; returns the leaf's id.
    pub fn install(
        &self,
        chain: &[u8],
        subject: &[u8],
        scope: u8,
        channel: &str,
        now: Option<u64>,
    ) -> Result<[u8; 32]> {
        let chain = PermissionToken::chain_from_bytes(chain)?;
        Self::with_access(subject, scope, channel, |access| {
            let id = self
                .cache
                .install(&chain, access, now.unwrap_or_else(unix_now))?;
            Ok(*id.as_bytes())
        })
    }

    /// Verifies `chain` for (`subject`, `scope`, `channel`) at `now`
    /// without keeping it; returns the leaf's id.
    pub fn verify(
        &self,
        chain: &[u8],
        subject: &[u8],
        scope: u8,
        channel: &str,
        now: Option<u64>,
    ) -> Result<[u8; 32]> {
        let chain = PermissionToken::chain_from_bytes(chain)?;
        Self::with_access(subject, scope, channel, |access| {
            let id = self
                .cache
                .verify(&chain, access, now.unwrap_or_else(unix_now))?;
            Ok(*id.as_bytes())
        })
    }

    /// Whether a chain held here lets (`subject`, `scope`, `channel`) happen
    /// at `now`; the leaf's id.
    pub fn check(
        &self,
        subject: &[u8],
        scope: u8,
        channel: &str,
        now: Option<u64>,
    ) -> Result<[u8; 32]> {
        Self::with_access(subject, scope, channel, |access| {
            let id = self.cache.check(access, now.unwrap_or_else(unix_now))?;
            Ok(*id.as_bytes())
        })
    }

    /// Drops the chains expired by `now`; how many went.
    pub fn sweep(&self, now: Option<u64>) -> usize {
        self.cache.sweep(now.unwrap_or_else(unix_now))
    }

    /// How many chains are held.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

fn token_id(id: &[u8]) -> Result<TokenId> {
    let bytes: [u8; 32] = id
        .try_into()
        .map_err(|_| invalid(format!("a token id is 32 bytes, got {}", id.len())))?;
    Ok(TokenId::from_bytes(bytes))
}
