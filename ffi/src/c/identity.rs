//! C exports for node identity.

use super::common::*;
use crate::facade::identity as facade;
use crate::handles::HandleTable;
use net_core::identity::Identity;
use net_core::Error;
use std::sync::Arc;

/// A node identity (ed25519 keypair). Opaque; always used by pointer.
/// Create with `net_identity_from_seed` or `net_identity_generate`; release
/// with `net_identity_free`.
pub struct net_identity_t {
    _opaque: (),
}

static IDENTITIES: HandleTable<Identity> = HandleTable::new(0x49);

pub(crate) fn identity_arg(id: *mut net_identity_t) -> Result<Arc<Identity>, Error> {
    IDENTITIES.arg(id, "identity")
}

/// Copies `src` into the caller's `len`-byte buffer `out`.
fn copy_out(out: *mut u8, len: usize, src: &[u8]) -> Result<i32, Error> {
    if out.is_null() {
        return Err(null_error("out"));
    }
    debug_assert_eq!(len, src.len());
    // SAFETY: the caller provides `len` writable bytes at `out` (documented sizes).
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), out, len) };
    Ok(NET_OK)
}

/// Creates the identity for a 32-byte seed (`NET_ERR_INVALID_SEED` otherwise).
///
/// # Safety
/// `seed` must be valid for `seed_len` bytes; `out` writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_identity_from_seed(
    seed: *const u8,
    seed_len: usize,
    out: *mut *mut net_identity_t,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let seed = unsafe { bytes_arg(seed, seed_len, "seed")? };
        IDENTITIES.store(out, facade::from_seed(seed)?)
    })
}

/// Creates a fresh random identity.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_identity_generate(out: *mut *mut net_identity_t) -> i32 {
    guard(|| IDENTITIES.store(out, facade::generate()?))
}

/// Writes the 32-byte secret seed to `out` (32 bytes). Secret material: never log it.
///
/// # Safety
/// `out` must be writable for 32 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_identity_seed(id: *mut net_identity_t, out: *mut u8) -> i32 {
    guard(|| copy_out(out, facade::SEED_LEN, &identity_arg(id)?.to_bytes()))
}

/// Writes the 32-byte public key (the entity id) to `out`.
///
/// # Safety
/// `out` must be writable for 32 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_identity_public_key(id: *mut net_identity_t, out: *mut u8) -> i32 {
    guard(|| {
        let key = identity_arg(id)?.public_key();
        copy_out(out, facade::PUBLIC_KEY_LEN, key.as_bytes())
    })
}

/// Writes the 64-bit node id to `*out`.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_identity_node_id(id: *mut net_identity_t, out: *mut u64) -> i32 {
    guard(|| {
        let node_id = identity_arg(id)?.node_id();
        copy_out(out.cast(), 8, &node_id.to_ne_bytes())
    })
}

/// Signs `message` and writes the 64-byte signature to `out`.
///
/// # Safety
/// `message` valid for `len` bytes; `out` writable for 64 bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_identity_sign(
    id: *mut net_identity_t,
    message: *const u8,
    len: usize,
    out: *mut u8,
) -> i32 {
    guard(|| {
        let identity = identity_arg(id)?;
        // SAFETY: forwarded contract.
        let message = unsafe { bytes_arg(message, len, "message")? };
        copy_out(out, facade::SIGNATURE_LEN, &identity.sign(message))
    })
}

/// Verifies a signature: `NET_OK`, or `NET_ERR_BAD_SIGNATURE` /
/// `NET_ERR_INVALID_KEY`.
///
/// # Safety
/// Each pointer must be valid for its length.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_verify(
    public_key: *const u8,
    public_key_len: usize,
    message: *const u8,
    message_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let (key, message, signature) = unsafe {
            (
                bytes_arg(public_key, public_key_len, "public_key")?,
                bytes_arg(message, message_len, "message")?,
                bytes_arg(signature, signature_len, "signature")?,
            )
        };
        facade::verify(key, message, signature)?;
        Ok(NET_OK)
    })
}

/// Writes the node id and origin hash of a public key given as bytes.
/// Either out-pointer may be NULL.
///
/// # Safety
/// `public_key` valid for `len` bytes; outs NULL or writable.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn net_public_key_ids(
    public_key: *const u8,
    len: usize,
    out_node_id: *mut u64,
    out_origin_hash: *mut u32,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded contract.
        let key = unsafe { bytes_arg(public_key, len, "public_key")? };
        let node_id = facade::node_id_of(key)?;
        let origin = facade::origin_hash_of(key)?;
        if !out_node_id.is_null() {
            // SAFETY: checked non-null; caller-provided storage.
            unsafe { *out_node_id = node_id };
        }
        if !out_origin_hash.is_null() {
            // SAFETY: checked non-null; caller-provided storage.
            unsafe { *out_origin_hash = origin };
        }
        Ok(NET_OK)
    })
}

/// Releases an identity (its seed is zeroized). NULL and freed handles are ignored.
#[no_mangle]
pub extern "C" fn net_identity_free(id: *mut net_identity_t) {
    guard(|| {
        drop(IDENTITIES.remove(id as usize));
        Ok(NET_OK)
    });
}

pub(crate) fn drain_identities() {
    drop(IDENTITIES.drain());
}
