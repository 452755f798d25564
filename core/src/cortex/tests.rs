//! CortEX tests: folds, read-your-writes, queries, watchers, snapshots, NetDB.

use super::*;
use crate::error::ErrorKind;
use crate::redex::{Redex, RedexFile, RedexFileConfig};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn db() -> NetDb {
    NetDb::builder(Redex::new())
        .origin(7)
        .with_tasks()
        .with_memories()
        .build()
        .unwrap()
}

#[test]
fn tasks_crud_and_queries() {
    let db = db();
    let tasks = db.tasks().unwrap();
    for id in 1..=5 {
        tasks.create(id, &format!("task {id}"), id * 10).unwrap();
    }
    tasks.rename(2, "renamed", 100).unwrap();
    tasks.complete(3, 110).unwrap();
    let last = tasks.delete(5).unwrap();
    tasks.wait_for_token(last, WAIT).unwrap();
    assert_eq!(tasks.find_unique(2).unwrap().title.as_ref(), "renamed");
    assert!(tasks.find_unique(5).is_none());
    let pending = TasksFilter {
        status: Some(TaskStatus::Pending),
        ..Default::default()
    };
    let ids: Vec<u64> = tasks.find_many(&pending).iter().map(|t| t.id).collect();
    assert_eq!(ids, [1, 2, 4]);
    assert_eq!(tasks.count_where(&pending), 3);
    assert!(tasks.exists_where(&TasksFilter {
        status: Some(TaskStatus::Completed),
        ..Default::default()
    }));
    let newest: Vec<u64> = tasks
        .state()
        .query()
        .order_by(OrderBy::UpdatedDesc)
        .limit(2)
        .collect()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(newest, [3, 2]);
    assert_eq!(tasks.state().query().order_by(OrderBy::IdDesc).count(), 4);
    // Invalid transitions are counted and skipped; the fold keeps running.
    let bad = tasks.rename(99, "ghost", 1).unwrap();
    let dup = tasks.create(1, "again", 1).unwrap();
    tasks.wait_for_token(bad, WAIT).unwrap();
    tasks.wait_for_token(dup, WAIT).unwrap();
    assert_eq!(tasks.adapter().status().errors, 2);
    assert_eq!(tasks.find_unique(1).unwrap().title.as_ref(), "task 1");
}

#[test]
fn memories_tags_and_pins() {
    let db = db();
    let m = db.memories().unwrap();
    m.store(1, "alpha", &["x", "y", "x"], "chat", 1).unwrap();
    m.store(2, "beta", &["y"], "web", 2).unwrap();
    m.store(3, "gamma", &["z"], "chat", 3).unwrap();
    m.pin(3, 4).unwrap();
    m.retag(2, &["q", "y"], 5).unwrap();
    let t = m.unpin(3, 6).unwrap();
    m.wait_for_token(t, WAIT).unwrap();
    let ids = |f: MemoriesFilter| m.find_many(&f).iter().map(|x| x.id).collect::<Vec<_>>();
    assert_eq!(m.find_unique(1).unwrap().tags.as_ref(), ["x", "y"]);
    assert_eq!(
        ids(MemoriesFilter {
            tag: Some("y".into()),
            ..Default::default()
        }),
        [1, 2]
    );
    assert_eq!(
        ids(MemoriesFilter {
            any_tags: vec!["q".into(), "z".into()],
            ..Default::default()
        }),
        [2, 3]
    );
    assert_eq!(
        ids(MemoriesFilter {
            all_tags: vec!["x".into(), "y".into()],
            ..Default::default()
        }),
        [1]
    );
    assert_eq!(
        ids(MemoriesFilter {
            pinned: Some(false),
            source: Some("chat".into()),
            ..Default::default()
        }),
        [1, 3]
    );
    let t = m.delete(1).unwrap();
    m.wait_for_token(t, WAIT).unwrap();
    assert_eq!(m.count_where(&MemoriesFilter::default()), 2);
}

#[test]
fn watch_gives_current_then_deduplicated_changes() {
    let db = db();
    let tasks = db.tasks().unwrap();
    let mut watch = tasks.watch(TasksFilter {
        status: Some(TaskStatus::Completed),
        ..Default::default()
    });
    assert!(watch.next_blocking(WAIT).unwrap().unwrap().is_empty());
    tasks.create(1, "a", 1).unwrap();
    tasks.create(2, "b", 1).unwrap();
    // Creating pending tasks does not change the completed set: no emission.
    assert_eq!(
        watch.next_blocking(Duration::from_millis(100)).unwrap(),
        None
    );
    tasks.complete(2, 2).unwrap();
    let got = watch.next_blocking(WAIT).unwrap().unwrap();
    assert_eq!(got.iter().map(|t| t.id).collect::<Vec<_>>(), [2]);
    tasks.adapter().close();
    assert_eq!(
        watch.next_blocking(WAIT).unwrap_err().kind(),
        ErrorKind::FoldStopped
    );
}

#[test]
fn wait_for_seq_fails_clearly_when_the_fold_stopped() {
    struct Picky;
    impl Fold<Vec<u8>> for Picky {
        fn apply(
            &mut self,
            state: &mut Vec<u8>,
            _: u64,
            _: &EventMeta,
            payload: &[u8],
        ) -> Result<(), String> {
            if payload == b"bad" {
                return Err("refused".into());
            }
            state.extend_from_slice(payload);
            Ok(())
        }
    }
    let file = RedexFile::open_memory("p", RedexFileConfig::default());
    let adapter = CortexAdapter::open(
        file,
        Vec::new(),
        Picky,
        StartPosition::FromBeginning,
        FoldErrorPolicy::Stop,
        1,
    )
    .unwrap();
    let ok = adapter.append(0x80, b"ok").unwrap();
    adapter.wait_for_seq(ok, WAIT).unwrap();
    let bad = adapter.append(0x80, b"bad").unwrap();
    let after = adapter.append(0x80, b"later").unwrap();
    let err = adapter.wait_for_seq(after, WAIT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FoldStopped);
    assert!(err.detail().contains(&format!("seq {bad}")), "{err}");
    assert_eq!(adapter.state().as_slice(), b"ok");
    assert!(!adapter.is_running());
    // Raw bytes that are not a framed event are a decode error for the fold.
    let file = RedexFile::open_memory("q", RedexFileConfig::default());
    let adapter = CortexAdapter::open(
        file.clone(),
        Vec::new(),
        Picky,
        StartPosition::FromBeginning,
        FoldErrorPolicy::Stop,
        1,
    )
    .unwrap();
    let seq = file.append(b"not framed").unwrap();
    assert_eq!(
        adapter.wait_for_seq(seq, WAIT).unwrap_err().kind(),
        ErrorKind::FoldStopped
    );
    let slow = CortexAdapter::open(
        RedexFile::open_memory("r", RedexFileConfig::default()),
        Vec::new(),
        Picky,
        StartPosition::LiveOnly,
        FoldErrorPolicy::Stop,
        1,
    )
    .unwrap();
    assert_eq!(
        slow.wait_for_seq(10, Duration::from_millis(20))
            .unwrap_err()
            .kind(),
        ErrorKind::Timeout
    );
}

#[test]
fn snapshots_round_trip_and_resume() {
    let db = db();
    let tasks = db.tasks().unwrap();
    for id in 0..50 {
        tasks.create(id, "t", id).unwrap();
    }
    let t = db
        .memories()
        .unwrap()
        .store(1, "m", &["a"], "s", 1)
        .unwrap();
    db.memories().unwrap().wait_for_token(t, WAIT).unwrap();
    tasks
        .wait_for_token(tasks.complete(7, 99).unwrap(), WAIT)
        .unwrap();
    let snap = db.snapshot().unwrap();
    let bytes = snap.encode().unwrap();
    let decoded = NetDbSnapshot::decode(&bytes).unwrap();
    assert_eq!(decoded, snap);
    assert_eq!(
        NetDbSnapshot::decode(b"garbage").unwrap_err().kind(),
        ErrorKind::InvalidSnapshot
    );

    let restored = NetDb::builder(Redex::new())
        .with_tasks()
        .with_memories()
        .build_from_snapshot(&decoded)
        .unwrap();
    let rt = restored.tasks().unwrap();
    assert_eq!(rt.count_where(&TasksFilter::default()), 50);
    assert_eq!(rt.find_unique(7).unwrap().status, TaskStatus::Completed);
    assert_eq!(
        restored
            .memories()
            .unwrap()
            .find_unique(1)
            .unwrap()
            .tags
            .as_ref(),
        ["a"]
    );
    assert_eq!(
        restored.snapshot().unwrap(),
        snap,
        "restored state snapshots identically"
    );
    assert!(db.tasks().is_ok());
    let only_tasks = NetDb::builder(Redex::new()).with_tasks().build().unwrap();
    assert_eq!(
        only_tasks.memories().err().map(|e| e.kind()),
        Some(ErrorKind::ModelMissing)
    );
}

#[test]
fn replay_after_reopen_of_a_persistent_db() {
    let dir = std::env::temp_dir().join(format!(
        "net-netdb-{}-{}",
        std::process::id(),
        crate::redex::RedexFile::open_memory("x", RedexFileConfig::default()).next_seq()
    ));
    std::fs::remove_dir_all(&dir).ok();
    {
        let db = NetDb::builder(Redex::with_persistent_dir(&dir))
            .with_tasks()
            .build()
            .unwrap();
        let t = db.tasks().unwrap();
        t.create(1, "durable", 1).unwrap();
        let last = t.complete(1, 2).unwrap();
        t.wait_for_token(last, WAIT).unwrap();
        db.close().unwrap();
    }
    let db = NetDb::builder(Redex::with_persistent_dir(&dir))
        .with_tasks()
        .build()
        .unwrap();
    let t = db.tasks().unwrap();
    let token = t.create(2, "new", 3).unwrap();
    t.wait_for_token(token, WAIT).unwrap();
    assert_eq!(t.find_unique(1).unwrap().status, TaskStatus::Completed);
    assert_eq!(t.count_where(&TasksFilter::default()), 2);
    db.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_second_netdb_on_the_same_directory_is_refused_so_no_write_is_lost() {
    let dir = std::env::temp_dir().join(format!(
        "net-netdb-shared-{}-{}",
        std::process::id(),
        crate::redex::RedexFile::open_memory("y", RedexFileConfig::default()).next_seq()
    ));
    std::fs::remove_dir_all(&dir).ok();
    let first = NetDb::builder(Redex::with_persistent_dir(&dir))
        .with_tasks()
        .build()
        .unwrap();
    let second = NetDb::builder(Redex::with_persistent_dir(&dir))
        .with_tasks()
        .build();
    assert_eq!(second.err().map(|e| e.kind()), Some(ErrorKind::LogLocked));
    let t = first.tasks().unwrap();
    let token = t.create(1, "confirmed", 1).unwrap();
    t.wait_for_token(token, WAIT).unwrap();
    first.close().unwrap();
    let again = NetDb::builder(Redex::with_persistent_dir(&dir))
        .with_tasks()
        .build()
        .unwrap();
    assert_eq!(
        again
            .tasks()
            .unwrap()
            .find_unique(1)
            .unwrap()
            .title
            .as_ref(),
        "confirmed"
    );
    again.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// The fold thread waits for entries without a timer and is woken by close:
/// closing many idle databases never waits out a polling tick (the old
/// 50 ms tick made this loop take seconds; the cortex bench has the numbers).
#[test]
fn closing_an_idle_netdb_wakes_its_folds_instead_of_waiting_for_a_tick() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..200 {
            let db = NetDb::builder(Redex::new())
                .with_tasks()
                .with_memories()
                .build()
                .unwrap();
            db.close().unwrap();
        }
        let _ = done.send(());
    });
    // A hang guard, not a speed target: with no wake-up the folds, which
    // now wait without a timeout, would never stop.
    assert!(finished.recv_timeout(Duration::from_secs(60)).is_ok());
}
