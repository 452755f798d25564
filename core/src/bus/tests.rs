//! Unit and concurrency tests for the bus.

use super::*;
use std::collections::HashSet;
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

fn bus(json: &str) -> Bus {
    Bus::from_json(json).expect("valid config")
}

fn poll_all(bus: &Bus, cursor: Option<String>, limit: usize) -> PollResponse {
    bus.poll(&PollRequest {
        limit,
        cursor,
        filter: None,
    })
    .expect("poll")
}

fn payloads(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.raw_str().into_owned()).collect()
}

#[test]
fn emit_variants_and_poll() {
    let b = bus(r#"{"num_shards": 1}"#);
    let r = b.emit_raw(b"raw bytes \xff").unwrap();
    assert_eq!((r.shard, r.seq), (0, 0));
    assert_eq!(b.emit_str(r#"{"a":1}"#).unwrap().seq, 1);
    assert_eq!(b.emit(&serde_json::json!({"b": 2})).unwrap().seq, 2);
    assert_eq!(b.emit_raw_batch(&[b"x".as_slice(), b"y"]).unwrap(), 2);
    assert_eq!(b.emit_str_batch(&["1", "2"]).unwrap(), 2);
    assert_eq!(b.emit_batch(&[1, 2, 3]).unwrap(), 3);
    let resp = poll_all(&b, None, 100);
    assert_eq!(resp.events.len(), 10);
    assert!(!resp.has_more);
    assert_eq!(resp.events[1].raw_str(), r#"{"a":1}"#);
    assert_eq!(resp.events[2].raw_str(), r#"{"b":2}"#);
    let seqs: Vec<u64> = resp.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    assert!(resp.events.iter().all(|e| e.timestamp_ns > 0));
}

#[test]
fn cursor_resumes_exactly_across_shards() {
    let b = bus(r#"{"num_shards": 4}"#);
    thread::scope(|s| {
        for t in 0..4 {
            let b = b.clone();
            s.spawn(move || {
                for i in 0..250 {
                    b.emit_str(&format!(r#"{{"t":{t},"i":{i}}}"#)).unwrap();
                }
            });
        }
    });
    let mut seen = HashSet::new();
    let mut cursor = None;
    loop {
        let resp = poll_all(&b, cursor.clone(), 7);
        assert!(resp.events.len() <= 7);
        for e in &resp.events {
            assert!(
                seen.insert((e.shard, e.seq)),
                "duplicate {:?}",
                (e.shard, e.seq)
            );
        }
        cursor = Some(resp.next_cursor);
        if !resp.has_more {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    // The last cursor acknowledges everything.
    let last = poll_all(&b, cursor, 10);
    assert!(last.events.is_empty());
    assert_eq!(b.stats().buffered, 0);
}

#[test]
fn poll_without_cursor_does_not_acknowledge() {
    let b = bus(r#"{"num_shards": 1}"#);
    b.emit_raw(b"a").unwrap();
    assert_eq!(poll_all(&b, None, 10).events.len(), 1);
    assert_eq!(poll_all(&b, None, 10).events.len(), 1);
    assert_eq!(b.stats().buffered, 1);
}

#[test]
fn backpressure_policies() {
    let b = bus(r#"{"num_shards":1,"ring_buffer_capacity":2,"backpressure":"drop_oldest"}"#);
    for x in [b"1", b"2", b"3"] {
        b.emit_raw(x).unwrap();
    }
    assert_eq!(payloads(&poll_all(&b, None, 10).events), ["2", "3"]);
    assert_eq!(b.stats().dropped, 1);

    let b = bus(r#"{"num_shards":1,"ring_buffer_capacity":2,"backpressure":"drop_newest"}"#);
    let receipts: Vec<u64> = [b"1", b"2", b"3"]
        .iter()
        .map(|x| b.emit_raw(*x).unwrap().seq)
        .collect();
    assert_eq!(receipts, [0, 1, 2]);
    assert_eq!(payloads(&poll_all(&b, None, 10).events), ["1", "2"]);
    assert_eq!(b.stats().dropped, 1);

    let b = bus(r#"{"num_shards":1,"ring_buffer_capacity":2,"backpressure":"fail"}"#);
    b.emit_raw(b"1").unwrap();
    // A batch that does not fit is refused whole.
    let err = b.emit_raw_batch(&[b"2", b"3"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backpressure);
    b.emit_raw(b"2").unwrap();
    assert_eq!(
        b.emit_raw(b"3").unwrap_err().kind(),
        ErrorKind::Backpressure
    );
    let stats = b.stats();
    assert_eq!((stats.ingested, stats.dropped, stats.buffered), (2, 0, 2));
    assert_eq!(b.health().status, "saturated");
    // Acknowledging frees room.
    let resp = poll_all(&b, None, 1);
    poll_all(&b, Some(resp.next_cursor), 1);
    b.emit_raw(b"3").unwrap();
}

#[test]
fn bad_input_is_a_typed_error() {
    let b = bus(r#"{"num_shards":2,"max_event_size":8}"#);
    assert_eq!(
        b.emit_raw(&[0; 9]).unwrap_err().kind(),
        ErrorKind::EventTooLarge
    );
    assert_eq!(
        b.emit_raw_batch(&[&[0u8; 1][..], &[0; 9]])
            .unwrap_err()
            .kind(),
        ErrorKind::EventTooLarge
    );
    assert_eq!(
        b.emit_str("{nope").unwrap_err().kind(),
        ErrorKind::InvalidJson
    );
    assert_eq!(b.emit_str("").unwrap_err().kind(), ErrorKind::InvalidJson);
    assert_eq!(
        b.emit_str_batch(&["1", "{"]).unwrap_err().kind(),
        ErrorKind::InvalidJson
    );
    assert_eq!(b.stats().ingested, 0, "failed batches store nothing");
    for cursor in ["garbage", "v1.0.1", "v1.0.5.0"] {
        let err = b
            .poll(&PollRequest {
                limit: 1,
                cursor: Some(cursor.into()),
                filter: None,
            })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCursor, "{cursor}");
    }
    let err = b
        .poll(&PollRequest {
            limit: 0,
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        Bus::from_json(r#"{"num_shards":0}"#).unwrap_err().kind(),
        ErrorKind::InvalidConfig
    );
}

#[test]
fn filter_applies_during_poll() {
    let b = bus(r#"{"num_shards":1}"#);
    for i in 0..10 {
        b.emit_str(&format!(r#"{{"user":{{"id":{}}},"n":{i}}}"#, i % 3))
            .unwrap();
    }
    b.emit_raw(b"not json").unwrap();
    let filter = Filter::from_json(r#"{"field":"user.id","eq":1}"#).unwrap();
    let resp = b
        .poll(&PollRequest {
            limit: 100,
            cursor: None,
            filter: Some(filter),
        })
        .unwrap();
    let ns: Vec<u64> = resp
        .events
        .iter()
        .map(|e| {
            e.parse::<serde_json::Value>().unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ns, [1, 4, 7]);
}

#[test]
fn shutdown_is_idempotent_and_final() {
    let b = bus(r#"{"num_shards":1}"#);
    b.emit_raw(b"x").unwrap();
    b.shutdown();
    b.shutdown();
    for err in [
        b.emit_raw(b"x").unwrap_err(),
        b.emit_str("1").unwrap_err(),
        b.emit_raw_batch(&[b"x"]).unwrap_err(),
        b.emit_raw_batch::<&[u8]>(&[]).unwrap_err(),
        b.poll(&PollRequest::default()).unwrap_err(),
        b.flush().unwrap_err(),
        b.subscribe(SubscribeOptions::default()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Shutdown);
    }
    assert_eq!(b.health().status, "shutdown");
    assert_eq!(b.stats().ingested, 1);
}

#[test]
fn subscription_backfills_then_goes_live_then_ends() {
    let b = bus(r#"{"num_shards":2}"#);
    b.emit_raw(b"old").unwrap();
    let mut sub = b.subscribe(SubscribeOptions::default()).unwrap();
    assert_eq!(payloads(&sub.try_next_batch(10).unwrap()), ["old"]);
    assert!(sub.try_next_batch(10).unwrap().is_empty());
    let producer = {
        let b = b.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            b.emit_raw(b"new").unwrap();
        })
    };
    let got = sub
        .next_batch_blocking(10, Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(payloads(&got), ["new"]);
    producer.join().unwrap();
    assert!(sub
        .next_batch_blocking(10, Some(Duration::from_millis(10)))
        .unwrap()
        .is_empty());
    b.emit_raw(b"last").unwrap();
    b.shutdown();
    assert_eq!(
        payloads(&sub.next_batch_blocking(10, None).unwrap()),
        ["last"]
    );
    assert!(sub.next_batch_blocking(10, None).is_none());
    assert!(sub.is_ended());
}

/// Many producers race a shutdown while a subscriber drains: every receipt is
/// either delivered exactly once or counted as dropped.
#[test]
fn no_receipted_event_is_lost_across_shutdown() {
    for policy in ["drop_oldest", "drop_newest", "fail"] {
        let b = bus(&format!(
            r#"{{"num_shards":4,"ring_buffer_capacity":64,"backpressure":"{policy}"}}"#
        ));
        let mut sub = b.subscribe(SubscribeOptions::default()).unwrap();
        let consumer = thread::spawn(move || {
            let mut seen = HashSet::new();
            while let Some(batch) = sub.next_batch_blocking(256, None) {
                for e in batch {
                    assert!(seen.insert((e.shard, e.seq)), "delivered twice");
                }
            }
            seen
        });
        let start = Barrier::new(9);
        let receipts: Vec<(u16, u64)> = thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        let mut mine = Vec::new();
                        loop {
                            match b.emit_raw(b"payload") {
                                Ok(r) => mine.push((r.shard, r.seq)),
                                Err(e) if e.kind() == ErrorKind::Backpressure => {
                                    thread::yield_now()
                                }
                                Err(e) => {
                                    assert_eq!(e.kind(), ErrorKind::Shutdown);
                                    return mine;
                                }
                            }
                        }
                    })
                })
                .collect();
            start.wait();
            thread::sleep(Duration::from_millis(30));
            b.shutdown();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let delivered = consumer.join().unwrap();
        let stats = b.stats();
        assert_eq!(stats.ingested, receipts.len() as u64, "{policy}");
        assert_eq!(
            delivered.len() as u64 + stats.dropped,
            receipts.len() as u64,
            "{policy}: delivered + dropped must equal receipts"
        );
        let receipted: HashSet<(u16, u64)> = receipts.iter().copied().collect();
        assert!(
            delivered.is_subset(&receipted),
            "{policy}: delivered an unknown event"
        );
        if policy == "fail" {
            assert_eq!(stats.dropped, 0);
        }
    }
}

/// Arbitrary bytes into every parser the boundary exposes: each input is either
/// accepted or refused with its documented kind, never a panic.
#[test]
fn garbage_input_never_panics() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = br#"{}[]:,."\0123456789-eE+truefalsnl v_x"#;
    let b = bus(r#"{"num_shards":2,"max_event_size":64}"#);
    for round in 0..20_000 {
        let len = (next() % 48) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if round % 2 == 0 {
                    alphabet[(r % alphabet.len() as u64) as usize]
                } else {
                    r as u8
                }
            })
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = BusConfig::from_json(&text) {
            assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        }
        if let Err(e) = Filter::from_json(&text) {
            assert_eq!(e.kind(), ErrorKind::InvalidFilter);
        }
        if let Err(e) = b.emit_str(&text) {
            assert!(
                matches!(e.kind(), ErrorKind::InvalidJson | ErrorKind::EventTooLarge),
                "{e}"
            );
        }
        b.emit_raw(&bytes).unwrap();
        let request = PollRequest {
            limit: 4,
            cursor: Some(text.into_owned()),
            filter: None,
        };
        if let Err(e) = b.poll(&request) {
            assert_eq!(e.kind(), ErrorKind::InvalidCursor);
        }
    }
    assert_eq!(b.stats().ingested, b.stats().buffered + b.stats().dropped);
}

#[test]
fn events_given_back_are_buffered_again_and_read_next() {
    let b = bus(r#"{"num_shards": 2}"#);
    // Two producer threads so both shards hold events.
    for t in 0..2 {
        let b = b.clone();
        thread::spawn(move || {
            for i in 0..5 {
                b.emit_raw(format!("{t}-{i}").as_bytes()).unwrap();
            }
        })
        .join()
        .unwrap();
    }
    let mut sub = b.subscribe(SubscribeOptions::default()).unwrap();
    let batch = sub.try_next_batch(100).unwrap();
    assert_eq!(batch.len(), 10);
    assert_eq!(b.stats().buffered, 0);
    // The consumer delivered the first event only.
    let delivered = batch[0].clone();
    let rest = batch[1..].to_vec();
    assert_eq!(sub.give_back(rest.clone()), 9);
    let stats = b.stats();
    assert_eq!((stats.ingested, stats.dropped, stats.buffered), (10, 0, 9));
    // A poll sees exactly the nine, in shard order, with their receipts.
    let page = poll_all(&b, None, 100);
    let mut seen: Vec<(u16, u64)> = page.events.iter().map(|e| (e.shard, e.seq)).collect();
    let mut want: Vec<(u16, u64)> = rest.iter().map(|e| (e.shard, e.seq)).collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    assert!(!page
        .events
        .iter()
        .any(|e| (e.shard, e.seq) == (delivered.shard, delivered.seq)));
    // The subscription reads them again, and nothing else.
    let again = sub.try_next_batch(100).unwrap();
    assert_eq!(payloads(&again).len(), 9);
    assert_eq!(
        payloads(&again).into_iter().collect::<HashSet<_>>(),
        payloads(&rest).into_iter().collect::<HashSet<_>>()
    );
    assert_eq!(b.stats().buffered, 0);
}

#[test]
fn giving_back_refuses_foreign_and_duplicate_events() {
    let b = bus(r#"{"num_shards": 1}"#);
    b.emit_raw_batch(&[b"a".as_slice(), b"b"]).unwrap();
    let mut sub = b.subscribe(SubscribeOptions::default()).unwrap();
    let batch = sub.try_next_batch(1).unwrap();
    assert_eq!(payloads(&batch), ["a"]);
    let forged = |shard, seq| Event {
        shard,
        seq,
        timestamp_ns: 0,
        data: bytes::Bytes::from_static(b"forged"),
    };
    // "b" is still buffered, shard 3 and seq 99 were never handed out.
    assert_eq!(
        sub.give_back(vec![forged(0, 1), forged(3, 0), forged(0, 99)]),
        0
    );
    assert_eq!(sub.give_back(batch.clone()), 1);
    assert_eq!(sub.give_back(batch), 0, "already back");
    assert_eq!(payloads(&sub.try_next_batch(10).unwrap()), ["a", "b"]);
}

#[test]
fn a_full_drop_oldest_shard_evicts_given_back_events_and_counts_them() {
    let b = bus(r#"{"num_shards": 1, "ring_buffer_capacity": 3}"#);
    b.emit_raw_batch(&[b"1".as_slice(), b"2", b"3"]).unwrap();
    let mut sub = b.subscribe(SubscribeOptions::default()).unwrap();
    let batch = sub.try_next_batch(3).unwrap();
    b.emit_raw_batch(&[b"4".as_slice(), b"5", b"6"]).unwrap();
    assert_eq!(sub.give_back(batch), 3);
    assert_eq!(b.stats().buffered, 6, "over capacity until the next emit");
    b.emit_raw(b"7").unwrap();
    let stats = b.stats();
    assert_eq!((stats.ingested, stats.buffered), (7, 3));
    assert_eq!(stats.dropped, 4, "1, 2, 3 and 4 evicted, each counted");
    assert_eq!(payloads(&sub.try_next_batch(10).unwrap()), ["5", "6", "7"]);
}

#[test]
fn two_subscriptions_giving_back_in_any_order_keep_sequence_order() {
    let b = bus(r#"{"num_shards": 1}"#);
    let texts: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
    b.emit_str_batch(&texts.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>())
        .unwrap();
    let mut a = b.subscribe(SubscribeOptions::default()).unwrap();
    let mut c = b.subscribe(SubscribeOptions::default()).unwrap();
    let first = a.try_next_batch(5).unwrap();
    let second = c.try_next_batch(5).unwrap();
    assert_eq!(second[0].seq, 5, "c reads after what a took");
    assert_eq!(c.give_back(second[2..].to_vec()), 3);
    assert_eq!(a.give_back(first[2..].to_vec()), 3);
    let seqs: Vec<u64> = poll_all(&b, None, 100)
        .events
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [2, 3, 4, 7, 8, 9]);
    assert_eq!(
        a.try_next_batch(100)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        [2, 3, 4, 7, 8, 9]
    );
}

#[test]
fn a_cancelled_token_wakes_a_blocked_subscription_at_once_and_nothing_is_taken() {
    use crate::cancel::CancelToken;
    let bus = bus(r#"{"num_shards":2}"#);
    let mut sub = bus
        .subscribe(SubscribeOptions::default())
        .expect("subscribe");
    let token = CancelToken::new();
    let canceller = crate::cancel::cancel_after(&token, 50);
    // No timeout: only the cancel can end this wait.
    let err = sub.next_batch_cancellable(16, None, &token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    canceller.join().unwrap();
    // Sticky: a later wait on the same token fails at once, events or not.
    bus.emit_raw(b"x").unwrap();
    bus.flush().unwrap();
    assert_eq!(
        sub.next_batch_cancellable(16, None, &token)
            .unwrap_err()
            .kind(),
        ErrorKind::Cancelled
    );
    // The event was not taken: a fresh token gets it.
    let got = sub
        .next_batch_cancellable(16, Some(Duration::from_secs(5)), &CancelToken::new())
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 1);
}
