//! CortEX / NetDB hot paths: writes, fold round trips, queries, snapshots.

use criterion::{criterion_group, criterion_main, Criterion};
use net_core::cortex::{ModelState, NetDb, TaskStatus, TasksFilter};
use net_core::redex::Redex;
use std::time::Duration;

fn db_with(n: u64) -> NetDb {
    let db = NetDb::builder(Redex::new())
        .with_tasks()
        .with_memories()
        .build()
        .expect("db");
    let tasks = db.tasks().expect("tasks");
    let mut last = None;
    for id in 0..n {
        last = Some(
            tasks
                .create(id, "a task title of moderate length", id)
                .expect("create"),
        );
        if id % 3 == 0 {
            last = Some(tasks.complete(id, id + 1).expect("complete"));
        }
    }
    if let Some(t) = last {
        tasks
            .wait_for_token(t, Duration::from_secs(30))
            .expect("fold");
    }
    db
}

fn cortex(c: &mut Criterion) {
    let mut g = c.benchmark_group("cortex");
    let db = db_with(0);
    let tasks = db.tasks().expect("tasks");
    let mut id = 1_000_000u64;
    g.bench_function("tasks_create", |b| {
        b.iter(|| {
            id += 1;
            tasks.create(id, "bench", id).expect("create")
        })
    });
    let memories = db.memories().expect("memories");
    g.bench_function("memories_store", |b| {
        b.iter(|| {
            id += 1;
            memories
                .store(id, "some content", &["a", "b"], "bench", id)
                .expect("store")
        })
    });
    g.bench_function("fold_round_trip_create_and_wait", |b| {
        b.iter(|| {
            id += 1;
            let t = tasks.create(id, "rt", id).expect("create");
            tasks
                .wait_for_token(t, Duration::from_secs(5))
                .expect("wait")
        })
    });
    drop(db);
    for n in [1_000u64, 10_000] {
        let db = db_with(n);
        let tasks = db.tasks().expect("tasks");
        let state = tasks.state();
        let pending = TasksFilter {
            status: Some(TaskStatus::Pending),
            ..Default::default()
        };
        if n == 10_000 {
            g.bench_function("find_unique_10k", |b| {
                b.iter(|| state.find_unique(4321).map(|t| t.id))
            });
            g.bench_function("count_where_10k", |b| {
                b.iter(|| state.count_where(&pending))
            });
        }
        g.bench_function(format!("find_many_pending_{n}"), |b| {
            b.iter(|| state.find_many(&pending).len())
        });
        drop(state);
        if n == 10_000 {
            g.bench_function("snapshot_encode_10k", |b| {
                b.iter(|| {
                    db.snapshot()
                        .expect("snapshot")
                        .encode()
                        .expect("encode")
                        .len()
                })
            });
        }
    }
    g.finish();
}

fn lifecycle(c: &mut Criterion) {
    let mut g = c.benchmark_group("cortex");
    // Open and close an idle in-memory database with both models: closing
    // wakes the fold threads instead of waiting for a polling tick.
    g.bench_function("netdb_open_close_in_memory", |b| {
        b.iter(|| {
            let db = NetDb::builder(Redex::new())
                .with_tasks()
                .with_memories()
                .build()
                .expect("db");
            db.close().expect("close");
        })
    });
    g.finish();
}

criterion_group!(benches, cortex, lifecycle);
criterion_main!(benches);
