//! Permission tokens, the token cache and channel names for Python: tokens
//! cross as bytes, requests and inspections as JSON.

use crate::errors::to_py;
use crate::identity::Identity;
use net::facade::{channel, token as facade};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Issues a token signed by `identity` for the JSON request; `strict`
/// refuses a zero time to live.
#[pyfunction]
pub fn token_issue<'py>(
    py: Python<'py>,
    identity: &Identity,
    request_json: &str,
    strict: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let token = facade::issue(&identity.inner, request_json, strict).map_err(to_py)?;
    Ok(PyBytes::new(py, &token))
}

/// Delegates part of `parent` (whose subject is `identity`).
#[pyfunction]
pub fn token_delegate<'py>(
    py: Python<'py>,
    identity: &Identity,
    parent: &[u8],
    request_json: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let token = facade::delegate(&identity.inner, parent, request_json).map_err(to_py)?;
    Ok(PyBytes::new(py, &token))
}

/// Checks a token's signature and its window at `now` (seconds since the
/// epoch; None: the system clock).
#[pyfunction]
#[pyo3(signature = (token, now=None))]
pub fn token_verify(token: &[u8], now: Option<u64>) -> PyResult<()> {
    facade::verify(token, now).map_err(to_py)
}

/// A token's 32-byte id.
#[pyfunction]
pub fn token_id<'py>(py: Python<'py>, token: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &facade::id(token).map_err(to_py)?))
}

/// A token's fields as JSON.
#[pyfunction]
pub fn token_json(token: &[u8]) -> PyResult<String> {
    facade::inspect(token).map_err(to_py)
}

/// The scope bits of scope names (InvalidTokenArgumentError for an unknown one).
#[pyfunction]
pub fn token_scope_bits(names: Vec<String>) -> PyResult<u8> {
    facade::scope_bits(&names).map_err(to_py)
}

/// Whether a token's channel pattern matches the channel `name`.
#[pyfunction]
pub fn token_covers(token: &[u8], name: &str) -> PyResult<bool> {
    facade::covers(token, name).map_err(to_py)
}

/// The roots a node trusts, the chains it verified, the ids it revoked.
#[pyclass(module = "net._net", frozen)]
pub struct TokenCache {
    inner: facade::TokenCacheHandle,
}

impl TokenCache {
    /// Wraps a handle (a mesh node's shared cache).
    pub(crate) fn from_handle(inner: facade::TokenCacheHandle) -> Self {
        TokenCache { inner }
    }
}

#[pymethods]
impl TokenCache {
    /// An empty cache that trusts no root.
    #[new]
    fn new() -> Self {
        TokenCache {
            inner: facade::TokenCacheHandle::new(),
        }
    }

    /// Trusts the 32-byte root public key.
    fn trust(&self, public_key: &[u8]) -> PyResult<()> {
        self.inner.trust(public_key).map_err(to_py)
    }

    /// Revokes the token with this 32-byte id.
    fn revoke(&self, id: &[u8]) -> PyResult<()> {
        self.inner.revoke(id).map_err(to_py)
    }

    /// Whether the token with this id was revoked.
    fn is_revoked(&self, id: &[u8]) -> PyResult<bool> {
        self.inner.is_revoked(id).map_err(to_py)
    }

    /// Verifies and keeps `chain` (tokens end to end) for the access;
    /// returns the leaf's id.
    #[pyo3(signature = (chain, subject, scope, channel, now=None))]
    fn install<'py>(
        &self,
        py: Python<'py>,
        chain: &[u8],
        subject: &[u8],
        scope: u8,
        channel: &str,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let id = self
            .inner
            .install(chain, subject, scope, channel, now)
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &id))
    }

    /// Verifies `chain` for the access without keeping it.
    #[pyo3(signature = (chain, subject, scope, channel, now=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        chain: &[u8],
        subject: &[u8],
        scope: u8,
        channel: &str,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let id = self
            .inner
            .verify(chain, subject, scope, channel, now)
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &id))
    }

    /// Whether a chain held here lets the access happen; the leaf's id.
    #[pyo3(signature = (subject, scope, channel, now=None))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        subject: &[u8],
        scope: u8,
        channel: &str,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let id = self
            .inner
            .check(subject, scope, channel, now)
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &id))
    }

    /// Drops the chains expired at `now`; how many went.
    #[pyo3(signature = (now=None))]
    fn sweep(&self, now: Option<u64>) -> usize {
        self.inner.sweep(now)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// Raises InvalidChannelNameError unless `name` is a channel name.
#[pyfunction]
pub fn channel_check_name(name: &str) -> PyResult<()> {
    channel::check_channel_name(name).map_err(to_py)
}

/// A channel name's stable 64-bit hash.
#[pyfunction]
pub fn channel_hash(name: &str) -> PyResult<u64> {
    channel::channel_hash(name).map_err(to_py)
}

/// A channel config's JSON with every default filled in.
#[pyfunction]
pub fn channel_config_normalize(config: &str) -> PyResult<String> {
    channel::normalize_config(config).map_err(to_py)
}

/// Whether the channel pattern matches the channel name.
#[pyfunction]
pub fn channel_matches(pattern: &str, name: &str) -> PyResult<bool> {
    channel::channel_matches(pattern, name).map_err(to_py)
}

/// Adds the token and channel functions, the cache and the constants.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(token_issue, m)?)?;
    m.add_function(wrap_pyfunction!(token_delegate, m)?)?;
    m.add_function(wrap_pyfunction!(token_verify, m)?)?;
    m.add_function(wrap_pyfunction!(token_id, m)?)?;
    m.add_function(wrap_pyfunction!(token_json, m)?)?;
    m.add_function(wrap_pyfunction!(token_covers, m)?)?;
    m.add_function(wrap_pyfunction!(token_scope_bits, m)?)?;
    m.add_function(wrap_pyfunction!(channel_check_name, m)?)?;
    m.add_function(wrap_pyfunction!(channel_hash, m)?)?;
    m.add_function(wrap_pyfunction!(channel_config_normalize, m)?)?;
    m.add_function(wrap_pyfunction!(channel_matches, m)?)?;
    m.add_class::<TokenCache>()?;
    m.add("TOKEN_LEN", facade::TOKEN_LEN)?;
    m.add("MAX_DELEGATION_DEPTH", facade::MAX_DELEGATION_DEPTH)?;
    for (name, bit) in facade::scopes() {
        m.add(format!("TOKEN_SCOPE_{}", name.to_ascii_uppercase()), bit)?;
    }
    Ok(())
}
