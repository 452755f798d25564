//! Helpers the mesh's tests share: nodes on 127.0.0.1, waiting for a
//! condition, receiving with a deadline.

use super::*;
use crate::identity::Identity;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A node on 127.0.0.1 with quick handshakes, after `tweak` had its say.
pub(crate) fn node_with(seed: u8, tweak: impl FnOnce(&mut MeshConfig)) -> MeshNode {
    let mut config = MeshConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        NetworkKey::from_bytes([7; 32]),
    );
    config.handshake_timeout = Duration::from_millis(1500);
    config.handshake_retry = Duration::from_millis(100);
    tweak(&mut config);
    MeshNode::bind(Identity::from_seed(&[seed; 32]), config).unwrap()
}

pub(crate) fn addr(node: &MeshNode) -> SocketAddr {
    node.local_addr().unwrap()
}

/// Waits until `done` holds, or fails the test after [`WAIT`].
pub(crate) fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The next message, or fails the test after [`WAIT`].
pub(crate) fn recv(node: &MeshNode) -> Message {
    node.recv(Some(WAIT))
        .unwrap()
        .expect("a message within the wait")
}
