//! Channels in Rust: a publisher registers a token-gated channel and trusts
//! a root; a subscriber presents the root's grant, receives what is
//! published; a revocation stops delivery on the next publish.
//! Run: cargo run --release -p net-sdk --example channels

use net_sdk::channel::ChannelPattern;
use net_sdk::identity::Identity;
use net_sdk::mesh::{ChannelConfig, Mesh, NetworkKey};
use net_sdk::token::{TokenRequest, TokenScope};
use std::time::Duration;

fn main() -> Result<(), net_sdk::SdkError> {
    let key = NetworkKey::from_bytes([7; 32]);
    let local = "127.0.0.1:0".parse().expect("an address");
    let publisher = Mesh::builder(key.clone()).bind(local).build()?;
    let subscriber = Mesh::builder(key).bind(local).build()?;
    subscriber.connect(publisher.local_addr()?, &publisher.public_key())?;

    // The publisher's channel wants a token; it trusts one root.
    let mut config = ChannelConfig::new(net_sdk::channel::ChannelName::new("alerts/fire")?);
    config.require_token = true;
    publisher.register_channel(config)?;
    let root = Identity::from_seed(&[42; 32]);
    publisher.token_cache().trust(&root.public_key());

    // Without a token: refused with the reason.
    let refused = subscriber.subscribe(
        publisher.node_id(),
        "alerts/fire",
        &[],
        Duration::from_secs(5),
    );
    println!(
        "without a token: {:?}",
        refused.map(|_| ()).map_err(|e| e.error_kind())
    );

    // With the root's grant for alerts/**: admitted.
    let grant = root.issue_token(&TokenRequest::new(
        subscriber.public_key(),
        TokenScope::SUBSCRIBE,
        ChannelPattern::new("alerts/**")?,
        Duration::from_secs(600),
    ))?;
    let stream = subscriber.subscribe(
        publisher.node_id(),
        "alerts/*",
        std::slice::from_ref(&grant),
        Duration::from_secs(5),
    )?;
    println!("admitted to {:?}", stream.accepted());
    for text in ["smoke", "heat", "flame"] {
        let report = publisher.publish("alerts/fire", text.as_bytes())?;
        assert_eq!(report.delivered, 1);
    }
    for _ in 0..3 {
        let message = stream
            .next_blocking(Some(Duration::from_secs(5)))?
            .expect("a message");
        println!(
            "{} on {}",
            String::from_utf8_lossy(&message.payload),
            message.channel
        );
    }

    // Revoked: the next publish skips the subscriber and drops it.
    publisher.token_cache().revoke(grant.id());
    let report = publisher.publish("alerts/fire", b"after")?;
    println!(
        "after revoking: delivered {}, skipped {:?}",
        report.delivered, report.skipped
    );
    assert_eq!(report.delivered, 0);
    Ok(())
}
