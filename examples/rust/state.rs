//! Local state in Rust: a RedEX log with a live tail, then NetDB tasks with
//! read-your-writes, a query and a snapshot restored into a second database.
//! Run: `cargo run --release -p net-sdk --example state`

use net_sdk::cortex::{NetDb, NetDbSnapshot, TaskStatus};
use net_sdk::redex::{Redex, RedexFileConfig};
use std::time::Duration;

fn main() -> net_sdk::error::Result<()> {
    // A raw log: append, read back, tail from a sequence.
    let redex = Redex::new();
    let (log, _) = redex.open_file("orders", RedexFileConfig::default())?;
    log.append(b"order 1")?;
    log.append_batch(&[b"order 2".as_slice(), b"order 3".as_slice()])?;
    for entry in log.read_range(0, u64::MAX) {
        println!(
            "log #{}: {}",
            entry.seq,
            String::from_utf8_lossy(&entry.payload)
        );
    }
    let mut tail = log.tail(2);
    let entries = tail.next_batch_blocking(10, Some(Duration::from_secs(1)))?;
    println!("tail from #2 sees {} entry", entries.len());
    redex.close()?;

    // NetDB: writes return tokens; waiting on one gives read-your-writes.
    let db = NetDb::builder(Redex::new()).with_tasks().build()?;
    let tasks = db.tasks()?;
    tasks.create(1, "write plan", 1)?;
    tasks.create(2, "ship it", 2)?;
    let done = tasks.complete(1, 3)?;
    tasks.wait_for_token(done, Duration::from_secs(5))?;
    let pending = tasks.find_many(&net_sdk::cortex::TasksFilter {
        status: Some(TaskStatus::Pending),
        ..Default::default()
    });
    println!(
        "pending: {:?}",
        pending.iter().map(|t| &t.title).collect::<Vec<_>>()
    );

    // A snapshot is bytes; any language restores it.
    let bytes = db.snapshot()?.encode()?;
    let copy = NetDb::builder(Redex::new())
        .with_tasks()
        .build_from_snapshot(&NetDbSnapshot::decode(&bytes)?)?;
    println!(
        "restored {} tasks from {} bytes",
        copy.tasks()?.count_where(&Default::default()),
        bytes.len()
    );
    copy.close()?;
    db.close()?;
    Ok(())
}
