//! The encrypted mesh transport: Noise sessions between nodes over UDP.
//!
//! * [`config`]: how a node is set up, natively or from shared JSON.
//! * [`keys`]: the network key, the realm boundary every handshake proves.
//! * [`handshake`]: Noise `IKpsk2`, binding each node's ed25519 identity to
//!   its Noise static key.
//! * [`session`]: ChaCha20-Poly1305 on every packet, explicit nonces, the
//!   header authenticated as associated data.
//! * [`replay`]: the sliding window that drops replayed packets.
//! * [`node`]: a node with its socket, sessions, inbox and reader thread.
//! * [`stats`]: the counters, including every reason a datagram was dropped.
//! * `lifetime`: the periodic rekey and the expiry of silent sessions.
//! * [`stream`]: per-stream reliability (acks with selective NACKs) and
//!   credit windows; `streaming` wires it to the node.
//!
//! * [`trust`]: which peers' keys are accepted (open, TOFU, allowlist, pins),
//!   every decision counted and written to the audit log.
//! * [`peer_store`]: peers remembered across restarts in a JSON file.
//!
//! * [`routing`]: the routing table learned from beacons, neighbours' health;
//!   `relay` forwards routed packets on the routing header alone.
//!
//! * [`bus_link`]: the bus over the mesh, a link carrying one node's bus
//!   events into a peer's bus on a reliable stream.

mod admission;
pub mod bus_link;
pub mod capabilities;
mod capability_layer;
mod channel_layer;
pub mod channels;
pub mod conditions;
pub mod config;
mod control;
mod datagrams;
pub mod handshake;
mod inbox;
pub mod keys;
mod lifetime;
pub mod local_channels;
pub mod node;
pub mod peer_store;
mod peers;
pub mod protocol;
mod relay;
pub mod replay;
pub mod routing;
pub mod session;
pub mod stats;
pub mod stream;
mod streaming;
mod timer;
mod transport;
pub mod trust;

pub use bus_link::{BusLink, BusLinkOptions, BusLinkStats, LinkDirection};
pub use capabilities::{
    CapabilityConfig, CapabilityStats, MAX_ANNOUNCEMENT_LEN, MAX_CAPABILITY_HOPS,
};
pub use channel_layer::{ChannelSubscription, PendingSubscribe};
pub use channels::{
    ChannelConfig, ChannelMessage, ChannelStats, Congestion, PublishReport, SkipReason,
    DEFAULT_BLOCK_TIMEOUT, MAX_BLOCK_TIMEOUT_MS, MAX_CHANNEL_PRIORITY,
};
pub use config::{parse_node_config, MeshConfig};
pub use handshake::Cipher;
pub use inbox::{Message, MessageSource, QueueSource, Queued};
pub use keys::{NetworkKey, NETWORK_KEY_LEN};
pub use local_channels::{LocalChannelStats, LocalChannels};
#[cfg(any(test, feature = "test-seams"))]
pub use node::TestSeams;
pub use node::{Connecting, MeshNode};
pub use peer_store::{KnownPeer, PeerStoreConfig};
pub use peers::PeerInfo;
pub use protocol::{Protocol, Registration};
pub use routing::{PeerHealth, RouteInfo};
pub use stats::MeshStats;
pub use stream::{Reliability, StreamConfig, StreamStats};
pub use streaming::MeshStream;
pub use trust::{TrustConfig, TrustPolicy};

#[cfg(test)]
mod capability_tests;
#[cfg(test)]
mod channel_tests;
#[cfg(test)]
mod clock_tests;
#[cfg(test)]
mod lifetime_tests;
#[cfg(test)]
mod module_graph_tests;
#[cfg(test)]
mod protocol_tests;
#[cfg(test)]
mod relay_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trust_tests;
