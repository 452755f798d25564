//! Stream tests over real UDP on 127.0.0.1: reliability under simulated
//! loss, credit windows and backpressure, stats, restarts.

use super::conditions::{Duplicate, Reorder};
use super::test_support::{addr, conditioned_node, eventually, lossy_node, node_with, recv, WAIT};
use super::*;
use crate::error::ErrorKind;
use crate::identity::Identity;
use std::thread;
use std::time::{Duration, Instant};

const KEY: [u8; 32] = [7; 32];

fn fast_retransmit(config: &mut MeshConfig) {
    config.retransmit_timeout = Duration::from_millis(50);
}

fn pair(loss: f64) -> (MeshNode, MeshNode) {
    let a = lossy_node(1, loss, fast_retransmit);
    let b = lossy_node(2, loss, fast_retransmit);
    a.connect(addr(&b), &b.public_key()).unwrap();
    (a, b)
}

#[test]
fn ten_thousand_reliable_messages_survive_a_lossy_link_in_order_exactly_once() {
    // 10% of data and ack packets dropped, in both directions.
    let (a, b) = pair(0.10);
    let stream = a
        .open_stream(b.node_id(), 5, StreamConfig::reliable())
        .unwrap();
    const N: u32 = 10_000;
    let sender = thread::spawn(move || {
        for i in 0..N {
            stream.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
        }
        (a, stream)
    });
    for expected in 0..N {
        let m = recv(&b);
        assert_eq!(m.stream_id, 5);
        let got = u32::from_le_bytes(m.payload.as_slice().try_into().unwrap());
        assert_eq!(got, expected, "out of order or duplicated");
    }
    let (a, stream) = sender.join().unwrap();
    // Nothing more arrives: every message exactly once.
    assert_eq!(b.recv(Some(Duration::from_millis(200))).unwrap(), None);
    eventually("every message acknowledged", || {
        stream.stats().in_flight == 0
    });
    let sent = stream.stats();
    assert_eq!(sent.sent, u64::from(N));
    assert!(sent.retransmits > 0, "loss must have caused resends");
    let received = b.stream_stats(a.node_id(), 5).unwrap();
    assert_eq!(received.received, u64::from(N));
}

#[test]
fn a_full_window_is_backpressure_then_retry_and_blocking_give_up_in_time() {
    let (a, b) = pair(0.0);
    let stream = a
        .open_stream(b.node_id(), 1, StreamConfig::reliable().with_window(4))
        .unwrap();
    // With the peer gone, nothing is ever acknowledged.
    b.shutdown();
    for i in 0..4u8 {
        stream.send(&[i]).unwrap();
    }
    let err = stream.send(b"5th").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamBackpressure, "{err}");
    let err = a.send(b.node_id(), 1, b"5th").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamBackpressure);
    let err = stream.send_with_retry(b"5th", 3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamBackpressure);
    let started = Instant::now();
    let err = stream
        .send_blocking(b"5th", Some(Duration::from_millis(30)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshTimeout);
    assert!(started.elapsed() >= Duration::from_millis(30));
    let stats = stream.stats();
    assert_eq!((stats.sent, stats.in_flight, stats.window), (4, 4, 4));
    // Refusals only: the two sends, the exhausted retry; not the timed-out wait.
    assert_eq!(stats.backpressure_events, 3);
    assert_eq!(a.stream_stats(b.node_id(), 1), Some(stats));
}

#[test]
fn blocking_sends_wait_for_acks_and_keep_order() {
    let (a, b) = pair(0.0);
    let stream = a
        .open_stream(b.node_id(), 2, StreamConfig::reliable().with_window(1))
        .unwrap();
    let sender = thread::spawn(move || {
        for i in 0..200u32 {
            stream.send_blocking(&i.to_le_bytes(), None).unwrap();
        }
        stream.stats()
    });
    for expected in 0..200u32 {
        assert_eq!(recv(&b).payload, expected.to_le_bytes());
    }
    let stats = sender.join().unwrap();
    assert_eq!(stats.sent, 200);
    drop(a);
}

#[test]
fn shutdown_wakes_a_blocked_sender_with_a_typed_error() {
    let (a, b) = pair(0.0);
    let stream = a
        .open_stream(b.node_id(), 1, StreamConfig::reliable().with_window(1))
        .unwrap();
    b.shutdown();
    stream.send(b"fills the window").unwrap();
    let a = std::sync::Arc::new(a);
    let closer = {
        let a = a.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            a.shutdown();
        })
    };
    let err = stream.send_blocking(b"waits", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshShutdown, "{err}");
    closer.join().unwrap();
    let err = stream.send(b"after").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshShutdown);
}

#[test]
fn opening_streams_checks_peer_window_and_config() {
    let (a, b) = pair(0.0);
    let err = a
        .open_stream(12345, 1, StreamConfig::reliable())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownPeer);
    let err = a
        .open_stream(b.node_id(), 1, StreamConfig::reliable().with_window(0))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshConfig);
    let first = a
        .open_stream(b.node_id(), 1, StreamConfig::reliable())
        .unwrap();
    let again = a
        .open_stream(b.node_id(), 1, StreamConfig::reliable())
        .unwrap();
    assert_eq!((first.peer(), first.id()), (again.peer(), again.id()));
    let err = a
        .open_stream(b.node_id(), 1, StreamConfig::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshConfig, "{err}");
    let err = first.send(&vec![0; session::MAX_PAYLOAD]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge);
    assert_eq!(a.stream_stats(b.node_id(), 99), None);
}

#[test]
fn fire_and_forget_streams_count_both_ways() {
    let (a, b) = pair(0.0);
    for _ in 0..3 {
        a.send(b.node_id(), 8, b"x").unwrap();
    }
    for _ in 0..3 {
        recv(&b);
    }
    let sent = a.stream_stats(b.node_id(), 8).unwrap();
    assert_eq!(
        (sent.reliability, sent.sent, sent.window, sent.in_flight),
        (Reliability::FireAndForget, 3, 0, 0)
    );
    assert_eq!(b.stream_stats(a.node_id(), 8).unwrap().received, 3);
}

#[test]
fn a_restarted_sender_starts_a_new_stream_instead_of_repeating_old_numbers() {
    let b = lossy_node(2, 0.0, fast_retransmit);
    {
        let a = lossy_node(1, 0.0, fast_retransmit);
        a.connect(addr(&b), &b.public_key()).unwrap();
        let s = a
            .open_stream(b.node_id(), 4, StreamConfig::reliable())
            .unwrap();
        for word in [b"one", b"two"] {
            s.send(word).unwrap();
            recv(&b);
        }
    }
    // The same identity in a new process: its sequence numbers restart at 1.
    let a = lossy_node(1, 0.0, fast_retransmit);
    a.connect(addr(&b), &b.public_key()).unwrap();
    let s = a
        .open_stream(b.node_id(), 4, StreamConfig::reliable())
        .unwrap();
    s.send(b"fresh").unwrap();
    assert_eq!(recv(&b).payload, b"fresh");
}

#[test]
fn a_restarted_receiver_gets_the_stream_from_where_it_stands_without_a_stall() {
    let b1 = lossy_node(2, 0.0, fast_retransmit);
    let b_addr = addr(&b1);
    let a = lossy_node(1, 0.0, fast_retransmit);
    a.connect(b_addr, &b1.public_key()).unwrap();
    let s = a
        .open_stream(b1.node_id(), 4, StreamConfig::reliable())
        .unwrap();
    for i in 0..300u32 {
        s.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
    }
    for i in 0..300u32 {
        assert_eq!(recv(&b1).payload, i.to_le_bytes());
    }
    assert!(s.wait_acked(WAIT).unwrap());
    drop(b1);
    // Sent while the receiver is down: held, unacknowledged.
    for i in 300..310u32 {
        s.send(&i.to_le_bytes()).unwrap();
    }
    // The same identity restarts on the same address with no stream state;
    // the sender reconnects and carries on with the same stream.
    let b2 = node_with(2, |config| {
        config.bind = b_addr;
        config.retransmit_timeout = Duration::from_millis(50);
    });
    a.connect(b_addr, &b2.public_key()).unwrap();
    for i in 310..400u32 {
        s.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
    }
    // Everything from where the old receiver stood, in order, once.
    for i in 300..400u32 {
        assert_eq!(recv(&b2).payload, i.to_le_bytes(), "message {i}");
    }
    assert!(s.wait_acked(WAIT).unwrap());
    assert_eq!(b2.recv(Some(Duration::from_millis(200))).unwrap(), None);
    assert_eq!(s.stats().in_flight, 0);
}

#[test]
fn a_receiver_that_joins_mid_stream_under_loss_still_gets_everything_once() {
    // Loss both ways, so resync requests and the renumbered resends are
    // lost too at times.
    let b1 = lossy_node(2, 0.0, fast_retransmit);
    let b_addr = addr(&b1);
    let a = lossy_node(1, 0.2, fast_retransmit);
    a.connect(b_addr, &b1.public_key()).unwrap();
    let s = a
        .open_stream(b1.node_id(), 9, StreamConfig::reliable())
        .unwrap();
    for i in 0..50u32 {
        s.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
    }
    for _ in 0..50 {
        recv(&b1);
    }
    assert!(s.wait_acked(WAIT).unwrap());
    drop(b1);
    let b2 = lossy_node(2, 0.2, |config| {
        config.bind = b_addr;
        config.retransmit_timeout = Duration::from_millis(50);
    });
    a.connect(b_addr, &b2.public_key()).unwrap();
    let sender = thread::spawn(move || {
        for i in 50..1050u32 {
            s.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
        }
        assert!(s.wait_acked(WAIT).unwrap());
        a
    });
    for i in 50..1050u32 {
        assert_eq!(recv(&b2).payload, i.to_le_bytes(), "message {i}");
    }
    let _a = sender.join().unwrap();
    assert_eq!(b2.recv(Some(Duration::from_millis(300))).unwrap(), None);
}

#[test]
fn many_reliable_streams_from_many_threads_each_stay_in_order() {
    let (a, b) = pair(0.05);
    let a = std::sync::Arc::new(a);
    let peer = b.node_id();
    let senders: Vec<_> = (0..4u64)
        .map(|stream_id| {
            let a = a.clone();
            thread::spawn(move || {
                let s = a
                    .open_stream(peer, stream_id, StreamConfig::reliable().with_window(64))
                    .unwrap();
                for i in 0..500u32 {
                    s.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
                }
            })
        })
        .collect();
    let mut next = [0u32; 4];
    for _ in 0..2000 {
        let m = recv(&b);
        let i = u32::from_le_bytes(m.payload.as_slice().try_into().unwrap());
        let slot = &mut next[m.stream_id as usize];
        assert_eq!(i, *slot, "stream {} out of order", m.stream_id);
        *slot += 1;
    }
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(next, [500; 4]);
}

#[test]
fn config_is_validated() {
    let mut config = MeshConfig::new("127.0.0.1:0".parse().unwrap(), NetworkKey::from_bytes(KEY));
    config.retransmit_timeout = Duration::ZERO;
    let err = MeshNode::bind(Identity::from_seed(&[1; 32]), config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMeshConfig);
}

#[test]
fn a_reliable_stream_over_duplicating_and_reordering_links_delivers_in_order_exactly_once() {
    // Every third data or ack packet duplicated one way, every fifth swapped
    // with the next the other way.
    let a = conditioned_node(1, Duplicate::every(3).unwrap(), fast_retransmit);
    let b = conditioned_node(2, Reorder::every(5).unwrap(), fast_retransmit);
    let peer = a.connect(addr(&b), &b.public_key()).unwrap();
    let s = a
        .open_stream(peer.node_id, 2, StreamConfig::reliable().with_window(64))
        .unwrap();
    let sender = thread::spawn(move || {
        for i in 0..2000u32 {
            s.send_blocking(&i.to_le_bytes(), Some(WAIT)).unwrap();
        }
        assert!(s.wait_acked(WAIT).unwrap());
        s
    });
    for i in 0..2000u32 {
        let m = recv(&b);
        assert_eq!(m.payload, i.to_le_bytes(), "message {i}");
    }
    let s = sender.join().unwrap();
    assert!(
        b.recv(Some(Duration::from_millis(200))).unwrap().is_none(),
        "a duplicate got through"
    );
    assert_eq!(b.stream_stats(a.node_id(), 2).unwrap().received, 2000);
    // A datagram sent twice is caught by the session's replay window.
    let stats = b.stats();
    assert!(
        stats.dropped_replayed > 0,
        "the duplicates were not seen: {stats:?}"
    );
    drop(s);
}

#[test]
fn a_cancelled_token_wakes_a_blocked_recv_at_once() {
    use crate::cancel::CancelToken;
    let a = node_with(1, |_| {});
    let token = CancelToken::new();
    let canceller = crate::cancel::cancel_after(&token, 50);
    // No timeout: only the cancel can end this wait.
    let err = a.recv_cancellable(None, &token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    canceller.join().unwrap();
    assert_eq!(
        a.recv_cancellable(Some(Duration::from_secs(5)), &token)
            .unwrap_err()
            .kind(),
        ErrorKind::Cancelled
    );
    // A fresh token with a timeout just times out.
    assert!(a
        .recv_cancellable(Some(Duration::from_millis(20)), &CancelToken::new())
        .unwrap()
        .is_none());
}

#[test]
fn idle_streams_leave_the_timers_work_and_nodes_share_one_runtime() {
    let (a, b) = pair(0.0);
    let streams: Vec<_> = (0..50)
        .map(|id| {
            a.open_stream(b.node_id(), 500 + id, StreamConfig::reliable())
                .unwrap()
        })
        .collect();
    for stream in &streams {
        stream.send(b"once").unwrap();
    }
    for stream in &streams {
        assert!(stream.wait_acked(WAIT).unwrap());
    }
    // Acknowledged on A, acked from B: no stream has timer work left, so
    // the timers walk nothing (the streams are still there).
    eventually("A's streams to go idle", || {
        a.inner.streams.active_len() == 0
    });
    eventually("B's streams to go idle", || {
        b.inner.streams.active_len() == 0
    });
    assert_eq!(a.inner.streams.ids(b.node_id(), 0).len(), 50);
    // A send makes one active again, its ack idle again.
    streams[7].send(b"again").unwrap();
    assert!(streams[7].wait_acked(WAIT).unwrap());
    eventually("A's stream to go idle again", || {
        a.inner.streams.active_len() == 0
    });
    // No timer thread per node: the timers are tasks on the engine's
    // runtime, whose few workers every node shares.
    #[cfg(target_os = "linux")]
    {
        let names = || -> Vec<String> {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|n| n.trim().to_owned())
                .collect()
        };
        let more: Vec<MeshNode> = (0..6).map(|i| node_with(90 + i, |_| {})).collect();
        let threads = names();
        assert!(
            !threads.iter().any(|n| n.starts_with("net-mesh-timer")),
            "{threads:?}"
        );
        assert!(
            threads.iter().any(|n| n.starts_with("net-runtime")),
            "{threads:?}"
        );
        drop(more);
    }
}
