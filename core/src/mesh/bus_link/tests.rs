//! Bus links over real UDP on 127.0.0.1: events emitted on one node polled
//! on its peer.

use super::*;
use crate::bus::{Backpressure, BusConfig, PollRequest};
use crate::mesh::test_support::{eventually, lossy_node, WAIT};
use std::time::Instant;

fn node(seed: u8, loss: f64) -> MeshNode {
    lossy_node(seed, loss, |c| {
        c.retransmit_timeout = Duration::from_millis(30)
    })
}

/// Two connected nodes.
fn pair(loss: f64) -> (MeshNode, MeshNode) {
    let a = node(11, loss);
    let b = node(12, loss);
    a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    (a, b)
}

fn bus(config: BusConfig) -> Bus {
    Bus::new(config).unwrap()
}

fn small_bus() -> Bus {
    bus(BusConfig {
        num_shards: 2,
        ..BusConfig::default()
    })
}

fn link(bus: &Bus, mesh: &MeshNode, peer: &MeshNode, direction: LinkDirection) -> BusLink {
    BusLink::open(bus, mesh, peer.node_id(), BusLinkOptions::new(direction)).unwrap()
}

/// Polls `bus` until `n` events came (or fails), acknowledging as it goes.
fn poll_n(bus: &Bus, n: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    let mut cursor = None;
    while got.len() < n {
        assert!(Instant::now() < deadline, "got {} of {n} events", got.len());
        let page = bus
            .poll(&PollRequest {
                limit: 500,
                cursor: cursor.take(),
                filter: None,
            })
            .unwrap();
        if page.events.is_empty() {
            std::thread::sleep(Duration::from_millis(2));
        }
        got.extend(page.events.iter().map(|e| e.data.to_vec()));
        cursor = Some(page.next_cursor);
    }
    got
}

fn event(i: usize) -> Vec<u8> {
    // Mostly small, now and then bigger than one message (16 KiB).
    let len = if i.is_multiple_of(97) {
        40_000 + i
    } else {
        10 + i % 300
    };
    let mut bytes = format!("{i:08}").into_bytes();
    bytes.resize(len, (i % 251) as u8);
    bytes
}

#[test]
fn events_emitted_on_one_node_are_polled_on_the_peer_in_order() {
    let (a, b) = pair(0.0);
    let (outbox, inbox) = (small_bus(), small_bus());
    let receiving = link(&inbox, &b, &a, LinkDirection::Receive);
    let sending = link(&outbox, &a, &b, LinkDirection::Send);
    let sent: Vec<Vec<u8>> = (0..3000).map(event).collect();
    for e in &sent {
        outbox.emit_raw(e).unwrap();
    }
    assert_eq!(poll_n(&inbox, sent.len()), sent);
    eventually("the sender to count every event", || {
        sending.stats().events == sent.len() as u64
    });
    // Acknowledged batches are freed from the sending bus.
    eventually("the outbox to drain", || outbox.stats().buffered == 0);
    let (s, r) = (sending.stats(), receiving.stats());
    assert_eq!(r.events, sent.len() as u64);
    assert_eq!(s.bytes, r.bytes);
    assert_eq!(s.messages, r.messages);
    assert_eq!((r.malformed, r.rejected), (0, 0));
    assert!(s.running && r.running && s.error.is_none());
    assert_eq!(
        (s.direction, s.peer, s.stream_id),
        (LinkDirection::Send, b.node_id(), DEFAULT_LINK_STREAM)
    );
}

#[test]
fn over_a_lossy_network_every_event_arrives_once_in_order() {
    let (a, b) = pair(0.1);
    let (outbox, inbox) = (small_bus(), small_bus());
    let _receiving = link(&inbox, &b, &a, LinkDirection::Receive);
    let _sending = link(&outbox, &a, &b, LinkDirection::Send);
    let sent: Vec<Vec<u8>> = (0..2000)
        .map(|i| format!("event {i}").into_bytes())
        .collect();
    // From two threads: each thread's events stay in order.
    std::thread::scope(|s| {
        for half in sent.chunks(1000) {
            let outbox = &outbox;
            s.spawn(move || {
                for e in half {
                    outbox.emit_raw(e).unwrap();
                }
            });
        }
    });
    let mut got = poll_n(&inbox, sent.len());
    let position = |e: &Vec<u8>| sent.iter().position(|s| s == e).unwrap();
    let (first, second): (Vec<_>, Vec<_>) = got.iter().partition(|e| position(e) < 1000);
    assert!(first.windows(2).all(|w| position(w[0]) < position(w[1])));
    assert!(second.windows(2).all(|w| position(w[0]) < position(w[1])));
    got.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(got, expected, "every event exactly once");
}

#[test]
fn a_full_receiving_bus_pushes_back_to_the_sender_and_nothing_is_lost() {
    let (a, b) = pair(0.0);
    let outbox = small_bus();
    let inbox = bus(BusConfig {
        num_shards: 1,
        ring_buffer_capacity: 32,
        backpressure: Backpressure::Fail,
        ..BusConfig::default()
    });
    let receiving = link(&inbox, &b, &a, LinkDirection::Receive);
    let _sending = link(&outbox, &a, &b, LinkDirection::Send);
    let sent: Vec<Vec<u8>> = (0..1000).map(|i| i.to_string().into_bytes()).collect();
    for e in &sent {
        outbox.emit_raw(e).unwrap();
    }
    eventually("the receiving bus to fill up", || {
        receiving.stats().stalls > 0
    });
    assert_eq!(poll_n(&inbox, sent.len()), sent);
    assert_eq!(inbox.stats().dropped, 0);
    assert_eq!(receiving.stats().rejected, 0);
}

#[test]
fn events_too_big_for_the_receiving_bus_are_counted_not_delivered() {
    let (a, b) = pair(0.0);
    let outbox = small_bus();
    let inbox = bus(BusConfig {
        max_event_size: 1000,
        ..BusConfig::default()
    });
    let receiving = link(&inbox, &b, &a, LinkDirection::Receive);
    let _sending = link(&outbox, &a, &b, LinkDirection::Send);
    for len in [500, 5000, 100_000, 700] {
        outbox.emit_raw(&vec![b'x'; len]).unwrap();
    }
    let got = poll_n(&inbox, 2);
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![500, 700]);
    eventually("the rejections to be counted", || {
        receiving.stats().rejected == 2
    });
}

#[test]
fn garbage_on_the_link_stream_is_counted_and_the_link_keeps_working() {
    let (a, b) = pair(0.0);
    let (outbox, inbox) = (small_bus(), small_bus());
    let receiving = link(&inbox, &b, &a, LinkDirection::Receive);
    // Sent on the stream the link will use, opened the way it opens it.
    let stream = a
        .open_stream_in(
            BUS_LINK,
            b.node_id(),
            DEFAULT_LINK_STREAM,
            StreamConfig::reliable().with_window(window_for(
                a.recv_buffer_size(),
                options::DEFAULT_MESSAGE_BYTES,
            )),
        )
        .unwrap();
    for junk in [&b""[..], b"\x09", b"\x01\xff\xff\xff\xff", b"\x03more"] {
        stream.send(junk).unwrap();
    }
    eventually("the junk to be counted", || {
        receiving.stats().malformed == 4
    });
    let _sending = link(&outbox, &a, &b, LinkDirection::Send);
    outbox.emit_raw(b"after the junk").unwrap();
    assert_eq!(poll_n(&inbox, 1), vec![b"after the junk".to_vec()]);
    // Nothing of the link's stream reached the node's own inbox.
    assert!(b.recv(Some(Duration::from_millis(20))).unwrap().is_none());
}

#[test]
fn a_link_stream_and_an_application_stream_with_the_same_id_are_two_streams() {
    let (a, b) = pair(0.0);
    let (outbox, inbox) = (small_bus(), small_bus());
    let _receiving = link(&inbox, &b, &a, LinkDirection::Receive);
    let _sending = link(&outbox, &a, &b, LinkDirection::Send);
    // The application sends on the link's stream id, reliably, as the link
    // does: it still reaches `recv`, and the link only carries events.
    a.open_stream(b.node_id(), DEFAULT_LINK_STREAM, StreamConfig::reliable())
        .unwrap()
        .send(b"for the application")
        .unwrap();
    outbox.emit_raw(b"for the bus").unwrap();
    assert_eq!(poll_n(&inbox, 1), vec![b"for the bus".to_vec()]);
    let message = b.recv(Some(WAIT)).unwrap().unwrap();
    assert_eq!(message.payload, b"for the application");
    assert_eq!(message.stream_id, DEFAULT_LINK_STREAM);
    let app = b.stream_stats(a.node_id(), DEFAULT_LINK_STREAM).unwrap();
    let bus_link = b
        .stream_stats_in(BUS_LINK, a.node_id(), DEFAULT_LINK_STREAM)
        .unwrap();
    assert_eq!((app.received, bus_link.received), (1, 1));
    assert_eq!(
        b.protocols(),
        vec![
            BUS_LINK,
            crate::mesh::protocol::CAPABILITIES,
            crate::mesh::protocol::CHANNELS
        ]
    );
    // A second receive link on the same stream is refused.
    let again = BusLink::open(
        &small_bus(),
        &b,
        a.node_id(),
        BusLinkOptions::new(LinkDirection::Receive),
    )
    .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::InvalidMeshConfig);
}

#[test]
fn link_messages_wait_unacknowledged_until_a_receive_link_opens() {
    let (a, b) = pair(0.0);
    let (outbox, inbox) = (small_bus(), small_bus());
    // Registered first (by an earlier link), so the node knows the protocol.
    drop(link(&small_bus(), &b, &a, LinkDirection::Receive));
    let _sending = link(&outbox, &a, &b, LinkDirection::Send);
    outbox.emit_raw(b"early").unwrap();
    eventually("the early message to be held back", || {
        b.stats().dropped_inbox_full >= 1
    });
    let _receiving = link(&inbox, &b, &a, LinkDirection::Receive);
    assert_eq!(poll_n(&inbox, 1), vec![b"early".to_vec()]);
    assert!(b.recv(Some(Duration::from_millis(20))).unwrap().is_none());
}

#[test]
fn bad_options_and_bad_peers_are_typed_errors() {
    for bad in [
        "{}",
        r#"{"direction":"sideways"}"#,
        r#"{"direction":"send","max_batch":0}"#,
        r#"{"direction":"send","message_bytes":5}"#,
        r#"{"direction":"send","message_bytes":70000}"#,
        r#"{"direction":"send","color":"red"}"#,
        "not json",
    ] {
        let e = BusLinkOptions::from_json(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidMeshConfig, "{bad}");
    }
    let options =
        BusLinkOptions::from_json(r#"{"direction":"receive","stream_id":7,"max_batch":5}"#)
            .unwrap();
    assert_eq!(options.stream_id, 7);
    assert_eq!(options.max_batch, 5);
    assert_eq!(options.message_bytes, 16 * 1024);

    let (a, b) = pair(0.0);
    let outbox = small_bus();
    let stranger = 0x1234_5678;
    let e = BusLink::open(
        &outbox,
        &a,
        stranger,
        BusLinkOptions::new(LinkDirection::Send),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownPeer);
    a.send(b.node_id(), 5, b"fire and forget").unwrap();
    let mut on_five = BusLinkOptions::new(LinkDirection::Send);
    on_five.stream_id = 5;
    // The application's stream 5 is fire-and-forget; the link's stream 5
    // is another stream, in the bus link's namespace, and opens reliable.
    let on_five = BusLink::open(&outbox, &a, b.node_id(), on_five).unwrap();
    assert_eq!(
        a.stream_stats(b.node_id(), 5).unwrap().reliability,
        crate::mesh::Reliability::FireAndForget
    );
    assert_eq!(
        a.stream_stats_in(BUS_LINK, b.node_id(), 5)
            .unwrap()
            .reliability,
        crate::mesh::Reliability::Reliable
    );
    on_five.close();
    let closed = small_bus();
    closed.shutdown();
    let e = BusLink::open(
        &closed,
        &a,
        b.node_id(),
        BusLinkOptions::new(LinkDirection::Send),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shutdown);
}

#[test]
fn a_shut_down_bus_or_node_ends_the_link_with_the_reason() {
    let (a, b) = pair(0.0);
    let (outbox, inbox) = (small_bus(), small_bus());
    let receiving = link(&inbox, &b, &a, LinkDirection::Receive);
    let sending = link(&outbox, &a, &b, LinkDirection::Send);
    outbox.shutdown();
    eventually("the send link to stop", || !sending.stats().running);
    assert_eq!(
        sending
            .stats()
            .error
            .as_deref()
            .map(|e| e.starts_with("bus:shutdown")),
        Some(true)
    );
    b.shutdown();
    eventually("the receive link to stop", || !receiving.stats().running);
    assert!(receiving
        .stats()
        .error
        .unwrap()
        .starts_with("mesh:shutdown"));
    sending.close();
    sending.close();
}

#[test]
fn an_idle_send_link_stops_when_its_own_node_shuts_down() {
    let (a, b) = pair(0.0);
    let outbox = small_bus();
    let sending = link(&outbox, &a, &b, LinkDirection::Send);
    // Idle: nothing to send, the link's task sleeps on the bus.
    std::thread::sleep(Duration::from_millis(30));
    assert!(sending.stats().running);
    a.shutdown();
    eventually("the send link to stop", || !sending.stats().running);
    let stats = sending.stats();
    assert_eq!(stats.error_code, Some(ErrorKind::MeshShutdown.code()));
    // Its bus is untouched and still usable.
    outbox.emit_raw(b"kept").unwrap();
    assert_eq!(outbox.stats().buffered, 1);
    drop(b);
}

#[test]
fn events_stay_in_the_sending_bus_until_the_peer_acknowledged_them() {
    let (a, b) = pair(0.0);
    let outbox = small_bus();
    b.shutdown();
    let sending = link(&outbox, &a, &b, LinkDirection::Send);
    for i in 0..10 {
        outbox.emit_raw(format!("{i}").as_bytes()).unwrap();
    }
    // Nobody acknowledges: the batch stays buffered, however long it waits.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sending.stats().events, 0);
    sending.close();
    assert_eq!(outbox.stats().buffered, 10);
    // And the bus still holds them for its next consumer.
    let page = outbox.poll(&PollRequest::default()).unwrap();
    assert_eq!(page.events.len(), 10);
}

#[test]
fn a_closed_receive_link_frees_its_stream_before_close_returns() {
    let (a, b) = pair(0.0);
    let inbox = small_bus();
    for _ in 0..200 {
        // Reopened at once: never "already open".
        link(&inbox, &b, &a, LinkDirection::Receive).close();
    }
}
