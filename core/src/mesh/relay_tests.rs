//! Relaying tests over real UDP on 127.0.0.1: three and four nodes, routes
//! learned from beacons, a relay that never holds the end-to-end keys,
//! failure detection and reroute.

use super::test_support::{addr, eventually, node_with, recv, WAIT};
use super::*;
use crate::error::ErrorKind;
use crate::identity::Identity;
use crate::wire::{NetHeader, RoutingHeader};
use std::net::UdpSocket;
use std::time::Duration;

const BEAT: Duration = Duration::from_millis(40);

fn node(seed: u8) -> MeshNode {
    node_with(seed, |config| {
        config.retransmit_timeout = Duration::from_millis(50);
        config.beacon_interval = BEAT;
    })
}

fn link(a: &MeshNode, b: &MeshNode) {
    a.connect(addr(b), &b.public_key()).unwrap();
    // The responder lists the session once the confirmation arrives.
    eventually("the link to be confirmed", || {
        b.peers()
            .iter()
            .any(|p| p.node_id == a.node_id() && p.confirmed)
    });
}

fn route_to(from: &MeshNode, to: &MeshNode) -> Option<RouteInfo> {
    from.routes().into_iter().find(|r| r.dest == to.node_id())
}

#[test]
fn a_relay_forwards_without_holding_the_session_keys() {
    let (a, b, c) = (node(1), node(2), node(3));
    link(&a, &b);
    link(&c, &b);
    eventually("routes both ways through B", || {
        route_to(&a, &c).is_some_and(|r| r.next_hop == b.node_id() && r.hops == 2)
            && route_to(&c, &a).is_some()
    });
    // No direct path: a plain connect to C's key would need its address.
    let info = a.connect_routed(&c.public_key()).unwrap();
    assert!(info.routed && info.node_id == c.node_id());

    let stream = a
        .open_stream(c.node_id(), 4, StreamConfig::reliable())
        .unwrap();
    for i in 0..200u32 {
        stream.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
    }
    for i in 0..200u32 {
        let m = recv(&c);
        assert_eq!((m.from, m.payload), (a.node_id(), i.to_le_bytes().to_vec()));
    }
    c.send(a.node_id(), 9, b"back through B").unwrap();
    let m = recv(&a);
    assert_eq!(
        (m.from, m.payload.as_slice()),
        (c.node_id(), &b"back through B"[..])
    );

    // B relayed every packet but holds only its own two sessions: the A–C
    // session (and its keys) exists only at A and C.
    let b_peers: Vec<u64> = b.peers().iter().map(|p| p.node_id).collect();
    assert_eq!(b_peers.len(), 2);
    assert!(b_peers.contains(&a.node_id()) && b_peers.contains(&c.node_id()));
    assert!(b.stats().packets_forwarded >= 200);
    assert!(b.recv(Some(Duration::from_millis(50))).unwrap().is_none());
    assert!(c
        .peers()
        .iter()
        .any(|p| p.node_id == a.node_id() && p.routed));
}

#[test]
fn a_responder_answers_a_routed_handshake_the_way_it_came_before_any_beacon() {
    // Beacons so rare that none goes out during the test: the only route
    // anyone has is the one A is given by hand.
    let slow = |config: &mut MeshConfig| {
        config.retransmit_timeout = Duration::from_millis(50);
        config.beacon_interval = Duration::from_secs(20);
        config.session_timeout = Duration::from_secs(60);
    };
    let (a, b, c) = (
        node_with(11, slow),
        node_with(12, slow),
        node_with(13, slow),
    );
    link(&a, &b);
    link(&c, &b);
    a.inner
        .routing
        .lock()
        .learn(c.node_id(), b.node_id(), 2, std::time::Instant::now());
    assert!(route_to(&c, &a).is_none(), "C must not know A yet");
    let info = a.connect_routed(&c.public_key()).unwrap();
    assert!(info.routed && info.node_id == c.node_id());
    // C learned the way back from the handshake itself.
    let back = route_to(&c, &a).expect("a route back to A");
    assert_eq!((back.next_hop, back.hops), (b.node_id(), 2));
    a.send(c.node_id(), 5, b"there").unwrap();
    assert_eq!(recv(&c).payload, b"there");
    c.send(a.node_id(), 5, b"and back").unwrap();
    assert_eq!(recv(&a).payload, b"and back");
    assert!(b.stats().packets_forwarded >= 4);
}

#[test]
fn a_failed_relay_is_detected_and_traffic_reroutes_through_another() {
    // A — B — C and A — D — C: two equal routes from A to C.
    let (a, b, c, d) = (node(1), node(2), node(3), node(4));
    link(&a, &b);
    link(&b, &c);
    link(&a, &d);
    link(&d, &c);
    eventually("two routes from A to C", || {
        route_to(&a, &c).is_some() && route_to(&c, &a).is_some()
    });
    a.connect_routed(&c.public_key()).unwrap();
    let stream = a
        .open_stream(c.node_id(), 1, StreamConfig::reliable())
        .unwrap();
    let first = route_to(&a, &c).unwrap().next_hop;
    let (relay, other) = if first == b.node_id() { (b, d) } else { (d, b) };
    stream.send_blocking(b"before", Some(WAIT)).unwrap();
    assert_eq!(recv(&c).payload, b"before");

    // The relay in use dies.
    let dead = relay.node_id();
    relay.shutdown();
    eventually("A to declare the relay failed", || {
        a.peers()
            .iter()
            .any(|p| p.node_id == dead && p.health == PeerHealth::Failed)
    });
    assert!(a.stats().peers_suspected >= 1 && a.stats().peers_failed >= 1);
    eventually("the route to move to the other relay", || {
        route_to(&a, &c).is_some_and(|r| r.next_hop == other.node_id())
            && route_to(&c, &a).is_some_and(|r| r.next_hop == other.node_id())
    });
    // The end-to-end session and reliable stream carry on over the new path.
    for i in 0..50u32 {
        stream.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
    }
    for i in 0..50u32 {
        assert_eq!(recv(&c).payload, i.to_le_bytes());
    }
    assert!(other.stats().packets_forwarded >= 50);
}

#[test]
fn relays_refuse_strangers_expired_hops_and_unknown_destinations() {
    let (a, b) = (node(1), node(2));
    link(&a, &b);
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let routed = |dest: u64, ttl: u8| {
        let mut packet = RoutingHeader {
            ttl,
            hop_count: 0,
            flags: Default::default(),
            src_id: 1,
            dest_id: dest,
        }
        .encode()
        .to_vec();
        packet.extend_from_slice(&NetHeader::new().encode());
        packet
    };
    // Not a neighbour of B: dropped, not forwarded.
    stranger.send_to(&routed(a.node_id(), 4), addr(&b)).unwrap();
    eventually("the stranger's packet counted", || {
        b.stats().dropped_unroutable == 1
    });
    assert_eq!(b.stats().packets_forwarded, 0);

    // From a neighbour, but for a node nobody knows, or with no hops left.
    let err = a
        .connect_routed(&Identity::from_seed(&[9; 32]).public_key())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownPeer, "{err}");
    assert!(a.routes().iter().all(|r| r.dest != 12345));
    // A short routing header is malformed.
    stranger.send_to(&[0x52, 0x54, 1], addr(&b)).unwrap();
    eventually("the short header counted", || {
        b.stats().dropped_malformed >= 1
    });
    // B still serves its neighbour.
    a.send(b.node_id(), 1, b"still here").unwrap();
    assert_eq!(recv(&b).payload, b"still here");
}

#[test]
fn beacon_and_hop_settings_are_validated() {
    let mut config = MeshConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        NetworkKey::from_bytes([7; 32]),
    );
    config.max_hops = 0;
    let err = MeshNode::bind(Identity::from_seed(&[1; 32]), config.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshConfig);
    config.max_hops = 3;
    config.beacon_interval = Duration::ZERO;
    let err = MeshNode::bind(Identity::from_seed(&[1; 32]), config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshConfig);
}
