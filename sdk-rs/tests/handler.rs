//! Push delivery through the Rust SDK: closures on the callback threads,
//! panics counted, close on drop, mesh messages answered from inside.

use net_sdk::mesh::{Mesh, NetworkKey, StreamConfig};
use net_sdk::{Net, SdkError, SubscribeOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn bus() -> Net {
    Net::builder().shards(1).build_blocking().unwrap()
}

#[test]
fn every_event_in_order_and_a_handler_may_emit() {
    let node = bus();
    let inner = node.clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let handler = node
        .on_event(SubscribeOptions::default(), move |event| {
            let text = event.raw_str().into_owned();
            if text == "ping" {
                inner.emit_raw("pong").unwrap();
            }
            record.lock().unwrap().push(text);
        })
        .unwrap();
    for i in 0..100 {
        node.emit_raw(i.to_string()).unwrap();
    }
    node.emit_raw("ping").unwrap();
    until("102 events", || handler.stats().delivered == 102);
    let mut want: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    want.extend(["ping".to_owned(), "pong".to_owned()]);
    assert_eq!(*seen.lock().unwrap(), want);
    drop(handler); // closes
    node.emit_raw("after").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(seen.lock().unwrap().len(), 102);
}

#[test]
fn a_panic_is_counted_and_the_handler_goes_on() {
    let node = bus();
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let handler = node
        .on_event(SubscribeOptions::default(), move |_| {
            if count.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                panic!("refused");
            }
        })
        .unwrap();
    for _ in 0..10 {
        node.emit_raw("x").unwrap();
    }
    until("10 calls", || {
        let s = handler.stats();
        s.delivered + s.failed == 10
    });
    assert_eq!((handler.stats().delivered, handler.stats().failed), (5, 5));
    handler.close();
    assert!(handler.is_closed());
}

#[test]
fn a_bad_cursor_is_a_typed_error() {
    let node = bus();
    let options = SubscribeOptions {
        cursor: Some("not a cursor".into()),
        filter: None,
    };
    let err = node.on_event(options, |_| {}).unwrap_err();
    assert!(matches!(err, SdkError::InvalidCursor(_)), "{err}");
}

#[test]
fn mesh_messages_answered_from_inside_and_the_end_of_the_node() {
    let key = NetworkKey::from_bytes([7; 32]);
    let local = "127.0.0.1:0".parse().unwrap();
    let a = Mesh::builder(key.clone()).bind(local).build().unwrap();
    let b = Arc::new(Mesh::builder(key).bind(local).build().unwrap());
    let peer = a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    let replier = b.clone();
    let (tx, rx) = mpsc::channel();
    let handler = b
        .on_message(move |m| {
            let mut reply = b"re:".to_vec();
            reply.extend_from_slice(&m.payload);
            replier.send(m.from, m.stream_id, &reply).unwrap();
            let _ = tx.send(());
        })
        .unwrap();
    let stream = a
        .open_stream(peer.node_id, 5, StreamConfig::reliable())
        .unwrap();
    for i in 0..10u8 {
        stream.send_blocking(&[i], Some(WAIT)).unwrap();
    }
    let mut replies = Vec::new();
    while replies.len() < 10 {
        let m = a.recv(Some(WAIT)).unwrap().expect("a reply");
        replies.push(m.payload[3]);
    }
    replies.sort_unstable();
    assert_eq!(replies, (0..10).collect::<Vec<u8>>());
    for _ in 0..10 {
        rx.recv_timeout(WAIT).unwrap();
    }
    b.shutdown();
    until("the handler to end with the node", || handler.is_closed());
    assert_eq!(handler.stats().delivered, 10);
    assert!(matches!(
        b.on_message(|_| {}),
        Err(SdkError::MeshShutdown(_))
    ));
}
