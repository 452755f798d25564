//! Counters a mesh node keeps: what it sent and received, and every reason
//! it dropped a datagram, so a misbehaving network is visible, not silent.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Declares a record of `u64` counters and its `FIELDS` (each counter's
/// name and description, in order) from one list, so `tools/gen-tables`
/// writes the Go, TypeScript and Python records from the engine's.
macro_rules! stats_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[doc = $doc:literal])* pub $field:ident: u64, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: u64, )*
        }

        impl $name {
            /// Every counter: its name (as in the JSON and the Rust field)
            /// and its description, in declaration order.
            pub const FIELDS: &'static [(&'static str, &'static str)] =
                &[ $( (stringify!($field), concat!($($doc, "\n",)*)), )* ];
        }
    };
}
pub(crate) use stats_record;

/// Declares [`MeshStats`], its live [`Counters`] and [`MeshStats::FIELDS`]
/// from one list, so a counter is named once (`tools/gen-tables` writes the
/// Go, TypeScript and Python records from `FIELDS`).
macro_rules! mesh_counters {
    ($( $(#[doc = $doc:literal])* $field:ident, )*) => {
        /// A point-in-time copy of a node's counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        pub struct MeshStats {
            $( $(#[doc = $doc])* pub $field: u64, )*
        }

        impl MeshStats {
            /// Every counter: its name (as in the JSON and the Rust field)
            /// and its description, in declaration order.
            pub const FIELDS: &'static [(&'static str, &'static str)] =
                &[ $( (stringify!($field), concat!($($doc, "\n",)*)), )* ];
        }

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

mesh_counters! {
    /// Datagrams sent.
    packets_sent,
    /// Datagrams received (before any check).
    packets_received,
    /// Payload bytes sent in data messages.
    bytes_sent,
    /// Payload bytes delivered to the inbox.
    bytes_received,
    /// Handshakes completed, as initiator or responder.
    handshakes_completed,
    /// Handshakes that failed (bad key, wrong identity, malformed message,
    /// a first message whose mac1 did not verify).
    handshakes_failed,
    /// First handshake messages left unanswered because more than the
    /// handshake budget arrived in a second (their senders resend).
    handshakes_throttled,
    /// Datagrams that were not a well-formed Net packet.
    dropped_malformed,
    /// Packets for a session this node does not have.
    dropped_unknown_session,
    /// Packets whose tag did not verify.
    dropped_tampered,
    /// Packets whose counter was already seen or too old.
    dropped_replayed,
    /// Messages dropped because the inbox (or the queue of the protocol
    /// they were for) was full.
    dropped_inbox_full,
    /// Messages for a protocol no layer on this node registered.
    dropped_unknown_protocol,
    /// Messages a protocol refused to take from their sender (its
    /// `authorize` hook said no).
    dropped_unauthorized,
    /// Peers the trust policy accepted (each handshake counts once).
    trust_accepted,
    /// Peers the trust policy refused.
    trust_rejected,
    /// Packets relayed for other nodes (on the routing header alone).
    packets_forwarded,
    /// Routed packets dropped: no route, hop limit reached, or not from a
    /// neighbour.
    dropped_unroutable,
    /// Neighbours that went silent for three beacon intervals.
    peers_suspected,
    /// Neighbours that went silent for six (routes avoid them).
    peers_failed,
    /// Suspected or failed neighbours heard from again.
    peers_recovered,
    /// Sessions replaced by a fresh handshake with the same peer: the
    /// periodic rekey, or a repeated `connect`.
    sessions_rekeyed,
    /// Sessions dropped after `session_timeout` without a packet from the
    /// peer.
    sessions_expired,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}
