//! Bus throughput in Rust for scripts/demo: single emits, batches and draining,
//! 64-byte events, about a second each.

use net_sdk::{Net, PollRequest};
use std::time::{Duration, Instant};

const EVENT: &[u8] = b"{\"token\":\"hello\",\"index\":12345,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}";

fn rate(n: u64, elapsed: Duration) -> String {
    format!("{:.1} M events/s", n as f64 / elapsed.as_secs_f64() / 1e6)
}

#[tokio::main]
async fn main() -> net_sdk::Result<()> {
    // Default capacity (65 536 per shard) with drop_oldest: the steady state of a
    // bus whose buffers are full, as in the criterion benches.
    let node = Net::builder().shards(4).build().await?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..1000 {
            node.emit_raw(EVENT)?;
        }
        n += 1000;
    }
    println!(
        "rust  emit_raw (64 B):              {}",
        rate(n, start.elapsed())
    );

    let batch = vec![EVENT; 1000];
    let start = Instant::now();
    let mut m = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        m += node.emit_raw_batch(&batch)? as u64;
    }
    println!(
        "rust  emit_raw_batch (1000 x 64 B): {}",
        rate(m, start.elapsed())
    );

    let start = Instant::now();
    let (mut drained, mut cursor) = (0u64, None);
    loop {
        let page = node
            .poll(PollRequest {
                limit: 10_000,
                cursor,
                filter: None,
            })
            .await?;
        drained += page.events.len() as u64;
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    println!(
        "rust  poll drain (limit 10 000):    {} ({drained} events)",
        rate(drained, start.elapsed())
    );
    node.shutdown().await
}
