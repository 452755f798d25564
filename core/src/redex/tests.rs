//! RedEX tests: appends, reads, tails, retention, persistence and crash safety.

use super::*;
use crate::error::ErrorKind;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Duration;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "net-redex-{tag}-{}-{}",
        std::process::id(),
        file::now_ns()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn payloads(entries: &[RedexEntry]) -> Vec<Vec<u8>> {
    entries.iter().map(|e| e.payload.to_vec()).collect()
}

#[test]
fn append_inline_batch_and_read_range() {
    let log = RedexFile::open_memory("t", RedexFileConfig::default());
    assert_eq!(log.append(b"a").unwrap(), 0);
    assert_eq!(log.append_inline(*b"12345678").unwrap(), 1);
    assert_eq!(log.append_batch::<&[u8]>(&[]).unwrap(), None, "empty batch");
    assert_eq!(log.append_batch(&[b"b", b"c"]).unwrap(), Some(2));
    assert_eq!(log.next_seq(), 4);
    let all = log.read_range(0, u64::MAX);
    assert_eq!(
        payloads(&all),
        [
            b"a".to_vec(),
            b"12345678".to_vec(),
            b"b".to_vec(),
            b"c".to_vec()
        ]
    );
    assert_eq!(
        payloads(&log.read_range(1, 3)),
        [b"12345678".to_vec(), b"b".to_vec()]
    );
    assert!(log.read_range(10, 20).is_empty());
}

#[test]
fn a_failing_batch_advances_nothing() {
    let config = RedexFileConfig {
        max_payload: 4,
        ..Default::default()
    };
    let log = RedexFile::open_memory("t", config);
    log.append(b"ok").unwrap();
    let err = log.append_batch(&[&b"fine"[..], b"too long"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PayloadTooLarge);
    assert_eq!(log.next_seq(), 1);
    assert_eq!(log.append(b"next").unwrap(), 1);
}

#[test]
fn closed_logs_refuse_appends_and_end_tails() {
    let log = RedexFile::open_memory("t", RedexFileConfig::default());
    log.append(b"x").unwrap();
    let mut tail = log.tail(0);
    log.close().unwrap();
    log.close().unwrap();
    assert_eq!(log.append(b"y").unwrap_err().kind(), ErrorKind::LogClosed);
    assert_eq!(
        log.append_inline([0; 8]).unwrap_err().kind(),
        ErrorKind::LogClosed
    );
    assert_eq!(
        payloads(&tail.next_batch_blocking(10, None).unwrap()),
        [b"x".to_vec()]
    );
    let end = tail.next_batch_blocking(10, None).unwrap_err();
    assert_eq!(end.kind(), ErrorKind::LogClosed);
}

/// The backfill-to-live hand-off under concurrent appends: every sequence
/// number exactly once, in order.
#[test]
fn tail_hand_off_has_no_gap_and_no_duplicate() {
    let log = RedexFile::open_memory("t", RedexFileConfig::default());
    for i in 0..500u32 {
        log.append(&i.to_le_bytes()).unwrap();
    }
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..2000u32 {
                    if i % 10 == 0 {
                        log.append_batch(&[i.to_le_bytes(), i.to_le_bytes()])
                            .unwrap();
                    } else {
                        log.append(&i.to_le_bytes()).unwrap();
                    }
                }
            })
        })
        .collect();
    let mut tail = log.tail(0);
    let total = 500 + 4 * 2200;
    let mut next = 0u64;
    while next < total {
        for e in tail
            .next_batch_blocking(64, Some(Duration::from_secs(10)))
            .unwrap()
        {
            assert_eq!(e.seq, next, "gap or duplicate");
            next += 1;
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(log.next_seq(), total);
}

#[test]
fn retention_by_count_bytes_and_age() {
    let by_count = RedexFile::open_memory(
        "c",
        RedexFileConfig {
            retention: Retention {
                max_events: Some(3),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    for i in 0..5u8 {
        by_count.append(&[i]).unwrap();
    }
    assert_eq!(by_count.sweep_retention().unwrap(), 2);
    assert_eq!(by_count.read_range(0, 100)[0].seq, 2);

    let by_bytes = RedexFile::open_memory(
        "b",
        RedexFileConfig {
            retention: Retention {
                max_bytes: Some(10),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    for _ in 0..4 {
        by_bytes.append(&[0; 4]).unwrap();
    }
    assert_eq!(by_bytes.sweep_retention().unwrap(), 2);
    assert_eq!(by_bytes.len(), 2);

    let by_age = RedexFile::open_memory(
        "a",
        RedexFileConfig {
            retention: Retention {
                max_age_ns: Some(1),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    by_age.append(b"old").unwrap();
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(by_age.sweep_retention().unwrap(), 1);
    assert!(by_age.is_empty());
    assert_eq!(by_age.append(b"new").unwrap(), 1, "sequence keeps counting");
}

#[test]
fn persistent_logs_replay_after_reopen() {
    let dir = temp_dir("replay");
    let redex = Redex::with_persistent_dir(&dir);
    let (log, report) = redex
        .open_file("sensors/temp", RedexFileConfig::default())
        .unwrap();
    assert_eq!(report.unwrap().entries, 0);
    log.append(b"one").unwrap();
    log.append_inline(*b"inline!!").unwrap();
    log.append_batch(&[&b"two"[..], b"three"]).unwrap();
    redex.close().unwrap();

    let redex = Redex::with_persistent_dir(&dir);
    let (log, report) = redex
        .open_file("sensors/temp", RedexFileConfig::default())
        .unwrap();
    let report = report.unwrap();
    assert_eq!((report.entries, report.truncated_records), (4, 0));
    assert!(report.corrupt_seqs.is_empty());
    assert_eq!(
        payloads(&log.read_range(0, 10)),
        [
            b"one".to_vec(),
            b"inline!!".to_vec(),
            b"two".to_vec(),
            b"three".to_vec()
        ]
    );
    assert_eq!(log.append(b"four").unwrap(), 4);
    redex.close().unwrap();
    assert!(Redex::with_persistent_dir(&dir)
        .open_file("../escape", RedexFileConfig::default())
        .is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn retention_on_a_persistent_log_survives_reopen() {
    let dir = temp_dir("retention");
    let config = || RedexFileConfig {
        retention: Retention {
            max_events: Some(2),
            ..Default::default()
        },
        ..Default::default()
    };
    let (log, _) = RedexFile::open_persistent(&dir, "r", config()).unwrap();
    for i in 0..5u8 {
        log.append(&[i]).unwrap();
    }
    assert_eq!(log.sweep_retention().unwrap(), 3);
    log.close().unwrap();

    let (log, report) = RedexFile::open_persistent(&dir, "r", config()).unwrap();
    assert_eq!(report.entries, 2);
    assert_eq!(payloads(&log.read_range(0, 100)), [vec![3], vec![4]]);
    assert_eq!(log.append(&[5]).unwrap(), 5, "sequence keeps counting");
    // Evicting everything still remembers where the log stands.
    let (all, _) = RedexFile::open_persistent(
        &dir,
        "all",
        RedexFileConfig {
            retention: Retention {
                max_events: Some(0),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    all.append(b"gone").unwrap();
    assert_eq!(all.sweep_retention().unwrap(), 1);
    all.close().unwrap();
    let (all, report) =
        RedexFile::open_persistent(&dir, "all", RedexFileConfig::default()).unwrap();
    assert_eq!((report.entries, all.len(), all.next_seq()), (0, 0, 1));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn torn_tail_is_truncated_and_a_flipped_byte_drops_one_entry() {
    let dir = temp_dir("damage");
    let (log, _) = RedexFile::open_persistent(&dir, "c", RedexFileConfig::default()).unwrap();
    for i in 0..10u8 {
        log.append(&[i; 16]).unwrap();
    }
    log.close().unwrap();
    let base = dir.join("c");
    // A torn trailing record: half of a 20-byte write.
    let mut idx = std::fs::read(base.join("idx")).unwrap();
    idx.extend_from_slice(&[0xAB; 10]);
    std::fs::write(base.join("idx"), &idx).unwrap();
    // Bit-rot in the middle of dat: entry 5's payload.
    let mut dat = std::fs::read(base.join("dat")).unwrap();
    dat[5 * 16 + 3] ^= 0xFF;
    std::fs::write(base.join("dat"), &dat).unwrap();

    let (log, report) = RedexFile::open_persistent(&dir, "c", RedexFileConfig::default()).unwrap();
    assert_eq!(report.truncated_records, 1);
    assert_eq!(report.corrupt_seqs, [5]);
    assert_eq!(report.entries, 9);
    let seqs: Vec<u64> = log.read_range(0, 100).iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 6, 7, 8, 9]);
    assert!(log
        .read_range(0, 100)
        .iter()
        .all(|e| e.payload[0] == e.seq as u8));
    assert_eq!(
        log.append(b"after").unwrap(),
        10,
        "the log accepts new appends"
    );
    log.close().unwrap();
    let (log, report) = RedexFile::open_persistent(&dir, "c", RedexFileConfig::default()).unwrap();
    assert_eq!(report.truncated_records, 0);
    assert_eq!(log.read_range(10, 11)[0].payload.as_ref(), b"after");
    log.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn fsync_policies_run_in_the_background() {
    for policy in [
        FsyncPolicy::EveryN(3),
        FsyncPolicy::Interval(Duration::from_millis(5)),
        FsyncPolicy::IntervalOrBytes {
            period: Duration::ZERO,
            max_bytes: 64,
        },
    ] {
        let dir = temp_dir("fsync");
        let config = RedexFileConfig {
            fsync: policy,
            ..Default::default()
        };
        let (log, _) = RedexFile::open_persistent(&dir, "p", config).unwrap();
        for i in 0..50u32 {
            log.append(&i.to_le_bytes()).unwrap();
        }
        log.sync().unwrap();
        log.close().unwrap();
        let (log, report) = RedexFile::open_persistent(&dir, "p", config).unwrap();
        assert_eq!(report.entries, 50, "{policy:?}");
        log.close().unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
}

const CHILD_DIR: &str = "NET_REDEX_CRASH_CHILD_DIR";

/// Child half of the crash test: appends forever, syncing every 7 appends and
/// printing the highest synced sequence after each completed sync.
#[test]
#[ignore = "run by crash_safety_under_sigkill as a child process"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let config = RedexFileConfig {
        fsync: FsyncPolicy::EveryN(5),
        ..Default::default()
    };
    let (log, _) = RedexFile::open_persistent(std::path::Path::new(&dir), "crash", config).unwrap();
    let mut i = 0u64;
    loop {
        let seq = if i.is_multiple_of(3) {
            log.append_batch(&[i.to_le_bytes(), i.to_le_bytes()])
                .unwrap()
                .unwrap()
                + 1
        } else {
            log.append(&i.to_le_bytes()).unwrap()
        };
        if i.is_multiple_of(7) {
            log.sync().unwrap();
            println!("synced {seq}");
        }
        i += 1;
    }
}

/// Kills an appending child with SIGKILL at varying points, many times: after
/// each reopen every entry acknowledged before a completed sync is present,
/// nothing corrupt is served, and the log accepts new appends.
#[test]
fn crash_safety_under_sigkill() {
    let dir = temp_dir("crash");
    let exe = std::env::current_exe().unwrap();
    let mut durable = 0u64;
    for round in 0..12u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "redex::tests::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, &dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let target = 5 + round * 13 % 40;
        let mut seen = 0;
        while seen < target {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(n) = line.strip_prefix("synced ") {
                durable = durable.max(n.trim().parse().unwrap());
                seen += 1;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let (log, report) =
            RedexFile::open_persistent(&dir, "crash", RedexFileConfig::default()).unwrap();
        assert!(report.corrupt_seqs.is_empty(), "round {round}: {report:?}");
        let entries = log.read_range(0, u64::MAX);
        let seqs: HashSet<u64> = entries.iter().map(|e| e.seq).collect();
        assert!(
            (0..=durable).all(|s| seqs.contains(&s)),
            "round {round}: an entry synced before the kill is missing (durable {durable})"
        );
        assert!(entries.iter().all(|e| e.payload.len() == 8));
        let next = log.append(b"survivor").unwrap();
        assert_eq!(next, entries.last().map_or(0, |e| e.seq + 1));
        log.close().unwrap();
        durable = next;
    }
    assert!(
        durable > 12 * 20,
        "the child really appended and synced ({durable})"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_second_handle_on_a_log_directory_is_refused_until_the_first_closes() {
    let dir = temp_dir("lock");
    let first = Redex::with_persistent_dir(&dir);
    let (log, _) = first.open_file("a/b", RedexFileConfig::default()).unwrap();
    log.append(b"one").unwrap();
    // Another manager in this process: refused at once, nothing touched.
    let second = Redex::with_persistent_dir(&dir);
    let err = second
        .open_file("a/b", RedexFileConfig::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LogLocked, "{err}");
    let err = RedexFile::open_persistent(&dir, "a/b", RedexFileConfig::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LogLocked);
    // Another channel under the same directory is its own log.
    assert!(second.open_file("a/c", RedexFileConfig::default()).is_ok());
    // The first handle keeps working and its numbering is its own.
    assert_eq!(log.append(b"two").unwrap(), 1);
    first.close().unwrap();
    let (log, report) = second.open_file("a/b", RedexFileConfig::default()).unwrap();
    assert_eq!(report.unwrap().entries, 2);
    assert_eq!(log.append(b"three").unwrap(), 2);
    drop(log);
    second.close().unwrap();
    // Dropping without close releases the lock too.
    let (log, _) = RedexFile::open_persistent(&dir, "a/b", RedexFileConfig::default()).unwrap();
    drop(log);
    assert!(RedexFile::open_persistent(&dir, "a/b", RedexFileConfig::default()).is_ok());
    std::fs::remove_dir_all(&dir).ok();
}

const LOCK_CHILD_DIR: &str = "NET_REDEX_LOCK_CHILD_DIR";

/// Child half of the cross-process lock test: opens the log, says so, and
/// holds it until killed.
#[test]
#[ignore = "run by the lock of a dead process test as a child process"]
fn lock_child() {
    let Ok(dir) = std::env::var(LOCK_CHILD_DIR) else {
        return;
    };
    let (log, _) = RedexFile::open_persistent(
        std::path::Path::new(&dir),
        "held",
        RedexFileConfig::default(),
    )
    .unwrap();
    log.append(b"from the child").unwrap();
    println!("holding");
    loop {
        std::thread::park();
    }
}

#[test]
fn another_process_holding_a_log_is_refused_and_its_death_releases_the_lock() {
    let dir = temp_dir("lock-process");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "redex::tests::lock_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(LOCK_CHILD_DIR, &dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("holding"))));
    let err = RedexFile::open_persistent(&dir, "held", RedexFileConfig::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LogLocked, "{err}");
    child.kill().unwrap();
    child.wait().unwrap();
    let (log, report) =
        RedexFile::open_persistent(&dir, "held", RedexFileConfig::default()).unwrap();
    assert_eq!(report.entries, 1);
    assert_eq!(log.append(b"after").unwrap(), 1);
    log.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// Overwrites the sequence field of index record `position`.
fn damage_seq(dir: &std::path::Path, name: &str, position: usize, seq: u64) {
    let path = dir.join(name).join("idx");
    let mut idx = std::fs::read(&path).unwrap();
    idx[position * 20..position * 20 + 8].copy_from_slice(&seq.to_le_bytes());
    std::fs::write(&path, &idx).unwrap();
}

#[test]
fn a_record_whose_sequence_is_not_its_position_is_corrupt_and_numbering_holds() {
    let dir = temp_dir("seq");
    let (log, _) = RedexFile::open_persistent(&dir, "s", RedexFileConfig::default()).unwrap();
    for i in 0..4u8 {
        log.append(&[i]).unwrap();
    }
    log.close().unwrap();
    // The last record claims the end of the sequence space, an inner one a repeat.
    damage_seq(&dir, "s", 3, u64::MAX - 1);
    damage_seq(&dir, "s", 1, 0);
    let (log, report) = RedexFile::open_persistent(&dir, "s", RedexFileConfig::default()).unwrap();
    assert_eq!(
        report.corrupt_seqs,
        [1, 3],
        "reported under their positions"
    );
    assert_eq!(report.entries, 2);
    assert_eq!(
        log.next_seq(),
        4,
        "numbering comes from positions, not from a damaged field"
    );
    assert_eq!(log.append(b"next").unwrap(), 4);
    assert_eq!(log.append(b"then").unwrap(), 5);
    let seqs: Vec<u64> = log.read_range(0, u64::MAX).iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [0, 2, 4, 5]);
    log.close().unwrap();
    // The next reopen agrees: the new entries are intact, nothing repeats.
    let (log, report) = RedexFile::open_persistent(&dir, "s", RedexFileConfig::default()).unwrap();
    assert_eq!(report.corrupt_seqs, [1, 3]);
    assert_eq!(log.read_range(4, 6).len(), 2);
    assert_eq!(log.next_seq(), 6);
    log.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn when_recovery_drops_every_entry_numbering_does_not_restart() {
    let dir = temp_dir("all-corrupt");
    let (log, _) = RedexFile::open_persistent(&dir, "z", RedexFileConfig::default()).unwrap();
    for i in 0..3u8 {
        log.append(&[i; 4]).unwrap();
    }
    log.close().unwrap();
    let dat = dir.join("z").join("dat");
    std::fs::write(&dat, [0xEEu8; 12]).unwrap();
    let (log, report) = RedexFile::open_persistent(&dir, "z", RedexFileConfig::default()).unwrap();
    assert_eq!(report.corrupt_seqs, [0, 1, 2]);
    assert_eq!(report.entries, 0);
    assert_eq!(
        log.append(b"new").unwrap(),
        3,
        "seqs 0..3 were handed out before"
    );
    log.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn positions_whose_payload_is_missing_stay_void_and_are_not_reused() {
    let dir = temp_dir("void");
    let (log, _) = RedexFile::open_persistent(&dir, "v", RedexFileConfig::default()).unwrap();
    for i in 0..5u8 {
        log.append(&[i; 8 + 1]).unwrap();
    }
    log.close().unwrap();
    // A power cut kept the index but lost the last two payloads.
    let dat = dir.join("v").join("dat");
    let bytes = std::fs::read(&dat).unwrap();
    std::fs::write(&dat, &bytes[..3 * 9]).unwrap();
    let (log, report) = RedexFile::open_persistent(&dir, "v", RedexFileConfig::default()).unwrap();
    assert_eq!(report.truncated_records, 2);
    assert_eq!(report.entries, 3);
    assert_eq!(log.append(b"after the cut").unwrap(), 5);
    log.close().unwrap();
    let (log, report) = RedexFile::open_persistent(&dir, "v", RedexFileConfig::default()).unwrap();
    assert_eq!(
        (report.truncated_records, report.corrupt_seqs.len()),
        (0, 0),
        "{report:?}"
    );
    let seqs: Vec<u64> = log.read_range(0, u64::MAX).iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 5]);
    assert_eq!(log.read_range(5, 6)[0].payload.as_ref(), b"after the cut");
    log.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_append_at_the_end_of_the_sequence_space_fails_instead_of_wrapping() {
    let log = RedexFile::open_memory("end", RedexFileConfig::default());
    log.start_at_for_test(u64::MAX - 2);
    assert_eq!(log.append(b"a").unwrap(), u64::MAX - 2);
    let err = log.append_batch(&[b"b", b"c"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SequenceExhausted);
    assert_eq!(log.append_inline(*b"12345678").unwrap(), u64::MAX - 1);
    for err in [
        log.append(b"d").unwrap_err(),
        log.append_inline(*b"87654321").unwrap_err(),
        log.append_batch(&[b"e"]).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::SequenceExhausted, "{err}");
    }
    assert_eq!(log.next_seq(), u64::MAX, "nothing wrapped to 0");
    assert_eq!(log.len(), 2);
}

#[test]
fn a_zero_fsync_interval_is_refused_instead_of_spinning() {
    let dir = temp_dir("interval0");
    for fsync in [
        FsyncPolicy::Interval(Duration::ZERO),
        FsyncPolicy::EveryN(0),
    ] {
        let config = RedexFileConfig {
            fsync,
            ..Default::default()
        };
        let err = RedexFile::open_persistent(&dir, "i", config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidLogConfig, "{fsync:?}");
        let err = Redex::with_persistent_dir(&dir)
            .open_file("i", config)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidLogConfig);
    }
    std::fs::remove_dir_all(&dir).ok();
}
