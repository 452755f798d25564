//! Push delivery (`net_core::push`): how fast the engine hands items to a
//! handler on its callback threads, against a pull loop doing the same work.
//! Bus events of 64 bytes (throughput, and emit-to-handler latency), and mesh
//! messages of 64 bytes (a request answered from inside the handler, round
//! trip on loopback). Prints JSON lines.

use net_core::bus::{Bus, Event, SubscribeOptions};
use net_core::identity::Identity;
use net_core::mesh::{MeshConfig, MeshNode, Message, NetworkKey};
use net_core::push;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EVENT: &[u8; 64] =
    b"{\"token\":\"hello\",\"index\":12345,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}";
const EVENTS: u64 = 500_000;
const PINGS: usize = 5_000;

fn bus() -> Bus {
    Bus::from_json(r#"{"num_shards":1,"ring_buffer_capacity":1048576}"#).expect("config")
}

fn report(bench: &str, fields: serde_json::Value) {
    let mut line = serde_json::json!({"lang": "rust", "bench": bench, "payload_bytes": 64});
    if let (Some(out), Some(extra)) = (line.as_object_mut(), fields.as_object()) {
        out.extend(extra.clone());
    }
    println!("{line}");
}

fn wait_for(counter: &AtomicU64, n: u64) {
    while counter.load(Ordering::Acquire) < n {
        std::hint::spin_loop();
    }
}

fn percentiles(mut ns: Vec<u64>) -> (u64, u64) {
    ns.sort_unstable();
    (ns[ns.len() / 2], ns[ns.len() * 99 / 100])
}

/// A handler on the callback threads that counts the events of `b`.
fn counting(b: &Bus) -> (Arc<AtomicU64>, push::Handle) {
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    let handle = push::spawn(
        b.subscribe(SubscribeOptions::default()).expect("subscribe"),
        move |_e: Event| {
            count.fetch_add(1, Ordering::Release);
            Ok(())
        },
        "bench",
    );
    (seen, handle)
}

fn bus_throughput() {
    let batch: Vec<&[u8]> = vec![EVENT.as_slice(); 1000];
    // Push: a handler counting events.
    let b = bus();
    let (seen, handle) = counting(&b);
    let start = Instant::now();
    for _ in 0..EVENTS / 1000 {
        b.emit_raw_batch(&batch).expect("emit");
    }
    wait_for(&seen, EVENTS);
    let push_rate = EVENTS as f64 / start.elapsed().as_secs_f64();
    drop(handle);
    // Pull: a thread draining a subscription in batches, doing the same work.
    let b = bus();
    let mut sub = b.subscribe(SubscribeOptions::default()).expect("subscribe");
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    let reader = std::thread::spawn(move || {
        while count.load(Ordering::Acquire) < EVENTS {
            if let Some(events) = sub.next_batch_blocking(256, Some(Duration::from_millis(100))) {
                count.fetch_add(events.len() as u64, Ordering::Release);
            }
        }
    });
    let start = Instant::now();
    for _ in 0..EVENTS / 1000 {
        b.emit_raw_batch(&batch).expect("emit");
    }
    wait_for(&seen, EVENTS);
    let pull_rate = EVENTS as f64 / start.elapsed().as_secs_f64();
    let _ = reader.join();
    report(
        "push/bus_handler_throughput",
        serde_json::json!({"events": EVENTS, "events_per_sec": push_rate.round(), "pull_events_per_sec": pull_rate.round()}),
    );
}

fn bus_latency() {
    let b = bus();
    let (seen, _handle) = counting(&b);
    let mut ns = Vec::with_capacity(PINGS);
    for i in 0..PINGS as u64 {
        let start = Instant::now();
        b.emit_raw(EVENT).expect("emit");
        wait_for(&seen, i + 1);
        ns.push(start.elapsed().as_nanos() as u64);
    }
    let (p50, p99) = percentiles(ns);
    report(
        "push/bus_emit_to_handler_latency",
        serde_json::json!({"samples": PINGS, "p50_ns": p50, "p99_ns": p99}),
    );
}

fn node(seed: u8) -> MeshNode {
    let config = MeshConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        NetworkKey::from_bytes([7; 32]),
    );
    MeshNode::bind(Identity::from_seed(&[seed; 32]), config).expect("bind")
}

/// A round trip: `a` sends, `b` answers, `a` receives; `answer` is how b
/// answers (a handler, or a recv loop on its own thread).
fn mesh_round_trips(a: &MeshNode, b_id: u64) -> Vec<u64> {
    let mut ns = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let start = Instant::now();
        a.send(b_id, 1, EVENT).expect("send");
        let reply = a.recv(Some(Duration::from_secs(5))).expect("recv");
        if reply.is_some() {
            ns.push(start.elapsed().as_nanos() as u64);
        }
    }
    ns
}

fn mesh_latency() {
    let a = node(1);
    let b = Arc::new(node(2));
    a.connect(b.local_addr().expect("addr"), &b.public_key())
        .expect("connect");
    let replier = b.clone();
    let handle = push::spawn(
        b.message_source().expect("source"),
        move |m: Message| {
            replier
                .send(m.from, 1, &m.payload)
                .map_err(|e| e.to_string())
        },
        "bench",
    );
    let (push_p50, push_p99) = percentiles(mesh_round_trips(&a, b.node_id()));
    drop(handle);
    // Pull: b answers from a recv loop on its own thread.
    let stop = Arc::new(AtomicU64::new(0));
    let (server, halt) = (b.clone(), stop.clone());
    let reader = std::thread::spawn(move || {
        while halt.load(Ordering::Acquire) == 0 {
            if let Ok(Some(m)) = server.recv(Some(Duration::from_millis(50))) {
                let _ = server.send(m.from, 1, &m.payload);
            }
        }
    });
    let (pull_p50, pull_p99) = percentiles(mesh_round_trips(&a, b.node_id()));
    stop.store(1, Ordering::Release);
    let _ = reader.join();
    report(
        "push/mesh_handler_round_trip",
        serde_json::json!({"samples": PINGS, "p50_ns": push_p50, "p99_ns": push_p99, "pull_p50_ns": pull_p50, "pull_p99_ns": pull_p99}),
    );
}

fn main() {
    bus_throughput();
    bus_latency();
    mesh_latency();
    push::shutdown();
}
