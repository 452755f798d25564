//! Channels: the auth guard's check on the publish path, and publish
//! fan-out on loopback — one publisher, 1 and 8 subscribers, 64 B and
//! 1 KiB, reliable and fire-and-forget (messages delivered per second and
//! MB/s, counted at the subscribers) — and publish-to-receive latency (p50,
//! p99). Prints one JSON line per row.

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

fn fan_out(subscribers: usize, size: usize, reliable: bool) {
    let publisher = node(1);
    let subs: Vec<MeshNode> = (0..subscribers).map(|i| node(10 + i as u8)).collect();
    let mut config = ChannelConfig::new(ChannelName::new("bench/fan").expect("name"));
    config.reliable = reliable;
    publisher.register_channel(config).expect("register");
    let streams: Vec<ChannelSubscription> = subs
        .iter()
        .map(|s| {
            s.connect(
                publisher.local_addr().expect("addr"),
                &publisher.public_key(),
            )
            .expect("connect");
            s.subscribe(
                publisher.node_id(),
                "bench/fan",
                &[],
                Duration::from_secs(5),
            )
            .expect("subscribe")
        })
        .collect();
    let payload = vec![0xA5u8; size];
    let messages = if size <= 64 { 40_000 } else { 20_000 };
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
        let report = publisher.publish("bench/fan", &payload).expect("publish");
        if report.skipped.is_empty() {
            sent += 1;
        } else {
            // A full window: let the subscribers catch up.
            std::thread::yield_now();
        }
        if !reliable && sent % 256 == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let received: usize = readers.into_iter().map(|r| r.join().unwrap_or(0)).sum();
    let secs = started.elapsed().as_secs_f64();
    let rate = received as f64 / secs;
    println!(
        "{{\"bench\":\"channel/fan_out\",\"subscribers\":{subscribers},\"bytes\":{size},\"reliable\":{reliable},\"published\":{messages},\"delivered\":{received},\"msgs_per_s\":{rate:.0},\"mb_per_s\":{:.1}}}",
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
    sub.connect(
        publisher.local_addr().expect("addr"),
        &publisher.public_key(),
    )
    .expect("connect");
    let stream = sub
        .subscribe(
            publisher.node_id(),
            "bench/rtt",
            &[],
            Duration::from_secs(5),
        )
        .expect("subscribe");
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

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    guard();
    for &(subscribers, size, reliable) in &[
        (1, 64, true),
        (1, 1024, true),
        (8, 64, true),
        (8, 1024, true),
        (1, 64, false),
        (8, 64, false),
    ] {
        fan_out(subscribers, size, reliable);
    }
    latency();
}
