//! Channels against Zenoh, side by side: one publisher, 1, 8 and 64
//! subscribers, 64 B and 1 KiB, reliable with blocking congestion control
//! on both. Zenoh runs in peer mode over TCP loopback (each subscriber its
//! own session connected to the publisher's); Net runs its encrypted mesh
//! over UDP loopback (each subscriber its own node). Both publish one message
//! per call in a loop (`put` / `publish`); subscribers count in callbacks
//! (Zenoh's callback subscribers, Net's push delivery). Prints one JSON line per row;
//! `--quick` runs fewer messages, `--only net|zenoh` one side.

use net_core::channel::ChannelName;
use net_core::identity::Identity;
use net_core::mesh::{ChannelConfig, ChannelSubscription, MeshConfig, MeshNode, NetworkKey};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zenoh::qos::CongestionControl;
use zenoh::Wait;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn zenoh_config(listen: Option<u16>, connect: Option<u16>) -> zenoh::Config {
    let mut config = zenoh::Config::default();
    let set = |c: &mut zenoh::Config, k: &str, v: String| c.insert_json5(k, &v).expect(k);
    set(&mut config, "mode", "\"peer\"".into());
    set(&mut config, "scouting/multicast/enabled", "false".into());
    if let Some(port) = listen {
        set(
            &mut config,
            "listen/endpoints",
            format!("[\"tcp/127.0.0.1:{port}\"]"),
        );
    } else {
        set(&mut config, "listen/endpoints", "[]".into());
    }
    if let Some(port) = connect {
        set(
            &mut config,
            "connect/endpoints",
            format!("[\"tcp/127.0.0.1:{port}\"]"),
        );
    }
    config
}

fn zenoh_row(subscribers: usize, size: usize, messages: usize) {
    let port = free_port();
    let publisher_session = zenoh::open(zenoh_config(Some(port), None))
        .wait()
        .expect("open");
    let received = Arc::new(AtomicUsize::new(0));
    let mut sessions = Vec::new();
    let mut subs = Vec::new();
    for _ in 0..subscribers {
        let session = zenoh::open(zenoh_config(None, Some(port)))
            .wait()
            .expect("open");
        let count = received.clone();
        let sub = session
            .declare_subscriber("bench/fan")
            .callback(move |_sample| {
                count.fetch_add(1, Ordering::Relaxed);
            })
            .wait()
            .expect("subscriber");
        subs.push(sub);
        sessions.push(session);
    }
    let publisher = publisher_session
        .declare_publisher("bench/fan")
        .congestion_control(CongestionControl::Block)
        .wait()
        .expect("publisher");
    // Until every subscriber is matched: probes count as received.
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < subscribers && Instant::now() < deadline {
        publisher.put(vec![0u8; 1]).wait().expect("put");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    received.store(0, Ordering::Relaxed);
    let payload = vec![0xA5u8; size];
    let want = messages * subscribers;
    let started = Instant::now();
    for _ in 0..messages {
        publisher.put(payload.clone()).wait().expect("put");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(200));
    }
    let secs = started.elapsed().as_secs_f64();
    let got = received.load(Ordering::Relaxed);
    let rate = got as f64 / secs;
    println!(
        "{{\"bench\":\"compare/zenoh\",\"subscribers\":{subscribers},\"bytes\":{size},\"published\":{messages},\"delivered\":{got},\"msgs_per_s\":{rate:.0},\"mb_per_s\":{:.1}}}",
        rate * size as f64 / 1e6
    );
    drop(subs);
    for s in sessions {
        let _ = s.close().wait();
    }
    let _ = publisher_session.close().wait();
}

fn zenoh_latency() {
    let port = free_port();
    let a = zenoh::open(zenoh_config(Some(port), None))
        .wait()
        .expect("open");
    let b = zenoh::open(zenoh_config(None, Some(port)))
        .wait()
        .expect("open");
    let (tx, rx) = std::sync::mpsc::channel::<Instant>();
    let _sub = b
        .declare_subscriber("bench/rtt")
        .callback(move |_s| {
            let _ = tx.send(Instant::now());
        })
        .wait()
        .expect("subscriber");
    let publisher = a.declare_publisher("bench/rtt").wait().expect("publisher");
    while rx.recv_timeout(Duration::from_millis(50)).is_err() {
        publisher.put(vec![0u8; 64]).wait().expect("put");
    }
    while rx.try_recv().is_ok() {}
    let mut samples = Vec::new();
    for _ in 0..2000 {
        let started = Instant::now();
        publisher.put(vec![0u8; 64]).wait().expect("put");
        if let Ok(at) = rx.recv_timeout(Duration::from_secs(1)) {
            samples.push(at.duration_since(started).as_nanos() as f64 / 1000.0);
        }
    }
    report_latency("compare/zenoh_latency_64B", samples);
}

fn report_latency(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "{{\"bench\":\"{name}\",\"samples\":{},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
        samples.len(),
        at(0.5),
        at(0.99)
    );
}

fn node(seed: u8) -> MeshNode {
    let config = MeshConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        NetworkKey::from_bytes([7; 32]),
    );
    MeshNode::bind(Identity::from_seed(&[seed; 32]), config).expect("bind")
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

fn net_row(subscribers: usize, size: usize, messages: usize) {
    let publisher = node(1);
    publisher
        .register_channel(ChannelConfig::new(
            ChannelName::new("bench/fan").expect("name"),
        ))
        .expect("register");
    let nodes: Vec<MeshNode> = (0..subscribers).map(|i| node(10 + i as u8)).collect();
    let received = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for n in &nodes {
        let sub = joined(&publisher, n, "bench/fan");
        // Push delivery, as Zenoh's callback subscribers: handlers run on
        // the engine's callback pool, no thread per subscription.
        let count = received.clone();
        let handle = net_core::push::spawn(
            sub.source(),
            move |_message: net_core::mesh::ChannelMessage| {
                count.fetch_add(1, Ordering::Relaxed);
                Ok(())
            },
            "bench",
        );
        readers.push((sub, handle));
    }
    let payload = vec![0xA5u8; size];
    let want = messages * subscribers;
    let started = Instant::now();
    for _ in 0..messages {
        publisher.publish("bench/fan", &payload).expect("publish");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(200));
    }
    let secs = started.elapsed().as_secs_f64();
    let got = received.load(Ordering::Relaxed);
    let rate = got as f64 / secs;
    if std::env::var_os("NET_BENCH_DEBUG").is_some() {
        eprintln!("publisher {:?}", publisher.stats());
        eprintln!("publisher channels {:?}", publisher.channel_stats());
        for n in nodes.iter().take(2) {
            eprintln!("subscriber {:?}", n.stats());
            eprintln!(
                "stream {:?}",
                publisher.stream_stats_in(0x0003, n.node_id(), 1)
            );
        }
    }
    println!(
        "{{\"bench\":\"compare/net\",\"subscribers\":{subscribers},\"bytes\":{size},\"published\":{messages},\"delivered\":{got},\"msgs_per_s\":{rate:.0},\"mb_per_s\":{:.1}}}",
        rate * size as f64 / 1e6
    );
    for (sub, handle) in readers {
        handle.close();
        drop(sub);
    }
    drop(nodes);
    drop(publisher);
}

fn net_latency() {
    let publisher = node(1);
    let sub_node = node(2);
    publisher
        .register_channel(ChannelConfig::new(
            ChannelName::new("bench/rtt").expect("name"),
        ))
        .expect("register");
    let sub = joined(&publisher, &sub_node, "bench/rtt");
    let mut samples = Vec::new();
    for _ in 0..2000 {
        let started = Instant::now();
        publisher.publish("bench/rtt", &[0u8; 64]).expect("publish");
        if let Ok(Some(_)) = sub.next(Some(Duration::from_secs(1))) {
            samples.push(started.elapsed().as_nanos() as f64 / 1000.0);
        }
    }
    report_latency("compare/net_latency_64B", samples);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only net` / `--only zenoh`: one side per process, so neither runs
    // beside the other's idle threads (scripts/bench runs both, one after
    // the other).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let zenoh_side = only.as_deref() != Some("net");
    let net_side = only.as_deref() != Some("zenoh");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    // `--row SUBSxBYTES` (e.g. `--row 8x64`): that row alone, for profiling.
    let row = args
        .iter()
        .position(|a| a == "--row")
        .and_then(|i| args.get(i + 1))
        .cloned();
    for &(subscribers, size) in &[(1, 64), (1, 1024), (8, 64), (8, 1024), (64, 64), (64, 1024)] {
        if row
            .as_deref()
            .is_some_and(|r| r != format!("{subscribers}x{size}"))
        {
            continue;
        }
        let messages = match (subscribers, quick) {
            (64, _) | (_, true) => 5_000,
            _ => 50_000,
        };
        if zenoh_side {
            zenoh_row(subscribers, size, messages);
        }
        if net_side {
            net_row(subscribers, size, messages);
        }
    }
    if row.is_some() {
        return;
    }
    if zenoh_side {
        zenoh_latency();
    }
    if net_side {
        net_latency();
    }
}
