//! Permission tokens in Rust: a root grant, a delegation that narrows it, a
//! chain checked by a token cache, and a revocation.
//! Run: cargo run --release -p net-sdk --example tokens

use net_sdk::channel::{ChannelName, ChannelPattern};
use net_sdk::identity::Identity;
use net_sdk::token::{Access, TokenCache, TokenRequest, TokenScope};
use std::time::Duration;

fn main() -> Result<(), net_sdk::SdkError> {
    let (root, gateway, sensor) = (
        Identity::from_seed(&[1; 32]),
        Identity::from_seed(&[2; 32]),
        Identity::from_seed(&[3; 32]),
    );
    // The root lets the gateway subscribe below sensors/ and pass that on once.
    let grant = root.issue_token(
        &TokenRequest::new(
            gateway.public_key(),
            TokenScope::SUBSCRIBE | TokenScope::DELEGATE,
            ChannelPattern::new("sensors/**")?,
            Duration::from_secs(3600),
        )
        .with_depth(1),
    )?;
    // The gateway lets one sensor reader subscribe to the lidar channels only.
    let narrow = gateway.delegate_token(
        &grant,
        &TokenRequest::new(
            sensor.public_key(),
            TokenScope::SUBSCRIBE,
            ChannelPattern::new("sensors/lidar/*")?,
            Duration::from_secs(600),
        ),
    )?;
    println!(
        "token: {} bytes, id {}",
        narrow.as_bytes().len(),
        narrow.id()
    );
    // Widening is refused.
    let wider = gateway.delegate_token(
        &grant,
        &TokenRequest::new(
            sensor.public_key(),
            TokenScope::PUBLISH,
            ChannelPattern::new("sensors/lidar/*")?,
            Duration::from_secs(600),
        ),
    );
    println!(
        "publish from a subscribe grant: {}",
        wider.unwrap_err().kind()
    );
    // A node that trusts the root checks the chain, then revokes it.
    let cache = TokenCache::new();
    cache.trust(&root.public_key());
    let reader = *sensor.public_key().as_bytes();
    let front = ChannelName::new("sensors/lidar/front")?;
    let access = Access {
        subject: &reader,
        scope: TokenScope::SUBSCRIBE,
        channel: &front,
    };
    let now = net_sdk::token::unix_now();
    cache.install(&[grant.clone(), narrow.clone()], &access, now)?;
    println!("lidar/front allowed: {}", cache.check(&access, now).is_ok());
    let temp = ChannelName::new("sensors/temp")?;
    let elsewhere = Access {
        channel: &temp,
        ..access
    };
    println!("temp allowed: {}", cache.check(&elsewhere, now).is_ok());
    cache.revoke(grant.id());
    println!(
        "after revoking the root grant: {}",
        cache.check(&access, now).is_ok()
    );
    Ok(())
}
