//! Permission tokens, the token cache and channel names for Node: tokens
//! cross as Buffers, requests and inspections as JSON, times as seconds
//! since the epoch (null: the system clock).

use crate::{args, to_js, Result};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use net::facade::{channel, token as facade};

/// The length of a permission token in bytes.
#[napi]
pub const TOKEN_LEN: u32 = facade::TOKEN_LEN as u32;

/// The scope bits of scope names (`token:invalid_argument` for an unknown one).
#[napi]
pub fn token_scope_bits(names: Vec<String>) -> Result<u32> {
    Ok(u32::from(facade::scope_bits(&names).map_err(to_js)?))
}

/// Seconds since the epoch from JavaScript (null: the system clock).
fn seconds(now: Option<f64>) -> Result<Option<u64>> {
    now.map(|n| args::whole(n, net::ErrorKind::InvalidTokenArgument, "now"))
        .transpose()
}

fn scope(bits: u32) -> Result<u8> {
    args::whole(
        f64::from(bits),
        net::ErrorKind::InvalidTokenArgument,
        "scope",
    )
}

/// Checks a token's signature and its window at `now`.
#[napi]
pub fn token_verify(token: Buffer, now: Option<f64>) -> Result<()> {
    facade::verify(&token, seconds(now)?).map_err(to_js)
}

/// A token's 32-byte id.
#[napi]
pub fn token_id(token: Buffer) -> Result<Buffer> {
    Ok(Buffer::from(facade::id(&token).map_err(to_js)?.to_vec()))
}

/// A token's fields as JSON.
#[napi]
pub fn token_json(token: Buffer) -> Result<String> {
    facade::inspect(&token).map_err(to_js)
}

/// Whether a token's channel pattern matches the channel `name`.
#[napi]
pub fn token_covers(token: Buffer, name: String) -> Result<bool> {
    facade::covers(&token, &name).map_err(to_js)
}

/// The roots a node trusts, the chains it verified, the ids it revoked.
#[napi]
pub struct TokenCache {
    inner: facade::TokenCacheHandle,
}

impl TokenCache {
    /// Wraps a handle (a mesh node's shared cache).
    pub(crate) fn from_handle(inner: facade::TokenCacheHandle) -> Self {
        TokenCache { inner }
    }
}

#[napi]
impl TokenCache {
    /// An empty cache that trusts no root.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        TokenCache {
            inner: facade::TokenCacheHandle::new(),
        }
    }

    /// Trusts the 32-byte root public key.
    #[napi]
    pub fn trust(&self, public_key: Buffer) -> Result<()> {
        self.inner.trust(&public_key).map_err(to_js)
    }

    /// Revokes the token with this 32-byte id.
    #[napi]
    pub fn revoke(&self, id: Buffer) -> Result<()> {
        self.inner.revoke(&id).map_err(to_js)
    }

    /// Whether the token with this id was revoked.
    #[napi]
    pub fn is_revoked(&self, id: Buffer) -> Result<bool> {
        self.inner.is_revoked(&id).map_err(to_js)
    }

    /// Verifies and keeps `chain` for the access; the leaf's id.
    #[napi]
    pub fn install(
        &self,
        chain: Buffer,
        subject: Buffer,
        scope_bits: u32,
        channel: String,
        now: Option<f64>,
    ) -> Result<Buffer> {
        let id = self
            .inner
            .install(
                &chain,
                &subject,
                scope(scope_bits)?,
                &channel,
                seconds(now)?,
            )
            .map_err(to_js)?;
        Ok(Buffer::from(id.to_vec()))
    }

    /// Verifies `chain` for the access without keeping it.
    #[napi]
    pub fn verify(
        &self,
        chain: Buffer,
        subject: Buffer,
        scope_bits: u32,
        channel: String,
        now: Option<f64>,
    ) -> Result<Buffer> {
        let id = self
            .inner
            .verify(
                &chain,
                &subject,
                scope(scope_bits)?,
                &channel,
                seconds(now)?,
            )
            .map_err(to_js)?;
        Ok(Buffer::from(id.to_vec()))
    }

    /// Whether a chain held here lets the access happen; the leaf's id.
    #[napi]
    pub fn check(
        &self,
        subject: Buffer,
        scope_bits: u32,
        channel: String,
        now: Option<f64>,
    ) -> Result<Buffer> {
        let id = self
            .inner
            .check(&subject, scope(scope_bits)?, &channel, seconds(now)?)
            .map_err(to_js)?;
        Ok(Buffer::from(id.to_vec()))
    }

    /// Drops the chains expired at `now`; how many went.
    #[napi]
    pub fn sweep(&self, now: Option<f64>) -> Result<u32> {
        Ok(u32::try_from(self.inner.sweep(seconds(now)?)).unwrap_or(u32::MAX))
    }

    /// How many chains are held.
    #[napi]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }
}

/// Throws InvalidChannelNameError unless `name` is a channel name.
#[napi]
pub fn channel_check_name(name: String) -> Result<()> {
    channel::check_channel_name(&name).map_err(to_js)
}

/// A channel name's stable 64-bit hash.
#[napi]
pub fn channel_hash(name: String) -> Result<BigInt> {
    Ok(BigInt::from(channel::channel_hash(&name).map_err(to_js)?))
}

/// A channel config's JSON with every default filled in.
#[napi]
pub fn channel_config_normalize(config: String) -> Result<String> {
    channel::normalize_config(&config).map_err(to_js)
}

/// Whether the channel pattern matches the channel name.
#[napi]
pub fn channel_matches(pattern: String, name: String) -> Result<bool> {
    channel::channel_matches(&pattern, &name).map_err(to_js)
}
