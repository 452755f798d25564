//! Channels: the auth guard's check on the publish path, and publish
//! fan-out on loopback — one publisher, 1, 8 and 64 subscribers, 64 B and
//! 1 KiB, reliable and fire-and-forget, one message per `publish` and 64
//! per `publish_many` (packed into shared datagrams) — counted at the
//! subscribers (messages/s and MB/s); publish-to-receive latency (p50,
//! p99); and local channels (fan-out inside one process). Prints one JSON
//! line per row.

use criterion::black_box;
use net_core::channel::ChannelName;
use net_core::identity::token::{TokenCache, TokenId};
use net_core::identity::Identity;
use net_core::mesh::channels::guard_admits;
use net_core::mesh::{ChannelConfig, ChannelSubscription, MeshConfig, MeshNode, NetworkKey};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

fn node(seed: u8) -> MeshNode {
    let config = MeshConfig::new(
        "127.0.0.1:0".parse().expect("an address"),
        NetworkKey::from_bytes([7; 32]),
    );
    MeshNode::bind(Identity::from_seed(&[seed; 32]), config).expect("bind")
}

fn guard() {
    let cache = TokenCache::new();
    let ids = vec![TokenId::from_bytes([1; 32]), TokenId::from_bytes([2; 32])];
    let epoch = AtomicU64::new(cache.epoch());
    let far = u64::MAX;
    let rounds = 50_000_000u64;
    let started = Instant::now();
    for i in 0..rounds {
        let ok = guard_admits(black_box(far), &epoch, &ids, &cache, black_box(i));
        black_box(ok.is_ok());
    }
    let ns = started.elapsed().as_nanos() as f64 / rounds as f64;
    println!("{{\"bench\":\"channel/auth_guard\",\"ns_per_check\":{ns:.2}}}");
}

/// `subscriber` connected to `publisher` and subscribed to `channel`.
fn joined(publisher: &MeshNode, subscriber: &MeshNode, channel: &str) -> ChannelSubscription {
    subscriber
        .connect(
            publisher.local_addr().expect("addr"),
            &publisher.public_key(),
        )
        .expect("connect");
    subscriber
        .subscribe(publisher.node_id(), channel, &[], Duration::from_secs(5))
        .expect("subscribe")
}

fn fan_out(subscribers: usize, size: usize, reliable: bool, batch: usize) {
    let publisher = node(1);
    let subs: Vec<MeshNode> = (0..subscribers).map(|i| node(10 + i as u8)).collect();
    let mut config = ChannelConfig::new(ChannelName::new("bench/fan").expect("name"));
    config.reliable = reliable;
    publisher.register_channel(config).expect("register");
    let streams: Vec<ChannelSubscription> = subs
        .iter()
        .map(|s| joined(&publisher, s, "bench/fan"))
        .collect();
    let payload = vec![0xA5u8; size];
    let messages = if size <= 64 { 40_000 } else { 20_000 };
    let messages = messages / batch * batch;
    let group: Vec<&[u8]> = vec![payload.as_slice(); batch];
    let readers: Vec<_> = streams
        .into_iter()
        .map(|stream| {
            std::thread::spawn(move || {
                let mut got = 0usize;
                while let Ok(Some(_)) = stream.next(Some(Duration::from_millis(500))) {
                    got += 1;
                    if got == messages {
                        break;
                    }
                }
                got
            })
        })
        .collect();
    let started = Instant::now();
    let mut sent = 0;
    while sent < messages {
        // Reliable channels block on a full subscriber (the default
        // congestion policy): nothing is skipped.
        let report = if batch == 1 {
            publisher.publish("bench/fan", &payload)
        } else {
            publisher.publish_many("bench/fan", &group)
        }
        .expect("publish");
        assert!(!reliable || report.skipped.is_empty(), "{report:?}");
        sent += batch;
        if !reliable && sent % 256 < batch {
            // Fire-and-forget has no flow control: pace it so the
            // subscribers' sockets keep up.
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let received: usize = readers.into_iter().map(|r| r.join().unwrap_or(0)).sum();
    let secs = started.elapsed().as_secs_f64();
    let rate = received as f64 / secs;
    println!(
        "{{\"bench\":\"channel/fan_out\",\"subscribers\":{subscribers},\"bytes\":{size},\"reliable\":{reliable},\"per_publish\":{batch},\"published\":{messages},\"delivered\":{received},\"msgs_per_s\":{rate:.0},\"mb_per_s\":{:.1}}}",
        rate * size as f64 / 1e6
    );
}

fn latency() {
    let publisher = node(1);
    let sub = node(2);
    publisher
        .register_channel(ChannelConfig::new(
            ChannelName::new("bench/rtt").expect("name"),
        ))
        .expect("register");
    let stream = joined(&publisher, &sub, "bench/rtt");
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let started = Instant::now();
        publisher.publish("bench/rtt", &[0u8; 64]).expect("publish");
        let got = stream.next(Some(Duration::from_secs(1))).expect("next");
        if got.is_some() {
            samples.push(started.elapsed().as_nanos() as f64 / 1000.0);
        }
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "{{\"bench\":\"channel/latency_64B\",\"samples\":{},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
        samples.len(),
        at(0.5),
        at(0.99)
    );
}

fn local(subscribers: usize, size: usize) {
    let bus = net_core::bus::Bus::new(net_core::bus::BusConfig::default()).expect("bus");
    let subs: Vec<ChannelSubscription> = (0..subscribers)
        .map(|_| bus.channels().subscribe("bench/local").expect("subscribe"))
        .collect();
    let payload = vec![0xA5u8; size];
    let rounds = 2_000usize;
    let per_round = 500usize;
    let started = Instant::now();
    for _ in 0..rounds {
        for _ in 0..per_round {
            let n = bus
                .channels()
                .publish("bench/local", &payload)
                .expect("publish");
            black_box(n);
        }
        for sub in &subs {
            for _ in 0..per_round {
                black_box(sub.next(Some(Duration::ZERO)).expect("next"));
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let delivered = (rounds * per_round * subscribers) as f64;
    assert_eq!(bus.channels().stats().dropped, 0);
    println!(
        "{{\"bench\":\"channel/local\",\"subscribers\":{subscribers},\"bytes\":{size},\"msgs_per_s\":{:.0},\"mb_per_s\":{:.1}}}",
        delivered / secs,
        delivered * size as f64 / secs / 1e6
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    guard();
    for &(subscribers, size, reliable, batch) in &[
        (1, 64, true, 1),
        (1, 64, true, 64),
        (1, 1024, true, 1),
        (1, 1024, true, 64),
        (8, 64, true, 1),
        (8, 64, true, 64),
        (8, 1024, true, 1),
        (8, 1024, true, 64),
        (64, 64, true, 64),
        (64, 1024, true, 64),
        (1, 64, false, 1),
        (1, 64, false, 64),
        (8, 64, false, 64),
    ] {
        fan_out(subscribers, size, reliable, batch);
    }
    latency();
    for &(subscribers, size) in &[(1, 64), (8, 64), (8, 1024)] {
        local(subscribers, size);
    }
}
