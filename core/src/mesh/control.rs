//! The node's own control packets: packets with the `CONTROL` flag, told
//! apart by the header's stream id. Their header's protocol id is the
//! protocol of the stream they are about (ack requests, resyncs), or
//! [`APP`](super::protocol::APP) for the node's own (confirmations, beacons,
//! keep-alives).

/// The first authenticated packet of a session (the confirmation).
pub(super) const CONFIRM: u64 = 0;
/// Beacons (routes, and a sign of life).
pub(super) const BEACON: u64 = 1;
/// Keep-alives to routed peers (a sign of life only).
pub(super) const KEEPALIVE: u64 = 2;
/// Ack requests: the body names a reliable stream whose receiver should
/// acknowledge now rather than on its own schedule.
pub(super) const ACK_REQUEST: u64 = 3;
/// Resync requests: a receiver with no record of a reliable stream's epoch
/// asks its sender to start over (see `stream`).
pub(super) const RESYNC: u64 = 4;
