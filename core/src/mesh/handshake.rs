//! The Noise handshake that opens a session: `IKpsk2` over X25519,
//! ChaCha20-Poly1305 and BLAKE2s, as WireGuard uses.
//!
//! * Both sides' static keys are authenticated (the `I` and `K` of `IK`), so
//!   the responder knows who connected before it admits the session.
//! * The network key is the pre-shared key, mixed in at the end of the second
//!   message: an initiator holding a different key cannot read the answer,
//!   and the handshake fails with `mesh:handshake_failed`.
//! * Each node's Noise static key is the Montgomery form of its ed25519
//!   identity, and the first message carries the initiator's ed25519 public
//!   key, which the responder checks against the static key Noise proved. A
//!   peer's node id is therefore proven by the handshake, never just claimed.
//!
//! The handshake ends in two 32-byte transport keys, one per direction; the
//! session layer uses them with explicit per-packet nonces, since datagrams
//! can be lost or reordered, and with the packet header as associated data,
//! which snow's own transport modes do not offer (hence its raw split).
//!
//! # The packet cipher
//!
//! The handshake also agrees the session's packet cipher ([`Cipher`]). The
//! initiator's payload is its ed25519 key and one byte of the ciphers it
//! offers; the responder's is its key and the one it chose. AES-256-GCM is
//! offered only by a CPU with AES and carry-less multiply instructions
//! (x86-64 AES-NI and PCLMULQDQ, ARMv8 AES and PMULL), where it runs about 3×
//! faster than ChaCha20-Poly1305; both sides must offer it, or the session
//! uses ChaCha20-Poly1305, which is fast everywhere in software. Both bytes
//! travel encrypted and authenticated inside the handshake, so nobody on the
//! path can downgrade the choice. A payload of the key alone means
//! ChaCha20-Poly1305, and a responder answers such a first message with its
//! key alone, so a node from before the cipher byte can still dial in (the
//! other way round it cannot: it refuses the longer first message).

use super::keys::NetworkKey;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Identity, PublicKey, PUBLIC_KEY_LEN};

const PATTERN: &str = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/// Bound into the handshake hash: a different protocol can never be confused
/// with this one, even with the same keys.
const PROLOGUE: &[u8] = b"net-mesh/v1";
/// Largest handshake message (two public keys, a payload, tags, with room).
pub const MAX_HANDSHAKE_LEN: usize = 256;

/// The AEAD that seals a session's packets, agreed in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// ChaCha20-Poly1305: every node offers it.
    ChaCha20Poly1305,
    /// AES-256-GCM: when both sides have hardware AES.
    Aes256Gcm,
}

impl Cipher {
    /// Every cipher (`tools/gen-tables` writes each language's names from
    /// this list).
    pub const ALL: [Cipher; 2] = [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305];

    /// When a session uses it.
    pub fn when(self) -> &'static str {
        match self {
            Cipher::ChaCha20Poly1305 => "the cipher every node offers",
            Cipher::Aes256Gcm => "both nodes have hardware AES",
        }
    }

    /// The stable name (`chacha20-poly1305`, `aes-256-gcm`).
    pub fn as_str(self) -> &'static str {
        match self {
            Cipher::ChaCha20Poly1305 => "chacha20-poly1305",
            Cipher::Aes256Gcm => "aes-256-gcm",
        }
    }

    /// Whether this machine's CPU runs AES-256-GCM in hardware, so this
    /// node offers it.
    pub fn hardware_aes() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("aes")
                && std::arch::is_x86_feature_detected!("pclmulqdq")
        }
        #[cfg(target_arch = "aarch64")]
        {
            std::arch::is_aarch64_feature_detected!("aes")
                && std::arch::is_aarch64_feature_detected!("pmull")
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            false
        }
    }
}

/// The offer byte's bit for AES-256-GCM.
const OFFER_AES: u8 = 0b1;

/// The keys a finished handshake leaves behind (secret; zeroed on drop).
pub struct SessionKeys {
    /// Seals what this side sends.
    pub send: [u8; 32],
    /// Opens what this side receives.
    pub recv: [u8; 32],
    /// The packet cipher both sides agreed.
    pub cipher: Cipher,
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.send.fill(0);
        self.recv.fill(0);
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(<secret>)")
    }
}

fn failed(reason: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::HandshakeFailed, reason.to_string())
}

fn builder<'a>(secret: &'a [u8; 32], network_key: &'a NetworkKey) -> Result<snow::Builder<'a>> {
    let params = PATTERN.parse().map_err(failed)?;
    Ok(snow::Builder::new(params)
        .local_private_key(secret)
        .prologue(PROLOGUE)
        .psk(2, network_key.as_bytes()))
}

/// The initiator's half-done handshake, waiting for the answer.
pub struct Initiator {
    state: snow::HandshakeState,
    peer: PublicKey,
    offered_aes: bool,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initiator")
            .field("peer", &self.peer)
            .finish()
    }
}

impl Initiator {
    /// Starts a handshake with `peer`; returns the first message to send.
    /// Offers AES-256-GCM when this machine has hardware AES.
    pub fn start(
        identity: &Identity,
        peer: &PublicKey,
        network_key: &NetworkKey,
    ) -> Result<(Initiator, Vec<u8>)> {
        Self::start_offering(identity, peer, network_key, Cipher::hardware_aes())
    }

    /// [`start`](Self::start), offering AES-256-GCM or not (tests pair
    /// nodes of both kinds on one machine).
    pub(crate) fn start_offering(
        identity: &Identity,
        peer: &PublicKey,
        network_key: &NetworkKey,
        offer_aes: bool,
    ) -> Result<(Initiator, Vec<u8>)> {
        let mut secret = identity.noise_secret();
        let remote = peer.noise_public()?;
        let built =
            builder(&secret, network_key).map(|b| b.remote_public_key(&remote).build_initiator());
        secret.fill(0);
        let mut state = built?.map_err(failed)?;
        let mut payload = identity.public_key().as_bytes().to_vec();
        payload.push(if offer_aes { OFFER_AES } else { 0 });
        let mut message = vec![0u8; MAX_HANDSHAKE_LEN];
        let len = state
            .write_message(&payload, &mut message)
            .map_err(failed)?;
        message.truncate(len);
        Ok((
            Initiator {
                state,
                peer: *peer,
                offered_aes: offer_aes,
            },
            message,
        ))
    }

    /// The peer this handshake is for.
    pub fn peer(&self) -> &PublicKey {
        &self.peer
    }

    /// Reads the responder's answer. A different network key, or an answer
    /// from anyone but the expected peer, fails with `mesh:handshake_failed`.
    pub fn finish(mut self, answer: &[u8]) -> Result<SessionKeys> {
        let mut payload = [0u8; MAX_HANDSHAKE_LEN];
        let len = self.state.read_message(answer, &mut payload).map_err(|_| {
            failed("the answer did not decrypt: the peer holds another network key or another identity")
        })?;
        if len < PUBLIC_KEY_LEN || payload[..PUBLIC_KEY_LEN] != self.peer.as_bytes()[..] {
            return Err(failed("the answer names another identity"));
        }
        let cipher = match &payload[PUBLIC_KEY_LEN..len] {
            [] | [0] => Cipher::ChaCha20Poly1305,
            [OFFER_AES] if self.offered_aes => Cipher::Aes256Gcm,
            _ => return Err(failed("the answer chose a cipher this node did not offer")),
        };
        let (to_responder, to_initiator) = self.state.dangerously_get_raw_split();
        Ok(SessionKeys {
            send: to_responder,
            recv: to_initiator,
            cipher,
        })
    }
}

/// Answers a first handshake message: returns the initiator's proven public
/// key, the answer to send back and the session keys. Chooses AES-256-GCM
/// when the initiator offered it and this machine has hardware AES.
pub fn respond(
    identity: &Identity,
    network_key: &NetworkKey,
    first: &[u8],
) -> Result<(PublicKey, Vec<u8>, SessionKeys)> {
    respond_accepting(identity, network_key, first, Cipher::hardware_aes())
}

/// [`respond`], accepting AES-256-GCM or not (tests pair nodes of both
/// kinds on one machine).
pub(crate) fn respond_accepting(
    identity: &Identity,
    network_key: &NetworkKey,
    first: &[u8],
    accept_aes: bool,
) -> Result<(PublicKey, Vec<u8>, SessionKeys)> {
    let mut secret = identity.noise_secret();
    let built = builder(&secret, network_key).map(|b| b.build_responder());
    secret.fill(0);
    let mut state = built?.map_err(failed)?;
    let mut payload = [0u8; MAX_HANDSHAKE_LEN];
    let len = state
        .read_message(first, &mut payload)
        .map_err(|_| failed("the first message did not decrypt"))?;
    if len != PUBLIC_KEY_LEN && len != PUBLIC_KEY_LEN + 1 {
        return Err(failed("the first message carries no identity"));
    }
    let peer = PublicKey::from_bytes(&payload[..PUBLIC_KEY_LEN]).map_err(failed)?;
    let offered = payload.get(PUBLIC_KEY_LEN).copied().unwrap_or(0);
    let cipher = if accept_aes && offered & OFFER_AES != 0 {
        Cipher::Aes256Gcm
    } else {
        Cipher::ChaCha20Poly1305
    };
    let proven = state
        .get_remote_static()
        .ok_or_else(|| failed("no static key in the first message"))?;
    if peer.noise_public()?[..] != proven[..] {
        return Err(failed(
            "the claimed identity does not match the key the handshake proved",
        ));
    }
    // An initiator that sent its key alone (a node from before the cipher
    // byte) gets the key alone back, which it reads as ChaCha20-Poly1305.
    let mut reply = identity.public_key().as_bytes().to_vec();
    if len > PUBLIC_KEY_LEN {
        reply.push(match cipher {
            Cipher::Aes256Gcm => OFFER_AES,
            Cipher::ChaCha20Poly1305 => 0,
        });
    }
    let mut answer = vec![0u8; MAX_HANDSHAKE_LEN];
    let len = state.write_message(&reply, &mut answer).map_err(failed)?;
    answer.truncate(len);
    let (to_responder, to_initiator) = state.dangerously_get_raw_split();
    Ok((
        peer,
        answer,
        SessionKeys {
            send: to_initiator,
            recv: to_responder,
            cipher,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A first message as nodes from before the cipher byte send it (the
    /// key alone) is answered with the key alone: ChaCha20-Poly1305.
    #[test]
    fn an_initiator_without_the_cipher_byte_gets_chacha_and_a_plain_answer() {
        let alice = Identity::from_seed(&[1; 32]);
        let bob = Identity::from_seed(&[2; 32]);
        let key = NetworkKey::from_bytes([7; 32]);
        let mut secret = alice.noise_secret();
        let remote = bob.public_key().noise_public().unwrap();
        let mut state = builder(&secret, &key)
            .unwrap()
            .remote_public_key(&remote)
            .build_initiator()
            .unwrap();
        secret.fill(0);
        let mut first = vec![0u8; MAX_HANDSHAKE_LEN];
        let len = state
            .write_message(alice.public_key().as_bytes(), &mut first)
            .unwrap();
        first.truncate(len);
        let (peer, answer, keys) = respond_accepting(&bob, &key, &first, true).unwrap();
        assert_eq!(peer, alice.public_key());
        assert_eq!(keys.cipher, Cipher::ChaCha20Poly1305);
        let mut payload = [0u8; MAX_HANDSHAKE_LEN];
        let len = state.read_message(&answer, &mut payload).unwrap();
        assert_eq!(&payload[..len], bob.public_key().as_bytes());
    }
}
