//! One shard: a bounded buffer of events in sequence order, behind one lock.
//!
//! Small payloads are copied into a shared arena chunk so that emitting a 64-byte
//! event costs a copy and a reference-count bump instead of an allocation.
//! Reads are non-destructive; `release` frees events a consumer has acknowledged.

use super::config::Backpressure;
use super::event::Event;
use super::filter::Filter;
use crate::error::{Error, ErrorKind, Result};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;

/// Size of one arena chunk.
const ARENA_CHUNK: usize = 64 * 1024;
/// Payloads above this get their own allocation rather than an arena slot.
const ARENA_MAX_PAYLOAD: usize = 2 * 1024;

/// A payload on its way into a shard.
pub(crate) enum Payload<'a> {
    /// Borrowed bytes, copied into the arena.
    Borrowed(&'a [u8]),
    /// Owned bytes, stored as they are.
    Owned(Bytes),
}

impl Payload<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Payload::Borrowed(b) => b.len(),
            Payload::Owned(b) => b.len(),
        }
    }
}

struct Stored {
    seq: u64,
    timestamp_ns: u64,
    data: Bytes,
}

/// Where a read stopped.
pub(crate) struct ReadEnd {
    /// Next sequence to read from this shard.
    pub next: u64,
    /// Whether events remain at or after `next`.
    pub more: bool,
}

/// The lock-protected state of a shard.
pub(crate) struct ShardState {
    events: VecDeque<Stored>,
    next_seq: u64,
    arena: BytesMut,
    closed: bool,
    pub(crate) ingested: u64,
    pub(crate) dropped: u64,
}

impl ShardState {
    pub(crate) fn new() -> Self {
        ShardState {
            events: VecDeque::new(),
            next_seq: 0,
            arena: BytesMut::new(),
            closed: false,
            ingested: 0,
            dropped: 0,
        }
    }

    pub(crate) fn depth(&self) -> usize {
        self.events.len()
    }

    /// Seals the shard: every later push fails with `bus:shutdown`.
    pub(crate) fn close(&mut self) {
        self.closed = true;
    }

    fn check_open(&self) -> Result<()> {
        if self.closed {
            return Err(Error::new(
                ErrorKind::Shutdown,
                "the bus has been shut down",
            ));
        }
        Ok(())
    }

    fn store(&mut self, payload: Payload<'_>) -> Bytes {
        match payload {
            Payload::Owned(bytes) => bytes,
            Payload::Borrowed(data) if data.len() > ARENA_MAX_PAYLOAD => {
                Bytes::copy_from_slice(data)
            }
            Payload::Borrowed(data) => {
                if self.arena.capacity() < data.len() {
                    self.arena = BytesMut::with_capacity(ARENA_CHUNK);
                }
                self.arena.extend_from_slice(data);
                self.arena.split().freeze()
            }
        }
    }

    /// Appends one event under `policy`; returns its sequence number.
    pub(crate) fn push(
        &mut self,
        payload: Payload<'_>,
        timestamp_ns: u64,
        capacity: usize,
        policy: Backpressure,
    ) -> Result<u64> {
        self.check_open()?;
        if self.events.len() >= capacity && policy == Backpressure::Fail {
            return Err(full_error(capacity));
        }
        Ok(self.push_unchecked(payload, timestamp_ns, capacity, policy))
    }

    /// Appends under `policy` once admission has been decided.
    fn push_unchecked(
        &mut self,
        payload: Payload<'_>,
        timestamp_ns: u64,
        capacity: usize,
        policy: Backpressure,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.ingested += 1;
        if self.events.len() >= capacity {
            if policy == Backpressure::DropNewest {
                self.dropped += 1;
                return seq;
            }
            // More than one when events given back pushed the shard past
            // its capacity.
            while self.events.len() >= capacity {
                self.events.pop_front();
                self.dropped += 1;
            }
        }
        let data = self.store(payload);
        self.events.push_back(Stored {
            seq,
            timestamp_ns,
            data,
        });
        seq
    }

    /// Appends a batch atomically with respect to `fail`: either all fit or none is stored.
    pub(crate) fn push_batch<'a>(
        &mut self,
        payloads: impl ExactSizeIterator<Item = Payload<'a>>,
        timestamp_ns: u64,
        capacity: usize,
        policy: Backpressure,
    ) -> Result<usize> {
        self.check_open()?;
        let n = payloads.len();
        if policy == Backpressure::Fail && self.events.len() + n > capacity {
            return Err(full_error(capacity));
        }
        self.events
            .reserve(n.min(capacity.saturating_sub(self.events.len())));
        for payload in payloads {
            self.push_unchecked(payload, timestamp_ns, capacity, policy);
        }
        Ok(n)
    }

    /// Copies up to `limit - out.len()` matching events at or after `from` into `out`.
    pub(crate) fn read(
        &self,
        shard: u16,
        from: u64,
        limit: usize,
        filter: Option<&Filter>,
        out: &mut Vec<Event>,
    ) -> ReadEnd {
        let start = self.events.partition_point(|e| e.seq < from);
        for stored in self.events.iter().skip(start) {
            if out.len() >= limit {
                return ReadEnd {
                    next: stored.seq,
                    more: true,
                };
            }
            if filter.is_none_or(|f| f.matches_bytes(&stored.data)) {
                out.push(Event {
                    shard,
                    seq: stored.seq,
                    timestamp_ns: stored.timestamp_ns,
                    data: stored.data.clone(),
                });
            }
        }
        ReadEnd {
            next: self.next_seq,
            more: false,
        }
    }

    /// Whether an event at or after `from` is buffered.
    pub(crate) fn has_from(&self, from: u64) -> bool {
        self.events.back().is_some_and(|e| e.seq >= from)
    }

    /// Frees every event before `before` (the consumer acknowledged them).
    pub(crate) fn release(&mut self, before: u64) {
        while self.events.front().is_some_and(|e| e.seq < before) {
            self.events.pop_front();
        }
    }

    /// Checks a cursor position against this shard.
    pub(crate) fn check_position(&self, shard: usize, pos: u64) -> Result<()> {
        if pos > self.next_seq {
            return Err(Error::new(
                ErrorKind::InvalidCursor,
                format!(
                    "cursor is ahead of shard {shard} (position {pos}, next sequence {})",
                    self.next_seq
                ),
            ));
        }
        Ok(())
    }
}

impl ShardState {
    /// Puts events a consumer took but did not deliver back in sequence
    /// order (`events` sorted by sequence, without repeats). Refuses a
    /// sequence this shard never handed out and one that is still buffered.
    /// Returns how many went back and the oldest of them.
    pub(crate) fn restore(&mut self, events: Vec<(u64, u64, Bytes)>) -> (usize, Option<u64>) {
        let (mut restored, mut oldest) = (0, None);
        // Newest first, so the usual case (all older than what is buffered,
        // taken from the front) is one push_front each.
        for (seq, timestamp_ns, data) in events.into_iter().rev() {
            if seq >= self.next_seq {
                continue;
            }
            let at = self.events.partition_point(|e| e.seq < seq);
            if self.events.get(at).is_some_and(|e| e.seq == seq) {
                continue;
            }
            let stored = Stored {
                seq,
                timestamp_ns,
                data,
            };
            if at == 0 {
                self.events.push_front(stored);
            } else {
                self.events.insert(at, stored);
            }
            restored += 1;
            oldest = Some(seq);
        }
        (restored, oldest)
    }
}

fn full_error(capacity: usize) -> Error {
    Error::new(
        ErrorKind::Backpressure,
        format!("shard is full ({capacity} events buffered)"),
    )
}
