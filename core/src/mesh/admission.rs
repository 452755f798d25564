//! Which first handshake messages earn the responder's key exchanges.
//!
//! Answering a first message costs several X25519 operations, so a stream of
//! forged ones could keep a node's CPU busy for nothing. Two cheap gates
//! stand in front of that work:
//!
//! * **mac1.** The initiator appends a 16-byte keyed BLAKE2s MAC of the
//!   session id and the Noise message, keyed by a hash of the *responder's*
//!   public key (as WireGuard does). Checking it costs one hash, so random
//!   datagrams and scanners that do not know whom they address are dropped
//!   before any key exchange. The key is public: this bounds strangers, not
//!   senders that know the node.
//! * **A budget.** At most [`HANDSHAKE_BUDGET`] first messages a second get
//!   an answer (a token bucket, full at start); the rest are dropped and
//!   counted in `handshakes_throttled`. Initiators resend their first
//!   message, so a genuine one gets through once a flood eases, and data
//!   traffic of established sessions never waits behind handshakes.

use crate::identity::PublicKey;
use blake2::digest::consts::U16;
use blake2::digest::{FixedOutput, KeyInit, Mac};
use blake2::{Blake2s256, Blake2sMac, Digest};
use parking_lot::Mutex;
use std::time::Instant;

/// Bytes of mac1 after a first handshake message.
pub(super) const MAC_LEN: usize = 16;
/// First messages answered per second at most (and the burst allowed).
pub(super) const HANDSHAKE_BUDGET: f64 = 1000.0;

const MAC1_DOMAIN: &[u8] = b"net/mac1/v1";

type Mac1 = Blake2sMac<U16>;

/// The mac1 key for first messages addressed to `responder`.
pub(super) fn mac1_key(responder: &PublicKey) -> [u8; 32] {
    let mut hasher = Blake2s256::new();
    hasher.update(MAC1_DOMAIN);
    hasher.update(responder.as_bytes());
    hasher.finalize().into()
}

/// The mac1 of a first message under `session_id`.
pub(super) fn mac1(key: &[u8; 32], session_id: u64, message: &[u8]) -> [u8; MAC_LEN] {
    keyed(key, session_id, message).finalize_fixed().into()
}

/// The MAC state over a first message, before it is finalized or verified.
fn keyed(key: &[u8; 32], session_id: u64, message: &[u8]) -> Mac1 {
    let mut mac = <Mac1 as KeyInit>::new(key.into());
    Mac::update(&mut mac, &session_id.to_le_bytes());
    Mac::update(&mut mac, message);
    mac
}

/// The responder's gates: its own mac1 key and the handshake budget.
pub(super) struct Admission {
    key: [u8; 32],
    bucket: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Why a first message gets no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Short, or mac1 did not verify.
    BadMac,
    /// Over the budget.
    Throttled,
}

impl Admission {
    /// The gates of the node with key `own`, with a full budget at `now`.
    pub(super) fn new(own: &PublicKey, now: Instant) -> Admission {
        Admission {
            key: mac1_key(own),
            bucket: Mutex::new(Bucket {
                tokens: HANDSHAKE_BUDGET,
                refilled: now,
            }),
        }
    }

    /// Checks a first message (Noise message followed by mac1) and takes
    /// one unit of budget for it (the budget refills on the node's clock,
    /// `now`). Returns the Noise message.
    pub(super) fn admit<'a>(
        &self,
        session_id: u64,
        first: &'a [u8],
        now: Instant,
    ) -> Result<&'a [u8], Refusal> {
        let split = first.len().checked_sub(MAC_LEN).ok_or(Refusal::BadMac)?;
        let (message, tag) = first.split_at(split);
        // Constant-time comparison.
        keyed(&self.key, session_id, message)
            .verify_slice(tag)
            .map_err(|_| Refusal::BadMac)?;
        self.take_token(now)?;
        Ok(message)
    }

    fn take_token(&self, now: Instant) -> Result<(), Refusal> {
        let mut bucket = self.bucket.lock();
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * HANDSHAKE_BUDGET).min(HANDSHAKE_BUDGET);
        bucket.refilled = now;
        if bucket.tokens < 1.0 {
            return Err(Refusal::Throttled);
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use std::time::Duration;

    fn responder() -> (PublicKey, Admission) {
        let key = Identity::from_seed(&[3; 32]).public_key();
        let admission = Admission::new(&key, Instant::now());
        (key, admission)
    }

    fn first(responder: &PublicKey, session_id: u64, message: &[u8]) -> Vec<u8> {
        let mut out = message.to_vec();
        out.extend_from_slice(&mac1(&mac1_key(responder), session_id, message));
        out
    }

    #[test]
    fn a_message_with_the_right_mac_is_admitted_and_returned_without_it() {
        let (key, admission) = responder();
        let packet = first(&key, 9, b"noise message");
        assert_eq!(
            admission.admit(9, &packet, Instant::now()),
            Ok(&b"noise message"[..])
        );
    }

    #[test]
    fn wrong_responder_session_bytes_or_length_fail_the_mac() {
        let (key, admission) = responder();
        let other = Identity::from_seed(&[4; 32]).public_key();
        // Addressed to another node.
        assert_eq!(
            admission.admit(9, &first(&other, 9, b"hello"), Instant::now()),
            Err(Refusal::BadMac)
        );
        // Replayed under another session id.
        assert_eq!(
            admission.admit(10, &first(&key, 9, b"hello"), Instant::now()),
            Err(Refusal::BadMac)
        );
        // Any flipped bit.
        let good = first(&key, 9, b"hello");
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                admission.admit(9, &bad, Instant::now()),
                Err(Refusal::BadMac),
                "bit at {i}"
            );
        }
        // Too short to hold a mac, or nothing at all.
        assert_eq!(
            admission.admit(9, &good[..MAC_LEN - 1], Instant::now()),
            Err(Refusal::BadMac)
        );
        assert_eq!(
            admission.admit(9, &[], Instant::now()),
            Err(Refusal::BadMac)
        );
        // A mac over an empty message is fine as far as this gate goes.
        assert_eq!(
            admission.admit(9, &first(&key, 9, b""), Instant::now()),
            Ok(&b""[..])
        );
    }

    #[test]
    fn the_budget_runs_out_in_a_burst_and_refills_with_time() {
        let (_, admission) = responder();
        let start = admission.bucket.lock().refilled;
        let budget = HANDSHAKE_BUDGET as usize;
        for _ in 0..budget {
            assert_eq!(admission.take_token(start), Ok(()));
        }
        assert_eq!(admission.take_token(start), Err(Refusal::Throttled));
        // A tenth of a second buys a tenth of the budget back.
        let later = start + Duration::from_millis(100);
        let mut granted = 0;
        while admission.take_token(later).is_ok() {
            granted += 1;
        }
        assert_eq!(granted, budget / 10);
        // Never more than a full bucket, however long it waited.
        let much_later = later + Duration::from_secs(3600);
        let mut granted = 0;
        while admission.take_token(much_later).is_ok() {
            granted += 1;
        }
        assert_eq!(granted, budget);
    }
}
