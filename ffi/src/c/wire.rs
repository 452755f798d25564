//! C exports for the wire codecs (headers as JSON for tools and tests).

use super::common::*;
use crate::facade::wire as facade;
use std::ffi::c_char;

/// Encodes a Net header from JSON into `out` (64 bytes). 64-bit fields are
/// decimal strings, the nonce is hex.
///
/// # Safety
/// `json` valid for `len` bytes; `out` writable for 64 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_wire_header_encode(
    json: *const c_char,
    len: usize,
    out: *mut u8,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let json = unsafe { str_arg(json, len, "json")? };
        write_fixed(out, &facade::header_encode(json)?)
    })
}

/// Decodes the Net header at the start of `bytes` into JSON (free with
/// `net_string_free`); `NET_ERR_MALFORMED` with the reason otherwise.
///
/// # Safety
/// `bytes` valid for `len` bytes; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_wire_header_decode(
    bytes: *const u8,
    len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_arg(bytes, len, "bytes")? };
        string_out(facade::header_decode(bytes)?, out_json, out_len)
    })
}

/// Encodes a routing header from JSON into `out` (18 bytes).
///
/// # Safety
/// `json` valid for `len` bytes; `out` writable for 18 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_wire_routing_encode(
    json: *const c_char,
    len: usize,
    out: *mut u8,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let json = unsafe { str_arg(json, len, "json")? };
        write_fixed(out, &facade::routing_encode(json)?)
    })
}

/// Decodes the routing header at the start of `bytes` into JSON.
///
/// # Safety
/// `bytes` valid for `len` bytes; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_wire_routing_decode(
    bytes: *const u8,
    len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_arg(bytes, len, "bytes")? };
        string_out(facade::routing_decode(bytes)?, out_json, out_len)
    })
}
