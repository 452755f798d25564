//! Two mesh nodes talking in Rust: connect, a reliable stream, an answer.
//! Run: cargo run --release -q -p net-sdk --example mesh

use net_sdk::mesh::{Mesh, NetworkKey, StreamConfig};
use std::time::Duration;

fn main() -> net_sdk::error::Result<()> {
    // Every node of a mesh shares its network key; it is the realm boundary.
    let key = NetworkKey::from_bytes([7; 32]);
    let local = "127.0.0.1:0".parse().expect("an address");
    let alice = Mesh::builder(key.clone()).bind(local).build()?;
    let bob = Mesh::builder(key).bind(local).build()?;

    // Alice knows Bob's address and public key; the handshake proves both.
    let peer = alice.connect(bob.local_addr()?, &bob.public_key())?;
    println!("alice connected to {:016x}", peer.node_id);

    // A reliable stream: in order, exactly once, with a credit window.
    let stream = alice.open_stream(peer.node_id, 1, StreamConfig::reliable())?;
    for i in 0..3 {
        stream.send_blocking(format!("hello #{i}").as_bytes(), None)?;
    }
    for _ in 0..3 {
        let message = bob.recv(Some(Duration::from_secs(5)))?.expect("a message");
        println!(
            "bob got {:?} from {:016x} on stream {}",
            String::from_utf8_lossy(&message.payload),
            message.from,
            message.stream_id
        );
    }

    // Bob answers on a fire-and-forget stream (the default).
    bob.send(alice.node_id(), 2, b"hi alice")?;
    let answer = alice
        .recv(Some(Duration::from_secs(5)))?
        .expect("an answer");
    println!("alice got {:?}", String::from_utf8_lossy(&answer.payload));
    let stats = stream.stats();
    println!(
        "stream 1: sent {}, in flight {}",
        stats.sent, stats.in_flight
    );
    assert_eq!(answer.payload, b"hi alice");
    Ok(())
}
