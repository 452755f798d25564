//! The bus over the mesh in Rust: events emitted on Alice's bus are read by
//! a subscription on Bob's.
//! Run: cargo run --release -q -p net-sdk --example bus_over_mesh

use futures::StreamExt;
use net_sdk::mesh::{Mesh, NetworkKey};
use net_sdk::Net;
use serde_json::json;

fn main() -> net_sdk::error::Result<()> {
    let key = NetworkKey::from_bytes([7; 32]);
    let local = "127.0.0.1:0".parse().expect("an address");
    let alice = Mesh::builder(key.clone()).bind(local).build()?;
    let bob = Mesh::builder(key).bind(local).build()?;
    let peer = alice.connect(bob.local_addr()?, &bob.public_key())?;

    // One bus on each node. Alice's link consumes her bus and sends its
    // events to Bob; Bob's link emits them into his bus.
    let outbox = Net::builder().memory().build_blocking()?;
    let inbox = Net::builder().memory().build_blocking()?;
    let receiving = bob.receive_bus(&inbox, alice.node_id())?;
    let sending = alice.send_bus(&outbox, peer.node_id)?;

    for (i, item) in ["apples", "pears", "plums"].iter().enumerate() {
        outbox.emit(&json!({ "order": i, "item": item }))?;
    }

    let arrived = futures::executor::block_on(async {
        let mut events = inbox.subscribe(Default::default());
        let mut arrived = 0;
        while arrived < 3 {
            let event = events.next().await.expect("the stream stays open")?;
            println!("bob got {}", event.raw_str());
            arrived += 1;
        }
        Ok::<_, net_sdk::SdkError>(arrived)
    })?;

    // Closing waits for the link's thread, so the counters are final.
    sending.close();
    receiving.close();
    let stats = receiving.stats();
    println!(
        "bob's link: {} events, {} bytes in {} messages",
        stats.events, stats.bytes, stats.messages
    );
    println!("bus over mesh: {arrived} events arrived");
    Ok(())
}
