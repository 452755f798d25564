//! Helpers the mesh's tests share: nodes on 127.0.0.1, waiting for a
//! condition, receiving with a deadline.

use super::*;
use crate::identity::Identity;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A node on 127.0.0.1 with quick handshakes, after `tweak` had its say.
pub(crate) fn node_with(seed: u8, tweak: impl FnOnce(&mut MeshConfig)) -> MeshNode {
    MeshNode::bind(Identity::from_seed(&[seed; 32]), test_config(tweak)).unwrap()
}

/// A node whose outgoing datagrams go through `conditions` (loss, ...).
pub(crate) fn conditioned_node(
    seed: u8,
    conditions: impl super::conditions::Conditions + 'static,
    tweak: impl FnOnce(&mut MeshConfig),
) -> MeshNode {
    let config = test_config(tweak);
    MeshNode::bind_with_seams(
        Identity::from_seed(&[seed; 32]),
        config,
        TestSeams {
            conditions: Some(Arc::new(conditions)),
            ..TestSeams::default()
        },
    )
    .unwrap()
}

/// A node whose deadlines run on `clock` (paused time the test advances).
pub(crate) fn clocked_node(
    seed: u8,
    clock: &Arc<crate::time::ManualClock>,
    tweak: impl FnOnce(&mut MeshConfig),
) -> MeshNode {
    MeshNode::bind_with_seams(
        Identity::from_seed(&[seed; 32]),
        test_config(tweak),
        TestSeams {
            clock: clock.clock(),
            ..TestSeams::default()
        },
    )
    .unwrap()
}

/// A lossy node: `share` of its data and ack packets dropped.
pub(crate) fn lossy_node(seed: u8, share: f64, tweak: impl FnOnce(&mut MeshConfig)) -> MeshNode {
    conditioned_node(seed, super::conditions::Loss::new(share).unwrap(), tweak)
}

fn test_config(tweak: impl FnOnce(&mut MeshConfig)) -> MeshConfig {
    let mut config = MeshConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        NetworkKey::from_bytes([7; 32]),
    );
    config.handshake_timeout = Duration::from_millis(1500);
    config.handshake_retry = Duration::from_millis(100);
    tweak(&mut config);
    config
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
