//! Identity and wire codecs for Node.

use crate::{to_js, Result};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use net::facade::{identity as facade, wire};

/// A node's ed25519 keypair.
#[napi]
pub struct Identity {
    inner: facade::Identity,
}

#[napi]
impl Identity {
    /// The identity for a 32-byte seed.
    #[napi(factory)]
    pub fn from_seed(seed: Buffer) -> Result<Self> {
        Ok(Identity {
            inner: facade::from_seed(&seed).map_err(to_js)?,
        })
    }

    /// A fresh random identity.
    #[napi(factory)]
    pub fn generate() -> Result<Self> {
        Ok(Identity {
            inner: facade::generate().map_err(to_js)?,
        })
    }

    /// The 32-byte secret seed (never log it).
    #[napi]
    pub fn seed(&self) -> Buffer {
        Buffer::from(self.inner.to_bytes().to_vec())
    }

    /// The 32-byte public key (the entity id).
    #[napi]
    pub fn public_key(&self) -> Buffer {
        Buffer::from(self.inner.public_key().as_bytes().to_vec())
    }

    /// The 64-bit node id.
    #[napi]
    pub fn node_id(&self) -> BigInt {
        BigInt::from(self.inner.node_id())
    }

    /// Signs `message`; returns the 64-byte signature.
    #[napi]
    pub fn sign(&self, message: Buffer) -> Buffer {
        Buffer::from(self.inner.sign(&message).to_vec())
    }

    /// Issues a permission token signed by this identity for the JSON
    /// request; `strict` refuses a zero time to live.
    #[napi]
    pub fn issue_token(&self, request_json: String, strict: bool) -> Result<Buffer> {
        let token = net::facade::token::issue(&self.inner, &request_json, strict).map_err(to_js)?;
        Ok(Buffer::from(token.to_vec()))
    }

    /// Delegates part of `parent` (a token whose subject is this identity).
    #[napi]
    pub fn delegate_token(&self, parent: Buffer, request_json: String) -> Result<Buffer> {
        let token =
            net::facade::token::delegate(&self.inner, &parent, &request_json).map_err(to_js)?;
        Ok(Buffer::from(token.to_vec()))
    }
}

/// Throws unless the signature is valid.
#[napi]
pub fn verify(public_key: Buffer, message: Buffer, signature: Buffer) -> Result<()> {
    facade::verify(&public_key, &message, &signature).map_err(to_js)
}

/// Node id and origin hash of a public key.
#[napi(object)]
pub struct PublicKeyIds {
    pub node_id: BigInt,
    pub origin_hash: u32,
}

/// The node id and origin hash of a public key.
#[napi]
pub fn public_key_ids(public_key: Buffer) -> Result<PublicKeyIds> {
    Ok(PublicKeyIds {
        node_id: BigInt::from(facade::node_id_of(&public_key).map_err(to_js)?),
        origin_hash: facade::origin_hash_of(&public_key).map_err(to_js)?,
    })
}

/// Encodes a Net header given as JSON into 64 bytes.
#[napi]
pub fn header_encode(fields_json: String) -> Result<Buffer> {
    Ok(Buffer::from(
        wire::header_encode(&fields_json).map_err(to_js)?.to_vec(),
    ))
}

/// Decodes the Net header at the start of `data` into JSON.
#[napi]
pub fn header_decode(data: Buffer) -> Result<String> {
    wire::header_decode(&data).map_err(to_js)
}

/// Encodes a routing header given as JSON into 18 bytes.
#[napi]
pub fn routing_encode(fields_json: String) -> Result<Buffer> {
    Ok(Buffer::from(
        wire::routing_encode(&fields_json).map_err(to_js)?.to_vec(),
    ))
}

/// Decodes the routing header at the start of `data` into JSON.
#[napi]
pub fn routing_decode(data: Buffer) -> Result<String> {
    wire::routing_decode(&data).map_err(to_js)
}
