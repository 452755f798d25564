//! RedEX hot paths: inline and heap appends, batches, disk appends, tail latency.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use net_core::redex::{RedexFile, RedexFileConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `op` `iters` times on fresh logs of at most `per_log` operations each,
/// so memory stays bounded however many iterations criterion asks for.
fn rotating(iters: u64, per_log: u64, mut op: impl FnMut(&RedexFile)) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(per_log);
        let log = RedexFile::open_memory("bench", RedexFileConfig::default());
        let start = Instant::now();
        for _ in 0..n {
            op(&log);
        }
        total += start.elapsed();
        left -= n;
    }
    total
}

fn appends(c: &mut Criterion) {
    let mut g = c.benchmark_group("redex");
    g.throughput(Throughput::Elements(1));
    g.bench_function("append_inline_8B", |b| {
        b.iter_custom(|iters| {
            rotating(iters, 1 << 18, |log| {
                log.append_inline(*b"12345678").expect("append");
            })
        })
    });
    for size in [32usize, 256, 1024] {
        let payload = vec![7u8; size];
        g.bench_function(format!("append_heap_{size}B"), |b| {
            // A fresh log per 256 Ki appends keeps memory and the 4 GiB
            // segment bounded however many iterations criterion asks for.
            b.iter_custom(|iters| {
                rotating(iters, 1 << 18, |log| {
                    log.append(&payload).expect("append");
                })
            })
        });
    }
    let batch = vec![[9u8; 64]; 64];
    g.throughput(Throughput::Elements(64));
    g.bench_function("append_batch_64x64B", |b| {
        b.iter_custom(|iters| {
            rotating(iters, 1 << 14, |log| {
                log.append_batch(&batch).expect("batch");
            })
        })
    });
    g.throughput(Throughput::Elements(1));
    for size in [32usize, 1024] {
        let dir =
            std::env::temp_dir().join(format!("net-redex-bench-{}-{size}", std::process::id()));
        let (log, _) =
            RedexFile::open_persistent(&dir, "disk", RedexFileConfig::default()).expect("open");
        let payload = vec![3u8; size];
        g.bench_function(format!("disk_append_{size}B"), |b| {
            b.iter(|| log.append(&payload).expect("append"))
        });
        log.close().expect("close");
        std::fs::remove_dir_all(&dir).ok();
    }
    // Reopening a persistent log of 1000 entries: lock, replay, verify.
    let dir = std::env::temp_dir().join(format!("net-redex-bench-reopen-{}", std::process::id()));
    {
        let (log, _) =
            RedexFile::open_persistent(&dir, "reopen", RedexFileConfig::default()).expect("open");
        for i in 0..1000u32 {
            log.append(&i.to_le_bytes()).expect("append");
        }
        log.close().expect("close");
    }
    g.bench_function("reopen_persistent_1000x4B", |b| {
        b.iter(|| {
            let (log, report) =
                RedexFile::open_persistent(&dir, "reopen", RedexFileConfig::default())
                    .expect("open");
            assert_eq!(report.entries, 1000);
            log.close().expect("close");
        })
    });
    std::fs::remove_dir_all(&dir).ok();
    g.bench_function("tail_latency_append_to_subscriber", |b| {
        // Ping-pong: append one entry, wait until the tailing thread has it.
        b.iter_custom(|iters| {
            let log = RedexFile::open_memory("lat", RedexFileConfig::default());
            let seen = Arc::new(AtomicU64::new(0));
            let reader = {
                let (log, seen) = (log.clone(), Arc::clone(&seen));
                std::thread::spawn(move || {
                    let mut tail = log.tail(0);
                    while let Ok(batch) = tail.next_batch_blocking(1, None) {
                        seen.fetch_add(batch.len() as u64, Ordering::Release);
                    }
                })
            };
            let start = Instant::now();
            for i in 1..=iters {
                log.append(b"ping").expect("append");
                while seen.load(Ordering::Acquire) < i {
                    std::hint::spin_loop();
                }
            }
            let elapsed = start.elapsed();
            log.close().expect("close");
            reader.join().expect("reader");
            elapsed
        })
    });
    g.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
