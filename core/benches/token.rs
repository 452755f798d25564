//! Permission tokens: issue, verify, a delegation chain of three verified
//! end to end, the cache's check (the publish path's question), and channel
//! pattern matching.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use net_core::channel::{ChannelName, ChannelPattern};
use net_core::identity::token::{
    unix_now, verify_chain, Access, PermissionToken, TokenCache, TokenRequest, TokenScope,
};
use net_core::identity::Identity;
use std::time::Duration;

fn request(subject: &Identity, scope: TokenScope, channel: &str, depth: u8) -> TokenRequest {
    TokenRequest::new(
        subject.public_key(),
        scope,
        ChannelPattern::new(channel).expect("pattern"),
        Duration::from_secs(3600),
    )
    .with_depth(depth)
}

fn tokens(c: &mut Criterion) {
    let mut g = c.benchmark_group("token");
    let (root, alice, bob, carol) = (
        Identity::from_seed(&[1; 32]),
        Identity::from_seed(&[2; 32]),
        Identity::from_seed(&[3; 32]),
        Identity::from_seed(&[4; 32]),
    );
    let all = TokenScope::SUBSCRIBE | TokenScope::DELEGATE;
    let grant = request(&alice, all, "sensors/**", 2);
    g.bench_function("issue", |b| {
        b.iter(|| root.issue_token(black_box(&grant)).expect("issue"))
    });
    let first = root.issue_token(&grant).expect("issue");
    let second = alice
        .delegate_token(&first, &request(&bob, all, "sensors/lidar/*", 1))
        .expect("delegate");
    let third = bob
        .delegate_token(
            &second,
            &request(&carol, TokenScope::SUBSCRIBE, "sensors/lidar/front", 0),
        )
        .expect("delegate");
    // Every token exists from here on.
    let now = unix_now();
    g.bench_function("verify", |b| {
        b.iter(|| black_box(&first).verify(now).expect("verify"))
    });
    g.bench_function("from_bytes", |b| {
        b.iter(|| PermissionToken::from_bytes(black_box(first.as_bytes())).expect("parse"))
    });
    let chain = [first, second, third];
    let carol_key = *carol.public_key().as_bytes();
    let front = ChannelName::new("sensors/lidar/front").expect("name");
    let access = Access {
        subject: &carol_key,
        scope: TokenScope::SUBSCRIBE,
        channel: &front,
    };
    let root_key = *root.public_key().as_bytes();
    g.bench_function("verify_chain_of_3", |b| {
        b.iter(|| {
            verify_chain(
                black_box(&chain),
                &|k| *k == root_key,
                &|_| false,
                &access,
                now,
            )
            .expect("chain")
        })
    });
    let cache = TokenCache::new();
    cache.trust(&root.public_key());
    cache.install(&chain, &access, now).expect("install");
    g.bench_function("cache_check", |b| {
        b.iter(|| cache.check(black_box(&access), now).expect("check"))
    });
    let pattern = ChannelPattern::new("sensors/**").expect("pattern");
    g.bench_function("pattern_matches", |b| {
        b.iter(|| black_box(&pattern).matches(black_box(&front)))
    });
    g.bench_function("channel_hash", |b| b.iter(|| black_box(&front).hash()));
    g.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
