//! Session lifetimes over real UDP on 127.0.0.1: rekeying under traffic,
//! expiry of a silent peer, keep-alives for routed peers.

use super::test_support::{addr, eventually, node_with, recv, WAIT};
use super::*;
use crate::error::ErrorKind;
use crate::identity::Identity;
use std::time::Duration;

#[test]
fn sessions_rekey_on_their_interval_and_streams_carry_on() {
    let quick_rekey = |c: &mut MeshConfig| {
        c.rekey_interval = Duration::from_millis(150);
        c.retransmit_timeout = Duration::from_millis(50);
    };
    let a = node_with(41, quick_rekey);
    let b = node_with(42, quick_rekey);
    a.connect(addr(&b), &b.public_key()).unwrap();
    let stream = a
        .open_stream(b.node_id(), 8, StreamConfig::reliable())
        .unwrap();
    let mut received = Vec::new();
    let mut i = 0u32;
    // Keep traffic flowing until a few rekeys happened, then a little more.
    while a.stats().sessions_rekeyed < 3 || i < 2000 {
        assert!(i < 2_000_000, "no rekeys happened");
        stream.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
        i += 1;
        while let Some(m) = b.recv(Some(Duration::ZERO)).unwrap() {
            received.push(m.payload);
        }
        if i.is_multiple_of(64) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    while received.len() < i as usize {
        received.push(recv(&b).payload);
    }
    let expected: Vec<Vec<u8>> = (0..i).map(|n| n.to_le_bytes().to_vec()).collect();
    assert_eq!(received, expected, "in order, exactly once, across rekeys");
    eventually("B to count the rekeys", || b.stats().sessions_rekeyed >= 3);
    assert_eq!(a.peers().len(), 1);
    assert_eq!(b.peers().len(), 1);
    // The new keys work both ways.
    b.send(a.node_id(), 9, b"after the rekeys").unwrap();
    assert_eq!(recv(&a).payload, b"after the rekeys");
}

#[test]
fn a_silent_peer_session_expires_and_a_live_one_does_not() {
    let short = |c: &mut MeshConfig| {
        c.beacon_interval = Duration::from_millis(50);
        c.session_timeout = Duration::from_millis(1000);
    };
    let a = node_with(43, short);
    let b = node_with(44, short);
    let c = node_with(45, short);
    a.connect(addr(&b), &b.public_key()).unwrap();
    a.connect(addr(&c), &c.public_key()).unwrap();
    c.shutdown();
    eventually("C's session to expire", || a.stats().sessions_expired == 1);
    let peers: Vec<u64> = a.peers().iter().map(|p| p.node_id).collect();
    assert_eq!(peers, vec![b.node_id()], "B's beacons keep its session");
    let e = a.send(c.node_id(), 1, b"anyone?").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownPeer);
    a.send(b.node_id(), 1, b"still here").unwrap();
    assert_eq!(recv(&b).payload, b"still here");
    assert_eq!(b.stats().sessions_expired, 0);
}

#[test]
fn an_expired_peer_takes_its_unheld_streams_along_and_held_ones_carry_on() {
    let short = |c: &mut MeshConfig| {
        c.beacon_interval = Duration::from_millis(40);
        c.session_timeout = Duration::from_millis(300);
        c.retransmit_timeout = Duration::from_millis(50);
    };
    let a = node_with(61, short);
    let b_addr;
    let held = {
        let b = node_with(62, short);
        b_addr = addr(&b);
        a.connect(b_addr, &b.public_key()).unwrap();
        // B sends on five streams: A holds their state without a handle.
        for stream_id in 10..15u64 {
            let s = b
                .open_stream(a.node_id(), stream_id, StreamConfig::reliable())
                .unwrap();
            s.send(b"hi").unwrap();
            recv(&a);
        }
        // A sends on one stream it keeps a handle to, and one it drops.
        let held = a
            .open_stream(b.node_id(), 20, StreamConfig::reliable())
            .unwrap();
        held.send(b"kept").unwrap();
        a.open_stream(b.node_id(), 21, StreamConfig::reliable())
            .unwrap()
            .send(b"dropped")
            .unwrap();
        assert_eq!(recv(&b).payload, b"kept");
        assert_eq!(recv(&b).payload, b"dropped");
        assert!(held.wait_acked(WAIT).unwrap());
        held
    };
    let streams_to =
        |node: &MeshNode, peer: u64| node.inner.streams.ids(peer, crate::mesh::protocol::APP);
    let b_id = Identity::from_seed(&[62; 32]).node_id();
    assert_eq!(streams_to(&a, b_id), vec![10, 11, 12, 13, 14, 20, 21]);
    eventually("B's session to expire", || a.stats().sessions_expired == 1);
    assert_eq!(streams_to(&a, b_id), vec![20]);
    // B comes back on the same address; the held stream goes on, in order.
    let b = node_with(62, |c| {
        short(c);
        c.bind = b_addr;
    });
    a.connect(b_addr, &b.public_key()).unwrap();
    held.send(b"again").unwrap();
    assert_eq!(recv(&b).payload, b"again");
    assert!(held.wait_acked(WAIT).unwrap());
}

#[test]
fn routed_peers_keep_their_session_with_keep_alives() {
    let short = |c: &mut MeshConfig| {
        c.beacon_interval = Duration::from_millis(40);
        c.session_timeout = Duration::from_millis(600);
    };
    let (a, b, c) = (
        node_with(46, short),
        node_with(47, short),
        node_with(48, short),
    );
    a.connect(addr(&b), &b.public_key()).unwrap();
    c.connect(addr(&b), &b.public_key()).unwrap();
    eventually("routes both ways through B", || {
        a.routes().iter().any(|r| r.dest == c.node_id())
            && c.routes().iter().any(|r| r.dest == a.node_id())
    });
    a.connect_routed(&c.public_key()).unwrap();
    // Several timeouts' worth of silence on the A–C session itself.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(a
        .peers()
        .iter()
        .any(|p| p.node_id == c.node_id() && p.routed));
    assert!(c.peers().iter().any(|p| p.node_id == a.node_id()));
    assert_eq!(a.stats().sessions_expired + c.stats().sessions_expired, 0);
}

#[test]
fn lifetimes_are_validated() {
    let mut config = MeshConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        NetworkKey::from_bytes([7; 32]),
    );
    config.rekey_interval = Duration::ZERO;
    assert_eq!(
        config.validate().unwrap_err().kind(),
        ErrorKind::InvalidMeshConfig
    );
    config.rekey_interval = Duration::from_secs(1);
    config.session_timeout = config.beacon_interval * 2;
    let e = config.validate().unwrap_err();
    assert!(e.detail().contains("session_timeout"), "{e}");
    let (_, parsed) = parse_node_config(
        r#"{"network_key":"0707070707070707070707070707070707070707070707070707070707070707",
            "rekey_interval_ms": 60000, "session_timeout_ms": 9000}"#,
    )
    .unwrap();
    assert_eq!(parsed.rekey_interval, Duration::from_secs(60));
    assert_eq!(parsed.session_timeout, Duration::from_secs(9));
}
