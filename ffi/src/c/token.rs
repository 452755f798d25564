//! C exports for permission tokens (issued by a `net_identity_t`, carried as
//! `NET_TOKEN_LEN` bytes), the token cache, and channel names.

use super::common::*;
use super::identity::{identity_arg, net_identity_t};
use crate::facade::channel as channel_facade;
use crate::facade::token as facade;
use crate::handles::HandleTable;
use net_core::Error;
use std::ffi::c_char;
use std::sync::Arc;

/// The length of a permission token in bytes.
pub const NET_TOKEN_LEN: usize = 228;
const _: () = assert!(NET_TOKEN_LEN == facade::TOKEN_LEN);
/// The length of a token id in bytes.
pub const NET_TOKEN_ID_LEN: usize = 32;
/// Scope bit: publish on the channel.
pub const NET_TOKEN_SCOPE_PUBLISH: u8 = 1;
/// Scope bit: subscribe to the channel.
pub const NET_TOKEN_SCOPE_SUBSCRIBE: u8 = 2;
/// Scope bit: administer the channel.
pub const NET_TOKEN_SCOPE_ADMIN: u8 = 4;
/// Scope bit: delegate part of the grant.
pub const NET_TOKEN_SCOPE_DELEGATE: u8 = 8;

/// A token cache: the roots one node trusts, the chains it verified, the
/// token ids it revoked. Opaque; create with `net_token_cache_new`, release
/// with `net_token_cache_free`. Any thread may use it.
pub struct net_token_cache_t {
    _opaque: (),
}

pub(super) static CACHES: HandleTable<facade::TokenCacheHandle> = HandleTable::new(0x4B);

fn cache_arg(cache: *mut net_token_cache_t) -> Result<Arc<facade::TokenCacheHandle>, Error> {
    CACHES.arg(cache, "token cache")
}

/// `now` as the facade takes it: negative means the system clock.
fn now_arg(now: i64) -> Option<u64> {
    u64::try_from(now).ok()
}

/// Issues a permission token signed by `issuer` for the JSON request
/// `{"subject": "<hex key>", "scope": ["subscribe", ...], "channel":
/// "sensors/lidar", "ttl_ms": N}` (optional: `"depth"`, `"not_before"`, `"now"`
/// in seconds since the epoch, `"nonce"` as 32 hex digits) and writes its
/// `NET_TOKEN_LEN` bytes to `out`. A zero `ttl_ms` is rounded up to one
/// second (`net_token_try_issue` refuses it with `NET_ERR_TOKEN_ZERO_TTL`).
///
/// # Safety
/// `request` valid for `request_len` bytes; `out` writable for `NET_TOKEN_LEN` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_issue(
    issuer: *mut net_identity_t,
    request: *const c_char,
    request_len: usize,
    out: *mut u8,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { issue(issuer, request, request_len, out, false) }
}

/// `net_token_issue` that refuses a zero time to live (`NET_ERR_TOKEN_ZERO_TTL`).
///
/// # Safety
/// As for `net_token_issue`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_try_issue(
    issuer: *mut net_identity_t,
    request: *const c_char,
    request_len: usize,
    out: *mut u8,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { issue(issuer, request, request_len, out, true) }
}

/// # Safety
/// As for `net_token_issue`.
unsafe fn issue(
    issuer: *mut net_identity_t,
    request: *const c_char,
    request_len: usize,
    out: *mut u8,
    strict: bool,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let request = unsafe { str_arg(request, request_len, "request")? };
        write_fixed(
            out,
            &facade::issue(&*identity_arg(issuer)?, request, strict)?,
        )
    })
}

/// Delegates part of `parent` (a token whose subject is `delegator`) as the
/// JSON `request` asks (as for `net_token_issue`) and writes the new token
/// to `out`. Refusals: `NET_ERR_TOKEN_BROKEN_CHAIN` (not the parent's
/// subject), `NET_ERR_TOKEN_DEPTH_EXCEEDED`, `NET_ERR_TOKEN_WIDENED`,
/// `NET_ERR_TOKEN_EXPIRED`. The child ends no later than its parent.
///
/// # Safety
/// `parent` valid for `parent_len` bytes, `request` for `request_len`;
/// `out` writable for `NET_TOKEN_LEN` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_delegate(
    delegator: *mut net_identity_t,
    parent: *const u8,
    parent_len: usize,
    request: *const c_char,
    request_len: usize,
    out: *mut u8,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (parent, request) = unsafe {
            (
                bytes_arg(parent, parent_len, "parent")?,
                str_arg(request, request_len, "request")?,
            )
        };
        write_fixed(
            out,
            &facade::delegate(&*identity_arg(delegator)?, parent, request)?,
        )
    })
}

/// Checks a token's signature and time window at `now` (seconds since the
/// epoch; negative: the system clock): `NET_OK`, or `NET_ERR_TOKEN_MALFORMED`,
/// `NET_ERR_TOKEN_BAD_SIGNATURE`, `NET_ERR_TOKEN_EXPIRED`,
/// `NET_ERR_TOKEN_NOT_YET_VALID`.
///
/// # Safety
/// `token` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_verify(token: *const u8, len: usize, now: i64) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let token = unsafe { bytes_arg(token, len, "token")? };
        facade::verify(token, now_arg(now))?;
        Ok(NET_OK)
    })
}

/// Writes a token's id (`NET_TOKEN_ID_LEN` bytes) to `out`.
///
/// # Safety
/// `token` valid for `len` bytes; `out` writable for `NET_TOKEN_ID_LEN` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_id(token: *const u8, len: usize, out: *mut u8) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let token = unsafe { bytes_arg(token, len, "token")? };
        write_fixed(out, &facade::id(token)?)
    })
}

/// A token's fields as JSON (`{"id", "version", "scope": [...], "depth",
/// "channel_kind", "channel_digest", "not_before", "expires", "nonce",
/// "issuer", "subject", "parent"}`); free `*out_json` with `net_string_free`.
///
/// # Safety
/// `token` valid for `len` bytes; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_json(
    token: *const u8,
    len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let token = unsafe { bytes_arg(token, len, "token")? };
        string_out(facade::inspect(token)?, out_json, out_len)
    })
}

/// Writes whether a token's channel pattern matches the channel `name`.
///
/// # Safety
/// `token` valid for `len` bytes, `name` for `name_len`; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_covers(
    token: *const u8,
    len: usize,
    name: *const c_char,
    name_len: usize,
    out: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (token, name) = unsafe {
            (
                bytes_arg(token, len, "token")?,
                str_arg(name, name_len, "name")?,
            )
        };
        let covers = facade::covers(token, name)?;
        if out.is_null() {
            return Err(null_error("out"));
        }
        write_opt(out, covers);
        Ok(NET_OK)
    })
}

/// Creates an empty token cache that trusts no root.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_new(out: *mut *mut net_token_cache_t) -> i32 {
    guard(|| CACHES.store(out, facade::TokenCacheHandle::new()))
}

/// Trusts the root public key `key` (32 bytes) to issue root grants.
///
/// # Safety
/// `key` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_trust(
    cache: *mut net_token_cache_t,
    key: *const u8,
    len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let key = unsafe { bytes_arg(key, len, "key")? };
        cache_arg(cache)?.trust(key)?;
        Ok(NET_OK)
    })
}

/// Revokes the token with id `id` (`NET_TOKEN_ID_LEN` bytes) and every chain
/// that rests on it, from the next check on.
///
/// # Safety
/// `id` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_revoke(
    cache: *mut net_token_cache_t,
    id: *const u8,
    len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let id = unsafe { bytes_arg(id, len, "id")? };
        cache_arg(cache)?.revoke(id)?;
        Ok(NET_OK)
    })
}

/// Writes whether the token with id `id` was revoked in this cache.
///
/// # Safety
/// `id` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_is_revoked(
    cache: *mut net_token_cache_t,
    id: *const u8,
    len: usize,
    out: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let id = unsafe { bytes_arg(id, len, "id")? };
        let revoked = cache_arg(cache)?.is_revoked(id)?;
        if out.is_null() {
            return Err(null_error("out"));
        }
        write_opt(out, revoked);
        Ok(NET_OK)
    })
}

/// One access a chain is checked for, as the C calls take it.
struct AccessArgs<'a> {
    subject: &'a [u8],
    channel: &'a str,
}

/// # Safety
/// Each pointer valid for its length.
unsafe fn access_args<'a>(
    subject: *const u8,
    subject_len: usize,
    channel: *const c_char,
    channel_len: usize,
) -> Result<AccessArgs<'a>, Error> {
    // SAFETY: forwarded contract.
    unsafe {
        Ok(AccessArgs {
            subject: bytes_arg(subject, subject_len, "subject")?,
            channel: str_arg(channel, channel_len, "channel")?,
        })
    }
}

/// Checks `chain` for an access and writes the leaf's id; keeps it when
/// `keep` (install) or not (verify).
///
/// # Safety
/// As for `net_token_cache_install`.
#[allow(clippy::too_many_arguments)]
unsafe fn chain_call(
    cache: *mut net_token_cache_t,
    chain: *const u8,
    chain_len: usize,
    subject: *const u8,
    subject_len: usize,
    scope: u8,
    channel: *const c_char,
    channel_len: usize,
    now: i64,
    out_id: *mut u8,
    keep: bool,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (chain, access) = unsafe {
            (
                bytes_arg(chain, chain_len, "chain")?,
                access_args(subject, subject_len, channel, channel_len)?,
            )
        };
        let cache = cache_arg(cache)?;
        let now = now_arg(now);
        let id = if keep {
            cache.install(chain, access.subject, scope, access.channel, now)?
        } else {
            cache.verify(chain, access.subject, scope, access.channel, now)?
        };
        id_out(out_id, &id)
    })
}

/// Verifies `chain` (tokens laid end to end, the root grant first) for the
/// access (`subject`'s 32-byte key, `scope` bits, `channel` name) at `now`
/// (negative: the system clock) against this cache's roots and revocations,
/// keeps it, and writes the leaf's id to `out_id`. Refusals are the
/// `NET_ERR_TOKEN_*` codes (`_UNTRUSTED`, `_BROKEN_CHAIN`, `_WIDENED`,
/// `_DENIED`, `_REVOKED`, `_EXPIRED`, ...).
///
/// # Safety
/// Each pointer valid for its length; `out_id` NULL or writable for
/// `NET_TOKEN_ID_LEN` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_install(
    cache: *mut net_token_cache_t,
    chain: *const u8,
    chain_len: usize,
    subject: *const u8,
    subject_len: usize,
    scope: u8,
    channel: *const c_char,
    channel_len: usize,
    now: i64,
    out_id: *mut u8,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        chain_call(
            cache,
            chain,
            chain_len,
            subject,
            subject_len,
            scope,
            channel,
            channel_len,
            now,
            out_id,
            true,
        )
    }
}

/// `net_token_cache_install` that does not keep the chain.
///
/// # Safety
/// As for `net_token_cache_install`.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_verify(
    cache: *mut net_token_cache_t,
    chain: *const u8,
    chain_len: usize,
    subject: *const u8,
    subject_len: usize,
    scope: u8,
    channel: *const c_char,
    channel_len: usize,
    now: i64,
    out_id: *mut u8,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        chain_call(
            cache,
            chain,
            chain_len,
            subject,
            subject_len,
            scope,
            channel,
            channel_len,
            now,
            out_id,
            false,
        )
    }
}

/// Whether a chain held in the cache lets the access (`subject`, `scope`,
/// `channel`) happen at `now`: `NET_OK` with the leaf's id in `out_id`
/// (may be NULL), `NET_ERR_TOKEN_DENIED` (none does), or
/// `NET_ERR_TOKEN_EXPIRED` (the ones that would have expired).
///
/// # Safety
/// Each pointer valid for its length; `out_id` NULL or writable for
/// `NET_TOKEN_ID_LEN` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_check(
    cache: *mut net_token_cache_t,
    subject: *const u8,
    subject_len: usize,
    scope: u8,
    channel: *const c_char,
    channel_len: usize,
    now: i64,
    out_id: *mut u8,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let access = unsafe { access_args(subject, subject_len, channel, channel_len)? };
        let id = cache_arg(cache)?.check(access.subject, scope, access.channel, now_arg(now))?;
        id_out(out_id, &id)
    })
}

fn id_out(out: *mut u8, id: &[u8; 32]) -> Result<i32, Error> {
    if out.is_null() {
        return Ok(NET_OK);
    }
    write_fixed(out, id)
}

/// Drops the chains expired by `now` (negative: the system clock); writes
/// how many went to `out_dropped` (may be NULL).
///
/// # Safety
/// `out_dropped` NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_sweep(
    cache: *mut net_token_cache_t,
    now: i64,
    out_dropped: *mut usize,
) -> i32 {
    guard(|| {
        let dropped = cache_arg(cache)?.sweep(now_arg(now));
        write_opt(out_dropped, dropped);
        Ok(NET_OK)
    })
}

/// Writes how many verified chains the cache holds.
///
/// # Safety
/// `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_token_cache_len(
    cache: *mut net_token_cache_t,
    out: *mut usize,
) -> i32 {
    guard(|| {
        let len = cache_arg(cache)?.len();
        if out.is_null() {
            return Err(null_error("out"));
        }
        write_opt(out, len);
        Ok(NET_OK)
    })
}

/// Releases a token cache. NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_token_cache_free(cache: *mut net_token_cache_t) {
    guard(|| {
        drop(CACHES.remove(cache as usize));
        Ok(NET_OK)
    });
}

pub(crate) fn drain_caches() {
    drop(CACHES.drain());
}

/// Checks a channel name: `NET_OK` or `NET_ERR_INVALID_CHANNEL_NAME`.
///
/// # Safety
/// `name` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_channel_check_name(name: *const c_char, len: usize) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let name = unsafe { str_arg(name, len, "name")? };
        channel_facade::check_channel_name(name)?;
        Ok(NET_OK)
    })
}

/// Writes a channel name's stable 64-bit hash.
///
/// # Safety
/// `name` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_channel_hash(name: *const c_char, len: usize, out: *mut u64) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let name = unsafe { str_arg(name, len, "name")? };
        value_out(out, channel_facade::channel_hash(name)?)
    })
}

/// Writes whether the channel pattern `pattern` (an exact name, or a prefix
/// with a last segment of one star, one level below it, or two stars, any
/// depth below it) matches the channel `name`.
///
/// # Safety
/// `pattern` valid for `pattern_len` bytes, `name` for `name_len`; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_channel_matches(
    pattern: *const c_char,
    pattern_len: usize,
    name: *const c_char,
    name_len: usize,
    out: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (pattern, name) = unsafe {
            (
                str_arg(pattern, pattern_len, "pattern")?,
                str_arg(name, name_len, "name")?,
            )
        };
        value_out(out, channel_facade::channel_matches(pattern, name)?)
    })
}
