//! Bus hot paths: single emit, batch emit and draining with poll, 64-byte events.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use net_core::bus::{Bus, PollRequest};

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
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("poll_drain_100k_64B_limit_10k", |bench| {
        bench.iter_batched(
            || {
                let b = bus();
                for _ in 0..100 {
                    b.emit_raw_batch(&batch).expect("batch");
                }
                b
            },
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
    g.finish();
}

criterion_group!(benches, emit);
criterion_main!(benches);
