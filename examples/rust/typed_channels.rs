//! Typed channels in Rust: values of one serde type on a channel, on a
//! node's local channels (every subscriber gets every value) and over the
//! mesh. Run: cargo run --release -q -p net-sdk --example typed_channels

use futures::StreamExt;
use net_sdk::channel::ChannelName;
use net_sdk::mesh::{ChannelConfig, Mesh, NetworkKey};
use net_sdk::{Net, SdkError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
struct Reading {
    sensor_id: String,
    celsius: f64,
}

#[tokio::main]
async fn main() -> Result<(), SdkError> {
    // On one node: publish and subscribe, no registration.
    let node = Net::builder().shards(4).build().await?;
    let temps = node.channel::<Reading>("sensors/temperature")?;
    let mut sub = temps.subscribe()?;
    let n = temps.publish(&Reading {
        sensor_id: "A1".into(),
        celsius: 22.5,
    })?;
    let got = sub.next().await.expect("a value")?;
    println!("local: {n} subscriber got {got:?}");

    // A message that is not a Reading is an error item; the stream goes on.
    node.publish("sensors/temperature", br#"{"celsius": "hot"}"#)?;
    match sub.next().await.expect("an item") {
        Err(e) => println!("a bad message: {}", e.kind()),
        Ok(v) => println!("unexpected: {v:?}"),
    }
    // Or pushed: the engine calls a closure for each value.
    let (tx, rx) = std::sync::mpsc::channel();
    let pushed = temps.subscribe()?;
    let _handler = pushed.on_message(move |r| {
        let _ = tx.send(r.map(|v| v.celsius));
    });
    temps.publish(&Reading {
        sensor_id: "A2".into(),
        celsius: 19.0,
    })?;
    let celsius = rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|e| SdkError::Timeout(e.to_string()))??;
    println!("pushed: {celsius}");
    node.shutdown().await?;

    // Over the mesh: the publisher registers the channel, a peer subscribes.
    let key = NetworkKey::from_bytes([7; 32]);
    let local = "127.0.0.1:0".parse().expect("an address");
    let publisher = Mesh::builder(key.clone()).bind(local).build()?;
    let subscriber = Mesh::builder(key).bind(local).build()?;
    subscriber.connect(publisher.local_addr()?, &publisher.public_key())?;
    publisher.register_channel(ChannelConfig::new(ChannelName::new("plant/temps")?))?;
    let out = publisher.channel::<Reading>("plant/temps")?;
    let mut remote = subscriber.channel::<Reading>("plant/temps")?.subscribe(
        publisher.node_id(),
        &[],
        Duration::from_secs(5),
    )?;
    let report = out.publish(&Reading {
        sensor_id: "boiler".into(),
        celsius: 81.0,
    })?;
    let value = remote.next().await.expect("a value")?;
    println!("mesh: delivered {}, got {value:?}", report.delivered);
    Ok(())
}
