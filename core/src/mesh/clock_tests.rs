//! A node's deadlines on paused time (a [`ManualClock`] the test advances):
//! resends, rekeys and expiry happen when the clock says, not when the
//! machine gets round to it, and hour-long intervals take milliseconds.
//! Packets still travel over real UDP on 127.0.0.1.

use super::conditions::{Conditions, Outgoing, Wire};
use super::test_support::{addr, clocked_node, eventually, recv, WAIT};
use super::*;
use crate::identity::Identity;
use crate::time::ManualClock;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// Drops the first data packet a node sends, and passes everything else.
#[derive(Default)]
struct DropFirstData(Mutex<bool>);

impl Conditions for DropFirstData {
    fn send(&self, datagram: Outgoing<'_>, wire: Wire<'_>) -> crate::error::Result<()> {
        if !datagram.control {
            let mut dropped = self.0.lock();
            if !*dropped {
                *dropped = true;
                return Ok(());
            }
        }
        wire(datagram.packet, datagram.to)
    }
}

#[test]
fn a_lost_message_is_resent_when_the_clock_reaches_its_timeout_and_not_before() {
    let clock = ManualClock::new();
    let rto = Duration::from_millis(100);
    let mut config = MeshConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        NetworkKey::from_bytes([7; 32]),
    );
    config.retransmit_timeout = rto;
    let a = MeshNode::bind_with_seams(
        Identity::from_seed(&[71; 32]),
        config,
        TestSeams {
            conditions: Some(Arc::new(DropFirstData::default())),
            clock: clock.clock(),
        },
    )
    .unwrap();
    let b = clocked_node(72, &clock, |_| {});
    a.connect(addr(&b), &b.public_key()).unwrap();
    let stream = a
        .open_stream(b.node_id(), 3, StreamConfig::reliable())
        .unwrap();
    // Lost on the way (and nothing after it, which B would answer with an
    // ack naming the gap).
    stream.send(b"first").unwrap();
    // Three timeouts of real time go by; on the node's clock, none.
    assert!(b.recv(Some(rto * 3)).unwrap().is_none());
    assert_eq!(stream.stats().retransmits, 0);
    clock.advance(rto + Duration::from_millis(1));
    assert_eq!(recv(&b).payload, b"first");
    assert_eq!(stream.stats().retransmits, 1);
}

#[test]
fn an_hour_long_rekey_interval_is_kept_on_the_clock() {
    let clock = ManualClock::new();
    let hourly = |c: &mut MeshConfig| {
        c.rekey_interval = Duration::from_secs(3600);
        c.session_timeout = Duration::from_secs(7200);
    };
    let a = clocked_node(73, &clock, hourly);
    let b = clocked_node(74, &clock, hourly);
    a.connect(addr(&b), &b.public_key()).unwrap();
    let sent = a.stats().packets_sent;
    clock.advance(Duration::from_secs(59 * 60));
    // The round at 59 minutes sends beacons, and rekeys nothing.
    eventually("A's timer to run at 59 minutes", || {
        a.stats().packets_sent > sent
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(a.stats().sessions_rekeyed, 0);
    clock.advance(Duration::from_secs(60) + Duration::from_millis(1));
    eventually("the hourly rekey", || {
        a.stats().sessions_rekeyed == 1 && b.stats().sessions_rekeyed == 1
    });
    // The new keys work both ways.
    a.send(b.node_id(), 1, b"after the rekey").unwrap();
    assert_eq!(recv(&b).payload, b"after the rekey");
    b.send(a.node_id(), 1, b"and back").unwrap();
    assert_eq!(recv(&a).payload, b"and back");
    assert_eq!(a.peers().len(), 1);
}

#[test]
fn a_silent_peer_expires_on_the_clock_just_past_the_session_timeout() {
    let clock = ManualClock::new();
    let a = clocked_node(75, &clock, |_| {});
    let b = clocked_node(76, &clock, |_| {});
    let c = clocked_node(77, &clock, |_| {});
    let timeout = MeshConfig::new(addr(&a), NetworkKey::from_bytes([7; 32])).session_timeout;
    a.connect(addr(&b), &b.public_key()).unwrap();
    a.connect(addr(&c), &c.public_key()).unwrap();
    c.shutdown();
    // A second short of the timeout: C has been silent for six beacon
    // intervals (failed), but its session stands. B beacons at that round.
    let heard = a.stats().packets_received;
    clock.advance(timeout - Duration::from_secs(1));
    eventually("A to see C fail", || a.stats().peers_failed >= 1);
    // C is down: what A hears now is B's beacon.
    eventually("B's beacon to reach A", || {
        a.stats().packets_received > heard
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(a.stats().sessions_expired, 0);
    assert_eq!(a.peers().len(), 2);
    clock.advance(Duration::from_secs(2));
    eventually("C's session to expire", || a.stats().sessions_expired == 1);
    let peers: Vec<u64> = a.peers().iter().map(|p| p.node_id).collect();
    assert_eq!(peers, vec![b.node_id()], "B was heard a second before");
    a.send(b.node_id(), 1, b"still here").unwrap();
    assert_eq!(
        b.recv(Some(WAIT)).unwrap().map(|m| m.payload),
        Some(b"still here".to_vec())
    );
}
