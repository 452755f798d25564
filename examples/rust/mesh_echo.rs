//! A mesh node that echoes every message back: the Rust peer of the
//! cross-language tests (each language's node talks to this one).
//!
//! Prints one JSON line, `{"addr", "public_key", "node_id"}`, then echoes:
//! even stream ids on a reliable stream, odd ones fire-and-forget. A message
//! `bye` is echoed and ends the process; so does end of input on stdin.
//! Run: cargo run --release -q -p net-sdk --example mesh_echo [-- --key HEX]

use net_sdk::mesh::{Mesh, NetworkKey, StreamConfig};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn main() -> net_sdk::error::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let key_hex = args
        .iter()
        .position(|a| a == "--key")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "07".repeat(32));
    let key =
        hex::decode(&key_hex).map_err(|e| net_sdk::SdkError::InvalidMeshConfig(e.to_string()))?;
    let key = NetworkKey::from_slice(&key)?;
    let mesh = Mesh::builder(key)
        .bind("127.0.0.1:0".parse().expect("an address"))
        .build()?;
    println!(
        "{}",
        serde_json::json!({
            "addr": mesh.local_addr()?.to_string(),
            "public_key": hex::encode(mesh.public_key().as_bytes()),
            "node_id": mesh.node_id().to_string(),
        })
    );
    std::io::stdout().flush().ok();
    // The parent going away (stdin closed) ends this process too.
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let idle_limit = Duration::from_secs(60);
    loop {
        let Some(message) = mesh.recv(Some(idle_limit))? else {
            eprintln!("mesh_echo: idle for {idle_limit:?}, leaving");
            std::process::exit(1);
        };
        let (peer, stream_id) = (message.from, message.stream_id);
        if stream_id % 2 == 0 {
            let stream = mesh.open_stream(peer, stream_id, StreamConfig::reliable())?;
            stream.send_blocking(&message.payload, Some(Duration::from_secs(10)))?;
        } else {
            mesh.send(peer, stream_id, &message.payload)?;
        }
        if message.payload == b"bye" {
            // Let reliable echoes be acknowledged before leaving.
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline
                && mesh
                    .stream_stats(peer, stream_id)
                    .is_some_and(|s| s.in_flight > 0)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            return Ok(());
        }
    }
}
