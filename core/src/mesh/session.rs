//! One encrypted session with a peer: sealing and opening packets.
//!
//! Every packet is the 64-byte Net header followed by the AEAD ciphertext of
//! its payload and a 16-byte tag: AES-256-GCM when both sides have hardware
//! AES, ChaCha20-Poly1305 otherwise (agreed in the handshake, see
//! [`Cipher`](super::handshake::Cipher)). The header travels in clear
//! (relays route on it) but is authenticated as associated data, except the
//! two fields a relay must change: the hop TTL and the hop count.
//!
//! The nonce is explicit: its last 8 bytes are the session's packet counter,
//! so packets can be opened in any order, and the receiver's replay window
//! refuses a counter it has seen. A counter is marked only after the packet
//! authenticated, so forged packets cannot burn counters.

use super::handshake::{Cipher, SessionKeys};
use super::replay::ReplayWindow;
use crate::error::{Error, ErrorKind, Result};
use crate::wire::{NetHeader, PacketFlags, HEADER_LEN};
use parking_lot::Mutex;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, CHACHA20_POLY1305};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes the AEAD tag adds to every payload.
pub const TAG_LEN: usize = 16;
/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;
/// The largest message one packet carries.
pub const MAX_PAYLOAD: usize = MAX_DATAGRAM - HEADER_LEN - TAG_LEN;

/// Why a received packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// The tag did not verify: altered in flight, or forged.
    Tampered,
    /// The counter was seen before, or is older than the replay window.
    Replayed,
}

/// A live session's ciphers, counter and replay window.
pub struct Session {
    id: u64,
    cipher: Cipher,
    seal: LessSafeKey,
    open: LessSafeKey,
    next_counter: AtomicU64,
    window: Mutex<ReplayWindow>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &self.id).finish()
    }
}

/// A packet key (ring's assembly implementations: the data path's hottest
/// code, see core/benches/mesh.rs).
fn cipher(cipher: Cipher, key: &[u8; 32]) -> Result<LessSafeKey> {
    let algorithm = match cipher {
        Cipher::ChaCha20Poly1305 => &CHACHA20_POLY1305,
        Cipher::Aes256Gcm => &AES_256_GCM,
    };
    UnboundKey::new(algorithm, key)
        .map(LessSafeKey::new)
        .map_err(|_| Error::new(ErrorKind::HandshakeFailed, "unusable session key"))
}

fn nonce_for(counter: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_le_bytes());
    nonce
}

fn counter_of(nonce: &[u8; 12]) -> Option<u64> {
    if nonce[..4] != [0; 4] {
        return None;
    }
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&nonce[4..]);
    Some(u64::from_le_bytes(bytes))
}

/// The header bytes the tag covers: all of it but the hop fields.
fn associated_data(header: &NetHeader) -> [u8; HEADER_LEN] {
    let mut aad = header.encode();
    aad[5] = 0; // hop TTL
    aad[6] = 0; // hop count
    aad
}

impl Session {
    /// A session from a finished handshake.
    pub fn new(id: u64, keys: &SessionKeys) -> Result<Session> {
        Ok(Session {
            id,
            seal: cipher(keys.cipher, &keys.send)?,
            open: cipher(keys.cipher, &keys.recv)?,
            cipher: keys.cipher,
            next_counter: AtomicU64::new(0),
            window: Mutex::new(ReplayWindow::new()),
        })
    }

    /// The session id carried in every header.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The packet cipher the handshake agreed.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// Seals `payload` under `header` and appends the packet to `out`. The
    /// header's session id, nonce, flags and payload length are filled in.
    pub fn seal(&self, header: &mut NetHeader, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if payload.len() > MAX_PAYLOAD {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                format!(
                    "a message is at most {MAX_PAYLOAD} bytes, got {}",
                    payload.len()
                ),
            ));
        }
        let counter = self.next_counter.fetch_add(1, Ordering::Relaxed);
        header.session_id = self.id;
        header.nonce = nonce_for(counter);
        header.flags = PacketFlags(header.flags.0 | PacketFlags::ENCRYPTED);
        header.payload_len = (payload.len() + TAG_LEN) as u16;
        let aad = associated_data(header);
        let start = out.len();
        out.extend_from_slice(&header.encode());
        out.extend_from_slice(payload);
        let tag = self
            .seal
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(header.nonce),
                Aad::from(&aad),
                &mut out[start + HEADER_LEN..],
            )
            .map_err(|_| {
                Error::new(ErrorKind::MessageTooLarge, "the cipher refused the message")
            })?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Opens a packet's body (ciphertext and tag) in place; on success the
    /// plaintext is `body[..body.len() - TAG_LEN]`.
    pub fn open(&self, header: &NetHeader, body: &mut [u8]) -> Result<usize, Rejected> {
        let counter = counter_of(&header.nonce).ok_or(Rejected::Tampered)?;
        if body.len() < TAG_LEN || usize::from(header.payload_len) != body.len() {
            return Err(Rejected::Tampered);
        }
        if !self.window.lock().check(counter) {
            return Err(Rejected::Replayed);
        }
        let text = self
            .open
            .open_in_place(
                Nonce::assume_unique_for_key(header.nonce),
                Aad::from(&associated_data(header)),
                body,
            )
            .map_err(|_| Rejected::Tampered)?;
        // Two copies of one packet may both pass `check` on different
        // threads; only one wins the mark.
        if !self.window.lock().mark(counter) {
            return Err(Rejected::Replayed);
        }
        Ok(text.len())
    }
}
