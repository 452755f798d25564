//! Raw RedEX logs for the bindings: a manager (in memory or under a directory),
//! logs opened by channel name with a JSON configuration, appends as bytes,
//! reads and live tails as entries, and the record / event-meta codecs.
//!
//! Log configuration (JSON object, every key optional):
//! `{"max_events": N, "max_bytes": N, "max_age_ms": N, "max_payload": N,
//!   "fsync": {"every_n": N} | {"interval_ms": N} | {"interval_ms": N, "max_bytes": N}}`
//! (no `fsync` key: only `sync()` and `close()` fsync).

use super::wait::{CloseFlag, Slice, Waited};
use net_core::cortex::EventMeta;
use net_core::redex::record::Record;
use net_core::redex::{
    FsyncPolicy, Recovery, Redex, RedexFile, RedexFileConfig, Retention, Tail, DEFAULT_MAX_PAYLOAD,
};

pub use net_core::redex::RedexEntry;
use net_core::{Error, ErrorKind, Result};
use parking_lot::Mutex;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

fn bad(detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidLogArgument, detail.to_string())
}

fn bad_config(detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidLogConfig, detail.to_string())
}

fn parse<T: for<'de> Deserialize<'de> + Default>(json: &str) -> Result<T> {
    if json.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(json).map_err(bad_config)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManagerOptions {
    /// Persist logs under this directory (default: in memory).
    dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FsyncOptions {
    every_n: Option<u64>,
    interval_ms: Option<u64>,
    max_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogOptions {
    max_events: Option<u64>,
    max_bytes: Option<u64>,
    max_age_ms: Option<u64>,
    max_payload: Option<usize>,
    fsync: Option<FsyncOptions>,
}

fn fsync_policy(f: Option<FsyncOptions>) -> Result<FsyncPolicy> {
    let Some(f) = f else {
        return Ok(FsyncPolicy::Never);
    };
    Ok(match (f.every_n, f.interval_ms, f.max_bytes) {
        (None, None, None) => FsyncPolicy::Never,
        (Some(0), None, None) => return Err(bad_config("fsync.every_n must be at least 1")),
        (Some(n), None, None) => FsyncPolicy::EveryN(n),
        (None, Some(ms), None) => FsyncPolicy::Interval(Duration::from_millis(ms)),
        (None, period, Some(bytes)) => FsyncPolicy::IntervalOrBytes {
            period: Duration::from_millis(period.unwrap_or(0)),
            max_bytes: bytes,
        },
        _ => {
            return Err(bad_config(
                "fsync takes either every_n, or interval_ms and/or max_bytes",
            ))
        }
    })
}

/// Parses a log configuration (see the module docs).
pub fn log_config(config_json: &str) -> Result<RedexFileConfig> {
    let o: LogOptions = parse(config_json)?;
    let max_payload = o.max_payload.unwrap_or(DEFAULT_MAX_PAYLOAD);
    if max_payload == 0 {
        return Err(bad_config("max_payload must be at least 1"));
    }
    let config = RedexFileConfig {
        retention: Retention {
            max_events: o.max_events,
            max_bytes: o.max_bytes,
            max_age_ns: o.max_age_ms.map(|ms| ms.saturating_mul(1_000_000)),
        },
        fsync: fsync_policy(o.fsync)?,
        max_payload,
    };
    config.validate()?;
    Ok(config)
}

/// A RedEX manager.
#[derive(Debug)]
pub struct RedexHandle {
    redex: Redex,
}

impl RedexHandle {
    /// Opens a manager from JSON options (`{"dir": "..."}`; empty: in memory).
    pub fn open(options_json: &str) -> Result<RedexHandle> {
        let o: ManagerOptions = parse(options_json)?;
        Ok(RedexHandle {
            redex: match o.dir {
                Some(dir) => Redex::with_persistent_dir(dir),
                None => Redex::new(),
            },
        })
    }

    /// Opens (or returns the already open) log for `channel`.
    pub fn open_file(&self, channel: &str, config_json: &str) -> Result<LogHandle> {
        let (file, recovery) = self.redex.open_file(channel, log_config(config_json)?)?;
        Ok(LogHandle {
            file,
            recovery: recovery.unwrap_or_default(),
        })
    }

    /// Closes every log of this manager (each syncs first).
    pub fn close(&self) -> Result<()> {
        self.redex.close()
    }
}

/// One open log.
#[derive(Debug)]
pub struct LogHandle {
    file: RedexFile,
    recovery: Recovery,
}

impl LogHandle {
    /// Appends one entry; returns its sequence.
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        self.file.append(payload)
    }

    /// Appends entries packed back to back in `data` (entry `i` is `lens[i]`
    /// bytes) as one atomic batch; returns the first sequence, `None` if empty.
    pub fn append_packed(&self, data: &[u8], lens: &[usize]) -> Result<Option<u64>> {
        let mut payloads = Vec::with_capacity(lens.len());
        let mut at = 0usize;
        for &len in lens {
            let end = at
                .checked_add(len)
                .filter(|&end| end <= data.len())
                .ok_or_else(|| bad("lengths add up to more than the data"))?;
            payloads.push(&data[at..end]);
            at = end;
        }
        if at != data.len() {
            return Err(bad("lengths add up to less than the data"));
        }
        self.file.append_batch(&payloads)
    }

    /// Entries with `from <= seq < to`.
    pub fn read_range(&self, from: u64, to: u64) -> Vec<RedexEntry> {
        self.file.read_range(from, to)
    }

    /// A live reader from `from_seq` (backfill, then new entries).
    pub fn tail(&self, from_seq: u64) -> TailHandle {
        TailHandle {
            tail: Mutex::new(self.file.tail(from_seq)),
            file: self.file.clone(),
            position: AtomicU64::new(from_seq),
            closed: CloseFlag::default(),
        }
    }

    /// The sequence the next append will get.
    pub fn next_seq(&self) -> u64 {
        self.file.next_seq()
    }

    /// Entries currently retained.
    pub fn len(&self) -> usize {
        self.file.len()
    }

    /// True when no entry is retained.
    pub fn is_empty(&self) -> bool {
        self.file.is_empty()
    }

    /// Applies retention now; returns how many entries were evicted.
    pub fn sweep_retention(&self) -> Result<usize> {
        self.file.sweep_retention()
    }

    /// Durability barrier.
    pub fn sync(&self) -> Result<()> {
        self.file.sync()
    }

    /// Closes the log (idempotent; ends its tails once they are drained).
    pub fn close(&self) -> Result<()> {
        self.file.close()
    }

    /// What reopening found, as JSON:
    /// `{"entries", "truncated_records", "corrupt_seqs": [..], "missing_timestamps"}`
    /// (all zero for an in-memory log or a log that was already open).
    pub fn recovery_json(&self) -> String {
        let r = &self.recovery;
        serde_json::json!({
            "entries": r.entries,
            "truncated_records": r.truncated_records,
            "corrupt_seqs": r.corrupt_seqs.iter().map(u64::to_string).collect::<Vec<_>>(),
            "missing_timestamps": r.missing_timestamps,
        })
        .to_string()
    }
}

/// A live tail that can be closed from any thread while another waits on it.
/// Its lock is held only while one slice of a wait sleeps (never while the
/// binding's `interrupted` check runs); `position` reads a snapshot.
pub struct TailHandle {
    tail: Mutex<Tail>,
    /// The tail's log, to wake the tail's wait when a cancel token fires.
    file: RedexFile,
    position: AtomicU64,
    closed: CloseFlag,
}

/// What a wait on a tail produced: entries, a timeout, or the end (tail closed,
/// or the log closed and everything before the close was read).
pub type TailNext = Waited<Vec<RedexEntry>>;

impl TailHandle {
    /// Waits up to `timeout` (forever if `None`) for up to `max` entries.
    pub fn next(
        &self,
        max: usize,
        timeout: Option<Duration>,
        interrupted: impl FnMut() -> Result<()>,
    ) -> Result<TailNext> {
        self.next_cancellable(max, timeout, None, interrupted)
    }

    /// [`next`](Self::next) that fails with `call:cancelled` as soon as
    /// `cancel` is cancelled (nothing is taken then).
    pub fn next_cancellable(
        &self,
        max: usize,
        timeout: Option<Duration>,
        cancel: Option<&net_core::cancel::CancelToken>,
        interrupted: impl FnMut() -> Result<()>,
    ) -> Result<TailNext> {
        let file = self.file.clone();
        let _wake = cancel.map(|c| c.on_cancel(move || file.interrupt_tails()));
        self.closed.wait(timeout, interrupted, |slice| {
            if let Some(cancel) = cancel {
                cancel.check()?;
            }
            let mut tail = self.tail.lock();
            let batch = match cancel {
                Some(cancel) => tail.next_batch_until(max, Some(slice), || cancel.is_cancelled()),
                None => tail.next_batch_blocking(max, Some(slice)),
            };
            // Woken by the cancel with nothing read: nothing was taken.
            if let (Some(cancel), Ok(entries)) = (cancel, &batch) {
                if entries.is_empty() {
                    cancel.check()?;
                }
            }
            self.position.store(tail.position(), Ordering::Release);
            match batch {
                Ok(entries) if entries.is_empty() => Ok(Slice::Empty),
                Ok(entries) => Ok(Slice::Ready(entries)),
                Err(e) if e.kind() == ErrorKind::LogClosed => Ok(Slice::Ended),
                Err(e) => Err(e),
            }
        })
    }

    /// The next sequence this tail will return.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Acquire)
    }

    /// Ends the tail; a waiter returns `Done` within one wait slice.
    pub fn close(&self) {
        self.closed.close();
    }
}

/// Bytes per entry header in [`pack_entries`]: seq u64, timestamp u64, length u32.
pub const PACKED_ENTRY_HEADER: usize = 20;

/// Packs entries for C callers: for each, `seq u64 | timestamp_ns u64 |
/// len u32 | payload`, little-endian, back to back.
pub fn pack_entries(entries: &[RedexEntry]) -> Result<Vec<u8>> {
    let total: usize = entries
        .iter()
        .map(|e| PACKED_ENTRY_HEADER + e.payload.len())
        .sum();
    let mut out = Vec::with_capacity(total);
    for e in entries {
        let len = u32::try_from(e.payload.len())
            .map_err(|_| Error::new(ErrorKind::PayloadTooLarge, "entry larger than 4 GiB"))?;
        out.extend_from_slice(&e.seq.to_le_bytes());
        out.extend_from_slice(&e.timestamp_ns.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&e.payload);
    }
    Ok(out)
}

/// A 20-byte index record's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordFields {
    /// Sequence number.
    pub seq: u64,
    /// Heap: offset into the payload segment. Inline: payload bytes 0..4.
    pub offset: u32,
    /// Heap: payload length. Inline: payload bytes 4..8.
    pub len: u32,
    /// Flags (bit 31 = inline) and the 28-bit payload checksum.
    pub flags_checksum: u32,
    /// Whether the payload is inline.
    pub inline: bool,
    /// The inline payload (zero for heap records).
    pub inline_payload: [u8; 8],
}

impl From<Record> for RecordFields {
    fn from(r: Record) -> Self {
        let b = r.encode();
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        RecordFields {
            seq: r.seq,
            offset: word(8),
            len: word(12),
            flags_checksum: word(16),
            inline: r.is_inline(),
            inline_payload: if r.is_inline() {
                r.inline_payload()
            } else {
                [0; 8]
            },
        }
    }
}

/// Encodes a heap record for a payload stored at `offset`.
pub fn record_heap(seq: u64, offset: u32, payload: &[u8]) -> Result<[u8; 20]> {
    Ok(Record::heap(seq, offset, payload)?.encode())
}

/// Encodes an inline record carrying exactly 8 payload bytes.
pub fn record_inline(seq: u64, payload: &[u8]) -> Result<[u8; 20]> {
    let payload: [u8; 8] = payload
        .try_into()
        .map_err(|_| bad("an inline record carries exactly 8 payload bytes"))?;
    Ok(Record::inline(seq, payload).encode())
}

/// Decodes a 20-byte index record.
pub fn record_decode(bytes: &[u8]) -> Result<RecordFields> {
    Record::decode(bytes).map(RecordFields::from)
}

/// Frames a CortEX payload: the 20-byte event meta (checksum computed), then the payload.
pub fn event_frame(dispatch: u8, origin_hash: u32, seq_or_ts: u64, payload: &[u8]) -> Vec<u8> {
    EventMeta::for_payload(dispatch, origin_hash, seq_or_ts, payload).frame(payload)
}

/// Splits a framed CortEX entry, checking the checksum; the payload starts at
/// byte 20 of `entry`.
pub fn event_unframe(entry: &[u8]) -> Result<EventMeta> {
    EventMeta::unframe(entry).map(|(meta, _)| meta)
}
