//! What an idle node costs: CPU time and thread wake-ups per second of two
//! connected nodes that hold 1 000 idle reliable streams between them, and of
//! one idle node alone. Linux only (reads `/proc/self`); prints JSON lines.
//!
//! The baseline for the async core (issue #12): today a node's timer wakes
//! on a fixed tick and walks every stream on each one.

use net_core::identity::Identity;
use net_core::mesh::{MeshConfig, MeshNode, NetworkKey, StreamConfig};
use std::time::{Duration, Instant};

const STREAMS: u64 = 1_000;
const MEASURE: Duration = Duration::from_secs(3);

/// (CPU seconds of the process, context switches of all its threads).
fn usage() -> (f64, u64) {
    let ticks = procfs_ticks().unwrap_or(0) as f64 / 100.0; // USER_HZ is 100 on Linux
    (ticks, switches().unwrap_or(0))
}

fn procfs_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn switches() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let status = std::fs::read_to_string(task.ok()?.path().join("status")).ok()?;
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches:")
                || line.starts_with("nonvoluntary_ctxt_switches:")
            {
                total += line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
            }
        }
    }
    Some(total)
}

fn node(seed: u8) -> MeshNode {
    let config = MeshConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        NetworkKey::from_bytes([7; 32]),
    );
    MeshNode::bind(Identity::from_seed(&[seed; 32]), config).expect("bind")
}

fn measure(what: &str, streams: u64) {
    // Let start-up settle, then measure a quiet stretch.
    std::thread::sleep(Duration::from_millis(500));
    let (cpu0, sw0) = usage();
    let start = Instant::now();
    std::thread::sleep(MEASURE);
    let (cpu1, sw1) = usage();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"lang\":\"rust\",\"bench\":\"{what}\",\"streams\":{streams},\"cpu_percent\":{:.2},\"wakeups_per_sec\":{:.0}}}",
        (cpu1 - cpu0) / secs * 100.0,
        (sw1 - sw0) as f64 / secs
    );
}

fn main() {
    if std::fs::metadata("/proc/self/stat").is_err() {
        eprintln!("idle: needs Linux /proc");
        return;
    }
    let a = node(1);
    measure("idle_node_alone", 0);
    let b = node(2);
    let peer = a
        .connect(b.local_addr().expect("addr"), &b.public_key())
        .expect("connect");
    let mut held = Vec::new();
    for id in 0..STREAMS {
        let stream = a
            .open_stream(peer.node_id, 100 + id, StreamConfig::reliable())
            .expect("open");
        stream.send(b"x").expect("send");
        held.push(stream);
    }
    // Everything acknowledged: the streams are idle from here on.
    for stream in &held {
        stream.wait_acked(Duration::from_secs(10)).expect("acked");
    }
    while b
        .recv(Some(Duration::from_millis(50)))
        .ok()
        .flatten()
        .is_some()
    {}
    measure("idle_two_nodes_1000_streams", STREAMS);
    drop(held);
    a.shutdown();
    b.shutdown();
}
