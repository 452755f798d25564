//! Node identity: ed25519 keypairs from 32-byte seeds, the ids derived from the
//! public key, and signatures.
//!
//! The public key *is* the entity id. Two shorter ids are derived from it with
//! domain-separated BLAKE2s-256, so they are stable across languages and versions:
//! the 64-bit node id (routing tables, the routing header's `DEST_ID`) and the
//! 32-bit origin hash stamped on every packet. The seed is secret material:
//! it is never printed by `Debug` and is zeroized when an [`Identity`] drops.

pub mod token;

use crate::error::{Error, ErrorKind, Result};
use blake2::{Blake2s256, Digest};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};

/// Length of an identity seed (the ed25519 secret key).
pub const SEED_LEN: usize = 32;
/// Length of a public key (the entity id).
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature.
pub const SIGNATURE_LEN: usize = 64;

const NODE_ID_DOMAIN: &[u8] = b"net/node-id/v1";
const ORIGIN_HASH_DOMAIN: &[u8] = b"net/origin-hash/v1";

fn derive(domain: &[u8], key: &[u8; PUBLIC_KEY_LEN]) -> [u8; 32] {
    let mut hasher = Blake2s256::new();
    hasher.update(domain);
    hasher.update(key);
    hasher.finalize().into()
}

/// A node's keypair.
pub struct Identity {
    key: SigningKey,
}

impl Identity {
    /// A fresh identity from the operating system's random source.
    pub fn generate() -> Result<Identity> {
        let mut seed = [0u8; SEED_LEN];
        getrandom::getrandom(&mut seed)
            .map_err(|e| Error::new(ErrorKind::EntropyUnavailable, e.to_string()))?;
        let identity = Identity::from_seed(&seed);
        seed.fill(0);
        Ok(identity)
    }

    /// The X25519 secret this identity uses as its Noise static key: the
    /// clamped ed25519 scalar, so the Noise public key is the ed25519 key's
    /// Montgomery form and a peer's node id is proven by the handshake itself.
    pub(crate) fn noise_secret(&self) -> [u8; 32] {
        self.key.to_scalar_bytes()
    }

    /// The identity for a 32-byte seed; the same seed always gives the same keys.
    pub fn from_seed(seed: &[u8; SEED_LEN]) -> Identity {
        Identity {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// Like [`Identity::from_seed`] for a slice; anything but 32 bytes fails
    /// with `identity:invalid_seed`.
    pub fn from_seed_slice(seed: &[u8]) -> Result<Identity> {
        let seed: &[u8; SEED_LEN] = seed.try_into().map_err(|_| {
            Error::new(
                ErrorKind::InvalidSeed,
                format!("a seed is {SEED_LEN} bytes, got {}", seed.len()),
            )
        })?;
        Ok(Identity::from_seed(seed))
    }

    /// The secret seed. Treat it like a password: store it encrypted, never log it.
    pub fn to_bytes(&self) -> [u8; SEED_LEN] {
        self.key.to_bytes()
    }

    /// The public key, which is also the entity id.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }

    /// The 64-bit node id.
    pub fn node_id(&self) -> u64 {
        self.public_key().node_id()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.key.sign(message).to_bytes()
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("public_key", &self.public_key())
            .field("seed", &"<redacted>")
            .finish()
    }
}

/// An ed25519 public key: a node's entity id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

impl PublicKey {
    /// Checks that `bytes` are a valid ed25519 public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey> {
        let array: [u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::new(
                ErrorKind::InvalidKey,
                format!(
                    "a public key is {PUBLIC_KEY_LEN} bytes, got {}",
                    bytes.len()
                ),
            )
        })?;
        VerifyingKey::from_bytes(&array)
            .map_err(|_| Error::new(ErrorKind::InvalidKey, "not an ed25519 public key"))?;
        Ok(PublicKey(array))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// The X25519 (Montgomery) form of this key: the node's Noise static key.
    pub(crate) fn noise_public(&self) -> Result<[u8; 32]> {
        let key = VerifyingKey::from_bytes(&self.0)
            .map_err(|e| Error::new(ErrorKind::InvalidKey, e.to_string()))?;
        Ok(key.to_montgomery().to_bytes())
    }

    /// The 64-bit node id: the first 8 bytes, little-endian, of
    /// BLAKE2s-256("net/node-id/v1" ‖ key).
    pub fn node_id(&self) -> u64 {
        let digest = derive(NODE_ID_DOMAIN, &self.0);
        u64::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ])
    }

    /// The 32-bit origin hash stamped on packets: the first 4 bytes,
    /// little-endian, of BLAKE2s-256("net/origin-hash/v1" ‖ key).
    pub fn origin_hash(&self) -> u32 {
        let digest = derive(ORIGIN_HASH_DOMAIN, &self.0);
        u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
    }

    /// Verifies `signature` over `message`; fails with `identity:bad_signature`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let bad = |why: &str| Error::new(ErrorKind::BadSignature, why.to_owned());
        let signature: [u8; SIGNATURE_LEN] = signature
            .try_into()
            .map_err(|_| bad("a signature is 64 bytes"))?;
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| bad("invalid public key"))?;
        key.verify(message, &ed25519_dalek::Signature::from_bytes(&signature))
            .map_err(|_| bad("the signature does not match"))
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_determines_everything() {
        let a = Identity::from_seed(&[7; 32]);
        let b = Identity::from_seed_slice(&[7; 32]).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.node_id(), b.node_id());
        assert_eq!(a.to_bytes(), [7; 32]);
        let c = Identity::generate().unwrap();
        assert_ne!(a.public_key(), c.public_key());
        assert!(!format!("{a:?}").contains("0707"), "the seed never prints");
    }

    #[test]
    fn sign_and_verify() {
        let id = Identity::from_seed(&[1; 32]);
        let sig = id.sign(b"hello");
        let pk = id.public_key();
        pk.verify(b"hello", &sig).unwrap();
        assert_eq!(
            pk.verify(b"hellO", &sig).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
        assert_eq!(
            pk.verify(b"hello", &sig[..63]).unwrap_err().kind(),
            ErrorKind::BadSignature
        );
        let round = PublicKey::from_bytes(pk.as_bytes()).unwrap();
        assert_eq!(round, pk);
    }

    #[test]
    fn bad_material_is_a_typed_error() {
        assert_eq!(
            Identity::from_seed_slice(&[0; 31]).unwrap_err().kind(),
            ErrorKind::InvalidSeed
        );
        assert_eq!(
            PublicKey::from_bytes(&[0; 33]).unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
    }
}
