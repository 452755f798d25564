//! Push delivery: order, re-entry, failures, close from inside and outside,
//! drop exactly once, many producers and deliveries, mesh messages.

use super::*;
use crate::bus::{Bus, SubscribeOptions};
use crate::mesh::test_support::{addr, eventually, node_with};
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;
use std::thread;

const WAIT: Duration = Duration::from_secs(10);

fn bus(shards: usize) -> Bus {
    Bus::from_json(&format!(r#"{{"num_shards": {shards}}}"#)).unwrap()
}

fn subscription(bus: &Bus) -> Subscription {
    bus.subscribe(SubscribeOptions::default()).unwrap()
}

/// Counts its drops, so a test can check the handler is dropped once.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_event_reaches_the_handler_once_in_order() {
    let b = bus(1);
    for i in 0..10 {
        b.emit_str(&i.to_string()).unwrap();
    }
    let (tx, rx) = mpsc::channel();
    let handle = spawn(
        subscription(&b),
        move |e: crate::bus::Event| tx.send(e.raw_str().into_owned()).map_err(|e| e.to_string()),
        "test handler",
    );
    for i in 10..1000 {
        b.emit_str(&i.to_string()).unwrap();
    }
    let got: Vec<String> = (0..1000).map(|_| rx.recv_timeout(WAIT).unwrap()).collect();
    let want: Vec<String> = (0..1000).map(|i: i32| i.to_string()).collect();
    assert_eq!(got, want);
    eventually("the counters", || handle.stats().delivered == 1000);
    assert_eq!(handle.stats().failed, 0);
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
}

#[test]
fn a_handler_may_emit_into_the_bus_it_reads() {
    let b = bus(2);
    let inner = b.clone();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let _handle = spawn(
        subscription(&b),
        move |e: crate::bus::Event| {
            count.fetch_add(1, Ordering::SeqCst);
            let n: u32 = e
                .raw_str()
                .parse()
                .map_err(|_| "not a number".to_string())?;
            if n < 100 {
                inner
                    .emit_str(&(n + 1).to_string())
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        },
        "test handler",
    );
    b.emit_str("0").unwrap();
    eventually("101 events, each emitted by the handler", || {
        seen.load(Ordering::SeqCst) == 101
    });
}

#[test]
fn a_failing_handler_is_counted_and_keeps_being_called() {
    let b = bus(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let handle = spawn(
        subscription(&b),
        move |e: crate::bus::Event| {
            count.fetch_add(1, Ordering::SeqCst);
            if e.raw_str().starts_with("bad") {
                Err("refused".to_string())
            } else {
                Ok(())
            }
        },
        "test handler",
    );
    for i in 0..20 {
        b.emit_raw(if i % 2 == 0 { b"bad" } else { b"good" })
            .unwrap();
    }
    eventually("20 calls", || {
        handle.stats().delivered + handle.stats().failed == 20
    });
    assert_eq!(
        handle.stats(),
        Stats {
            delivered: 10,
            failed: 10
        }
    );
    assert_eq!(calls.load(Ordering::SeqCst), 20);
}

#[test]
fn closing_from_inside_the_handler_stops_the_calls_and_gives_the_rest_back() {
    let b = bus(1);
    for i in 0..10 {
        b.emit_str(&i.to_string()).unwrap();
    }
    let slot: Arc<Mutex<Option<Handle>>> = Arc::new(Mutex::new(None));
    let me = slot.clone();
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(dropped.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let (started, wait_started) = mpsc::channel::<()>();
    let handle = spawn(
        subscription(&b),
        move |_e: crate::bus::Event| {
            let _keep = &guard;
            // Wait until the test has stored the handle, then close at the
            // third event.
            let _ = wait_started.recv_timeout(WAIT);
            if count.fetch_add(1, Ordering::SeqCst) == 2 {
                if let Some(handle) = me.lock().as_ref() {
                    handle.close();
                }
            }
            Ok(())
        },
        "test handler",
    );
    *slot.lock() = Some(handle);
    for _ in 0..10 {
        let _ = started.send(());
    }
    eventually("the handler to be dropped", || {
        dropped.load(Ordering::SeqCst) == 1
    });
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let handle = slot.lock().take().unwrap();
    assert!(handle.is_closed());
    assert_eq!(handle.stats().delivered, 3);
    drop(handle);
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "dropped exactly once");
    // The seven events it did not hand out are in the bus again.
    let mut rest = subscription(&b);
    let events = rest.try_next_batch(100).unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (3..10).collect::<Vec<u64>>());
}

#[test]
fn closing_from_outside_waits_for_the_call_in_progress() {
    let b = bus(1);
    let (entered, wait_entered) = mpsc::channel::<()>();
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let handle = spawn(
        subscription(&b),
        move |_e: crate::bus::Event| {
            count.fetch_add(1, Ordering::SeqCst);
            let _ = entered.send(());
            thread::sleep(Duration::from_millis(100));
            done.store(true, Ordering::SeqCst);
            Ok(())
        },
        "test handler",
    );
    b.emit_str("1").unwrap();
    b.emit_str("2").unwrap();
    wait_entered.recv_timeout(WAIT).unwrap();
    handle.close();
    assert!(finished.load(Ordering::SeqCst), "close returned mid-call");
    let after = calls.load(Ordering::SeqCst);
    b.emit_str("3").unwrap();
    thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.load(Ordering::SeqCst), after, "called after close");
    assert!(handle.is_closed());
}

#[test]
fn two_handlers_closing_each_other_do_not_deadlock() {
    let b = bus(1);
    let slots: Arc<Mutex<Vec<Handle>>> = Arc::new(Mutex::new(Vec::new()));
    let (ready, wait_ready) = mpsc::channel::<()>();
    let ready = Arc::new(Mutex::new(ready));
    let wait_ready = Arc::new(Mutex::new(wait_ready));
    let mut handles = Vec::new();
    for _ in 0..2 {
        let slots = slots.clone();
        let ready = ready.clone();
        let wait_ready = wait_ready.clone();
        handles.push(spawn(
            subscription(&b),
            move |_e: crate::bus::Event| {
                // Both handlers inside at once, then each closes both.
                let _ = ready.lock().send(());
                let _ = wait_ready.lock().recv_timeout(Duration::from_millis(500));
                for handle in slots.lock().iter() {
                    handle.close();
                }
                Ok(())
            },
            "test handler",
        ));
    }
    *slots.lock() = handles;
    b.emit_str("1").unwrap();
    b.emit_str("2").unwrap();
    eventually("both closed", || slots.lock().iter().all(Handle::is_closed));
}

#[test]
fn the_end_of_the_source_ends_the_delivery_and_drops_the_handler() {
    let b = bus(1);
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(dropped.clone());
    let handle = spawn(
        subscription(&b),
        move |_e: crate::bus::Event| {
            let _keep = &guard;
            Ok(())
        },
        "test handler",
    );
    b.emit_str("1").unwrap();
    b.shutdown();
    eventually("the delivery to end", || handle.is_closed());
    assert_eq!(handle.stats().delivered, 1);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    handle.close();
    drop(handle);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn many_producers_many_handlers_nothing_lost_nothing_twice() {
    let b = Bus::from_json(r#"{"num_shards": 4, "ring_buffer_capacity": 65536}"#).unwrap();
    const PRODUCERS: usize = 4;
    const EACH: usize = 5_000;
    let seen = Arc::new(Mutex::new(vec![Vec::new(); PRODUCERS]));
    let record = seen.clone();
    let handle = spawn(
        subscription(&b),
        move |e: crate::bus::Event| {
            let text = e.raw_str();
            let (p, i) = text.split_once(':').ok_or("bad event")?;
            let p: usize = p.parse().map_err(|_| "bad producer")?;
            let i: usize = i.parse().map_err(|_| "bad index")?;
            record.lock()[p].push(i);
            Ok(())
        },
        "test handler",
    );
    // Other deliveries share the callback threads meanwhile.
    let others: Vec<Handle> = (0..50)
        .map(|_| {
            spawn(
                subscription(&bus(1)),
                |_e: crate::bus::Event| Ok(()),
                "idle",
            )
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let b = b.clone();
            thread::spawn(move || {
                for i in 0..EACH {
                    b.emit_raw(format!("{p}:{i}").as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    eventually("every event", || {
        handle.stats().delivered == (PRODUCERS * EACH) as u64
    });
    let seen = seen.lock();
    for per_producer in seen.iter() {
        let mut sorted = per_producer.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), EACH, "every event once");
    }
    drop(others);
}

#[test]
fn mesh_messages_reach_a_handler_that_replies_from_inside() {
    let a = node_with(41, |_| {});
    let b = Arc::new(node_with(42, |_| {}));
    a.connect(addr(&b), &b.public_key()).unwrap();
    let replier = b.clone();
    let a_id = a.node_id();
    let handle = spawn(
        b.message_source().unwrap(),
        move |m: crate::mesh::Message| {
            let mut reply = b"re:".to_vec();
            reply.extend_from_slice(&m.payload);
            replier.send(m.from, 1, &reply).map_err(|e| e.to_string())
        },
        "mesh message handler",
    );
    eventually("b to know a", || {
        b.peers().iter().any(|p| p.node_id == a_id)
    });
    for i in 0..20u8 {
        a.send(b.node_id(), 1, &[i]).unwrap();
    }
    let mut replies = Vec::new();
    while replies.len() < 20 {
        let m = a.recv(Some(WAIT)).unwrap().expect("a reply");
        replies.push(m.payload[3]);
    }
    replies.sort_unstable();
    assert_eq!(replies, (0..20).collect::<Vec<u8>>());
    // A reply can arrive before its handler call has returned and counted.
    eventually("20 counted", || handle.stats().delivered == 20);
    b.shutdown();
    eventually("the delivery to end with the node", || handle.is_closed());
    assert_eq!(
        b.message_source().unwrap_err().kind(),
        crate::ErrorKind::MeshShutdown
    );
}

#[test]
fn a_fifo_turns_push_into_pull_with_backpressure_and_nothing_lost() {
    let b = Bus::from_json(r#"{"num_shards": 1, "ring_buffer_capacity": 4096}"#).unwrap();
    let (sink, fifo) = fifo::<crate::bus::Event>(8);
    let handle = spawn(subscription(&b), sink, "fifo");
    for i in 0..1000 {
        b.emit_raw(i.to_string().as_bytes()).unwrap();
    }
    // The FIFO holds 8; the rest waits in the bus, not in memory.
    eventually("the fifo to fill", || handle.stats().delivered == 8);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(handle.stats().delivered, 8, "a full fifo pushes back");
    let got: Vec<String> = (0..1000)
        .map(|_| fifo.recv(Some(WAIT)).unwrap().raw_str().into_owned())
        .collect();
    assert_eq!(
        got,
        (0..1000).map(|i: i32| i.to_string()).collect::<Vec<_>>()
    );
    assert!(fifo.try_recv().is_none());
    assert!(fifo.recv(Some(Duration::from_millis(10))).is_none());
    assert!(!fifo.is_ended());
    let cancel = crate::cancel::CancelToken::new();
    let canceller = crate::cancel::cancel_after(&cancel, 20);
    assert_eq!(
        fifo.recv_cancellable(None, &cancel).unwrap_err().kind(),
        crate::ErrorKind::Cancelled
    );
    canceller.join().unwrap();
    b.emit_raw(b"last").unwrap();
    b.shutdown();
    assert_eq!(fifo.recv(Some(WAIT)).unwrap().raw_str(), "last");
    assert!(fifo.recv(None).is_none(), "ends once the source ended");
    assert!(fifo.is_ended());
}

#[test]
fn a_binding_scheduler_runs_deliveries_itself_and_reports_late_failures() {
    // A binding's own scheduler (as the Node binding's): runs are queued
    // here and run by this thread, never by the engine's pool.
    let b = bus(1);
    let queue: Arc<Mutex<Vec<Weak<dyn Control>>>> = Arc::new(Mutex::new(Vec::new()));
    let scheduled = queue.clone();
    let taken = Arc::new(Mutex::new(Vec::new()));
    let into = taken.clone();
    let delivery = Delivery::new(
        subscription(&b),
        move |e: crate::bus::Event| {
            into.lock().push(e);
            Ok(())
        },
        "binding handler",
        move |me: Weak<Delivery<Subscription, _>>| {
            let me: Weak<dyn Control> = me;
            scheduled.lock().push(me);
        },
    );
    for i in 0..5 {
        b.emit_raw(i.to_string().as_bytes()).unwrap();
    }
    let run_queued = || {
        let jobs = std::mem::take(&mut *queue.lock());
        for job in jobs {
            if let Some(job) = job.upgrade() {
                job.run();
            }
        }
    };
    run_queued();
    assert_eq!(taken.lock().len(), 5, "one run took the batch");
    assert_eq!(delivery.stats().delivered, 5);
    // The binding's handler threw on two of them, learned after the run:
    // the 1st and 2nd failures are to be reported, and counted.
    assert!(delivery.count_late_failures(1));
    assert!(delivery.count_late_failures(1));
    assert_eq!(
        delivery.stats(),
        Stats {
            delivered: 3,
            failed: 2
        }
    );
    assert!(!delivery.count_late_failures(1), "the 3rd is not reported");
    // It stopped after the first of the batch: the last two go back.
    let rest: Vec<crate::bus::Event> = taken.lock().split_off(3);
    delivery.give_back(rest);
    assert_eq!(
        delivery.stats(),
        Stats {
            delivered: 0,
            failed: 3
        }
    );
    delivery.close();
    let seqs: Vec<u64> = subscription(&b)
        .try_next_batch(10)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![3, 4]);
    assert!(delivery.is_closed());
}
