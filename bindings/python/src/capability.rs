//! Capabilities, predicates and subnets for Python: JSON in, JSON out (see
//! `net::facade::capability`).

use crate::errors::to_py;
use net::facade::capability as facade;
use pyo3::prelude::*;

/// A capability set's canonical JSON.
#[pyfunction]
pub fn capability_normalize(set_json: &str) -> PyResult<String> {
    facade::capability_normalize(set_json).map_err(to_py)
}

/// A capability set's typed views as JSON.
#[pyfunction]
pub fn capability_views(set_json: &str) -> PyResult<String> {
    facade::capability_views(set_json).map_err(to_py)
}

/// A capability set's validation report as JSON.
#[pyfunction]
pub fn capability_validate(set_json: &str) -> PyResult<String> {
    facade::capability_validate(set_json).map_err(to_py)
}

/// The diff from `before` to `after` as JSON.
#[pyfunction]
pub fn capability_diff(before_json: &str, after_json: &str) -> PyResult<String> {
    facade::capability_diff(before_json, after_json).map_err(to_py)
}

/// `set` with `diff` applied, as canonical JSON.
#[pyfunction]
pub fn capability_apply(set_json: &str, diff_json: &str) -> PyResult<String> {
    facade::capability_apply(set_json, diff_json).map_err(to_py)
}

/// A predicate's canonical JSON.
#[pyfunction]
pub fn predicate_normalize(predicate_json: &str) -> PyResult<String> {
    facade::predicate_normalize(predicate_json).map_err(to_py)
}

/// Whether the set satisfies the predicate.
#[pyfunction]
pub fn predicate_evaluate(predicate_json: &str, set_json: &str) -> PyResult<bool> {
    facade::predicate_evaluate(predicate_json, set_json).map_err(to_py)
}

/// A subnet's 32-bit encoding from its text.
#[pyfunction]
pub fn subnet_parse(text: &str) -> PyResult<u32> {
    facade::subnet_parse(text).map_err(to_py)
}

/// A subnet's 32-bit encoding from its levels.
#[pyfunction]
pub fn subnet_from_levels(levels: Vec<u8>) -> PyResult<u32> {
    facade::subnet_from_levels(&levels).map_err(to_py)
}

/// A subnet's text.
#[pyfunction]
pub fn subnet_format(value: u32) -> PyResult<String> {
    facade::subnet_format(value).map_err(to_py)
}

/// Whether a peer in `peer` takes part in a channel of `visibility`
/// published from `publisher`.
#[pyfunction]
pub fn subnet_visible(visibility: &str, publisher: u32, peer: u32) -> PyResult<bool> {
    facade::subnet_visible(visibility, publisher, peer).map_err(to_py)
}

/// The subnet a policy puts a node with this capability set in.
#[pyfunction]
pub fn subnet_assign(policy_json: &str, set_json: &str) -> PyResult<u32> {
    facade::subnet_assign(policy_json, set_json).map_err(to_py)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(capability_normalize, m)?)?;
    m.add_function(wrap_pyfunction!(capability_views, m)?)?;
    m.add_function(wrap_pyfunction!(capability_validate, m)?)?;
    m.add_function(wrap_pyfunction!(capability_diff, m)?)?;
    m.add_function(wrap_pyfunction!(capability_apply, m)?)?;
    m.add_function(wrap_pyfunction!(predicate_normalize, m)?)?;
    m.add_function(wrap_pyfunction!(predicate_evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(subnet_parse, m)?)?;
    m.add_function(wrap_pyfunction!(subnet_from_levels, m)?)?;
    m.add_function(wrap_pyfunction!(subnet_format, m)?)?;
    m.add_function(wrap_pyfunction!(subnet_visible, m)?)?;
    m.add_function(wrap_pyfunction!(subnet_assign, m)?)?;
    Ok(())
}
