//! Net bus quick start in Rust: emit, poll, stream, shut down.
//! Run: cargo run --release -p net-sdk --example quickstart

use futures::StreamExt;
use net_sdk::{Backpressure, Net};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Token {
    token: String,
}

#[tokio::main]
async fn main() -> net_sdk::error::Result<()> {
    let node = Net::builder()
        .shards(4)
        .backpressure(Backpressure::DropOldest)
        .memory()
        .build()
        .await?;

    // Emit events.
    node.emit(&serde_json::json!({"token": "hello", "index": 0}))?;
    node.emit_raw(b"{\"token\": \"world\"}" as &[u8])?;
    node.emit_str("{\"token\": \"foo\"}")?;
    let count = node.emit_batch(&[
        serde_json::json!({"token": "a"}),
        serde_json::json!({"token": "b"}),
    ])?;
    println!("batch accepted {count}");
    node.flush().await?;

    // Poll: reads without consuming (pass `next_cursor` back to acknowledge).
    let response = node
        .poll(net_sdk::PollRequest {
            limit: 100,
            ..Default::default()
        })
        .await?;
    for event in &response.events {
        println!("polled {}", event.raw_str());
    }

    // Bad input is a typed error.
    match node.emit_str("{not json") {
        Err(e) => println!("rejected: {} ({})", e.kind(), e),
        Ok(_) => unreachable!("invalid JSON is refused"),
    }

    // Stream typed events; the stream drains and ends once the node shuts down.
    let mut stream = node.subscribe_typed::<Token>(Default::default());
    node.shutdown().await?;
    while let Some(token) = stream.next().await {
        match token {
            Ok(t) => println!("streamed {}", t.token),
            Err(e) => println!("skipped: {e}"),
        }
    }
    println!("stats {:?}", node.stats());
    Ok(())
}
