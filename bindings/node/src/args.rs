//! The addon's one argument check and its one wait rule.
//!
//! JavaScript numbers are doubles: a limit, a window or a retry count is
//! checked by the engine's rule for whole numbers (NaN, fractions, negatives
//! and values that do not fit are the area's `invalid_argument`), never
//! wrapped modulo 2^32. Every wait runs on the libuv pool for at most one
//! slice (`waitSliceMs()`), and the SDK calls again until its deadline, so a
//! wait never holds a pool thread for long: file reads, DNS and other addons
//! keep getting threads.

use crate::{to_js, Result};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use net::facade::wait::WAIT_SLICE;
use net::ErrorKind;
use std::time::Duration;

/// A whole number from JavaScript, checked by the engine's rule.
pub fn whole<T: TryFrom<u64>>(value: f64, kind: ErrorKind, what: &str) -> Result<T> {
    net::time::whole_number(value, kind, what).map_err(to_js)
}

/// A 64-bit value from a JavaScript `bigint`.
pub fn u64_of(v: BigInt, kind: ErrorKind, what: &str) -> Result<u64> {
    let (signed, value, lossless) = v.get_u64();
    if signed || !lossless {
        return Err(to_js(net::Error::new(
            kind,
            format!("{what} must be an unsigned 64-bit integer"),
        )));
    }
    Ok(value)
}

/// One slice of a wait: at most [`WAIT_SLICE`], and whether it is the last
/// (what was left of the caller's timeout fits in it). `remaining_ms`
/// negative means no limit.
pub fn slice_of(remaining_ms: f64) -> Result<(Duration, bool)> {
    if remaining_ms < 0.0 {
        return Ok((WAIT_SLICE, false));
    }
    let left = net::time::timeout_from_ms(
        Some(remaining_ms),
        ErrorKind::InvalidArgument,
        "remainingMs",
    )
    .map_err(to_js)?
    .unwrap_or(Duration::MAX);
    Ok(if left <= WAIT_SLICE {
        (left, true)
    } else {
        (WAIT_SLICE, false)
    })
}

/// The longest one native wait lasts, in milliseconds.
#[napi]
pub fn wait_slice_ms() -> u32 {
    u32::try_from(WAIT_SLICE.as_millis()).unwrap_or(u32::MAX)
}

/// Checks a timeout given to the SDK in milliseconds by the engine's rule
/// (NaN and negative values are `area`'s `invalid_argument`); returns the
/// milliseconds, or -1 for no limit (`undefined`, `Infinity`, huge values).
#[napi]
pub fn check_timeout(timeout_ms: Option<f64>, area: String) -> Result<f64> {
    let kind = ErrorKind::invalid_argument_in(&area).unwrap_or(ErrorKind::InvalidArgument);
    Ok(
        match net::time::timeout_from_ms(timeout_ms, kind, "timeoutMs").map_err(to_js)? {
            None => -1.0,
            Some(d) => d.as_secs_f64() * 1000.0,
        },
    )
}
