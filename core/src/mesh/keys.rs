//! The network key: a 32-byte secret shared by every node of one mesh.
//!
//! It is the Noise pre-shared key of every handshake, so a node holding a
//! different key cannot complete a handshake with this mesh: the key is the
//! realm boundary. Like an identity seed it is secret material and never shows
//! up in `Debug` output.

use crate::error::{Error, ErrorKind, Result};

/// Length of a network key.
pub const NETWORK_KEY_LEN: usize = 32;

/// A mesh's shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct NetworkKey([u8; NETWORK_KEY_LEN]);

impl NetworkKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; NETWORK_KEY_LEN]) -> NetworkKey {
        NetworkKey(bytes)
    }

    /// Like [`NetworkKey::from_bytes`] for a slice; anything but 32 bytes
    /// fails with `mesh:invalid_config`.
    pub fn from_slice(bytes: &[u8]) -> Result<NetworkKey> {
        let array: [u8; NETWORK_KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::new(
                ErrorKind::InvalidMeshConfig,
                format!(
                    "a network key is {NETWORK_KEY_LEN} bytes, got {}",
                    bytes.len()
                ),
            )
        })?;
        Ok(NetworkKey(array))
    }

    /// A fresh random key.
    pub fn generate() -> Result<NetworkKey> {
        let mut bytes = [0u8; NETWORK_KEY_LEN];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| Error::new(ErrorKind::EntropyUnavailable, e.to_string()))?;
        Ok(NetworkKey(bytes))
    }

    /// The key's bytes (secret).
    pub fn as_bytes(&self) -> &[u8; NETWORK_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for NetworkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NetworkKey(<secret>)")
    }
}

impl Drop for NetworkKey {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}
