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
        value_out(out, facade::predicate_evaluate(predicate, set)?)
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
        value_out(out, facade::subnet_parse(text)?)
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
        value_out(out, facade::subnet_from_levels(levels)?)
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
        value_out(out, facade::subnet_visible(visibility, publisher, peer)?)
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
        value_out(out, facade::subnet_assign(policy, set)?)
    })
}

use super::mesh::{mesh_arg, net_mesh_t};
use crate::facade::capability::on_mesh;

/// Announces what this node can do: the capability set `set` (JSON) is
/// signed, indexed as this node's own at once and sent to every peer (at
/// most once per `capabilities.min_announce_interval_ms`; the latest set
/// goes out when it is up).
///
/// # Safety
/// `mesh` a live handle; `set` valid for `len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_announce_capabilities(
    mesh: *mut net_mesh_t,
    set: *const c_char,
    len: usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        // SAFETY: forwarded contract.
        let set = unsafe { str_arg(set, len, "set")? };
        on_mesh::announce(&mesh, set)?;
        Ok(NET_OK)
    })
}

/// Writes the ids of the nodes whose announced capability sets satisfy
/// `predicate` (JSON), this node's own included, in ascending order, as an
/// array the caller frees with `net_node_ids_free(*out_ids, *out_count)`
/// (NULL when there are none). `scope` NULL ignores providers' scope tags;
/// otherwise it is `global`, `same_subnet`, `tenant:<id>` or
/// `region:<name>` and filters by them.
///
/// # Safety
/// `mesh` a live handle; `predicate` valid for `predicate_len` bytes;
/// `scope` NULL or valid for `scope_len` bytes; outs writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_find_nodes(
    mesh: *mut net_mesh_t,
    predicate: *const c_char,
    predicate_len: usize,
    scope: *const c_char,
    scope_len: usize,
    out_ids: *mut *mut u64,
    out_count: *mut usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        // SAFETY: forwarded contract.
        let predicate = unsafe { str_arg(predicate, predicate_len, "predicate")? };
        let scope = if scope.is_null() {
            None
        } else {
            // SAFETY: forwarded contract.
            Some(unsafe { str_arg(scope, scope_len, "scope")? })
        };
        if out_ids.is_null() || out_count.is_null() {
            return Err(null_error("out"));
        }
        ids_out(
            on_mesh::find_nodes(&mesh, predicate, scope)?,
            out_ids,
            out_count,
        )
    })
}

/// Frees node ids returned by `net_mesh_find_nodes`. NULL is ignored.
///
/// # Safety
/// `ids`/`count` as returned, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn net_node_ids_free(ids: *mut u64, count: usize) {
    if !ids.is_null() {
        // SAFETY: created by Box::into_raw of a boxed slice of exactly `count` ids.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ids, count)) });
    }
}

/// Writes the capability set node `node_id` announced (this node's own
/// included) as canonical JSON; `NET_DONE` with `*out_json` NULL when it
/// is not known or expired.
///
/// # Safety
/// `mesh` a live handle; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_capabilities_of(
    mesh: *mut net_mesh_t,
    node_id: u64,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        if out_json.is_null() {
            return Err(null_error("out_json"));
        }
        // SAFETY: checked non-null.
        unsafe { *out_json = std::ptr::null_mut() };
        match on_mesh::capabilities_of(&mesh, node_id) {
            Some(json) => string_out(json, out_json, out_len),
            None => Ok(NET_DONE),
        }
    })
}

/// Writes the subnet of node `node_id`: this node's configured one for
/// itself, the one its subnet policy derives from a peer's announced tags;
/// `NET_DONE` (nothing written) for a peer that has not announced.
///
/// # Safety
/// `mesh` a live handle; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_subnet_of(
    mesh: *mut net_mesh_t,
    node_id: u64,
    out: *mut u32,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        if out.is_null() {
            return Err(null_error("out"));
        }
        match on_mesh::subnet_of(&mesh, node_id) {
            Some(subnet) => value_out(out, subnet),
            None => Ok(NET_DONE),
        }
    })
}

/// Writes the capability layer's counters as JSON: `announced`,
/// `received`, `indexed`, `forwarded`, `duplicates`, `rejected`,
/// `expired`.
///
/// # Safety
/// `mesh` a live handle; `out_json` writable; `out_len` may be NULL.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_mesh_capability_stats(
    mesh: *mut net_mesh_t,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let mesh = mesh_arg(mesh)?;
        string_out(on_mesh::stats_json(&mesh), out_json, out_len)
    })
}
