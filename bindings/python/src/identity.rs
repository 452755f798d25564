//! Identity and wire codecs for Python.

use crate::errors::to_py;
use net::facade::{identity as facade, wire};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A node's ed25519 keypair.
#[pyclass(module = "net._net", frozen)]
pub struct Identity {
    pub(crate) inner: net::facade::identity::Identity,
}

#[pymethods]
impl Identity {
    /// The identity for a 32-byte seed.
    #[staticmethod]
    fn from_seed(seed: &[u8]) -> PyResult<Self> {
        Ok(Identity {
            inner: facade::from_seed(seed).map_err(to_py)?,
        })
    }

    /// A fresh random identity.
    #[staticmethod]
    fn generate() -> PyResult<Self> {
        Ok(Identity {
            inner: facade::generate().map_err(to_py)?,
        })
    }

    /// The 32-byte secret seed (never log it).
    fn seed<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// The 32-byte public key (the entity id).
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.public_key().as_bytes())
    }

    /// The 64-bit node id.
    fn node_id(&self) -> u64 {
        self.inner.node_id()
    }

    /// Signs `message`; returns the 64-byte signature.
    fn sign<'py>(&self, py: Python<'py>, message: &[u8]) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.sign(message))
    }
}

/// Verifies a signature; raises BadSignatureError or InvalidKeyError.
#[pyfunction]
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> PyResult<()> {
    facade::verify(public_key, message, signature).map_err(to_py)
}

/// The `(node_id, origin_hash)` of a public key.
#[pyfunction]
pub fn public_key_ids(public_key: &[u8]) -> PyResult<(u64, u32)> {
    let node_id = facade::node_id_of(public_key).map_err(to_py)?;
    let origin = facade::origin_hash_of(public_key).map_err(to_py)?;
    Ok((node_id, origin))
}

/// Encodes a Net header given as JSON into 64 bytes.
#[pyfunction]
pub fn header_encode<'py>(py: Python<'py>, fields_json: &str) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(
        py,
        &wire::header_encode(fields_json).map_err(to_py)?,
    ))
}

/// Decodes the Net header at the start of `data` into JSON.
#[pyfunction]
pub fn header_decode(data: &[u8]) -> PyResult<String> {
    wire::header_decode(data).map_err(to_py)
}

/// Encodes a routing header given as JSON into 18 bytes.
#[pyfunction]
pub fn routing_encode<'py>(py: Python<'py>, fields_json: &str) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(
        py,
        &wire::routing_encode(fields_json).map_err(to_py)?,
    ))
}

/// Decodes the routing header at the start of `data` into JSON.
#[pyfunction]
pub fn routing_decode(data: &[u8]) -> PyResult<String> {
    wire::routing_decode(data).map_err(to_py)
}
