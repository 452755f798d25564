//! Counters a mesh node keeps: what it sent and received, and every reason
//! it dropped a datagram, so a misbehaving network is visible, not silent.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// A point-in-time copy of a node's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MeshStats {
    /// Datagrams sent.
    pub packets_sent: u64,
    /// Datagrams received (before any check).
    pub packets_received: u64,
    /// Payload bytes sent in data messages.
    pub bytes_sent: u64,
    /// Payload bytes delivered to the inbox.
    pub bytes_received: u64,
    /// Handshakes completed, as initiator or responder.
    pub handshakes_completed: u64,
    /// Handshakes that failed (bad key, wrong identity, malformed message,
    /// a first message whose mac1 did not verify).
    pub handshakes_failed: u64,
    /// First handshake messages left unanswered because more than the
    /// handshake budget arrived in a second (their senders resend).
    pub handshakes_throttled: u64,
    /// Datagrams that were not a well-formed Net packet.
    pub dropped_malformed: u64,
    /// Packets for a session this node does not have.
    pub dropped_unknown_session: u64,
    /// Packets whose tag did not verify.
    pub dropped_tampered: u64,
    /// Packets whose counter was already seen or too old.
    pub dropped_replayed: u64,
    /// Messages dropped because the inbox was full.
    pub dropped_inbox_full: u64,
    /// Peers the trust policy accepted (each handshake counts once).
    pub trust_accepted: u64,
    /// Peers the trust policy refused.
    pub trust_rejected: u64,
    /// Packets relayed for other nodes (on the routing header alone).
    pub packets_forwarded: u64,
    /// Routed packets dropped: no route, hop limit reached, or not from a
    /// neighbour.
    pub dropped_unroutable: u64,
    /// Neighbours that went silent for three beacon intervals.
    pub peers_suspected: u64,
    /// Neighbours that went silent for six (routes avoid them).
    pub peers_failed: u64,
    /// Suspected or failed neighbours heard from again.
    pub peers_recovered: u64,
    /// Sessions replaced by a fresh handshake with the same peer: the
    /// periodic rekey, or a repeated `connect`.
    pub sessions_rekeyed: u64,
    /// Sessions dropped after `session_timeout` without a packet from the
    /// peer.
    pub sessions_expired: u64,
}

macro_rules! counters {
    ($($field:ident),* $(,)?) => {
        /// The live counters behind [`MeshStats`].
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $field: AtomicU64,)*
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> MeshStats {
                MeshStats { $($field: self.$field.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters!(
    packets_sent,
    packets_received,
    bytes_sent,
    bytes_received,
    handshakes_completed,
    handshakes_failed,
    handshakes_throttled,
    dropped_malformed,
    dropped_unknown_session,
    dropped_tampered,
    dropped_replayed,
    dropped_inbox_full,
    trust_accepted,
    trust_rejected,
    packets_forwarded,
    dropped_unroutable,
    peers_suspected,
    peers_failed,
    peers_recovered,
    sessions_rekeyed,
    sessions_expired,
);

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}
