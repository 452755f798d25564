//! The encrypted mesh transport: Noise sessions between nodes over UDP.
//!
//! * [`keys`]: the network key, the realm boundary every handshake proves.
//! * [`handshake`]: Noise `IKpsk2`, binding each node's ed25519 identity to
//!   its Noise static key.
//! * [`session`]: ChaCha20-Poly1305 on every packet, explicit nonces, the
//!   header authenticated as associated data.
//! * [`replay`]: the sliding window that drops replayed packets.
//! * [`node`]: a node with its socket, sessions, inbox and reader thread.
//! * [`stats`]: the counters, including every reason a datagram was dropped.
//!
//! Streams with reliability and credit windows, routing through relays, trust
//! policies, the peer store and the bus adapter build on these.

pub mod handshake;
pub mod keys;
pub mod node;
pub mod replay;
pub mod session;
pub mod stats;

pub use keys::{NetworkKey, NETWORK_KEY_LEN};
pub use node::{MeshConfig, MeshNode, Message, PeerInfo};
pub use stats::MeshStats;

#[cfg(test)]
mod tests;
