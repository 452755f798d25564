//! A channel subscriber driven by environment variables: the Rust side of
//! the cross-language, cross-process channel test (tests/cross_proc/).
//!
//! Reads `XPROC_NETWORK_KEY`, `XPROC_SEED` (its identity), `XPROC_ADDR`,
//! `XPROC_PUBLIC_KEY` and `XPROC_PUBLISHER` (the publisher),
//! `XPROC_CHANNEL`, `XPROC_COUNT`, `XPROC_TOKEN` (its grant) and
//! `XPROC_WRONG_TOKEN` (someone else's, which must be refused). Prints
//! `RESULT rust refused-wrong-token <count> in order` once it has every
//! message `reading <i>: 21.5 °C ✓` in order, then stays connected until
//! its standard input closes.

use net_sdk::identity::PublicKey;
use net_sdk::mesh::Mesh;
use net_sdk::token::PermissionToken;
use net_sdk::SdkError;
use std::io::{Read, Write};
use std::time::Duration;

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn token(name: &str) -> Result<PermissionToken, String> {
    let bytes = hex::decode(var(name)?).map_err(|e| format!("{name}: {e}"))?;
    PermissionToken::from_bytes(&bytes).map_err(|e| format!("{name}: {e}"))
}

fn run() -> Result<(), String> {
    let config = serde_json::json!({
        "network_key": var("XPROC_NETWORK_KEY")?,
        "seed": var("XPROC_SEED")?,
        "bind": "127.0.0.1:0",
    });
    let mesh = Mesh::from_config_json(&config.to_string()).map_err(|e| e.to_string())?;
    let addr = var("XPROC_ADDR")?
        .parse()
        .map_err(|e| format!("XPROC_ADDR: {e}"))?;
    let key = hex::decode(var("XPROC_PUBLIC_KEY")?).map_err(|e| e.to_string())?;
    let key = PublicKey::from_bytes(&key).map_err(|e| e.to_string())?;
    let publisher: u64 = var("XPROC_PUBLISHER")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let channel = var("XPROC_CHANNEL")?;
    let count: u32 = var("XPROC_COUNT")?.parse().map_err(|e| format!("{e}"))?;
    let wait = Duration::from_secs(30);
    mesh.connect(addr, &key).map_err(|e| e.to_string())?;

    match mesh.subscribe(publisher, &channel, &[token("XPROC_WRONG_TOKEN")?], wait) {
        Err(SdkError::ChannelUnauthorized(_)) => {}
        Err(e) => {
            return Err(format!(
                "another's grant: {e} (wanted channel:unauthorized)"
            ))
        }
        Ok(_) => return Err("another's grant was accepted".into()),
    }
    let sub = mesh
        .subscribe(publisher, &channel, &[token("XPROC_TOKEN")?], wait)
        .map_err(|e| e.to_string())?;
    for i in 0..count {
        let want = format!("reading {i}: 21.5 °C ✓");
        match sub.next_blocking(Some(Duration::from_secs(60))) {
            Ok(Some(m)) if m.payload == want.as_bytes() => {}
            Ok(Some(m)) => {
                return Err(format!(
                    "message {i} was {:?}",
                    String::from_utf8_lossy(&m.payload)
                ))
            }
            Ok(None) => return Err(format!("no message {i} within a minute")),
            Err(e) => return Err(format!("at message {i}: {e}")),
        }
    }
    println!("RESULT rust refused-wrong-token {count} in order");
    std::io::stdout().flush().ok();
    // Connected (and subscribed) until the publisher is done with us.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(sub);
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        println!("RESULT rust failed: {e}");
        std::process::exit(1);
    }
}
