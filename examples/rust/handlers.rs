//! Handlers in Rust: the engine calls your closure for each bus event and
//! each mesh message (push), instead of you waiting for them (pull).
//! Run: cargo run --release -q -p net-sdk --example handlers

use net_sdk::mesh::{Mesh, NetworkKey, StreamConfig};
use net_sdk::{Net, SubscribeOptions};
use std::sync::{mpsc, Arc};
use std::time::Duration;

fn main() -> net_sdk::error::Result<()> {
    // A bus handler: called on the engine's callback threads, in order.
    let node = Net::builder().shards(1).build_blocking()?;
    let (seen, got) = mpsc::channel();
    let handler = node.on_event(SubscribeOptions::default(), move |event| {
        let _ = seen.send(event.raw_str().into_owned());
    })?;
    for text in ["a", "b", "c"] {
        node.emit_raw(text)?;
    }
    let texts: Vec<String> = (0..3)
        .map(|_| got.recv_timeout(Duration::from_secs(5)).expect("an event"))
        .collect();
    println!("handler got {}", texts.join(", "));
    handler.close(); // dropping it closes it too

    // A mesh handler that answers each message from inside the handler.
    let key = NetworkKey::from_bytes([7; 32]);
    let local = "127.0.0.1:0".parse().expect("an address");
    let alice = Mesh::builder(key.clone()).bind(local).build()?;
    let bob = Arc::new(Mesh::builder(key).bind(local).build()?);
    let peer = alice.connect(bob.local_addr()?, &bob.public_key())?;
    let replier = Arc::clone(&bob);
    let _echo = bob.on_message(move |m| {
        let mut reply = b"re: ".to_vec();
        reply.extend_from_slice(&m.payload);
        let _ = replier.send(m.from, m.stream_id, &reply);
    })?;
    let stream = alice.open_stream(peer.node_id, 1, StreamConfig::reliable())?;
    stream.send_blocking(b"hello", Some(Duration::from_secs(5)))?;
    let answer = alice
        .recv(Some(Duration::from_secs(5)))?
        .expect("an answer");
    println!("alice got {:?}", String::from_utf8_lossy(&answer.payload));
    Ok(())
}
