//! Capabilities, predicates and subnets for Node: JSON in, JSON out (see
//! `net::facade::capability`), subnet ids as their 32-bit encoding.

use crate::{to_js, Result};
use napi_derive::napi;
use net::facade::capability as facade;

/// A capability set's canonical JSON.
#[napi]
pub fn capability_normalize(set_json: String) -> Result<String> {
    facade::capability_normalize(&set_json).map_err(to_js)
}

/// A capability set's typed views as JSON.
#[napi]
pub fn capability_views(set_json: String) -> Result<String> {
    facade::capability_views(&set_json).map_err(to_js)
}

/// A capability set's validation report as JSON.
#[napi]
pub fn capability_validate(set_json: String) -> Result<String> {
    facade::capability_validate(&set_json).map_err(to_js)
}

/// The diff from `before` to `after` as JSON.
#[napi]
pub fn capability_diff(before_json: String, after_json: String) -> Result<String> {
    facade::capability_diff(&before_json, &after_json).map_err(to_js)
}

/// `set` with `diff` applied, as canonical JSON.
#[napi]
pub fn capability_apply(set_json: String, diff_json: String) -> Result<String> {
    facade::capability_apply(&set_json, &diff_json).map_err(to_js)
}

/// A predicate's canonical JSON.
#[napi]
pub fn predicate_normalize(predicate_json: String) -> Result<String> {
    facade::predicate_normalize(&predicate_json).map_err(to_js)
}

/// Whether the set satisfies the predicate.
#[napi]
pub fn predicate_evaluate(predicate_json: String, set_json: String) -> Result<bool> {
    facade::predicate_evaluate(&predicate_json, &set_json).map_err(to_js)
}

/// A subnet's 32-bit encoding from its text.
#[napi]
pub fn subnet_parse(text: String) -> Result<u32> {
    facade::subnet_parse(&text).map_err(to_js)
}

/// A subnet's 32-bit encoding from its levels (each 1 to 255).
#[napi]
pub fn subnet_from_levels(levels: Vec<u32>) -> Result<u32> {
    let bytes = levels
        .iter()
        .map(|l| {
            u8::try_from(*l).map_err(|_| {
                to_js(net::Error::new(
                    net::ErrorKind::InvalidSubnet,
                    format!("level {l} is not 1 to 255"),
                ))
            })
        })
        .collect::<Result<Vec<u8>>>()?;
    facade::subnet_from_levels(&bytes).map_err(to_js)
}

/// A subnet's text.
#[napi]
pub fn subnet_format(value: u32) -> Result<String> {
    facade::subnet_format(value).map_err(to_js)
}

/// Whether a peer in `peer` takes part in a channel of `visibility`
/// published from `publisher`.
#[napi]
pub fn subnet_visible(visibility: String, publisher: u32, peer: u32) -> Result<bool> {
    facade::subnet_visible(&visibility, publisher, peer).map_err(to_js)
}

/// The subnet a policy puts a node with this capability set in.
#[napi]
pub fn subnet_assign(policy_json: String, set_json: String) -> Result<u32> {
    facade::subnet_assign(&policy_json, &set_json).map_err(to_js)
}
