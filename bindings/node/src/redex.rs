//! Raw RedEX logs for Node: a manager, logs, live tails (waits on the libuv
//! pool) and the record / event-meta codecs. 64-bit codec fields are BigInts.

use crate::to_js;
use napi::bindgen_prelude::*;
use napi::{Env, Task};
use napi_derive::napi;
use net::facade::redex::{self as facade, LogHandle, RedexEntry, RedexHandle, TailHandle};
use net::facade::wait::Waited;
use std::sync::Arc;
use std::time::Duration;

/// One entry as read back.
#[napi(object)]
pub struct NativeEntry {
    pub seq: i64,
    pub timestamp_ns: BigInt,
    pub payload: Buffer,
}

fn entries_to_js(entries: Vec<RedexEntry>) -> Vec<NativeEntry> {
    entries
        .into_iter()
        .map(|e| NativeEntry {
            seq: e.seq as i64,
            timestamp_ns: BigInt::from(e.timestamp_ns),
            payload: Buffer::from(e.payload.to_vec()),
        })
        .collect()
}

fn seq_arg(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
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
    pub fn append(&self, payload: Buffer) -> Result<i64> {
        self.inner.append(&payload).map(|s| s as i64).map_err(to_js)
    }

    /// Appends an atomic batch; returns the first sequence, null if empty.
    #[napi]
    pub fn append_batch(&self, payloads: Vec<Buffer>) -> Result<Option<i64>> {
        let total = payloads.iter().map(|p| p.len()).sum();
        let mut data = Vec::with_capacity(total);
        let mut lens = Vec::with_capacity(payloads.len());
        for p in &payloads {
            data.extend_from_slice(p);
            lens.push(p.len());
        }
        self.inner
            .append_packed(&data, &lens)
            .map(|first| first.map(|s| s as i64))
            .map_err(to_js)
    }

    /// Retained entries with `start <= seq < end` (`end` negative: to the last).
    #[napi]
    pub fn read_range(&self, start: i64, end: i64) -> Vec<NativeEntry> {
        let end = u64::try_from(end).unwrap_or(u64::MAX);
        entries_to_js(self.inner.read_range(seq_arg(start), end))
    }

    /// A live reader from `from_seq`.
    #[napi]
    pub fn tail(&self, from_seq: i64) -> LogTail {
        LogTail {
            inner: Arc::new(self.inner.tail(seq_arg(from_seq))),
        }
    }

    /// The sequence the next append will get.
    #[napi]
    pub fn next_seq(&self) -> i64 {
        self.inner.next_seq() as i64
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

/// A tail wait on the libuv pool.
pub struct TailTask {
    tail: Arc<TailHandle>,
    max: usize,
    timeout: Duration,
}

impl Task for TailTask {
    type Output = Option<Vec<RedexEntry>>;
    type JsValue = Option<Vec<NativeEntry>>;

    fn compute(&mut self) -> Result<Self::Output> {
        match self
            .tail
            .next(self.max, Some(self.timeout), || Ok(()))
            .map_err(to_js)?
        {
            Waited::Ready(entries) => Ok(Some(entries)),
            Waited::Timeout => Ok(Some(Vec::new())),
            Waited::Done => Ok(None),
        }
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.map(entries_to_js))
    }
}

#[napi]
impl LogTail {
    /// Resolves with up to `max` entries (empty after `timeoutMs`), or null once
    /// the tail or the log is closed.
    #[napi(ts_return_type = "Promise<NativeEntry[] | null>")]
    pub fn next(&self, max: u32, timeout_ms: u32) -> AsyncTask<TailTask> {
        AsyncTask::new(TailTask {
            tail: Arc::clone(&self.inner),
            max: max as usize,
            timeout: Duration::from_millis(u64::from(timeout_ms)),
        })
    }

    /// The next sequence this tail will return.
    #[napi]
    pub fn position(&self) -> i64 {
        self.inner.position() as i64
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

pub(crate) fn u64_arg(v: BigInt, what: &str) -> Result<u64> {
    let (signed, value, lossless) = v.get_u64();
    if signed || !lossless {
        return Err(to_js(net::Error::new(
            net::ErrorKind::InvalidArgument,
            format!("{what} must be an unsigned 64-bit integer"),
        )));
    }
    Ok(value)
}

/// Encodes a heap index record (20 bytes).
#[napi]
pub fn record_heap(seq: BigInt, offset: u32, payload: Buffer) -> Result<Buffer> {
    let bytes = facade::record_heap(u64_arg(seq, "seq")?, offset, &payload).map_err(to_js)?;
    Ok(Buffer::from(bytes.to_vec()))
}

/// Encodes an inline index record carrying exactly 8 payload bytes.
#[napi]
pub fn record_inline(seq: BigInt, payload: Buffer) -> Result<Buffer> {
    let bytes = facade::record_inline(u64_arg(seq, "seq")?, &payload).map_err(to_js)?;
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
            net::ErrorKind::InvalidArgument,
            "dispatch must fit in a byte",
        ))
    })?;
    let seq_or_ts = u64_arg(seq_or_ts, "seqOrTs")?;
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
