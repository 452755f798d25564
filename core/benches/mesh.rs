//! Mesh sessions: AEAD seal/open (ChaCha20-Poly1305, and AES-256-GCM where
//! the CPU has it), the handshake, and two nodes on loopback
//! against plain UDP moving the same messages the same way.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use net_core::bus::{Bus, BusConfig, PollRequest};
use net_core::identity::Identity;
use net_core::mesh::handshake::{respond, Cipher, Initiator};
use net_core::mesh::session::Session;
use net_core::mesh::{
    BusLink, BusLinkOptions, LinkDirection, MeshConfig, MeshNode, MeshStream, NetworkKey,
    StreamConfig,
};
use net_core::wire::{NetHeader, HEADER_LEN};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const SIZES: [usize; 2] = [64, 1024];
/// Messages per measured burst on loopback; small enough for the socket
/// buffers, so the comparison is of per-message cost, not of loss.
const BURST: usize = 64;

/// Two sessions of `cipher` (the keys of a real handshake).
fn sessions(cipher: Cipher) -> (Session, Session) {
    let key = NetworkKey::from_bytes([7; 32]);
    let (a, b) = (Identity::from_seed(&[1; 32]), Identity::from_seed(&[2; 32]));
    let (init, first) = Initiator::start(&a, &b.public_key(), &key).expect("start");
    let (_, answer, mut b_keys) = respond(&b, &key, &first).expect("respond");
    let mut a_keys = init.finish(&answer).expect("finish");
    a_keys.cipher = cipher;
    b_keys.cipher = cipher;
    (
        Session::new(1, &a_keys).expect("session"),
        Session::new(1, &b_keys).expect("session"),
    )
}

fn aead(c: &mut Criterion) {
    let mut g = c.benchmark_group("mesh");
    let mut ciphers = vec![Cipher::ChaCha20Poly1305];
    if Cipher::hardware_aes() {
        ciphers.push(Cipher::Aes256Gcm);
    }
    for (cipher, size) in ciphers
        .iter()
        .flat_map(|c| SIZES.iter().map(move |s| (*c, *s)))
    {
        let (tx, rx) = sessions(cipher);
        let name = match cipher {
            Cipher::ChaCha20Poly1305 => "",
            Cipher::Aes256Gcm => "aes_",
        };
        let payload = vec![0x5A; size];
        let mut packet = Vec::with_capacity(size + 128);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("{name}seal_{size}B"), |b| {
            b.iter(|| {
                packet.clear();
                let mut header = NetHeader::new();
                tx.seal(&mut header, black_box(&payload), &mut packet)
                    .expect("seal");
            })
        });
        g.bench_function(format!("{name}seal_open_{size}B"), |b| {
            b.iter(|| {
                packet.clear();
                let mut header = NetHeader::new();
                tx.seal(&mut header, black_box(&payload), &mut packet)
                    .expect("seal");
                let (header, _) = NetHeader::decode_packet(&packet).expect("decode");
                rx.open(&header, &mut packet[HEADER_LEN..]).expect("open")
            })
        });
    }
    g.throughput(Throughput::Elements(1));
    let key = NetworkKey::from_bytes([7; 32]);
    let (a, b) = (Identity::from_seed(&[1; 32]), Identity::from_seed(&[2; 32]));
    g.bench_function("handshake_in_memory", |bench| {
        bench.iter(|| {
            let (init, first) = Initiator::start(&a, &b.public_key(), &key).expect("start");
            let (_, answer, _) = respond(&b, &key, &first).expect("respond");
            init.finish(&answer).expect("finish")
        })
    });
    g.finish();
}

fn node(seed: u8) -> MeshNode {
    let config = MeshConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        NetworkKey::from_bytes([7; 32]),
    );
    MeshNode::bind(Identity::from_seed(&[seed; 32]), config).expect("bind")
}

/// Sends a burst and receives it; returns how many arrived (loss is
/// possible on UDP and is reported, never waited for forever).
fn mesh_burst(a: &MeshNode, b: &MeshNode, payload: &[u8]) -> usize {
    for _ in 0..BURST {
        a.send(b.node_id(), 1, payload).expect("send");
    }
    let mut got = 0;
    while got < BURST {
        match b.recv(Some(Duration::from_millis(100))).expect("recv") {
            Some(_) => got += 1,
            None => break,
        }
    }
    got
}

/// A reliable burst: every message arrives, in order, acknowledged.
fn reliable_burst(stream: &MeshStream, b: &MeshNode, payload: &[u8]) -> usize {
    for _ in 0..BURST {
        stream.send_blocking(payload, None).expect("send");
    }
    let mut got = 0;
    while got < BURST {
        match b.recv(Some(Duration::from_secs(5))).expect("recv") {
            Some(_) => got += 1,
            None => break,
        }
    }
    got
}

fn udp_burst(tx: &UdpSocket, rx: &UdpSocket, payload: &[u8], buf: &mut [u8]) -> usize {
    let to = rx.local_addr().expect("addr");
    for _ in 0..BURST {
        tx.send_to(payload, to).expect("send");
    }
    let mut got = 0;
    while got < BURST {
        match rx.recv_from(buf) {
            Ok(_) => got += 1,
            Err(_) => break,
        }
    }
    got
}

/// Plain UDP received the way the mesh's reader receives: `recvmmsg`,
/// taking every queued datagram in one call.
#[cfg(target_os = "linux")]
fn udp_burst_batched(
    tx: &UdpSocket,
    rx: &UdpSocket,
    payload: &[u8],
    bufs: &mut [Vec<u8>],
) -> usize {
    use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    let to = rx.local_addr().expect("addr");
    for _ in 0..BURST {
        tx.send_to(payload, to).expect("send");
    }
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(bufs.len(), None);
    let mut got = 0;
    while got < BURST {
        let mut slices: Vec<[IoSliceMut<'_>; 1]> =
            bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
        match recvmmsg(
            rx.as_raw_fd(),
            &mut headers,
            slices.iter_mut(),
            MsgFlags::MSG_WAITFORONE,
            None,
        ) {
            Ok(results) => got += results.count(),
            Err(_) => break,
        }
    }
    got
}

fn loopback(c: &mut Criterion) {
    let mut g = c.benchmark_group("loopback");
    g.measurement_time(Duration::from_secs(4));
    let a = node(1);
    let b = node(2);
    let info = a
        .connect(b.local_addr().expect("addr"), &b.public_key())
        .expect("connect");
    assert_eq!(info.node_id, b.node_id());
    let reliable = a
        .open_stream(b.node_id(), 2, StreamConfig::reliable())
        .expect("open");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    rx.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut buf = vec![0u8; 70_000];
    for size in SIZES {
        let payload = vec![0x5A; size + HEADER_LEN];
        g.throughput(Throughput::Bytes((size * BURST) as u64));
        g.bench_function(format!("mesh_fire_and_forget_{size}B_x{BURST}"), |bench| {
            bench.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(mesh_burst(&a, &b, &payload[..size]));
                }
                start.elapsed()
            })
        });
        g.bench_function(format!("mesh_reliable_{size}B_x{BURST}"), |bench| {
            bench.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    assert_eq!(reliable_burst(&reliable, &b, &payload[..size]), BURST);
                }
                start.elapsed()
            })
        });
        // Plain UDP carries the same bytes a mesh packet would, header
        // included, so the comparison is of the work, not the byte count.
        g.bench_function(format!("plain_udp_{size}B_x{BURST}"), |bench| {
            bench.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(udp_burst(&tx, &rx, &payload, &mut buf));
                }
                start.elapsed()
            })
        });
        #[cfg(target_os = "linux")]
        g.bench_function(format!("plain_udp_recvmmsg_{size}B_x{BURST}"), |bench| {
            let mut bufs = vec![vec![0u8; 70_000]; 16];
            bench.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(udp_burst_batched(&tx, &rx, &payload, &mut bufs));
                }
                start.elapsed()
            })
        });
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("handshake_over_loopback", |bench| {
        bench.iter(|| {
            a.connect(b.local_addr().expect("addr"), &b.public_key())
                .expect("connect")
        })
    });
    g.finish();
}

/// Per-hop forwarding: the same bursts A → C directly and through relay B.
fn relayed(c: &mut Criterion) {
    let mut g = c.benchmark_group("relay");
    g.measurement_time(Duration::from_secs(4));
    let node = |seed: u8| {
        let mut config = MeshConfig::new(
            "127.0.0.1:0".parse().expect("addr"),
            NetworkKey::from_bytes([7; 32]),
        );
        config.beacon_interval = Duration::from_millis(20);
        MeshNode::bind(Identity::from_seed(&[seed; 32]), config).expect("bind")
    };
    let (a, b, c_node, direct) = (node(11), node(12), node(13), node(14));
    a.connect(b.local_addr().expect("addr"), &b.public_key())
        .expect("a-b");
    c_node
        .connect(b.local_addr().expect("addr"), &b.public_key())
        .expect("c-b");
    direct
        .connect(c_node.local_addr().expect("addr"), &c_node.public_key())
        .expect("direct");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(a.routes().iter().any(|r| r.dest == c_node.node_id())
        && c_node.routes().iter().any(|r| r.dest == a.node_id()))
    {
        assert!(Instant::now() < deadline, "no routes learned");
        std::thread::sleep(Duration::from_millis(10));
    }
    a.connect_routed(&c_node.public_key()).expect("routed");
    for size in SIZES {
        let payload = vec![0x5A; size];
        g.throughput(Throughput::Bytes((size * BURST) as u64));
        g.bench_function(format!("direct_{size}B_x{BURST}"), |bench| {
            bench.iter(|| black_box(mesh_burst(&direct, &c_node, &payload)))
        });
        g.bench_function(format!("through_one_relay_{size}B_x{BURST}"), |bench| {
            bench.iter(|| black_box(mesh_burst(&a, &c_node, &payload)))
        });
    }
    g.finish();
}

/// Events per measured batch through a bus link.
const LINKED: usize = 4096;

/// Polls `bus` until `n` events came, acknowledging as it goes.
fn drain(bus: &Bus, n: usize, cursor: &mut Option<String>) -> usize {
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got < n && Instant::now() < deadline {
        let page = bus
            .poll(&PollRequest {
                limit: 1024,
                cursor: cursor.take(),
                filter: None,
            })
            .expect("poll");
        got += page.events.len();
        *cursor = Some(page.next_cursor);
        if page.events.is_empty() {
            std::thread::yield_now();
        }
    }
    got
}

/// The bus over the mesh: events emitted on one node's bus, polled on the
/// peer's; the same emit-and-poll on one local bus for comparison.
fn bus_over_mesh(c: &mut Criterion) {
    let mut g = c.benchmark_group("bus_over_mesh");
    g.measurement_time(Duration::from_secs(4));
    let a = node(21);
    let b = node(22);
    a.connect(b.local_addr().expect("addr"), &b.public_key())
        .expect("connect");
    let bus = || {
        Bus::new(BusConfig {
            num_shards: 2,
            ..BusConfig::default()
        })
        .expect("bus")
    };
    let (outbox, inbox, local) = (bus(), bus(), bus());
    let _receiving = BusLink::open(
        &inbox,
        &b,
        a.node_id(),
        BusLinkOptions::new(LinkDirection::Receive),
    )
    .expect("receive link");
    let _sending = BusLink::open(
        &outbox,
        &a,
        b.node_id(),
        BusLinkOptions::new(LinkDirection::Send),
    )
    .expect("send link");
    let (mut remote_cursor, mut local_cursor) = (None, None);
    for size in SIZES {
        let events: Vec<Vec<u8>> = (0..LINKED).map(|_| vec![0x5A; size]).collect();
        g.throughput(Throughput::Elements(LINKED as u64));
        g.bench_function(format!("linked_{size}B_x{LINKED}"), |bench| {
            bench.iter(|| {
                outbox.emit_raw_batch(&events).expect("emit");
                black_box(drain(&inbox, LINKED, &mut remote_cursor))
            })
        });
        g.bench_function(format!("local_{size}B_x{LINKED}"), |bench| {
            bench.iter(|| {
                local.emit_raw_batch(&events).expect("emit");
                black_box(drain(&local, LINKED, &mut local_cursor))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, aead, loopback, relayed, bus_over_mesh);
criterion_main!(benches);
