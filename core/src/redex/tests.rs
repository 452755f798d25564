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
        let seq = if i % 3 == 0 {
            log.append_batch(&[i.to_le_bytes(), i.to_le_bytes()])
                .unwrap()
                .unwrap()
                + 1
        } else {
            log.append(&i.to_le_bytes()).unwrap()
        };
        if i % 7 == 0 {
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
