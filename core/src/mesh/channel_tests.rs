//! Channels over real UDP on 127.0.0.1: delivery to exactly the admitted
//! subscribers, every refusal with its reason, revocation on the next
//! publish, the expiry sweep, subnets (also through a relay), the failure
//! limiter, wildcards, unsubscribing and peers going away.

use super::channels::{ChannelConfig, Congestion, SkipReason, DEFAULT_BLOCK_TIMEOUT, MAX_FAILURES};
use super::test_support::{addr, eventually, node_with};
use super::*;
use crate::capability::{CapabilitySet, Predicate};
use crate::channel::{ChannelName, ChannelPattern};
use crate::error::ErrorKind;
use crate::identity::token::{unix_now, PermissionToken, TokenRequest, TokenScope};
use crate::identity::Identity;
use crate::subnet::{SubnetId, SubnetPolicy, SubnetRule};
use std::time::Duration;

const ACK: Duration = Duration::from_secs(5);
const NEXT: Option<Duration> = Some(Duration::from_secs(5));

fn quick(config: &mut MeshConfig) {
    config.capabilities.min_announce_interval = Duration::from_millis(20);
    config.retransmit_timeout = Duration::from_millis(50);
}

fn link(a: &MeshNode, b: &MeshNode) {
    a.connect(addr(b), &b.public_key()).unwrap();
    eventually("the session on both sides", || {
        b.peers()
            .iter()
            .any(|p| p.node_id == a.node_id() && p.confirmed)
    });
}

fn channel(name: &str) -> ChannelConfig {
    ChannelConfig::new(ChannelName::new(name).unwrap())
}

fn grant(issuer: &Identity, subject: &MeshNode, pattern: &str, ttl: u64) -> PermissionToken {
    issuer
        .issue_token(&TokenRequest::new(
            subject.public_key(),
            TokenScope::SUBSCRIBE,
            ChannelPattern::new(pattern).unwrap(),
            Duration::from_secs(ttl),
        ))
        .unwrap()
}

/// Announces `caps` from `node` and waits until `at` indexed them.
fn announce(node: &MeshNode, caps: CapabilitySet, at: &MeshNode) {
    let tag = caps.tags().next();
    node.announce_capabilities(caps).unwrap();
    if let Some(tag) = tag {
        let key = tag.split('=').next().unwrap_or_default().to_string();
        eventually("the announcement indexed", || {
            at.find_nodes(&Predicate::exists(key.clone()))
                .contains(&node.node_id())
        });
    }
}

#[test]
fn a_publish_reaches_every_subscriber_once_in_order_and_no_one_else() {
    let p = node_with(200, quick);
    let subs: Vec<MeshNode> = (0..3).map(|i| node_with(201 + i, quick)).collect();
    for s in &subs {
        link(s, &p);
    }
    p.register_channel(channel("sensors/lidar")).unwrap();
    let streams: Vec<_> = subs[..2]
        .iter()
        .map(|s| s.subscribe(p.node_id(), "sensors/lidar", &[], ACK).unwrap())
        .collect();
    assert_eq!(streams[0].accepted(), ["sensors/lidar"]);
    assert_eq!(p.channel_subscribers("sensors/lidar"), {
        let mut ids = vec![subs[0].node_id(), subs[1].node_id()];
        ids.sort_unstable();
        ids
    });
    let mut delivered = 0;
    for i in 0..200u32 {
        let report = p.publish("sensors/lidar", &i.to_le_bytes()).unwrap();
        assert_eq!(report.attempted, 2);
        assert!(report.skipped.is_empty(), "{report:?}");
        delivered += report.delivered;
    }
    assert_eq!(delivered, 400);
    for stream in &streams {
        for i in 0..200u32 {
            let m = stream.next(NEXT).unwrap().expect("a message");
            assert_eq!(m.payload, i.to_le_bytes());
            assert_eq!(&*m.channel, "sensors/lidar");
            assert_eq!(m.publisher, p.node_id());
        }
        assert_eq!(stream.next(Some(Duration::from_millis(100))).unwrap(), None);
    }
    // The third node never subscribed: nothing was sent to it.
    assert_eq!(subs[2].channel_stats().received, 0);
    let many = p
        .publish_many("sensors/lidar", &[b"a".as_slice(), b"b".as_slice()])
        .unwrap();
    assert_eq!((many.attempted, many.delivered), (4, 4));
    assert_eq!(
        p.publish("sensors/radar", b"x").unwrap_err().kind(),
        ErrorKind::UnknownChannel
    );
    assert_eq!(
        p.register_channel(channel("sensors/lidar"))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidChannelConfig
    );
}

#[test]
fn every_refusal_comes_with_its_reason() {
    let p = node_with(210, quick);
    let s = node_with(211, quick);
    let stranger = node_with(212, quick);
    link(&s, &p);
    let root = Identity::from_seed(&[99; 32]);
    let other_root = Identity::from_seed(&[98; 32]);
    p.token_cache().trust(&root.public_key());
    let mut config = channel("gpu/jobs");
    config.subscribe_caps = Some(Predicate::exists("hardware.gpu"));
    config.require_token = true;
    p.register_channel(config).unwrap();
    let kind = |pattern: &str, chain: &[PermissionToken]| {
        s.subscribe(p.node_id(), pattern, chain, ACK)
            .map(|_| ())
            .unwrap_err()
            .kind()
    };
    let good = grant(&root, &s, "gpu/*", 3600);
    assert_eq!(
        kind("gpu/other", std::slice::from_ref(&good)),
        ErrorKind::UnknownChannel
    );
    // Without the capability (s has not announced any).
    assert_eq!(
        kind("gpu/jobs", std::slice::from_ref(&good)),
        ErrorKind::ChannelUnauthorized
    );
    announce(
        &s,
        CapabilitySet::new().with_tag("hardware.gpu").unwrap(),
        &p,
    );
    assert_eq!(kind("gpu/jobs", &[]), ErrorKind::ChannelUnauthorized);
    let past = unix_now() - 7200;
    let expired = root
        .issue_token(&TokenRequest {
            not_before: Some(past),
            now: Some(past),
            ..TokenRequest::new(
                s.public_key(),
                TokenScope::SUBSCRIBE,
                ChannelPattern::new("gpu/*").unwrap(),
                Duration::from_secs(60),
            )
        })
        .unwrap();
    assert_eq!(kind("gpu/jobs", &[expired]), ErrorKind::ChannelUnauthorized);
    let for_stranger = grant(&root, &stranger, "gpu/*", 3600);
    assert_eq!(
        kind("gpu/jobs", &[for_stranger]),
        ErrorKind::ChannelUnauthorized
    );
    let other_channel = grant(&root, &s, "cpu/*", 3600);
    assert_eq!(
        kind("gpu/jobs", &[other_channel]),
        ErrorKind::ChannelUnauthorized
    );
    let untrusted = grant(&other_root, &s, "gpu/*", 3600);
    assert_eq!(
        kind("gpu/jobs", &[untrusted]),
        ErrorKind::ChannelUnauthorized
    );
    // A broken chain: a delegation presented without its parent.
    let parent = root
        .issue_token(
            &TokenRequest::new(
                stranger.public_key(),
                TokenScope::SUBSCRIBE | TokenScope::DELEGATE,
                ChannelPattern::new("gpu/**").unwrap(),
                Duration::from_secs(3600),
            )
            .with_depth(1),
        )
        .unwrap();
    let stranger_id = Identity::from_seed(&[212; 32]);
    let child = stranger_id
        .delegate_token(
            &parent,
            &TokenRequest::new(
                s.public_key(),
                TokenScope::SUBSCRIBE,
                ChannelPattern::new("gpu/jobs").unwrap(),
                Duration::from_secs(600),
            ),
        )
        .unwrap();
    // The whole chain is accepted (seven refusals so far: under the limit).
    assert_eq!(p.channel_stats().subscribes_refused, 7);
    let ok = s
        .subscribe(p.node_id(), "gpu/jobs", &[parent, child.clone()], ACK)
        .unwrap();
    assert_eq!(ok.accepted(), ["gpu/jobs"]);
    assert_eq!(p.channel_subscribers("gpu/jobs"), [s.node_id()]);
    // The child alone is a broken chain.
    assert_eq!(
        kind("gpu/jobs", std::slice::from_ref(&child)),
        ErrorKind::ChannelUnauthorized
    );
    // Eight refusals within the window: the next request is refused unchecked.
    assert_eq!(kind("gpu/jobs", &[child]), ErrorKind::ChannelRateLimited);
    assert_eq!(p.channel_stats().rate_limited, 1);
}

#[test]
fn revoking_a_token_stops_delivery_on_the_next_publish() {
    let p = node_with(220, quick);
    let s = node_with(221, quick);
    link(&s, &p);
    let root = Identity::from_seed(&[97; 32]);
    p.token_cache().trust(&root.public_key());
    let mut config = channel("alerts");
    config.require_token = true;
    p.register_channel(config).unwrap();
    let token = grant(&root, &s, "alerts", 3600);
    let stream = s
        .subscribe(p.node_id(), "alerts", std::slice::from_ref(&token), ACK)
        .unwrap();
    assert_eq!(p.publish("alerts", b"one").unwrap().delivered, 1);
    assert_eq!(stream.next(NEXT).unwrap().unwrap().payload, b"one");
    p.token_cache().revoke(token.id());
    let report = p.publish("alerts", b"two").unwrap();
    assert_eq!(report.delivered, 0);
    assert_eq!(report.skipped, [(s.node_id(), SkipReason::Revoked)]);
    assert!(p.channel_subscribers("alerts").is_empty());
    assert_eq!(p.channel_stats().evicted_revoked, 1);
    assert_eq!(stream.next(Some(Duration::from_millis(200))).unwrap(), None);
    // And it cannot come back with the revoked token.
    let err = s
        .subscribe(p.node_id(), "alerts", &[token], ACK)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChannelUnauthorized);
}

#[test]
fn the_sweep_evicts_a_subscriber_whose_token_expires() {
    let p = node_with(230, quick);
    let s = node_with(231, quick);
    link(&s, &p);
    let root = Identity::from_seed(&[96; 32]);
    p.token_cache().trust(&root.public_key());
    let mut config = channel("telemetry");
    config.require_token = true;
    p.register_channel(config).unwrap();
    let token = grant(&root, &s, "telemetry", 1);
    let _stream = s
        .subscribe(p.node_id(), "telemetry", &[token], ACK)
        .unwrap();
    assert_eq!(p.channel_subscribers("telemetry"), [s.node_id()]);
    // No publish: the sweep alone evicts it when the second is up.
    eventually("the sweep", || {
        p.channel_subscribers("telemetry").is_empty()
    });
    assert_eq!(p.channel_stats().evicted_expired, 1);
}

#[test]
fn a_subnet_local_channel_never_reaches_another_subnet_even_through_a_relay() {
    let policy = SubnetPolicy::new()
        .add_rule(SubnetRule::new("region:", 0).map("us", 3).map("eu", 4))
        .unwrap()
        .add_rule(SubnetRule::new("fleet:", 1).map("blue", 7))
        .unwrap();
    let configured = |subnet: Option<SubnetId>| {
        let policy = policy.clone();
        move |c: &mut MeshConfig| {
            quick(c);
            c.beacon_interval = Duration::from_millis(40);
            c.capabilities.subnet_policy = policy;
            if let Some(subnet) = subnet {
                c.capabilities.subnet = subnet;
            }
        }
    };
    let p = node_with(240, configured(Some(SubnetId::new(&[3, 7]).unwrap())));
    let inside = node_with(241, configured(None));
    let relay = node_with(242, configured(None));
    let outside = node_with(243, configured(None));
    link(&inside, &p);
    link(&relay, &p);
    link(&outside, &relay);
    eventually("a route from outside to p", || {
        outside.routes().iter().any(|r| r.dest == p.node_id())
    });
    outside.connect_routed(&p.public_key()).unwrap();
    let mut config = channel("fleet/status");
    config.visibility = crate::subnet::Visibility::SubnetLocal;
    p.register_channel(config).unwrap();
    announce(
        &inside,
        CapabilitySet::new()
            .with_tag("region:us")
            .unwrap()
            .with_tag("fleet:blue")
            .unwrap(),
        &p,
    );
    announce(
        &outside,
        CapabilitySet::new().with_tag("region:eu").unwrap(),
        &p,
    );
    assert_eq!(
        p.subnet_of(outside.node_id()),
        Some(SubnetId::new(&[4]).unwrap())
    );
    let ok = inside
        .subscribe(p.node_id(), "fleet/status", &[], ACK)
        .unwrap();
    let err = outside
        .subscribe(p.node_id(), "fleet/status", &[], ACK)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChannelSubnet);
    // Unannounced nodes are in the root subnet: not this fleet's either.
    let err = relay
        .subscribe(p.node_id(), "fleet/status", &[], ACK)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChannelSubnet);
    let report = p.publish("fleet/status", b"ok").unwrap();
    assert_eq!((report.attempted, report.delivered), (1, 1));
    assert_eq!(ok.next(NEXT).unwrap().unwrap().payload, b"ok");
    assert_eq!(outside.channel_stats().received, 0);
    assert_eq!(relay.channel_stats().received, 0);
}

#[test]
fn a_bad_token_storm_is_rate_limited_and_others_are_still_served() {
    let p = node_with(250, quick);
    let attacker = node_with(251, quick);
    let honest = node_with(252, quick);
    link(&attacker, &p);
    link(&honest, &p);
    let root = Identity::from_seed(&[95; 32]);
    p.token_cache().trust(&root.public_key());
    let mut config = channel("ops");
    config.require_token = true;
    p.register_channel(config).unwrap();
    let forged = grant(&Identity::from_seed(&[1; 32]), &attacker, "ops", 60);
    let mut kinds = Vec::new();
    for _ in 0..(MAX_FAILURES + 4) {
        let err = attacker
            .subscribe(p.node_id(), "ops", std::slice::from_ref(&forged), ACK)
            .unwrap_err();
        kinds.push(err.kind());
    }
    assert!(kinds[..MAX_FAILURES as usize]
        .iter()
        .all(|k| *k == ErrorKind::ChannelUnauthorized));
    assert!(kinds[MAX_FAILURES as usize..]
        .iter()
        .all(|k| *k == ErrorKind::ChannelRateLimited));
    assert_eq!(p.channel_stats().rate_limited, 4);
    let token = grant(&root, &honest, "ops", 60);
    let stream = honest.subscribe(p.node_id(), "ops", &[token], ACK).unwrap();
    p.publish("ops", b"still serving").unwrap();
    assert_eq!(
        stream.next(NEXT).unwrap().unwrap().payload,
        b"still serving"
    );
}

#[test]
fn wildcards_match_levels_and_channels_registered_later() {
    let p = node_with(30, quick);
    let s = node_with(31, quick);
    link(&s, &p);
    p.register_channel(channel("sensors/a")).unwrap();
    p.register_channel(channel("sensors/a/deep")).unwrap();
    let one = s.subscribe(p.node_id(), "sensors/*", &[], ACK).unwrap();
    assert_eq!(one.accepted(), ["sensors/a"]);
    let deep = s.subscribe(p.node_id(), "sensors/**", &[], ACK).unwrap();
    assert_eq!(deep.accepted(), ["sensors/a", "sensors/a/deep"]);
    p.register_channel(channel("sensors/b")).unwrap();
    p.publish("sensors/a/deep", b"1").unwrap();
    p.publish("sensors/b", b"2").unwrap();
    let got = one.next(NEXT).unwrap().unwrap();
    assert_eq!(
        (&*got.channel, got.payload.as_slice()),
        ("sensors/b", b"2".as_slice())
    );
    let first = deep.next(NEXT).unwrap().unwrap();
    let second = deep.next(NEXT).unwrap().unwrap();
    assert_eq!(&*first.channel, "sensors/a/deep");
    assert_eq!(&*second.channel, "sensors/b");
    assert_eq!(
        s.subscribe(p.node_id(), "nothing/**", &[], ACK)
            .unwrap_err()
            .kind(),
        ErrorKind::UnknownChannel
    );
}

#[test]
fn unsubscribing_and_peers_going_away_leave_the_roster() {
    let p = node_with(33, |c| {
        quick(c);
        c.beacon_interval = Duration::from_millis(50);
        c.session_timeout = Duration::from_millis(400);
    });
    let s = node_with(34, |c| {
        quick(c);
        c.beacon_interval = Duration::from_millis(50);
        c.session_timeout = Duration::from_millis(400);
    });
    let t = node_with(35, |c| {
        quick(c);
        c.beacon_interval = Duration::from_millis(50);
        c.session_timeout = Duration::from_millis(400);
    });
    link(&s, &p);
    link(&t, &p);
    p.register_channel(channel("news")).unwrap();
    let stream = s.subscribe(p.node_id(), "news", &[], ACK).unwrap();
    let _t_stream = t.subscribe(p.node_id(), "news", &[], ACK).unwrap();
    assert_eq!(p.channel_subscribers("news").len(), 2);
    stream.close();
    eventually("s left", || {
        !p.channel_subscribers("news").contains(&s.node_id())
    });
    t.shutdown();
    eventually("t's session expired", || {
        p.channel_subscribers("news").is_empty()
    });
    assert_eq!(p.publish("news", b"x").unwrap().attempted, 0);
}

#[test]
fn publish_caps_gate_the_publisher_itself() {
    let p = node_with(36, quick);
    let mut config = channel("inference/out");
    config.publish_caps = Some(Predicate::exists("hardware.gpu"));
    p.register_channel(config).unwrap();
    let err = p.publish("inference/out", b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChannelUnauthorized);
    p.announce_capabilities(CapabilitySet::new().with_tag("hardware.gpu").unwrap())
        .unwrap();
    assert_eq!(p.publish("inference/out", b"x").unwrap().attempted, 0);
}

#[test]
fn a_subscribe_without_an_answer_times_out_and_bad_input_is_refused() {
    let p = node_with(37, quick);
    let s = node_with(38, quick);
    link(&s, &p);
    let err = s.subscribe(p.node_id(), "bad name", &[], ACK).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidChannelName);
    let err = s.subscribe(12345, "a", &[], ACK).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownPeer);
    p.shutdown();
    let err = s
        .subscribe(p.node_id(), "a", &[], Duration::from_millis(300))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshTimeout);
}

#[test]
fn a_blocking_channel_loses_nothing_and_a_dropping_one_says_who_missed_out() {
    let p = node_with(190, quick);
    // A short queue: a subscriber that stops reading fills it quickly.
    let s = node_with(191, |c| {
        quick(c);
        c.inbox_capacity = 64;
    });
    link(&s, &p);
    p.register_channel(channel("bulk/block")).unwrap();
    let stream = s.subscribe(p.node_id(), "bulk/block", &[], ACK).unwrap();
    // Far more than the window: the publisher waits for room, nothing is lost.
    const N: u32 = 6000;
    let reader = std::thread::spawn(move || {
        (0..N)
            .map(|_| stream.next(NEXT).unwrap().expect("a message").payload)
            .collect::<Vec<_>>()
    });
    for i in 0..N {
        let report = p.publish("bulk/block", &i.to_le_bytes()).unwrap();
        assert_eq!((report.delivered, report.skipped.len()), (1, 0), "{i}");
    }
    let got = reader.join().unwrap();
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, m)| *m == (i as u32).to_le_bytes()));

    // A subscriber that reads nothing: `drop` skips it at once once its
    // window and queue are full; `block` waits the block timeout first.
    let mut drop = channel("bulk/drop");
    drop.congestion = Congestion::Drop;
    p.register_channel(drop).unwrap();
    let mut short = channel("bulk/short");
    short.block_timeout = Duration::from_millis(50);
    p.register_channel(short).unwrap();
    let _idle = s.subscribe(p.node_id(), "bulk/*", &[], ACK).unwrap();
    let mut skipped = None;
    // Small messages are packed while the stream is busy: the window holds
    // many of them before it is full.
    for i in 0..5_000_000u32 {
        let report = p.publish("bulk/drop", &i.to_le_bytes()).unwrap();
        if let Some(first) = report.skipped.first() {
            skipped = Some((i, *first));
            break;
        }
    }
    let (at, (who, why)) = skipped.expect("a full subscriber is skipped");
    assert!(at > 0, "the first publish found room");
    assert_eq!((who, why), (s.node_id(), SkipReason::Backpressure));
    // Acks still in flight may open the window a little; once the
    // subscriber's queue is full no more come, and a publish waits 50 ms.
    let mut waited = None;
    for _ in 0..5_000_000 {
        let started = std::time::Instant::now();
        let report = p.publish("bulk/short", b"late").unwrap();
        if !report.skipped.is_empty() {
            waited = Some((report.skipped, started.elapsed()));
            break;
        }
    }
    let (skipped, took) = waited.expect("the blocking publish gives up");
    assert_eq!(skipped, [(s.node_id(), SkipReason::Backpressure)]);
    assert!(took >= Duration::from_millis(50), "{took:?}");
    assert!(p.channel_stats().skipped >= 2);
}

#[test]
fn channel_configs_read_their_json_and_fill_in_defaults() {
    let config = ChannelConfig::from_json(r#"{"name":"a/b"}"#).unwrap();
    assert_eq!(config.congestion, Congestion::Block);
    assert_eq!(config.block_timeout, DEFAULT_BLOCK_TIMEOUT);
    assert_eq!(
        config.to_json(),
        serde_json::json!({
            "name": "a/b", "visibility": "global", "publish_caps": null,
            "subscribe_caps": null, "require_token": false, "reliable": true,
            "congestion": "block", "block_timeout_ms": 1000, "priority": 0,
        })
    );
    let config =
        ChannelConfig::from_json(r#"{"name":"a","congestion":"drop","block_timeout_ms":5}"#)
            .unwrap();
    assert_eq!(
        (config.congestion, config.block_timeout),
        (Congestion::Drop, Duration::from_millis(5))
    );
    for bad in [
        r#"{"name":"a","congestion":"wait"}"#,
        r#"{"name":"a","congestion":1}"#,
        r#"{"name":"a","block_timeout_ms":0}"#,
        r#"{"name":"a","block_timeout_ms":-1}"#,
        r#"{"name":"a","block_timeout_ms":1.5}"#,
        r#"{"name":"a","block_timeout_ms":3600001}"#,
    ] {
        assert_eq!(
            ChannelConfig::from_json(bad).unwrap_err().kind(),
            ErrorKind::InvalidChannelConfig,
            "{bad}"
        );
    }
}

#[test]
fn a_publish_loop_packs_small_messages_and_the_flusher_sends_them() {
    let p = node_with(192, quick);
    let subs: Vec<MeshNode> = (0..2).map(|i| node_with(193 + i, quick)).collect();
    for s in &subs {
        link(s, &p);
    }
    p.register_channel(channel("pack/me")).unwrap();
    let streams: Vec<_> = subs
        .iter()
        .map(|s| s.subscribe(p.node_id(), "pack/me", &[], ACK).unwrap())
        .collect();
    let sent_before = p.stats().packets_sent;
    // A tight loop is a burst: most messages are packed.
    const N: u32 = 20_000;
    for i in 0..N {
        let report = p.publish("pack/me", &i.to_le_bytes()).unwrap();
        assert_eq!((report.delivered, report.skipped.len()), (2, 0));
    }
    // Interleaved with another channel and publish_many, order holds.
    p.register_channel(channel("pack/other")).unwrap();
    p.publish_many(
        "pack/me",
        &[&N.to_le_bytes()[..], &(N + 1).to_le_bytes()[..]],
    )
    .unwrap();
    p.publish("pack/other", b"x").unwrap();
    p.publish("pack/me", &(N + 2).to_le_bytes()).unwrap();
    for stream in &streams {
        for i in 0..N + 3 {
            let m = stream.next(NEXT).unwrap().expect("a message");
            assert_eq!(m.payload, i.to_le_bytes(), "message {i}");
        }
        assert_eq!(stream.next(Some(Duration::from_millis(50))).unwrap(), None);
    }
    let datagrams = p.stats().packets_sent - sent_before;
    assert!(
        datagrams < u64::from(N),
        "{datagrams} datagrams for {} messages: nothing was packed",
        2 * N
    );
}

#[test]
fn a_fire_and_forget_publish_loop_packs_too() {
    let p = node_with(102, quick);
    let s = node_with(103, quick);
    link(&s, &p);
    let mut config = channel("fast/loop");
    config.reliable = false;
    p.register_channel(config).unwrap();
    let sub = s.subscribe(p.node_id(), "fast/loop", &[], ACK).unwrap();
    const N: u32 = 1_000;
    for i in 0..N {
        assert_eq!(
            p.publish("fast/loop", &i.to_le_bytes()).unwrap().delivered,
            1
        );
    }
    for i in 0..N {
        let m = sub.next(NEXT).unwrap().expect("a message");
        assert_eq!(m.payload, i.to_le_bytes(), "message {i}");
    }
    let stats = p
        .stream_stats_in(
            super::protocol::CHANNELS,
            s.node_id(),
            super::channels::DATA_FAST,
        )
        .unwrap();
    assert!(
        stats.sent < u64::from(N),
        "{} datagrams for {N} messages",
        stats.sent
    );
}

#[test]
fn a_backlog_at_one_priority_never_holds_up_a_higher_one() {
    let p = node_with(104, quick);
    // Each subscription holds at most 16 messages.
    let s = node_with(105, |c| {
        quick(c);
        c.inbox_capacity = 16;
    });
    link(&s, &p);
    let mut low = channel("prio/low");
    low.congestion = super::Congestion::Drop;
    p.register_channel(low).unwrap();
    let mut high = channel("prio/high");
    high.priority = 7;
    p.register_channel(high).unwrap();
    let low_sub = s.subscribe(p.node_id(), "prio/low", &[], ACK).unwrap();
    let high_sub = s.subscribe(p.node_id(), "prio/high", &[], ACK).unwrap();
    // Nobody reads the low channel: its queue fills, the subscriber stops
    // acknowledging that stream, and its window fills until publishes skip.
    // Messages too large to pack: one datagram each.
    let mut skipped = false;
    for i in 0..5_000u32 {
        let mut big = vec![0u8; 5_000];
        big[..4].copy_from_slice(&i.to_le_bytes());
        let report = p.publish("prio/low", &big).unwrap();
        if !report.skipped.is_empty() {
            assert_eq!(report.skipped, [(s.node_id(), SkipReason::Backpressure)]);
            skipped = true;
            break;
        }
    }
    assert!(skipped, "the low channel's backlog filled its window");
    // The high channel has its own stream: every message arrives, in order.
    for i in 0..200u32 {
        let report = p.publish("prio/high", &i.to_le_bytes()).unwrap();
        assert_eq!((report.delivered, report.skipped.len()), (1, 0), "high {i}");
        let m = high_sub.next(NEXT).unwrap().expect("a high message");
        assert_eq!(m.payload, i.to_le_bytes());
    }
    // The backlog is still there, in order, for when the reader comes.
    assert_eq!(
        low_sub.next(NEXT).unwrap().unwrap().payload[..4],
        0u32.to_le_bytes()
    );
    // Priorities above 7 are refused.
    let mut bad = channel("prio/bad");
    bad.priority = 8;
    assert_eq!(
        p.register_channel(bad).unwrap_err().kind(),
        ErrorKind::InvalidChannelConfig
    );
}

#[test]
fn spaced_publishes_go_out_at_once_each_in_its_own_datagram() {
    let p = node_with(100, quick);
    let s = node_with(101, quick);
    link(&s, &p);
    p.register_channel(channel("spaced/a")).unwrap();
    let sub = s.subscribe(p.node_id(), "spaced/a", &[], ACK).unwrap();
    for i in 0..20u8 {
        p.publish("spaced/a", &[i]).unwrap();
        // Received before the next publish: nothing waited in a pack.
        assert_eq!(sub.next(NEXT).unwrap().unwrap().payload, [i]);
        std::thread::sleep(Duration::from_millis(2));
    }
    let stats = p
        .stream_stats_in(
            super::protocol::CHANNELS,
            s.node_id(),
            super::channels::DATA_RELIABLE,
        )
        .unwrap();
    assert_eq!(stats.sent, 20, "one datagram per spaced publish");
}

#[test]
fn a_subscribe_can_be_waited_for_in_slices_or_withdrawn() {
    let p = node_with(196, quick);
    let s = node_with(197, quick);
    link(&s, &p);
    p.register_channel(channel("slices/a")).unwrap();
    let mut pending = s.start_subscribe(p.node_id(), "slices/a", &[]).unwrap();
    let mut slices = 0;
    let sub = loop {
        slices += 1;
        assert!(slices < 5_000, "an answer in time");
        if let Some(sub) = pending.poll(Duration::from_millis(1)).unwrap() {
            break sub;
        }
    };
    assert_eq!(sub.accepted(), ["slices/a"]);
    assert_eq!(pending.poll(Duration::ZERO).unwrap().map(|_| ()), None);
    p.publish("slices/a", b"x").unwrap();
    assert_eq!(sub.next(NEXT).unwrap().unwrap().payload, b"x");
    drop(sub);
    eventually("the subscriber left", || {
        p.channel_subscribers("slices/a").is_empty()
    });

    // Withdrawn before the answer: the publisher forgets it again.
    let pending = s.start_subscribe(p.node_id(), "slices/a", &[]).unwrap();
    pending.abandon();
    std::thread::sleep(Duration::from_millis(100));
    eventually("the withdrawn request leaves no member", || {
        p.channel_subscribers("slices/a").is_empty()
    });
    // A refusal comes through poll too.
    let mut refused = s.start_subscribe(p.node_id(), "slices/none", &[]).unwrap();
    let err = loop {
        match refused.poll(Duration::from_millis(10)) {
            Ok(None) => continue,
            Ok(Some(_)) => panic!("accepted"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::UnknownChannel);
}

#[test]
fn publishers_on_channels_that_share_subscribers_do_not_deadlock() {
    let p = node_with(198, quick);
    let subs: Vec<MeshNode> = (0..3).map(|i| node_with(185 + i, quick)).collect();
    for s in &subs {
        link(s, &p);
    }
    let names = ["share/a", "share/b", "share/c"];
    for name in names {
        p.register_channel(channel(name)).unwrap();
    }
    // Each subscriber joins the channels in a different order, so the
    // rosters list them differently.
    let streams: Vec<_> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (0..3)
                .map(|k| {
                    let name = names[(i + k) % 3];
                    s.subscribe(p.node_id(), name, &[], ACK).unwrap()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    const N: u32 = 3_000;
    std::thread::scope(|scope| {
        for name in names {
            let p = &p;
            scope.spawn(move || {
                for i in 0..N {
                    let report = p.publish(name, &i.to_le_bytes()).unwrap();
                    assert_eq!(report.skipped.len(), 0, "{name} {i}");
                }
            });
        }
        for per_sub in &streams {
            for stream in per_sub {
                scope.spawn(move || {
                    for i in 0..N {
                        let m = stream.next(NEXT).unwrap().expect("a message");
                        assert_eq!(m.payload, i.to_le_bytes(), "{}", m.channel);
                    }
                });
            }
        }
    });
}
