//! Identity operations for the bindings: keypairs from seeds, ids, signatures.

use net_core::identity::PublicKey;
use net_core::Result;

pub use net_core::identity::{Identity, PUBLIC_KEY_LEN, SEED_LEN, SIGNATURE_LEN};

/// An identity from a 32-byte seed (`identity:invalid_seed` otherwise).
pub fn from_seed(seed: &[u8]) -> Result<Identity> {
    Identity::from_seed_slice(seed)
}

/// A fresh random identity.
pub fn generate() -> Result<Identity> {
    Identity::generate()
}

/// The node id of a public key given as bytes (`identity:invalid_key` if not one).
pub fn node_id_of(public_key: &[u8]) -> Result<u64> {
    Ok(PublicKey::from_bytes(public_key)?.node_id())
}

/// The origin hash of a public key given as bytes.
pub fn origin_hash_of(public_key: &[u8]) -> Result<u32> {
    Ok(PublicKey::from_bytes(public_key)?.origin_hash())
}

/// Verifies `signature` over `message` by `public_key`.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<()> {
    PublicKey::from_bytes(public_key)?.verify(message, signature)
}
