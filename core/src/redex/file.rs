//! One RedEX log: an append-only sequence of entries with a gap-free tail.
//!
//! All appends take the file's state lock while they assign sequence numbers and
//! write, so every append is ordered: replaying the same appends gives the same
//! sequence numbers. A batch is validated before anything is assigned, so a
//! failing batch advances nothing.

use super::config::RedexFileConfig;
use super::disk::{DiskLog, Recovery};
use super::record::{Record, INLINE_LEN};
use crate::error::{Error, ErrorKind, Result};
use bytes::{Bytes, BytesMut};
use event_listener::{Event as Notify, Listener};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedexEntry {
    /// Sequence number.
    pub seq: u64,
    /// Append time, nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// The payload.
    pub payload: Bytes,
}

struct Stored {
    record: Record,
    timestamp_ns: u64,
    /// Heap payload (empty for inline records, whose bytes live in the record).
    payload: Bytes,
}

/// Size of one arena chunk that small payloads are copied into.
const ARENA_CHUNK: usize = 64 * 1024;
/// Payloads above this get their own allocation.
const ARENA_MAX_PAYLOAD: usize = 2 * 1024;

struct State {
    entries: VecDeque<Stored>,
    /// Logical size of the payload segment (the `dat` file): record offsets.
    segment_len: u64,
    arena: BytesMut,
    next_seq: u64,
    closed: bool,
    disk: Option<DiskLog>,
}

struct Inner {
    name: String,
    config: RedexFileConfig,
    state: Mutex<State>,
    appended: Notify,
    /// Live tails; appends skip the wake-up when there are none.
    tails: AtomicUsize,
}

/// A log file. Cheap to clone; clones share the log.
#[derive(Clone)]
pub struct RedexFile {
    inner: Arc<Inner>,
}

pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Fails with `redex:sequence_exhausted` unless `count` more entries fit
/// below the end of the sequence space (the next sequence must stay
/// representable), so numbering never wraps around to 0.
fn check_sequence_room(name: &str, next_seq: u64, count: u64) -> Result<()> {
    if next_seq.checked_add(count).is_none() {
        return Err(Error::new(
            ErrorKind::SequenceExhausted,
            format!("log {name:?} has handed out every sequence number (next would be {next_seq} + {count})"),
        ));
    }
    Ok(())
}

fn closed_error(name: &str) -> Error {
    Error::new(ErrorKind::LogClosed, format!("log {name:?} is closed"))
}

impl Stored {
    fn entry(&self) -> RedexEntry {
        RedexEntry {
            seq: self.record.seq,
            timestamp_ns: self.timestamp_ns,
            payload: if self.record.is_inline() {
                Bytes::copy_from_slice(&self.record.inline_payload())
            } else {
                self.payload.clone()
            },
        }
    }
}

impl State {
    fn store(&mut self, data: &[u8]) -> Bytes {
        if data.len() > ARENA_MAX_PAYLOAD {
            return Bytes::copy_from_slice(data);
        }
        if self.arena.capacity() < data.len() {
            self.arena = BytesMut::with_capacity(ARENA_CHUNK);
        }
        self.arena.extend_from_slice(data);
        self.arena.split().freeze()
    }

    fn first_index_at(&self, seq: u64) -> usize {
        self.entries.partition_point(|e| e.record.seq < seq)
    }
}

impl RedexFile {
    /// A log kept in memory only.
    pub fn open_memory(name: &str, config: RedexFileConfig) -> RedexFile {
        RedexFile::from_state(
            name,
            config,
            State {
                entries: VecDeque::new(),
                segment_len: 0,
                arena: BytesMut::new(),
                next_seq: 0,
                closed: false,
                disk: None,
            },
        )
    }

    /// Opens (or creates) a persistent log under `dir`, replaying its files.
    /// The report lists what recovery truncated or dropped.
    pub fn open_persistent(
        dir: &Path,
        name: &str,
        config: RedexFileConfig,
    ) -> Result<(RedexFile, Recovery)> {
        config.validate()?;
        let (disk, recovered) = DiskLog::open(dir, name, config.fsync)?;
        let next_seq = recovered.next_seq;
        let first_retained = recovered.first_retained;
        let segment = Bytes::from(recovered.segment);
        let entries = recovered
            .records
            .into_iter()
            .filter(|(record, _)| record.seq >= first_retained)
            .map(|(record, timestamp_ns)| {
                let start = record.offset as usize;
                let payload = if record.is_inline() {
                    Bytes::new()
                } else {
                    // Recovery checked every heap record lies inside `dat`.
                    segment.slice(start..start + record.len as usize)
                };
                Stored {
                    record,
                    timestamp_ns,
                    payload,
                }
            })
            .collect();
        let file = RedexFile::from_state(
            name,
            config,
            State {
                entries,
                segment_len: segment.len() as u64,
                arena: BytesMut::new(),
                next_seq,
                closed: false,
                disk: Some(disk),
            },
        );
        Ok((file, recovered.report))
    }

    fn from_state(name: &str, config: RedexFileConfig, state: State) -> RedexFile {
        RedexFile {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                config,
                state: Mutex::new(state),
                appended: Notify::new(),
                tails: AtomicUsize::new(0),
            }),
        }
    }

    /// The log's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The sequence the next append will get.
    pub fn next_seq(&self) -> u64 {
        self.inner.state.lock().next_seq
    }

    /// Moves an empty in-memory log's numbering to `next` (tests of the end
    /// of the sequence space).
    #[cfg(test)]
    pub(crate) fn start_at_for_test(&self, next: u64) {
        self.inner.state.lock().next_seq = next;
    }

    /// Entries currently retained.
    pub fn len(&self) -> usize {
        self.inner.state.lock().entries.len()
    }

    /// Whether no entry is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_payload(&self, payload: &[u8]) -> Result<()> {
        let max = self.inner.config.max_payload;
        if payload.len() > max {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!("payload is {} bytes, the limit is {max}", payload.len()),
            ));
        }
        Ok(())
    }

    /// Appends one payload; returns its sequence number.
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        self.check_payload(payload)?;
        let timestamp_ns = now_ns();
        let mut state = self.inner.state.lock();
        let (first, base) = self.reserve(&state, 1, payload.len() as u64)?;
        // One record on the stack: the single-append path allocates nothing
        // beyond the payload's place in the arena.
        let record = Record::heap(first, base as u32, payload)?;
        self.commit(&mut state, &[payload], &[record], timestamp_ns)?;
        drop(state);
        self.wake();
        Ok(first)
    }

    /// Checks that the log is open, that `count` more sequence numbers and
    /// `total` more payload bytes fit; returns the next sequence and the
    /// segment offset they would start at.
    fn reserve(&self, state: &State, count: u64, total: u64) -> Result<(u64, u64)> {
        if state.closed {
            return Err(closed_error(&self.inner.name));
        }
        check_sequence_room(&self.inner.name, state.next_seq, count)?;
        let base = state.segment_len;
        if base.saturating_add(total) > u64::from(u32::MAX) {
            return Err(Error::new(
                ErrorKind::SegmentFull,
                "the payload segment is full (4 GiB)",
            ));
        }
        Ok((state.next_seq, base))
    }

    /// Writes prepared heap records to disk (if persistent), then to memory.
    /// Nothing in memory changes unless the disk write succeeded.
    fn commit(
        &self,
        state: &mut State,
        payloads: &[&[u8]],
        records: &[Record],
        timestamp_ns: u64,
    ) -> Result<()> {
        if let Some(disk) = state.disk.as_mut() {
            disk.append(payloads, records, timestamp_ns)?;
        }
        let mut total = 0;
        for (record, p) in records.iter().zip(payloads) {
            let payload = state.store(p);
            state.entries.push_back(Stored {
                record: *record,
                timestamp_ns,
                payload,
            });
            total += p.len() as u64;
        }
        state.segment_len += total;
        state.next_seq += records.len() as u64;
        Ok(())
    }

    /// Appends an 8-byte payload inline in its index record (no segment bytes).
    pub fn append_inline(&self, payload: [u8; INLINE_LEN]) -> Result<u64> {
        let timestamp_ns = now_ns();
        let mut state = self.inner.state.lock();
        if state.closed {
            return Err(closed_error(&self.inner.name));
        }
        check_sequence_room(&self.inner.name, state.next_seq, 1)?;
        let seq = state.next_seq;
        let record = Record::inline(seq, payload);
        if let Some(disk) = state.disk.as_mut() {
            disk.append(&[], &[record], timestamp_ns)?;
        }
        state.entries.push_back(Stored {
            record,
            timestamp_ns,
            payload: Bytes::new(),
        });
        state.next_seq += 1;
        drop(state);
        self.wake();
        Ok(seq)
    }

    /// Appends a batch as one contiguous sequence range. Returns the first
    /// sequence, or `None` for an empty batch (so "nothing appended" is never
    /// confused with "the first entry landed at 0"). A failing batch appends
    /// nothing and advances nothing.
    pub fn append_batch<B: AsRef<[u8]>>(&self, payloads: &[B]) -> Result<Option<u64>> {
        for p in payloads {
            self.check_payload(p.as_ref())?;
        }
        let slices: Vec<&[u8]> = payloads.iter().map(AsRef::as_ref).collect();
        self.append_many(&slices)
    }

    fn append_many(&self, payloads: &[&[u8]]) -> Result<Option<u64>> {
        if payloads.is_empty() {
            return Ok(None);
        }
        let timestamp_ns = now_ns();
        let total: u64 = payloads.iter().map(|p| p.len() as u64).sum();
        let mut state = self.inner.state.lock();
        let (first, base) = self.reserve(&state, payloads.len() as u64, total)?;
        let mut records = Vec::with_capacity(payloads.len());
        let mut offset = base;
        for (i, p) in payloads.iter().enumerate() {
            records.push(Record::heap(first + i as u64, offset as u32, p)?);
            offset += p.len() as u64;
        }
        self.commit(&mut state, payloads, &records, timestamp_ns)?;
        drop(state);
        self.wake();
        Ok(Some(first))
    }

    /// Wakes every tail waiting on this log (they re-check their stop
    /// condition; see [`Tail::next_batch_until`]).
    pub fn interrupt_tails(&self) {
        self.inner.appended.notify(usize::MAX);
    }

    fn wake(&self) {
        if self.inner.tails.load(Ordering::SeqCst) > 0 {
            self.inner.appended.notify(usize::MAX);
        }
    }

    /// Entries with `from <= seq < to`, in order (evicted ones are skipped).
    pub fn read_range(&self, from: u64, to: u64) -> Vec<RedexEntry> {
        let state = self.inner.state.lock();
        let start = state.first_index_at(from);
        state
            .entries
            .iter()
            .skip(start)
            .take_while(|e| e.record.seq < to)
            .map(Stored::entry)
            .collect()
    }

    /// A live reader from `from_seq`: every retained entry at or after it, then
    /// each new entry, with no gap and no duplicate at the hand-off.
    pub fn tail(&self, from_seq: u64) -> Tail {
        self.inner.tails.fetch_add(1, Ordering::SeqCst);
        Tail {
            file: self.clone(),
            next: from_seq,
        }
    }

    /// Applies the retention policy now; returns how many entries were evicted.
    /// Evicted payloads are freed from memory, and a persistent log records
    /// the first sequence it kept so a reopen does not bring evicted entries
    /// back. The files themselves are not compacted in this version.
    pub fn sweep_retention(&self) -> Result<usize> {
        let retention = self.inner.config.retention;
        let now = now_ns();
        let mut state = self.inner.state.lock();
        let mut bytes: u64 = state
            .entries
            .iter()
            .map(|e| e.record.heap_len() as u64)
            .sum();
        let mut evicted = 0;
        while let Some(front) = state.entries.front() {
            let count = state.entries.len() as u64;
            let over_count = retention.max_events.is_some_and(|m| count > m);
            let over_bytes = retention.max_bytes.is_some_and(|m| bytes > m);
            let too_old = retention
                .max_age_ns
                .is_some_and(|age| now.saturating_sub(front.timestamp_ns) > age);
            if !(over_count || over_bytes || too_old) {
                break;
            }
            bytes -= front.record.heap_len() as u64;
            state.entries.pop_front();
            evicted += 1;
        }
        if evicted > 0 {
            let first_retained = state
                .entries
                .front()
                .map_or(state.next_seq, |e| e.record.seq);
            if let Some(disk) = state.disk.as_ref() {
                disk.write_head(first_retained)?;
            }
        }
        Ok(evicted)
    }

    /// Durability barrier: payload, then index, then timestamps reach the disk.
    /// A no-op for an in-memory log.
    pub fn sync(&self) -> Result<()> {
        let mut state = self.inner.state.lock();
        if state.closed {
            return Err(closed_error(&self.inner.name));
        }
        match state.disk.as_mut() {
            Some(disk) => disk.sync(),
            None => Ok(()),
        }
    }

    /// Closes the log (idempotent): syncs a persistent log, ends tails, and
    /// makes later appends fail with `redex:closed`.
    pub fn close(&self) -> Result<()> {
        let mut state = self.inner.state.lock();
        if state.closed {
            return Ok(());
        }
        state.closed = true;
        let result = match state.disk.take() {
            Some(disk) => disk.close(),
            None => Ok(()),
        };
        drop(state);
        self.inner.appended.notify(usize::MAX);
        result
    }
}

impl std::fmt::Debug for RedexFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedexFile")
            .field("name", &self.inner.name)
            .finish()
    }
}

/// A live reader of a log (see [`RedexFile::tail`]).
pub struct Tail {
    file: RedexFile,
    next: u64,
}

/// What one read of a tail found.
enum Step {
    Entries(Vec<RedexEntry>),
    Empty,
    Closed,
}

impl Tail {
    fn step(&mut self, max: usize) -> Step {
        let state = self.file.inner.state.lock();
        let start = state.first_index_at(self.next);
        let out: Vec<RedexEntry> = state
            .entries
            .iter()
            .skip(start)
            .take(max.max(1))
            .map(Stored::entry)
            .collect();
        if let Some(last) = out.last() {
            self.next = last.seq + 1;
            return Step::Entries(out);
        }
        if state.closed {
            Step::Closed
        } else {
            Step::Empty
        }
    }

    /// The next sequence this tail will read (everything before it was returned).
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Waits up to `timeout` (forever if `None`) for up to `max` entries.
    /// `Ok(empty)` on timeout; `Err(redex:closed)` once the log is closed and
    /// everything before the close was read.
    pub fn next_batch_blocking(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Vec<RedexEntry>> {
        self.next_batch_until(max, timeout, || false)
    }

    /// Like [`next_batch_blocking`](Self::next_batch_blocking), but also
    /// returns `Ok(empty)` as soon as `stop()` is true. `stop` is checked
    /// after the wait has registered, so a stop signalled with
    /// [`RedexFile::interrupt_tails`] is never missed: no polling tick needed.
    pub fn next_batch_until(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
        stop: impl Fn() -> bool,
    ) -> Result<Vec<RedexEntry>> {
        let deadline = crate::time::Deadline::after(timeout).instant();
        loop {
            let listener = self.file.inner.appended.listen();
            if stop() {
                return Ok(Vec::new());
            }
            match self.step(max) {
                Step::Entries(e) => return Ok(e),
                Step::Closed => return Err(closed_error(&self.file.inner.name)),
                Step::Empty => {}
            }
            match deadline {
                Some(d) => {
                    if listener.wait_deadline(d).is_none() {
                        return Ok(Vec::new());
                    }
                }
                None => listener.wait(),
            }
        }
    }

    /// Waits asynchronously for up to `max` entries; `Err(redex:closed)` at the end.
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<RedexEntry>> {
        loop {
            let listener = self.file.inner.appended.listen();
            match self.step(max) {
                Step::Entries(e) => return Ok(e),
                Step::Closed => return Err(closed_error(&self.file.inner.name)),
                Step::Empty => listener.await,
            }
        }
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.file.inner.tails.fetch_sub(1, Ordering::SeqCst);
    }
}
