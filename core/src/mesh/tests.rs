//! Mesh tests over real UDP sockets on 127.0.0.1.

use super::test_support::{addr, eventually, node_with, recv};
use super::*;
use crate::error::ErrorKind;
use crate::identity::Identity;
use crate::wire::{NetHeader, PacketFlags, HEADER_LEN};
use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const KEY: [u8; 32] = [7; 32];

fn config(key: [u8; 32]) -> MeshConfig {
    let mut config = MeshConfig::new("127.0.0.1:0".parse().unwrap(), NetworkKey::from_bytes(key));
    config.handshake_timeout = Duration::from_millis(1500);
    config.handshake_retry = Duration::from_millis(100);
    config
}

fn node(seed: u8) -> MeshNode {
    MeshNode::bind(Identity::from_seed(&[seed; 32]), config(KEY)).unwrap()
}

#[test]
fn handshake_then_data_both_ways() {
    let a = node(1);
    let b = node(2);
    let info = a.connect(addr(&b), &b.public_key()).unwrap();
    assert_eq!(info.node_id, b.node_id());
    assert_eq!(info.public_key, b.public_key());
    assert!(info.confirmed);

    a.send(b.node_id(), 3, b"hello b").unwrap();
    let got = recv(&b);
    assert_eq!(
        (got.from, got.stream_id, got.payload.as_slice()),
        (a.node_id(), 3, &b"hello b"[..])
    );

    // B learned A's proven identity from the handshake and can answer.
    let peers = b.peers();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].public_key, a.public_key());
    assert!(peers[0].confirmed);
    b.send(a.node_id(), 4, b"hello a").unwrap();
    let got = recv(&a);
    assert_eq!(
        (got.from, got.stream_id, got.payload.as_slice()),
        (b.node_id(), 4, &b"hello a"[..])
    );

    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!((sa.handshakes_completed, sb.handshakes_completed), (1, 1));
    assert_eq!(sa.bytes_sent, 7);
    assert_eq!(sb.bytes_received, 7);
    assert_eq!(
        sb.dropped_tampered + sb.dropped_replayed + sb.dropped_malformed,
        0
    );
}

#[test]
fn empty_and_largest_messages_arrive_and_oversized_ones_are_refused() {
    let a = node(1);
    let b = node(2);
    a.connect(addr(&b), &b.public_key()).unwrap();
    a.send(b.node_id(), 0, b"").unwrap();
    assert!(recv(&b).payload.is_empty());
    let big = vec![0xAB; session::MAX_PAYLOAD];
    a.send(b.node_id(), 0, &big).unwrap();
    assert_eq!(recv(&b).payload, big);
    let err = a
        .send(b.node_id(), 0, &vec![0; session::MAX_PAYLOAD + 1])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge);
}

#[test]
fn another_network_key_fails_the_handshake() {
    let a = node(1);
    let other = MeshNode::bind(Identity::from_seed(&[3; 32]), config([9; 32])).unwrap();
    let err = a.connect(addr(&other), &other.public_key()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeFailed, "{err}");
    assert!(a.stats().handshakes_failed >= 1);
    assert!(a.peers().is_empty());
    // The other side never sees the session confirmed, so it never lists it.
    thread::sleep(Duration::from_millis(50));
    assert!(other.peers().is_empty());
    let err = a.send(other.node_id(), 0, b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownPeer);
}

#[test]
fn a_different_identity_at_the_address_never_answers() {
    let a = node(1);
    let b = node(2);
    let impostor_key = Identity::from_seed(&[4; 32]).public_key();
    let err = a.connect(addr(&b), &impostor_key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshTimeout, "{err}");
    // B could not read a first message sealed to someone else's key.
    assert!(b.stats().handshakes_failed >= 1);
    assert!(b.peers().is_empty());
}

#[test]
fn nobody_listening_times_out() {
    let a = node(1);
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let key = Identity::from_seed(&[2; 32]).public_key();
    let err = a.connect(silent.local_addr().unwrap(), &key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshTimeout);
}

/// A UDP relay between a client and a node that rewrites what flows to the
/// node: the man in the middle for tamper and replay tests.
struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

type Rewrite = dyn Fn(&[u8]) -> Vec<Vec<u8>> + Send;

impl Proxy {
    fn start(target: SocketAddr, rewrite: Box<Rewrite>) -> Proxy {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let mut client: Option<SocketAddr> = None;
            let mut buf = vec![0u8; 70_000];
            while !flag.load(Ordering::Acquire) {
                let Ok((len, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if from == target {
                    if let Some(c) = client {
                        socket.send_to(&buf[..len], c).unwrap();
                    }
                } else {
                    client = Some(from);
                    for out in rewrite(&buf[..len]) {
                        socket.send_to(&out, target).unwrap();
                    }
                }
            }
        });
        Proxy {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// Whether a datagram is an application data packet (not handshake/control).
fn is_data(packet: &[u8]) -> bool {
    let header = NetHeader::decode(packet).unwrap();
    header.flags.contains(PacketFlags::ENCRYPTED) && !header.flags.contains(PacketFlags::CONTROL)
}

#[test]
fn tampered_packets_are_dropped_and_counted() {
    let a = node(1);
    let b = node(2);
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    // Every other data packet is altered: odd ones in the ciphertext, the
    // rest in the header's stream id (authenticated as associated data).
    let proxy = Proxy::start(
        addr(&b),
        Box::new(move |packet| {
            let mut out = packet.to_vec();
            if is_data(packet) {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                if n % 2 == 1 {
                    if n % 4 == 1 {
                        *out.last_mut().unwrap() ^= 0x01;
                    } else {
                        out[32] ^= 0x01;
                    }
                }
            }
            vec![out]
        }),
    );
    a.connect(proxy.addr, &b.public_key()).unwrap();
    for i in 0..20u8 {
        a.send(b.node_id(), 1, &[i; 16]).unwrap();
    }
    eventually("the tampered packets to be counted", || {
        b.stats().dropped_tampered == 10
    });
    let mut got = Vec::new();
    while let Some(m) = b.recv(Some(Duration::from_millis(200))).unwrap() {
        got.push(m.payload[0]);
    }
    assert_eq!(got, (0..20).step_by(2).collect::<Vec<u8>>());
}

#[test]
fn replayed_packets_are_dropped_and_counted() {
    let a = node(1);
    let b = node(2);
    let proxy = Proxy::start(
        addr(&b),
        Box::new(|packet| {
            if is_data(packet) {
                vec![packet.to_vec(), packet.to_vec()]
            } else {
                vec![packet.to_vec()]
            }
        }),
    );
    a.connect(proxy.addr, &b.public_key()).unwrap();
    for i in 0..10u8 {
        a.send(b.node_id(), 1, &[i]).unwrap();
    }
    eventually("the replays to be counted", || {
        b.stats().dropped_replayed == 10
    });
    let mut got = Vec::new();
    while let Some(m) = b.recv(Some(Duration::from_millis(200))).unwrap() {
        got.push(m.payload[0]);
    }
    assert_eq!(
        got,
        (0..10).collect::<Vec<u8>>(),
        "each message exactly once"
    );
}

#[test]
fn garbage_is_dropped_and_counted_while_the_node_keeps_serving() {
    let a = node(1);
    let b = node(2);
    a.connect(addr(&b), &b.public_key()).unwrap();
    let before = b.stats();
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let sent = 300;
    for i in 0..sent {
        let len = (next() % 200) as usize;
        let mut datagram: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 3 == 0 {
            // A well-formed header for a session that does not exist.
            let mut header = NetHeader::new();
            header.flags = PacketFlags(PacketFlags::ENCRYPTED);
            header.session_id = next();
            header.payload_len = datagram.len() as u16;
            datagram.splice(0..0, header.encode());
        } else if i % 3 == 1 {
            // A handshake "first message" of noise.
            let mut header = NetHeader::new();
            header.flags = PacketFlags(PacketFlags::HANDSHAKE);
            header.session_id = next();
            header.sequence = 1;
            header.payload_len = datagram.len() as u16;
            datagram.splice(0..0, header.encode());
        }
        junk.send_to(&datagram, addr(&b)).unwrap();
        if i % 20 == 19 {
            // Pace the junk so the kernel's socket buffer drops none (each
            // must be read to be counted).
            thread::sleep(Duration::from_millis(5));
        }
    }
    eventually("all garbage to be read", || {
        b.stats().packets_received - before.packets_received >= sent
    });
    let s = b.stats();
    let dropped = (s.dropped_malformed - before.dropped_malformed)
        + (s.dropped_unknown_session - before.dropped_unknown_session)
        + (s.handshakes_failed - before.handshakes_failed);
    assert_eq!(dropped, sent);
    assert!(s.dropped_unknown_session - before.dropped_unknown_session >= 100);
    assert_eq!(b.peers().len(), 1, "no session was created by garbage");
    a.send(b.node_id(), 9, b"still here").unwrap();
    assert_eq!(recv(&b).payload, b"still here");
}

#[test]
fn first_messages_need_the_responders_mac1_and_every_one_is_accounted_for() {
    let a = node(1);
    let b = node(2);
    let before = b.stats();
    let stranger = Identity::from_seed(&[9; 32]);
    let (_, message) =
        handshake::Initiator::start(&stranger, &b.public_key(), &NetworkKey::from_bytes(KEY))
            .unwrap();
    let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
    let packet = |session_id: u64, mac_for: &crate::identity::PublicKey| {
        let mut body = message.clone();
        body.extend_from_slice(&admission::mac1(
            &admission::mac1_key(mac_for),
            session_id,
            &message,
        ));
        let mut header = NetHeader::new();
        header.flags = PacketFlags(PacketFlags::HANDSHAKE);
        header.session_id = session_id;
        header.sequence = 1;
        header.payload_len = body.len() as u16;
        let mut out = header.encode().to_vec();
        out.extend_from_slice(&body);
        out
    };
    // 200 well-formed first messages under fresh session ids (a replay
    // flood), then 100 whose mac1 was made for another node.
    let (valid, misaddressed) = (200u64, 100u64);
    for i in 0..valid + misaddressed {
        let mac_for = if i < valid {
            b.public_key()
        } else {
            a.public_key()
        };
        raw.send_to(&packet(1000 + i, &mac_for), addr(&b)).unwrap();
        if i % 20 == 19 {
            thread::sleep(Duration::from_millis(5));
        }
    }
    eventually("every first message to be read", || {
        b.stats().packets_received - before.packets_received >= valid + misaddressed
    });
    let s = b.stats();
    // Each valid one was answered or, over the budget, left unanswered.
    assert_eq!(
        (s.handshakes_completed - before.handshakes_completed)
            + (s.handshakes_throttled - before.handshakes_throttled),
        valid
    );
    assert_eq!(s.handshakes_failed - before.handshakes_failed, misaddressed);
    // Real peers still get in, and no half-open session became a peer.
    a.connect(addr(&b), &b.public_key()).unwrap();
    a.send(b.node_id(), 1, b"through").unwrap();
    assert_eq!(recv(&b).payload, b"through");
    assert!(b
        .peers()
        .iter()
        .all(|p| p.node_id != stranger.node_id() || !p.confirmed));
}

#[test]
fn a_repeated_connect_replaces_the_session() {
    let a = node(1);
    let b = node(2);
    a.connect(addr(&b), &b.public_key()).unwrap();
    a.connect(addr(&b), &b.public_key()).unwrap();
    a.send(b.node_id(), 0, b"after").unwrap();
    assert_eq!(recv(&b).payload, b"after");
    assert_eq!(a.peers().len(), 1);
    eventually("B to drop the old session", || b.peers().len() == 1);
    b.send(a.node_id(), 0, b"back").unwrap();
    assert_eq!(recv(&a).payload, b"back");
}

#[test]
fn concurrent_senders_deliver_every_message_once() {
    let a = Arc::new(node(1));
    let b = node(2);
    a.connect(addr(&b), &b.public_key()).unwrap();
    let threads = 4u32;
    let per_thread = 250u32;
    let senders: Vec<_> = (0..threads)
        .map(|t| {
            let a = a.clone();
            let to = b.node_id();
            thread::spawn(move || {
                for i in 0..per_thread {
                    a.send(to, u64::from(t), &(t * per_thread + i).to_le_bytes())
                        .unwrap();
                    if i % 25 == 24 {
                        // Keep within the receiver's socket buffer: this
                        // layer has no flow control of its own (streams do).
                        thread::sleep(Duration::from_millis(2));
                    }
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    while seen.len() < (threads * per_thread) as usize {
        let m = recv(&b);
        let n = u32::from_le_bytes(m.payload[..4].try_into().unwrap());
        assert_eq!(m.stream_id, u64::from(n / per_thread));
        assert!(seen.insert(n), "message {n} arrived twice");
    }
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(b.stats().dropped_replayed, 0);
}

#[test]
fn shutdown_ends_everything_with_a_typed_error() {
    let a = node(1);
    let b = node(2);
    a.connect(addr(&b), &b.public_key()).unwrap();
    a.send(b.node_id(), 0, b"last").unwrap();
    assert_eq!(recv(&b).payload, b"last");
    let waiter = {
        let b = Arc::new(b);
        let waiting = b.clone();
        let handle = thread::spawn(move || waiting.recv(None));
        thread::sleep(Duration::from_millis(50));
        b.shutdown();
        handle
    };
    assert_eq!(
        waiter.join().unwrap().unwrap_err().kind(),
        ErrorKind::MeshShutdown
    );
    a.shutdown();
    a.shutdown();
    assert_eq!(
        a.send(1, 0, b"x").unwrap_err().kind(),
        ErrorKind::MeshShutdown
    );
    let key = Identity::from_seed(&[2; 32]).public_key();
    let err = a.connect("127.0.0.1:9".parse().unwrap(), &key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshShutdown);
}

#[test]
fn bad_configuration_is_refused() {
    let mut c = config(KEY);
    c.inbox_capacity = 0;
    let err = MeshNode::bind(Identity::from_seed(&[1; 32]), c).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshConfig);
    let err = NetworkKey::from_slice(&[0; 31]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshConfig);
    assert_eq!(
        format!("{:?}", NetworkKey::from_bytes(KEY)),
        "NetworkKey(<secret>)"
    );
}

#[test]
fn handshake_keys_pair_up_and_sessions_refuse_replays() {
    let alice = Identity::from_seed(&[1; 32]);
    let bob = Identity::from_seed(&[2; 32]);
    let key = NetworkKey::from_bytes(KEY);
    let (initiator, first) = handshake::Initiator::start(&alice, &bob.public_key(), &key).unwrap();
    let (proven, answer, bob_keys) = handshake::respond(&bob, &key, &first).unwrap();
    assert_eq!(proven, alice.public_key());
    let alice_keys = initiator.finish(&answer).unwrap();
    assert_eq!(alice_keys.send, bob_keys.recv);
    assert_eq!(alice_keys.recv, bob_keys.send);

    let tx = session::Session::new(5, &alice_keys).unwrap();
    let rx = session::Session::new(5, &bob_keys).unwrap();
    let mut header = NetHeader::new();
    let mut packet = Vec::new();
    tx.seal(&mut header, b"payload", &mut packet).unwrap();
    let (decoded, _) = NetHeader::decode_packet(&packet).unwrap();
    // A relay may change the hop fields without breaking the tag.
    let mut relayed = packet.clone();
    relayed[5] = 9;
    relayed[6] = 3;
    let mut body = relayed[HEADER_LEN..].to_vec();
    let relayed_header = NetHeader::decode(&relayed).unwrap();
    let n = rx.open(&relayed_header, &mut body).unwrap();
    assert_eq!(&body[..n], b"payload");
    let mut again = packet[HEADER_LEN..].to_vec();
    assert_eq!(
        rx.open(&decoded, &mut again),
        Err(session::Rejected::Replayed)
    );
}

#[test]
fn the_handshake_agrees_aes_only_when_both_sides_offer_it() {
    use handshake::{respond_accepting, Cipher, Initiator};
    let alice = Identity::from_seed(&[1; 32]);
    let bob = Identity::from_seed(&[2; 32]);
    let key = NetworkKey::from_bytes(KEY);
    for (offer, accept, want) in [
        (true, true, Cipher::Aes256Gcm),
        (true, false, Cipher::ChaCha20Poly1305),
        (false, true, Cipher::ChaCha20Poly1305),
        (false, false, Cipher::ChaCha20Poly1305),
    ] {
        let (initiator, first) =
            Initiator::start_offering(&alice, &bob.public_key(), &key, offer).unwrap();
        let (_, answer, bob_keys) = respond_accepting(&bob, &key, &first, accept).unwrap();
        let alice_keys = initiator.finish(&answer).unwrap();
        assert_eq!((alice_keys.cipher, bob_keys.cipher), (want, want));
        // Sessions of the agreed cipher talk to each other, both ways.
        let a = session::Session::new(9, &alice_keys).unwrap();
        let b = session::Session::new(9, &bob_keys).unwrap();
        assert_eq!((a.cipher(), b.cipher()), (want, want));
        for (from, to) in [(&a, &b), (&b, &a)] {
            let mut header = NetHeader::new();
            let mut packet = Vec::new();
            from.seal(&mut header, b"both ways", &mut packet).unwrap();
            let header = NetHeader::decode(&packet).unwrap();
            let mut body = packet[HEADER_LEN..].to_vec();
            let n = to.open(&header, &mut body).unwrap();
            assert_eq!(&body[..n], b"both ways", "{}", want.as_str());
        }
    }
    // A responder cannot pick AES for an initiator that did not offer it.
    let (initiator, _) = Initiator::start_offering(&alice, &bob.public_key(), &key, false).unwrap();
    let (_, first) = Initiator::start_offering(&alice, &bob.public_key(), &key, true).unwrap();
    let (_, answer, _) = respond_accepting(&bob, &key, &first, true).unwrap();
    assert_eq!(
        initiator.finish(&answer).unwrap_err().kind(),
        ErrorKind::HandshakeFailed
    );
    // Packets of one cipher do not open under the other.
    let (initiator, first) =
        Initiator::start_offering(&alice, &bob.public_key(), &key, true).unwrap();
    let (_, answer, mut bob_keys) = respond_accepting(&bob, &key, &first, true).unwrap();
    let alice_keys = initiator.finish(&answer).unwrap();
    bob_keys.cipher = Cipher::ChaCha20Poly1305;
    let a = session::Session::new(3, &alice_keys).unwrap();
    let b = session::Session::new(3, &bob_keys).unwrap();
    let mut header = NetHeader::new();
    let mut packet = Vec::new();
    a.seal(&mut header, b"x", &mut packet).unwrap();
    let header = NetHeader::decode(&packet).unwrap();
    let mut body = packet[HEADER_LEN..].to_vec();
    assert_eq!(b.open(&header, &mut body), Err(session::Rejected::Tampered));
}

#[test]
fn shutdown_frees_the_port_at_once() {
    let a = node(1);
    let at = addr(&a);
    a.shutdown();
    assert_eq!(a.local_addr().unwrap_err().kind(), ErrorKind::MeshShutdown);
    // The handle is still alive, but the port is free: another node binds it.
    let mut c = config(KEY);
    c.bind = at;
    let again = MeshNode::bind(Identity::from_seed(&[1; 32]), c).unwrap();
    assert_eq!(addr(&again), at);
    drop(a);
}

#[test]
fn the_responder_knows_the_session_when_connect_returns() {
    for seed in 10..30u8 {
        let a = node(seed);
        let b = node(seed + 100);
        a.connect(addr(&b), &b.public_key()).unwrap();
        // No waiting: connect returned only after B answered the confirmation.
        b.send(a.node_id(), 1, b"right away").unwrap();
        assert_eq!(recv(&a).payload, b"right away");
        assert!(b.peers()[0].confirmed);
    }
}

#[test]
fn connecting_a_node_to_itself_is_refused_at_once() {
    let a = node(1);
    let b = node(2);
    let own = a.public_key();
    let err = a.connect(addr(&a), &own).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshArgument, "{err}");
    // Its own address under another key, and its own key at another address.
    let err = a.connect(addr(&a), &b.public_key()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshArgument, "{err}");
    let err = a.connect(addr(&b), &own).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshArgument, "{err}");
    assert_eq!(
        a.connect_routed(&own).unwrap_err().kind(),
        ErrorKind::InvalidMeshArgument
    );
    assert_eq!(a.stats().handshakes_failed, 0, "no handshake was attempted");
    // The node is unharmed.
    assert_eq!(
        a.connect(addr(&b), &b.public_key()).unwrap().node_id,
        b.node_id()
    );
}

#[test]
fn a_connect_runs_in_steps_the_caller_drives_and_can_be_cancelled() {
    let a = node_with(81, |_| {});
    let b = node_with(82, |_| {});
    // Driven in short steps: no thread of its own, the same session.
    let mut connecting = a.start_connect(addr(&b), &b.public_key()).unwrap();
    let mut steps = 0;
    let info = loop {
        steps += 1;
        if let Some(info) = connecting.wait(Some(Duration::from_millis(1))).unwrap() {
            break info;
        }
        assert!(steps < 100_000, "the handshake never finished");
    };
    assert_eq!(info.node_id, b.node_id());
    let again = connecting.wait(None).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::InvalidMeshArgument);
    a.send(b.node_id(), 1, b"stepped").unwrap();
    assert_eq!(recv(&b).payload, b"stepped");

    // Nobody answers at this address: steps return nothing until the
    // handshake timeout, then `mesh:timeout`.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let stranger = Identity::from_seed(&[83; 32]).public_key();
    let mut lost = a
        .start_connect(silent.local_addr().unwrap(), &stranger)
        .unwrap();
    assert!(lost
        .wait(Some(Duration::from_millis(20)))
        .unwrap()
        .is_none());
    let e = lost.wait(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MeshTimeout);

    // Cancelled from another thread: at once, typed.
    let token = crate::cancel::CancelToken::new();
    let canceller = crate::cancel::cancel_after(&token, 30);
    let started = std::time::Instant::now();
    let e = a
        .connect_cancellable(silent.local_addr().unwrap(), &stranger, &token)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    canceller.join().unwrap();
    // Dropping an unfinished connect abandons it; the node carries on.
    drop(
        a.start_connect(silent.local_addr().unwrap(), &stranger)
            .unwrap(),
    );
    assert_eq!(a.inner.dials_pending(), 0);
}
