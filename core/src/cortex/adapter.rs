//! The fold driver: tails a RedEX log and folds each event into shared state.
//!
//! The fold runs on its own thread (the engine has no async runtime of its
//! own). Each batch of entries is applied under one write lock, and the
//! "applied through" watermark is advanced inside that lock, so a snapshot taken
//! under the read lock always pairs state with exactly the sequence it reflects.

use super::meta::{EventMeta, META_LEN};
use crate::error::{Error, ErrorKind, Result};
use crate::redex::RedexFile;
use event_listener::{Event as Notify, Listener};
use parking_lot::{Condvar, Mutex, RwLock, RwLockReadGuard};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Folds events into state. Return `Err` with a reason to signal a bad event.
pub trait Fold<S>: Send + 'static {
    /// Applies one event.
    fn apply(
        &mut self,
        state: &mut S,
        seq: u64,
        meta: &EventMeta,
        payload: &[u8],
    ) -> Result<(), String>;
}

/// Where the fold starts reading the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    /// Replay the whole retained history.
    FromBeginning,
    /// Skip everything already in the log.
    LiveOnly,
    /// Start at this sequence (resume after a snapshot).
    FromSeq(u64),
}

/// What the fold does when an event fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldErrorPolicy {
    /// Halt; waits for later sequences fail with `cortex:fold_stopped`.
    Stop,
    /// Count the error, skip the event, go on.
    LogAndContinue,
}

/// How far the fold got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldStatus {
    /// Sequences below this have been applied (or skipped under `LogAndContinue`).
    pub next_seq: u64,
    /// Whether the fold thread is still running.
    pub running: bool,
    /// Events that failed.
    pub errors: u64,
    /// The sequence the fold stopped at, under `Stop`.
    pub stopped_at: Option<u64>,
    /// Why it stopped, if it did on an error.
    pub stop_reason: Option<String>,
}

struct Shared {
    status: Mutex<FoldStatus>,
    progressed: Condvar,
    changes: Notify,
    stop: AtomicBool,
    /// Applied-through watermark, updated under the state write lock.
    applied: AtomicU64,
}

/// A fold over a log, with the state it maintains.
pub struct CortexAdapter<S> {
    file: RedexFile,
    state: Arc<RwLock<S>>,
    shared: Arc<Shared>,
    origin_hash: u32,
    counter: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A thread's frame buffer is dropped after an event larger than this.
const FRAME_KEEP: usize = 64 * 1024;

/// Entries applied per write-lock acquisition.
const FOLD_BATCH: usize = 256;

impl<S: Send + Sync + 'static> CortexAdapter<S> {
    /// Starts folding `file` into `state` from `start`.
    pub fn open(
        file: RedexFile,
        state: S,
        fold: impl Fold<S>,
        start: StartPosition,
        policy: FoldErrorPolicy,
        origin_hash: u32,
    ) -> Result<CortexAdapter<S>> {
        let from = match start {
            StartPosition::FromBeginning => 0,
            StartPosition::LiveOnly => file.next_seq(),
            StartPosition::FromSeq(n) => n,
        };
        let shared = Arc::new(Shared {
            status: Mutex::new(FoldStatus {
                next_seq: from,
                running: true,
                ..Default::default()
            }),
            progressed: Condvar::new(),
            changes: Notify::new(),
            stop: AtomicBool::new(false),
            applied: AtomicU64::new(from),
        });
        let state = Arc::new(RwLock::new(state));
        let thread = {
            let (file, state, shared) = (file.clone(), Arc::clone(&state), Arc::clone(&shared));
            std::thread::Builder::new()
                .name("cortex-fold".into())
                .spawn(move || run_fold(file, state, shared, fold, from, policy))
                .map_err(|e| {
                    Error::new(ErrorKind::Io, format!("cannot start the fold thread: {e}"))
                })?
        };
        Ok(CortexAdapter {
            file,
            state,
            shared,
            origin_hash,
            counter: AtomicU64::new(0),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Appends an event (meta + payload); returns its sequence.
    pub fn append(&self, dispatch: u8, payload: &[u8]) -> Result<u64> {
        self.append_with(dispatch, |buf| buf.extend_from_slice(payload))
    }

    /// Appends an event whose payload `encode` writes straight into the frame
    /// buffer (reused per thread), so a write allocates nothing of its own.
    pub fn append_with(&self, dispatch: u8, encode: impl FnOnce(&mut Vec<u8>)) -> Result<u64> {
        thread_local! {
            static FRAME: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        FRAME.with(|frame| {
            // A re-entrant append (from inside `encode`) gets its own buffer.
            let mut own = Vec::new();
            let mut guard = frame.try_borrow_mut();
            let buf = match guard.as_mut() {
                Ok(b) => &mut **b,
                Err(_) => &mut own,
            };
            buf.clear();
            buf.resize(META_LEN, 0);
            encode(buf);
            let meta = EventMeta::for_payload(dispatch, self.origin_hash, n, &buf[META_LEN..]);
            buf[..META_LEN].copy_from_slice(&meta.encode());
            let result = self.file.append(buf);
            if buf.capacity() > FRAME_KEEP {
                *buf = Vec::new();
            }
            result
        })
    }

    /// Read access to the folded state.
    pub fn state(&self) -> RwLockReadGuard<'_, S> {
        self.state.read()
    }

    /// The producer identity stamped on appended events.
    pub fn origin_hash(&self) -> u32 {
        self.origin_hash
    }

    /// How far the fold got.
    pub fn status(&self) -> FoldStatus {
        self.shared.status.lock().clone()
    }

    /// Whether the fold is still running.
    pub fn is_running(&self) -> bool {
        self.shared.status.lock().running
    }

    /// Blocks until `seq` has been folded. Fails with `cortex:fold_stopped` if
    /// the fold stopped first (never a silent success) and `cortex:timeout`
    /// when `timeout` passes. A zero timeout only checks.
    pub fn wait_for_seq(&self, seq: u64, timeout: Duration) -> Result<()> {
        self.wait_for_seq_cancellable(seq, timeout, None)
    }

    /// [`wait_for_seq`](Self::wait_for_seq) that fails with
    /// `call:cancelled` once `cancel` is cancelled (at once if it already is).
    pub fn wait_for_seq_cancellable(
        &self,
        seq: u64,
        timeout: Duration,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> Result<()> {
        let shared = Arc::clone(&self.shared);
        let _wake = cancel.map(|c| {
            c.on_cancel(move || {
                let _status = shared.status.lock();
                shared.progressed.notify_all();
            })
        });
        let deadline = crate::time::Deadline::after(Some(timeout));
        let mut status = self.shared.status.lock();
        loop {
            if let Some(cancel) = cancel {
                cancel.check()?;
            }
            if status.next_seq > seq {
                return Ok(());
            }
            if !status.running {
                return Err(Error::new(
                    ErrorKind::FoldStopped,
                    match (&status.stopped_at, &status.stop_reason) {
                        (Some(at), Some(why)) => format!("fold stopped at seq {at}: {why}"),
                        _ => "the adapter is closed".to_owned(),
                    },
                ));
            }
            let timed_out = match deadline.instant() {
                Some(d) => self
                    .shared
                    .progressed
                    .wait_until(&mut status, d)
                    .timed_out(),
                None => {
                    self.shared.progressed.wait(&mut status);
                    false
                }
            };
            if timed_out && status.next_seq <= seq && status.running {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("seq {seq} not folded in {timeout:?}"),
                ));
            }
        }
    }

    /// A stream of fold progress: each read returns the latest folded
    /// watermark (intermediate ticks coalesce, the latest is never missed).
    pub fn changes(&self) -> Changes {
        Changes {
            shared: Arc::clone(&self.shared),
            seen: self.shared.applied.load(Ordering::Acquire),
        }
    }

    /// Watches a query: the current result first, then each changed result.
    pub fn watch<T, F>(&self, query: F) -> Watch<S, T, F>
    where
        T: PartialEq + Clone,
        F: Fn(&S) -> Vec<T>,
    {
        Watch {
            state: Arc::clone(&self.state),
            changes: self.changes(),
            query,
            last: None,
        }
    }

    /// Stops the fold thread (idempotent) and returns once it has stopped,
    /// without waiting for any timer. Waiters fail with `cortex:fold_stopped`.
    pub fn close(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.file.interrupt_tails();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }

    /// The underlying log.
    pub fn file(&self) -> &RedexFile {
        &self.file
    }
}

impl<S: Serialize + DeserializeOwned + Send + Sync + 'static> CortexAdapter<S> {
    /// The state and the sequence it reflects (`next_seq`: everything below it
    /// is included), taken consistently under the state lock.
    pub fn snapshot(&self) -> Result<(Vec<u8>, u64)> {
        let state = self.state.read();
        let next_seq = self.shared.applied.load(Ordering::Acquire);
        let bytes = serde_json::to_vec(&*state)
            .map_err(|e| Error::new(ErrorKind::InvalidSnapshot, e.to_string()))?;
        Ok((bytes, next_seq))
    }

    /// Restores state from a snapshot and resumes folding at `next_seq`.
    pub fn open_from_snapshot(
        file: RedexFile,
        bytes: &[u8],
        next_seq: u64,
        fold: impl Fold<S>,
        policy: FoldErrorPolicy,
        origin_hash: u32,
    ) -> Result<CortexAdapter<S>> {
        let state: S = serde_json::from_slice(bytes)
            .map_err(|e| Error::new(ErrorKind::InvalidSnapshot, e.to_string()))?;
        CortexAdapter::open(
            file,
            state,
            fold,
            StartPosition::FromSeq(next_seq),
            policy,
            origin_hash,
        )
    }
}

impl<S> Drop for CortexAdapter<S> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.file.interrupt_tails();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

fn run_fold<S>(
    file: RedexFile,
    state: Arc<RwLock<S>>,
    shared: Arc<Shared>,
    mut fold: impl Fold<S>,
    from: u64,
    policy: FoldErrorPolicy,
) {
    let mut tail = file.tail(from);
    let mut halted: Option<(u64, String)> = None;
    let mut errors = 0u64;
    while halted.is_none() && !shared.stop.load(Ordering::Acquire) {
        let stopped = || shared.stop.load(Ordering::Acquire);
        let entries = match tail.next_batch_until(FOLD_BATCH, None, stopped) {
            Ok(entries) if entries.is_empty() => continue,
            Ok(entries) => entries,
            Err(_) => break, // the log was closed
        };
        let mut next = None;
        {
            let mut guard = state.write();
            for entry in &entries {
                let result = EventMeta::unframe(&entry.payload)
                    .map_err(|e| e.to_string())
                    .and_then(|(meta, payload)| fold.apply(&mut guard, entry.seq, &meta, payload));
                match (result, policy) {
                    (Ok(()), _) => next = Some(entry.seq + 1),
                    (Err(_), FoldErrorPolicy::LogAndContinue) => {
                        errors += 1;
                        next = Some(entry.seq + 1);
                    }
                    (Err(why), FoldErrorPolicy::Stop) => {
                        errors += 1;
                        halted = Some((entry.seq, why));
                        break;
                    }
                }
            }
            if let Some(n) = next {
                shared.applied.store(n, Ordering::Release);
            }
        }
        let mut status = shared.status.lock();
        if let Some(n) = next {
            status.next_seq = n;
        }
        status.errors = errors;
        drop(status);
        shared.progressed.notify_all();
        if next.is_some() {
            shared.changes.notify(usize::MAX);
        }
    }
    let mut status = shared.status.lock();
    status.running = false;
    if let Some((at, why)) = halted {
        status.stopped_at = Some(at);
        status.stop_reason = Some(why);
    }
    drop(status);
    shared.progressed.notify_all();
    shared.changes.notify(usize::MAX);
}

/// Fold progress notifications (see [`CortexAdapter::changes`]).
pub struct Changes {
    shared: Arc<Shared>,
    seen: u64,
}

impl Changes {
    /// Waits up to `timeout` for the watermark to move past what this stream
    /// last returned. `Ok(Some(next_seq))` on progress, `Ok(None)` on timeout,
    /// `Err(cortex:fold_stopped)` once the fold has stopped.
    pub fn next_blocking(&mut self, timeout: Duration) -> Result<Option<u64>> {
        self.next_blocking_cancellable(timeout, None)
    }

    /// [`next_blocking`](Self::next_blocking) that fails with
    /// `call:cancelled` once `cancel` is cancelled.
    pub fn next_blocking_cancellable(
        &mut self,
        timeout: Duration,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> Result<Option<u64>> {
        let shared = Arc::clone(&self.shared);
        let _wake = cancel.map(|c| {
            c.on_cancel(move || {
                shared.changes.notify(usize::MAX);
            })
        });
        let deadline = crate::time::Deadline::after(Some(timeout));
        loop {
            // Listening before the check: a cancel after it wakes the listener.
            let listener = self.shared.changes.listen();
            if let Some(cancel) = cancel {
                cancel.check()?;
            }
            let applied = self.shared.applied.load(Ordering::Acquire);
            if applied > self.seen {
                self.seen = applied;
                return Ok(Some(applied));
            }
            if !self.shared.status.lock().running {
                return Err(Error::new(ErrorKind::FoldStopped, "the fold has stopped"));
            }
            match deadline.instant() {
                Some(d) => {
                    if listener.wait_deadline(d).is_none() {
                        return Ok(None);
                    }
                }
                None => listener.wait(),
            }
        }
    }
}

/// A watched query (see [`CortexAdapter::watch`]).
pub struct Watch<S, T, F> {
    state: Arc<RwLock<S>>,
    changes: Changes,
    query: F,
    last: Option<Vec<T>>,
}

impl<S, T: PartialEq + Clone, F: Fn(&S) -> Vec<T>> Watch<S, T, F> {
    /// The current result on the first call; afterwards, waits up to `timeout`
    /// for a result different from the last one returned. `Ok(None)` on
    /// timeout; `Err(cortex:fold_stopped)` when the fold has stopped.
    pub fn next_blocking(&mut self, timeout: Duration) -> Result<Option<Vec<T>>> {
        self.next_blocking_cancellable(timeout, None)
    }

    /// [`next_blocking`](Self::next_blocking) that fails with
    /// `call:cancelled` once `cancel` is cancelled.
    pub fn next_blocking_cancellable(
        &mut self,
        timeout: Duration,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> Result<Option<Vec<T>>> {
        if let Some(cancel) = cancel {
            cancel.check()?;
        }
        if self.last.is_none() {
            let current = (self.query)(&self.state.read());
            self.last = Some(current.clone());
            return Ok(Some(current));
        }
        let deadline = crate::time::Deadline::after(Some(timeout));
        loop {
            let left = deadline.remaining().unwrap_or(Duration::MAX);
            if self
                .changes
                .next_blocking_cancellable(left, cancel)?
                .is_none()
            {
                return Ok(None);
            }
            let current = (self.query)(&self.state.read());
            if self.last.as_ref() != Some(&current) {
                self.last = Some(current.clone());
                return Ok(Some(current));
            }
        }
    }
}
