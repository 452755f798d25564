//! Raw RedEX logs for Node: a manager, logs, live tails (waits on the libuv
//! pool) and the record / event-meta codecs. 64-bit codec fields are BigInts.

use crate::{args, spawn, to_js, Engine, EngineTask, Result};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use net::facade::redex::{self as facade, LogHandle, RedexEntry, RedexHandle, TailHandle};
use net::facade::wait::Waited;
use std::sync::Arc;
use std::time::Duration;

/// One entry as read back.
#[napi(object)]
pub struct NativeEntry {
    pub seq: BigInt,
    pub timestamp_ns: BigInt,
    pub payload: Buffer,
}

fn entries_to_js(entries: Vec<RedexEntry>) -> Vec<NativeEntry> {
    entries
        .into_iter()
        .map(|e| NativeEntry {
            seq: BigInt::from(e.seq),
            timestamp_ns: BigInt::from(e.timestamp_ns),
            payload: Buffer::from(e.payload.to_vec()),
        })
        .collect()
}

fn seq_arg(seq: BigInt, what: &str) -> Result<u64> {
    args::u64_of(seq, net::ErrorKind::InvalidLogArgument, what)
}

/// A RedEX manager (`{"dir": ...}` or in memory).
#[napi]
pub struct Redex {
    inner: RedexHandle,
}

#[napi]
impl Redex {
    #[napi(constructor)]
    pub fn new(options_json: Option<String>) -> Result<Self> {
        Ok(Redex {
            inner: RedexHandle::open(options_json.as_deref().unwrap_or("")).map_err(to_js)?,
        })
    }

    /// Opens (or returns the already open) log for `channel`.
    #[napi]
    pub fn open_log(&self, channel: String, config_json: String) -> Result<Log> {
        Ok(Log {
            inner: Arc::new(
                self.inner
                    .open_file(&channel, &config_json)
                    .map_err(to_js)?,
            ),
        })
    }

    /// Closes every log (each syncs first).
    #[napi]
    pub fn close(&self) -> Result<()> {
        self.inner.close().map_err(to_js)
    }
}

/// One open log.
#[napi]
pub struct Log {
    inner: Arc<LogHandle>,
}

#[napi]
impl Log {
    /// Appends one entry; returns its sequence.
    #[napi]
    pub fn append(&self, payload: Buffer) -> Result<BigInt> {
        self.inner.append(&payload).map(BigInt::from).map_err(to_js)
    }

    /// Appends an atomic batch; returns the first sequence, null if empty.
    #[napi]
    pub fn append_batch(&self, payloads: Vec<Buffer>) -> Result<Option<BigInt>> {
        let total = payloads.iter().map(|p| p.len()).sum();
        let mut data = Vec::with_capacity(total);
        let mut lens = Vec::with_capacity(payloads.len());
        for p in &payloads {
            data.extend_from_slice(p);
            lens.push(p.len());
        }
        self.inner
            .append_packed(&data, &lens)
            .map(|first| first.map(BigInt::from))
            .map_err(to_js)
    }

    /// Retained entries with `start <= seq < end` (`end` absent: to the last).
    #[napi]
    pub fn read_range(&self, start: BigInt, end: Option<BigInt>) -> Result<Vec<NativeEntry>> {
        let start = seq_arg(start, "start")?;
        let end = match end {
            Some(end) => seq_arg(end, "end")?,
            None => u64::MAX,
        };
        Ok(entries_to_js(self.inner.read_range(start, end)))
    }

    /// A live reader from `from_seq`.
    #[napi]
    pub fn tail(&self, from_seq: BigInt) -> Result<LogTail> {
        Ok(LogTail {
            inner: Arc::new(self.inner.tail(seq_arg(from_seq, "fromSeq")?)),
        })
    }

    /// The sequence the next append will get.
    #[napi]
    pub fn next_seq(&self) -> BigInt {
        BigInt::from(self.inner.next_seq())
    }

    /// Entries currently retained.
    #[napi]
    pub fn retained(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }

    /// Applies retention now; returns how many entries were evicted.
    #[napi]
    pub fn sweep_retention(&self) -> Result<u32> {
        let evicted = self.inner.sweep_retention().map_err(to_js)?;
        Ok(u32::try_from(evicted).unwrap_or(u32::MAX))
    }

    /// Durability barrier.
    #[napi]
    pub fn sync(&self) -> Result<()> {
        self.inner.sync().map_err(to_js)
    }

    /// Closes the log (idempotent).
    #[napi]
    pub fn close(&self) -> Result<()> {
        self.inner.close().map_err(to_js)
    }

    /// What reopening found, as JSON.
    #[napi]
    pub fn recovery_json(&self) -> String {
        self.inner.recovery_json()
    }
}

/// A live tail.
#[napi]
pub struct LogTail {
    inner: Arc<TailHandle>,
}

/// One slice of a tail wait on the libuv pool.
pub struct TailTask {
    tail: Arc<TailHandle>,
    max: usize,
    slice: Duration,
    cancel: Option<net::cancel::CancelToken>,
}

impl EngineTask for TailTask {
    type Output = Option<Vec<RedexEntry>>;
    type JsValue = Option<Vec<NativeEntry>>;

    fn run(&mut self) -> net::Result<Self::Output> {
        let cancel = self.cancel.as_ref();
        match self
            .tail
            .next_cancellable(self.max, Some(self.slice), cancel, || Ok(()))?
        {
            Waited::Ready(entries) => Ok(Some(entries)),
            Waited::Timeout => Ok(Some(Vec::new())),
            Waited::Done => Ok(None),
        }
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output.map(entries_to_js))
    }
}

#[napi]
impl LogTail {
    /// Resolves with up to `max` entries (empty once `remainingMs`, negative
    /// for no limit, or one wait slice has passed), or null once the tail or
    /// the log is closed.
    #[napi(ts_return_type = "Promise<NativeEntry[] | null>")]
    pub fn next(
        &self,
        max: f64,
        remaining_ms: f64,
        cancel: Option<&crate::CancelToken>,
    ) -> Result<AsyncTask<Engine<TailTask>>> {
        let max = args::whole(max, net::ErrorKind::InvalidLogArgument, "max")?;
        let (slice, _) = args::slice_of(remaining_ms)?;
        Ok(spawn(TailTask {
            tail: Arc::clone(&self.inner),
            max,
            slice,
            cancel: crate::token_of(cancel),
        }))
    }

    /// The next sequence this tail will return (a snapshot: never waits).
    #[napi]
    pub fn position(&self) -> BigInt {
        BigInt::from(self.inner.position())
    }

    /// Ends the tail; a pending wait resolves null within ~100 ms.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

/// A decoded index record.
#[napi(object)]
pub struct NativeRecord {
    pub seq: BigInt,
    pub offset: u32,
    pub len: u32,
    pub flags_checksum: u32,
    pub inline: bool,
    pub inline_payload: Buffer,
}

/// A decoded event meta.
#[napi(object)]
pub struct NativeEventMeta {
    pub dispatch: u32,
    pub flags: u32,
    pub origin_hash: u32,
    pub seq_or_ts: BigInt,
    pub checksum: u32,
}

/// Encodes a heap index record (20 bytes).
#[napi]
pub fn record_heap(seq: BigInt, offset: u32, payload: Buffer) -> Result<Buffer> {
    let bytes = facade::record_heap(seq_arg(seq, "seq")?, offset, &payload).map_err(to_js)?;
    Ok(Buffer::from(bytes.to_vec()))
}

/// Encodes an inline index record carrying exactly 8 payload bytes.
#[napi]
pub fn record_inline(seq: BigInt, payload: Buffer) -> Result<Buffer> {
    let bytes = facade::record_inline(seq_arg(seq, "seq")?, &payload).map_err(to_js)?;
    Ok(Buffer::from(bytes.to_vec()))
}

/// Decodes a 20-byte index record.
#[napi]
pub fn record_decode(data: Buffer) -> Result<NativeRecord> {
    let r = facade::record_decode(&data).map_err(to_js)?;
    Ok(NativeRecord {
        seq: BigInt::from(r.seq),
        offset: r.offset,
        len: r.len,
        flags_checksum: r.flags_checksum,
        inline: r.inline,
        inline_payload: Buffer::from(r.inline_payload.to_vec()),
    })
}

/// Frames a CortEX payload behind its 20-byte event meta.
#[napi]
pub fn event_frame(
    dispatch: u32,
    origin_hash: u32,
    seq_or_ts: BigInt,
    payload: Buffer,
) -> Result<Buffer> {
    let dispatch = u8::try_from(dispatch).map_err(|_| {
        to_js(net::Error::new(
            net::ErrorKind::InvalidLogArgument,
            "dispatch must fit in a byte",
        ))
    })?;
    let seq_or_ts = seq_arg(seq_or_ts, "seqOrTs")?;
    Ok(Buffer::from(facade::event_frame(
        dispatch,
        origin_hash,
        seq_or_ts,
        &payload,
    )))
}

/// Decodes a framed entry's meta, checking the checksum (the payload follows byte 20).
#[napi]
pub fn event_unframe(data: Buffer) -> Result<NativeEventMeta> {
    let m = facade::event_unframe(&data).map_err(to_js)?;
    Ok(NativeEventMeta {
        dispatch: u32::from(m.dispatch),
        flags: u32::from(m.flags),
        origin_hash: m.origin_hash,
        seq_or_ts: BigInt::from(m.seq_or_ts),
        checksum: m.checksum,
    })
}
