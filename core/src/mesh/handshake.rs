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

use super::keys::NetworkKey;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Identity, PublicKey, PUBLIC_KEY_LEN};

const PATTERN: &str = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/// Bound into the handshake hash: a different protocol can never be confused
/// with this one, even with the same keys.
const PROLOGUE: &[u8] = b"net-mesh/v1";
/// Largest handshake message (two public keys, a payload, tags, with room).
pub const MAX_HANDSHAKE_LEN: usize = 256;

/// The keys a finished handshake leaves behind (secret; zeroed on drop).
pub struct SessionKeys {
    /// Seals what this side sends.
    pub send: [u8; 32],
    /// Opens what this side receives.
    pub recv: [u8; 32],
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
    pub fn start(
        identity: &Identity,
        peer: &PublicKey,
        network_key: &NetworkKey,
    ) -> Result<(Initiator, Vec<u8>)> {
        let mut secret = identity.noise_secret();
        let remote = peer.noise_public()?;
        let built =
            builder(&secret, network_key).map(|b| b.remote_public_key(&remote).build_initiator());
        secret.fill(0);
        let mut state = built?.map_err(failed)?;
        let mut message = vec![0u8; MAX_HANDSHAKE_LEN];
        let len = state
            .write_message(identity.public_key().as_bytes(), &mut message)
            .map_err(failed)?;
        message.truncate(len);
        Ok((Initiator { state, peer: *peer }, message))
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
        if payload[..len] != self.peer.as_bytes()[..] {
            return Err(failed("the answer names another identity"));
        }
        let (to_responder, to_initiator) = self.state.dangerously_get_raw_split();
        Ok(SessionKeys {
            send: to_responder,
            recv: to_initiator,
        })
    }
}

/// Answers a first handshake message: returns the initiator's proven public
/// key, the answer to send back and the session keys.
pub fn respond(
    identity: &Identity,
    network_key: &NetworkKey,
    first: &[u8],
) -> Result<(PublicKey, Vec<u8>, SessionKeys)> {
    let mut secret = identity.noise_secret();
    let built = builder(&secret, network_key).map(|b| b.build_responder());
    secret.fill(0);
    let mut state = built?.map_err(failed)?;
    let mut payload = [0u8; MAX_HANDSHAKE_LEN];
    let len = state
        .read_message(first, &mut payload)
        .map_err(|_| failed("the first message did not decrypt"))?;
    if len != PUBLIC_KEY_LEN {
        return Err(failed("the first message carries no identity"));
    }
    let peer = PublicKey::from_bytes(&payload[..len]).map_err(failed)?;
    let proven = state
        .get_remote_static()
        .ok_or_else(|| failed("no static key in the first message"))?;
    if peer.noise_public()?[..] != proven[..] {
        return Err(failed(
            "the claimed identity does not match the key the handshake proved",
        ));
    }
    let mut answer = vec![0u8; MAX_HANDSHAKE_LEN];
    let len = state
        .write_message(identity.public_key().as_bytes(), &mut answer)
        .map_err(failed)?;
    answer.truncate(len);
    let (to_responder, to_initiator) = state.dangerously_get_raw_split();
    Ok((
        peer,
        answer,
        SessionKeys {
            send: to_initiator,
            recv: to_responder,
        },
    ))
}
