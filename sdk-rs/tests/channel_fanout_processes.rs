//! Fan-out across processes: one publisher, 64 subscribers in four child
//! processes (16 mesh nodes each, every node its own UDP socket on
//! 127.0.0.1), a reliable channel, 10 000 messages. Every subscriber must
//! get every message exactly once and in order.
//!
//! The children are this test binary run again with `FANOUT_ROLE` set: the
//! ignored test `fanout_child` is their entry point.

use net_sdk::channel::ChannelName;
use net_sdk::identity::PublicKey;
use net_sdk::mesh::{ChannelConfig, Congestion, Mesh, NetworkKey};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROCESSES: usize = 4;
const NODES_PER_PROCESS: usize = 16;
const MESSAGES: u32 = 10_000;
const PAYLOAD: usize = 64;
const CHANNEL: &str = "fanout/readings";

fn key() -> NetworkKey {
    NetworkKey::from_bytes([41; 32])
}

fn mesh() -> Mesh {
    Mesh::builder(key())
        .bind("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap()
}

/// The message with sequence number `i`: the number, then filler.
fn payload(i: u32) -> Vec<u8> {
    let mut p = i.to_le_bytes().to_vec();
    p.resize(PAYLOAD, (i % 251) as u8);
    p
}

#[test]
fn sixty_four_subscribers_in_four_processes_get_every_message_once_in_order() {
    let publisher = mesh();
    let mut config = ChannelConfig::new(ChannelName::new(CHANNEL).unwrap());
    config.congestion = Congestion::Block;
    // Generous on a loaded two-core machine: this test is about losing nothing.
    config.block_timeout = Duration::from_secs(30);
    publisher.register_channel(config).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(&exe)
                .args(["fanout_child", "--exact", "--ignored", "--nocapture"])
                .args(["--test-threads", "1"])
                .env("FANOUT_ROLE", "subscribers")
                .env("FANOUT_ADDR", publisher.local_addr().unwrap().to_string())
                .env("FANOUT_KEY", hex::encode(publisher.public_key().as_bytes()))
                .env("FANOUT_PUBLISHER", publisher.node_id().to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let want = PROCESSES * NODES_PER_PROCESS;
    let deadline = Instant::now() + Duration::from_secs(60);
    while publisher.channel_subscribers(CHANNEL).len() < want {
        assert!(
            Instant::now() < deadline,
            "{} of {want} subscribed in time",
            publisher.channel_subscribers(CHANNEL).len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    for i in 0..MESSAGES {
        let report = publisher.publish(CHANNEL, &payload(i)).unwrap();
        assert_eq!(report.attempted, want);
        assert!(report.skipped.is_empty(), "message {i}: {report:?}");
        assert_eq!(report.delivered, want);
    }
    let published = started.elapsed();
    // Tell every child the count is complete; each checks and answers.
    let mut results = Vec::new();
    for child in &mut children {
        child.stdin.take().unwrap().write_all(b"done\n").unwrap();
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a child failed: {out:?}");
        for line in BufReader::new(&out.stdout[..]).lines() {
            let line = line.unwrap();
            // The test harness may print its "test fanout_child ..." first.
            if let Some(at) = line.find("RESULT ") {
                results.push(line[at + 7..].to_string());
            }
        }
    }
    assert_eq!(results.len(), want, "{results:?}");
    for r in &results {
        assert!(r.ends_with(&format!(" {MESSAGES} in order")), "{r}");
    }
    let stats = publisher.channel_stats();
    assert_eq!(stats.delivered, (want as u64) * u64::from(MESSAGES));
    assert_eq!(stats.skipped, 0);
    eprintln!(
        "fan-out: {want} subscribers x {MESSAGES} messages of {PAYLOAD} B published in {published:?}"
    );
}

/// A child process: 16 subscriber nodes; each reads the channel until it has
/// every message or an out-of-order / duplicate one, and reports.
#[test]
#[ignore = "run by sixty_four_subscribers_in_four_processes_get_every_message_once_in_order"]
fn fanout_child() {
    if std::env::var("FANOUT_ROLE").as_deref() != Ok("subscribers") {
        return;
    }
    let addr: SocketAddr = std::env::var("FANOUT_ADDR").unwrap().parse().unwrap();
    let key = hex::decode(std::env::var("FANOUT_KEY").unwrap()).unwrap();
    let key = PublicKey::from_bytes(&key).unwrap();
    let publisher: u64 = std::env::var("FANOUT_PUBLISHER").unwrap().parse().unwrap();
    let readers: Vec<_> = (0..NODES_PER_PROCESS)
        .map(|_| {
            let node = mesh();
            node.connect(addr, &key).unwrap();
            let sub = node
                .subscribe(publisher, CHANNEL, &[], Duration::from_secs(30))
                .unwrap();
            std::thread::spawn(move || {
                let mut next = 0u32;
                while next < MESSAGES {
                    match sub.next_blocking(Some(Duration::from_secs(60))) {
                        Ok(Some(m)) if m.payload == payload(next) => next += 1,
                        Ok(Some(m)) => {
                            return format!(
                                "{} got {:?} where {next} was due",
                                node.node_id(),
                                &m.payload[..4]
                            )
                        }
                        Ok(None) => return format!("{} timed out at {next}", node.node_id()),
                        Err(e) => return format!("{} failed at {next}: {e}", node.node_id()),
                    }
                }
                // Nothing more may come: a duplicate would show up here.
                match sub.next_blocking(Some(Duration::from_millis(200))) {
                    Ok(None) => format!("{} {MESSAGES} in order", node.node_id()),
                    other => format!("{} got an extra message: {other:?}", node.node_id()),
                }
            })
        })
        .collect();
    let mut done = String::new();
    std::io::stdin().read_line(&mut done).unwrap();
    for reader in readers {
        println!("RESULT {}", reader.join().unwrap());
    }
}
