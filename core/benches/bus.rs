//! Bus hot paths: single emit, batch emit and draining with poll, 64-byte events.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use net_core::bus::{Bus, PollRequest, SubscribeOptions};

const EVENT: &[u8; 64] =
    b"{\"token\":\"hello\",\"index\":12345,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}";

fn bus() -> Bus {
    Bus::from_json(
        r#"{"num_shards":4,"ring_buffer_capacity":1048576,"backpressure":"drop_oldest"}"#,
    )
    .expect("config")
}

fn emit(c: &mut Criterion) {
    let mut g = c.benchmark_group("bus");
    g.throughput(Throughput::Elements(1));
    let b = bus();
    g.bench_function("emit_raw_64B", |bench| {
        bench.iter(|| b.emit_raw(EVENT).expect("emit"))
    });
    let batch: Vec<&[u8]> = vec![EVENT.as_slice(); 1000];
    g.throughput(Throughput::Elements(1000));
    g.bench_function("emit_raw_batch_1000x64B", |bench| {
        bench.iter(|| b.emit_raw_batch(&batch).expect("batch"))
    });
    // A fresh bus holding 100 batches (100k events).
    let filled = |batch: &[&[u8]]| {
        let b = bus();
        for _ in 0..100 {
            b.emit_raw_batch(batch).expect("batch");
        }
        b
    };
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("poll_drain_100k_64B_limit_10k", |bench| {
        bench.iter_batched(
            || filled(&batch),
            |b| {
                let mut cursor = None;
                let mut total = 0;
                loop {
                    let resp = b
                        .poll(&PollRequest {
                            limit: 10_000,
                            cursor,
                            filter: None,
                        })
                        .expect("poll");
                    total += resp.events.len();
                    cursor = Some(resp.next_cursor);
                    if !resp.has_more {
                        break;
                    }
                }
                assert_eq!(total, 100_000);
                b
            },
            BatchSize::PerIteration,
        )
    });
    // A subscription taking 100k events in batches of 256, as the language
    // iterators do.
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("subscribe_take_100k_64B_batch_256", |bench| {
        bench.iter_batched(
            || filled(&batch),
            |b| {
                let mut sub = b.subscribe(SubscribeOptions::default()).expect("sub");
                let mut total = 0;
                while total < 100_000 {
                    total += sub.try_next_batch(256).expect("open").len();
                }
                b
            },
            BatchSize::PerIteration,
        )
    });
    // Leaving early: take a batch of 256, deliver one, give 255 back.
    g.throughput(Throughput::Elements(1));
    let b = bus();
    b.emit_raw_batch(&vec![EVENT.as_slice(); 256])
        .expect("batch");
    let mut sub = b.subscribe(SubscribeOptions::default()).expect("sub");
    g.bench_function("take_256_give_back_255_64B", |bench| {
        bench.iter(|| {
            let mut batch = sub.try_next_batch(256).expect("open");
            let rest = batch.split_off(1);
            sub.give_back(rest);
            b.emit_raw(EVENT).expect("refill");
            batch
        })
    });
    g.finish();
}

criterion_group!(benches, emit);
criterion_main!(benches);
