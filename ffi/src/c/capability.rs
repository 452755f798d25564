//! `net_capability_*`, `net_predicate_*` and `net_subnet_*`: capability
//! sets, predicates and subnets, JSON in and JSON out.

use super::common::*;
use crate::facade::capability as facade;
use net_core::Error;
use std::os::raw::c_char;

/// Runs `body` on one JSON argument and writes its JSON result.
unsafe fn json_to_json(
    input: *const c_char,
    len: usize,
    what: &str,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    body: impl FnOnce(&str) -> Result<String, Error>,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let input = unsafe { str_arg(input, len, what)? };
        string_out(body(input)?, out_json, out_len)
    })
}

/// Runs `body` on two JSON arguments and writes its JSON result.
#[allow(clippy::too_many_arguments)]
unsafe fn two_to_json(
    a: *const c_char,
    a_len: usize,
    a_what: &str,
    b: *const c_char,
    b_len: usize,
    b_what: &str,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    body: impl FnOnce(&str, &str) -> Result<String, Error>,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (a, b) = unsafe { (str_arg(a, a_len, a_what)?, str_arg(b, b_len, b_what)?) };
        string_out(body(a, b)?, out_json, out_len)
    })
}

fn out_arg<T>(out: *mut T, value: T) -> Result<i32, Error> {
    if out.is_null() {
        return Err(null_error("out"));
    }
    write_opt(out, value);
    Ok(NET_OK)
}

/// Writes a capability set's canonical JSON (`{"tags": [...], "metadata":
/// {...}}`, typed `hardware` / `software` / `limits` sections written out
/// as tags). Free it with `net_string_free`.
///
/// # Safety
/// `set` valid for `len` bytes; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_capability_normalize(
    set: *const c_char,
    len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        json_to_json(
            set,
            len,
            "set",
            out_json,
            out_len,
            facade::capability_normalize,
        )
    }
}

/// Writes a capability set's typed views as JSON (`{"hardware": {...},
/// "software": {...}, "limits": {...}}`). Free it with `net_string_free`.
///
/// # Safety
/// `set` valid for `len` bytes; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_capability_views(
    set: *const c_char,
    len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { json_to_json(set, len, "set", out_json, out_len, facade::capability_views) }
}

/// Writes a capability set's validation report as JSON (`{"valid": bool,
/// "errors": [{"code", "key", "message"}], "warnings": [...]}`). A set
/// that does not parse is an error return, not a report.
///
/// # Safety
/// `set` valid for `len` bytes; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_capability_validate(
    set: *const c_char,
    len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        json_to_json(
            set,
            len,
            "set",
            out_json,
            out_len,
            facade::capability_validate,
        )
    }
}

/// Writes the diff from the set `before` to the set `after` as JSON
/// (`{"added", "removed", "metadata_set", "metadata_removed"}`).
///
/// # Safety
/// `before` valid for `before_len` bytes, `after` for `after_len`;
/// `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_capability_diff(
    before: *const c_char,
    before_len: usize,
    after: *const c_char,
    after_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        two_to_json(
            before,
            before_len,
            "before",
            after,
            after_len,
            "after",
            out_json,
            out_len,
            facade::capability_diff,
        )
    }
}

/// Writes `set` with `diff` applied, as canonical JSON;
/// `NET_ERR_INVALID_CAPABILITY_DIFF` when the diff was taken against
/// another set.
///
/// # Safety
/// `set` valid for `set_len` bytes, `diff` for `diff_len`; `out_json`
/// writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_capability_apply(
    set: *const c_char,
    set_len: usize,
    diff: *const c_char,
    diff_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        two_to_json(
            set,
            set_len,
            "set",
            diff,
            diff_len,
            "diff",
            out_json,
            out_len,
            facade::capability_apply,
        )
    }
}

/// Writes a predicate's canonical JSON; `NET_ERR_INVALID_PREDICATE` when
/// it is not one.
///
/// # Safety
/// `predicate` valid for `len` bytes; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_predicate_normalize(
    predicate: *const c_char,
    len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        json_to_json(
            predicate,
            len,
            "predicate",
            out_json,
            out_len,
            facade::predicate_normalize,
        )
    }
}

/// Writes whether the capability set `set` satisfies `predicate`.
///
/// # Safety
/// `predicate` valid for `predicate_len` bytes, `set` for `set_len`; `out`
/// writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_predicate_evaluate(
    predicate: *const c_char,
    predicate_len: usize,
    set: *const c_char,
    set_len: usize,
    out: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (predicate, set) = unsafe {
            (
                str_arg(predicate, predicate_len, "predicate")?,
                str_arg(set, set_len, "set")?,
            )
        };
        out_arg(out, facade::predicate_evaluate(predicate, set)?)
    })
}

/// Writes the 32-bit encoding of a subnet given as text (`3.7`,
/// `3.7.0.0`); `NET_ERR_INVALID_SUBNET` otherwise.
///
/// # Safety
/// `text` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_subnet_parse(text: *const c_char, len: usize, out: *mut u32) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let text = unsafe { str_arg(text, len, "text")? };
        out_arg(out, facade::subnet_parse(text)?)
    })
}

/// Writes the 32-bit encoding of the subnet with `count` levels (0 to 4,
/// each 1 to 255), outermost first.
///
/// # Safety
/// `levels` valid for `count` bytes (may be NULL when `count` is 0); `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_subnet_from_levels(
    levels: *const u8,
    count: usize,
    out: *mut u32,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let levels = unsafe { bytes_arg(levels, count, "levels")? };
        out_arg(out, facade::subnet_from_levels(levels)?)
    })
}

/// Writes a subnet's text (`3.7.0.0`); `NET_ERR_INVALID_SUBNET` when
/// `value` sets a level below an unset one. Free it with `net_string_free`.
///
/// # Safety
/// `out_text` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_subnet_format(
    value: u32,
    out_text: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| string_out(facade::subnet_format(value)?, out_text, out_len))
}

/// Writes whether a peer in subnet `peer` takes part in a channel of
/// `visibility` (`global`, `subnet_local`, `parent_visible`) published
/// from subnet `publisher`.
///
/// # Safety
/// `visibility` valid for `len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_subnet_visible(
    visibility: *const c_char,
    len: usize,
    publisher: u32,
    peer: u32,
    out: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let visibility = unsafe { str_arg(visibility, len, "visibility")? };
        out_arg(out, facade::subnet_visible(visibility, publisher, peer)?)
    })
}

/// Writes the subnet a policy (`{"rules": [{"prefix", "level", "values"}]}`)
/// puts a node with capability set `set` in.
///
/// # Safety
/// `policy` valid for `policy_len` bytes, `set` for `set_len`; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_subnet_assign(
    policy: *const c_char,
    policy_len: usize,
    set: *const c_char,
    set_len: usize,
    out: *mut u32,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (policy, set) = unsafe {
            (
                str_arg(policy, policy_len, "policy")?,
                str_arg(set, set_len, "set")?,
            )
        };
        out_arg(out, facade::subnet_assign(policy, set)?)
    })
}
