//! The protocol seam over real UDP on 127.0.0.1: registration, namespaced
//! streams, unknown protocols, authorization, peer up and down.

use super::protocol::{Op, Protocol, Remote, BUS_LINK, CAPABILITIES, CHANNELS, FIRST_APPLICATION};
use super::test_support::{eventually, node_with, recv, WAIT};
use super::*;
use crate::error::ErrorKind;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const ECHO: u16 = FIRST_APPLICATION;

/// Records what the node tells it; answers on the same stream when asked.
#[derive(Default)]
struct Recorder {
    messages: Mutex<Vec<(u64, u64, Vec<u8>)>>,
    ups: Mutex<Vec<u64>>,
    downs: Mutex<Vec<u64>>,
    shutdowns: AtomicUsize,
    refuse_stream: Option<u64>,
    full: AtomicBool,
    /// The node to answer through (set after registration).
    answer_with: Mutex<Option<std::sync::Weak<MeshNode>>>,
}

impl Protocol for Recorder {
    fn on_message(&self, from: &Remote, stream_id: u64, payload: Vec<u8>) {
        if payload.starts_with(b"echo:") {
            let node = self.answer_with.lock().as_ref().and_then(|n| n.upgrade());
            if let Some(node) = node {
                // Sending from inside the callback: must not deadlock.
                let mut reply = b"re:".to_vec();
                reply.extend_from_slice(&payload[5..]);
                node.send_in(ECHO, from.node_id, stream_id, &reply).unwrap();
            }
        }
        self.messages
            .lock()
            .push((from.node_id, stream_id, payload));
    }

    fn has_room(&self, _from: &Remote, _stream_id: u64) -> bool {
        !self.full.load(Ordering::Acquire)
    }

    fn authorize(&self, _peer: &Remote, op: Op) -> bool {
        match op {
            Op::Receive { stream_id } => Some(stream_id) != self.refuse_stream,
        }
    }

    fn on_peer_up(&self, peer: &Remote) {
        self.ups.lock().push(peer.node_id);
    }

    fn on_peer_down(&self, node_id: u64) {
        self.downs.lock().push(node_id);
    }

    fn on_shutdown(&self) {
        self.shutdowns.fetch_add(1, Ordering::AcqRel);
    }
}

impl Recorder {
    fn payloads(&self) -> Vec<Vec<u8>> {
        self.messages.lock().iter().map(|m| m.2.clone()).collect()
    }
}

fn pair() -> (MeshNode, MeshNode) {
    let a = node_with(71, |_| {});
    let b = node_with(72, |_| {});
    a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    (a, b)
}

#[test]
fn ids_below_the_application_range_and_taken_ids_are_refused() {
    let node = node_with(70, |_| {});
    for reserved in [0u16, BUS_LINK, CAPABILITIES, CHANNELS, 0x0FFF] {
        let e = node
            .register_protocol(reserved, Arc::new(Recorder::default()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidMeshArgument, "{reserved:#x}");
    }
    let first = node
        .register_protocol(ECHO, Arc::new(Recorder::default()))
        .unwrap();
    let e = node
        .register_protocol(ECHO, Arc::new(Recorder::default()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidMeshConfig);
    // Every node runs the capability and channel protocols.
    assert_eq!(node.protocols(), vec![CAPABILITIES, CHANNELS, ECHO]);
    // Dropping the registration frees the id.
    drop(first);
    assert_eq!(node.protocols(), vec![CAPABILITIES, CHANNELS]);
    let mut again = node
        .register_protocol(ECHO, Arc::new(Recorder::default()))
        .unwrap();
    again.close();
    again.close();
    assert_eq!(node.protocols(), vec![CAPABILITIES, CHANNELS]);
    node.shutdown();
    let e = node
        .register_protocol(ECHO, Arc::new(Recorder::default()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MeshShutdown);
}

#[test]
fn a_protocol_gets_its_own_streams_and_the_application_keeps_its_own() {
    let (a, b) = pair();
    let recorder = Arc::new(Recorder::default());
    let _registration = b.register_protocol(ECHO, recorder.clone()).unwrap();
    // Same stream id, two namespaces.
    a.send(b.node_id(), 5, b"to the application").unwrap();
    a.send_in(ECHO, b.node_id(), 5, b"to the protocol").unwrap();
    let reliable = a
        .open_stream_in(ECHO, b.node_id(), 6, StreamConfig::reliable())
        .unwrap();
    assert_eq!(reliable.protocol(), ECHO);
    for i in 0..50u32 {
        reliable.send(&i.to_le_bytes()).unwrap();
    }
    assert!(reliable.wait_acked(WAIT).unwrap());
    let message = recv(&b);
    assert_eq!(
        (message.stream_id, &message.payload[..]),
        (5, &b"to the application"[..])
    );
    eventually("the protocol's messages", || {
        recorder.messages.lock().len() == 51
    });
    let messages = recorder.messages.lock().clone();
    assert_eq!(messages[0], (a.node_id(), 5, b"to the protocol".to_vec()));
    let reliable_in_order: Vec<Vec<u8>> = messages
        .iter()
        .filter(|m| m.1 == 6)
        .map(|m| m.2.clone())
        .collect();
    let expected: Vec<Vec<u8>> = (0..50u32).map(|i| i.to_le_bytes().to_vec()).collect();
    assert_eq!(reliable_in_order, expected);
    // Nothing of the protocol reached the inbox, and each namespace has its
    // own counters.
    assert!(b.recv(Some(Duration::from_millis(20))).unwrap().is_none());
    assert_eq!(b.stream_stats(a.node_id(), 5).unwrap().received, 1);
    assert_eq!(b.stream_stats_in(ECHO, a.node_id(), 5).unwrap().received, 1);
    assert_eq!(
        b.stream_stats_in(ECHO, a.node_id(), 6).unwrap().received,
        50
    );
    assert!(b.stream_stats(a.node_id(), 6).is_none());
}

#[test]
fn a_protocol_may_send_from_inside_its_callback() {
    let (a, b) = pair();
    let on_b = Arc::new(Recorder::default());
    let on_a = Arc::new(Recorder::default());
    let _rb = b.register_protocol(ECHO, on_b.clone()).unwrap();
    let _ra = a.register_protocol(ECHO, on_a.clone()).unwrap();
    let b = Arc::new(b);
    *on_b.answer_with.lock() = Some(Arc::downgrade(&b));
    for i in 0..20 {
        a.send_in(ECHO, b.node_id(), 1, format!("echo:{i}").as_bytes())
            .unwrap();
    }
    eventually("twenty answers", || on_a.messages.lock().len() == 20);
    let mut answers = on_a.payloads();
    answers.sort();
    let mut expected: Vec<Vec<u8>> = (0..20).map(|i| format!("re:{i}").into_bytes()).collect();
    expected.sort();
    assert_eq!(answers, expected);
}

#[test]
fn messages_for_an_unknown_protocol_are_counted_and_reliable_ones_wait_for_it() {
    let (a, b) = pair();
    a.send_in(0x2000, b.node_id(), 1, b"nobody").unwrap();
    let reliable = a
        .open_stream_in(ECHO, b.node_id(), 2, StreamConfig::reliable())
        .unwrap();
    reliable.send(b"held").unwrap();
    eventually("the unknown protocol to be counted", || {
        b.stats().dropped_unknown_protocol >= 2
    });
    assert!(!reliable.wait_acked(Duration::from_millis(50)).unwrap());
    assert!(b.recv(Some(Duration::from_millis(20))).unwrap().is_none());
    // Registered now: the resend is delivered and acknowledged.
    let recorder = Arc::new(Recorder::default());
    let _registration = b.register_protocol(ECHO, recorder.clone()).unwrap();
    assert!(reliable.wait_acked(WAIT).unwrap());
    assert_eq!(recorder.payloads(), vec![b"held".to_vec()]);
    // Malformed traffic on top: the node keeps serving.
    a.send(b.node_id(), 3, b"still fine").unwrap();
    assert_eq!(recv(&b).payload, b"still fine");
}

#[test]
fn a_refused_peer_is_counted_and_its_reliable_messages_are_not_resent() {
    let (a, b) = pair();
    let recorder = Arc::new(Recorder {
        refuse_stream: Some(9),
        ..Recorder::default()
    });
    let _registration = b.register_protocol(ECHO, recorder.clone()).unwrap();
    let refused = a
        .open_stream_in(ECHO, b.node_id(), 9, StreamConfig::reliable())
        .unwrap();
    refused.send(b"no").unwrap();
    refused.send(b"never").unwrap();
    // Refusal is final: taken, acknowledged, dropped.
    assert!(refused.wait_acked(WAIT).unwrap());
    assert_eq!(b.stats().dropped_unauthorized, 2);
    a.send_in(ECHO, b.node_id(), 10, b"yes").unwrap();
    eventually("the allowed message", || {
        recorder.messages.lock().len() == 1
    });
    assert_eq!(recorder.payloads(), vec![b"yes".to_vec()]);
    assert_eq!(refused.stats().retransmits, 0);
}

#[test]
fn a_full_protocol_pushes_back_and_loses_nothing() {
    let (a, b) = pair();
    let recorder = Arc::new(Recorder::default());
    recorder.full.store(true, Ordering::Release);
    let _registration = b.register_protocol(ECHO, recorder.clone()).unwrap();
    let stream = a
        .open_stream_in(ECHO, b.node_id(), 1, StreamConfig::reliable())
        .unwrap();
    for i in 0..10u8 {
        stream.send(&[i]).unwrap();
    }
    eventually("the protocol to refuse for room", || {
        b.stats().dropped_inbox_full >= 1
    });
    assert!(recorder.messages.lock().is_empty());
    recorder.full.store(false, Ordering::Release);
    assert!(stream.wait_acked(WAIT).unwrap());
    let expected: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i]).collect();
    assert_eq!(recorder.payloads(), expected);
}

#[test]
fn protocols_hear_peers_come_and_go_and_the_node_shut_down() {
    let a = node_with(73, |c| {
        c.beacon_interval = Duration::from_millis(40);
        c.session_timeout = Duration::from_millis(300);
    });
    let b = node_with(74, |c| {
        c.beacon_interval = Duration::from_millis(40);
        c.session_timeout = Duration::from_millis(300);
    });
    let on_a = Arc::new(Recorder::default());
    let on_b = Arc::new(Recorder::default());
    let _ra = a.register_protocol(ECHO, on_a.clone()).unwrap();
    let _rb = b.register_protocol(ECHO, on_b.clone()).unwrap();
    a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    eventually("both sides to see the peer up", || {
        on_a.ups.lock().len() == 1 && on_b.ups.lock().len() == 1
    });
    assert_eq!(on_a.ups.lock()[0], b.node_id());
    assert_eq!(on_b.ups.lock()[0], a.node_id());
    // A repeated connect replaces the session: no second "up".
    a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    eventually("the rekey to be counted", || {
        b.stats().sessions_rekeyed >= 1
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!((on_a.ups.lock().len(), on_b.ups.lock().len()), (1, 1));
    // B goes silent: A hears it go.
    let b_id = b.node_id();
    b.shutdown();
    assert_eq!(on_b.downs.lock().clone(), vec![a.node_id()]);
    assert_eq!(on_b.shutdowns.load(Ordering::Acquire), 1);
    eventually("A to see B go", || on_a.downs.lock().clone() == vec![b_id]);
    a.shutdown();
    assert_eq!(on_a.shutdowns.load(Ordering::Acquire), 1);
    // Nothing is called after shutdown.
    assert_eq!(on_a.downs.lock().len(), 1);
}

#[test]
fn many_threads_send_on_protocol_streams_at_once() {
    let (a, b) = pair();
    let recorder = Arc::new(Recorder::default());
    let _registration = b.register_protocol(ECHO, recorder.clone()).unwrap();
    let a = Arc::new(a);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let a = a.clone();
            let peer = b.node_id();
            std::thread::spawn(move || {
                let stream = a
                    .open_stream_in(ECHO, peer, 100 + t, StreamConfig::reliable())
                    .unwrap();
                for i in 0..200u32 {
                    stream.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
                }
                assert!(stream.wait_acked(WAIT).unwrap());
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    eventually("every message", || recorder.messages.lock().len() == 800);
    let messages = recorder.messages.lock().clone();
    for t in 0..4u64 {
        let got: Vec<Vec<u8>> = messages
            .iter()
            .filter(|m| m.1 == 100 + t)
            .map(|m| m.2.clone())
            .collect();
        let expected: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_le_bytes().to_vec()).collect();
        assert_eq!(got, expected, "stream {}", 100 + t);
    }
}
