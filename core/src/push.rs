//! Push delivery: the engine calls your code for each item a source yields.
//!
//! Everything the engine produces for a reader (bus events, mesh messages,
//! and next RPC requests) can be read two ways. *Pull*: the caller waits for
//! the next item (`Subscription::next_batch_blocking`, `MeshNode::recv`).
//! *Push*: a handler is called once per item. This module is push, once for
//! every source:
//!
//! - A [`Source`] takes items without waiting and registers a std
//!   [`Waker`] for when more come. The bus's [`Subscription`] and the mesh's
//!   [`MessageSource`] are sources.
//! - A [`Delivery`] ties a source to a handler and to a *scheduler*. When
//!   items arrive, the delivery is scheduled once (however many arrive before
//!   it runs), and whoever runs it takes a batch of up to [`BATCH`] items and
//!   calls the handler for each. Calls for one delivery never overlap and
//!   come in source order. No thread waits per delivery: an idle delivery is
//!   a registered waker and nothing else.
//! - The other way round, [`fifo`] turns any push API into a pull API: its
//!   sink is a handler that queues (and pushes back on the source when
//!   full), its reader waits with a timeout or a cancel token.
//! - Who runs it is the caller's choice. [`spawn`] runs handlers on the
//!   engine's callback threads (a small pool started on first use: the Rust
//!   SDK, C and Go). A binding can run them on a thread of its own language
//!   instead, with [`Delivery::new`] and its own scheduler: the Python
//!   binding on a Python-owned thread (so no engine thread ever waits for the
//!   GIL), the Node binding on the JavaScript event loop.
//!
//! # Rules every handler can rely on
//!
//! - **Re-entry is safe.** No engine lock is held while a handler runs, so a
//!   handler may publish, send, subscribe or close from inside.
//! - **Close.** [`Delivery::close`] stops the calls: from outside any handler
//!   it waits for a call in progress to return, so no call starts or runs
//!   after it returns; from inside a handler (its own or another's) it does
//!   not wait (that would deadlock) and the current call is the last. Items
//!   taken but not handed out yet go back to the source (a bus subscription
//!   buffers them again; mesh messages go back to the front of the inbox).
//! - **Drop once.** The handler is dropped exactly once, after its last call,
//!   by whoever ends the delivery (close, or the source ending).
//! - **Failures are counted.** A handler reports a failure with `Err(text)`
//!   (an SDK turns a Rust panic, a Go panic, a Python exception or a C
//!   non-zero return into one); it is counted in [`Stats::failed`], the
//!   delivery carries on. The engine's callback threads also write a line to
//!   stderr for the 1st, 2nd, 4th, 8th ... failure of a delivery.

use crate::bus::Subscription;
use crate::mesh::{QueueSource, Queued};
use parking_lot::{Condvar, Mutex};
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Most items one run of a delivery takes and hands out before it yields
/// its thread to the next delivery.
pub const BATCH: usize = 256;

/// Something a delivery can drain: takes items without waiting, and wakes a
/// [`Waker`] when it may have more (or has ended).
pub trait Source: Send + 'static {
    /// What the handler receives.
    type Item: Send + 'static;

    /// Takes up to `max` items. `Ready(Some(items))` with at least one item,
    /// `Ready(None)` once the source has ended for good, or `Pending` after
    /// arranging for `cx`'s waker to be woken when that may have changed.
    fn poll_take(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Self::Item>>>;

    /// Takes back items taken by [`poll_take`](Self::poll_take) but not
    /// handed out (the delivery was closed mid-batch), so they are not lost.
    /// The default drops them.
    fn give_back(&mut self, items: Vec<Self::Item>) {
        drop(items);
    }
}

impl Source for Subscription {
    type Item = crate::bus::Event;

    fn poll_take(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Self::Item>>> {
        self.poll_next_batch(cx, max)
    }

    fn give_back(&mut self, items: Vec<Self::Item>) {
        Subscription::give_back(self, items);
    }
}

impl<T: Queued + Send + 'static> Source for QueueSource<T> {
    type Item = T;

    fn poll_take(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<Option<Vec<Self::Item>>> {
        self.poll_next_batch(cx, max)
    }

    fn give_back(&mut self, items: Vec<Self::Item>) {
        QueueSource::give_back(self, items);
    }
}

/// What a handler does with one item. Any `FnMut(Item) -> Result<(), String>`
/// is one; `Err` is a failure (counted, the delivery carries on).
pub trait Handler<T>: Send + 'static {
    /// Handles one item.
    fn call(&mut self, item: T) -> Result<(), String>;

    /// Whether it can take an item now. `Pending` (after arranging for `cx`
    /// to be woken) makes the delivery give the rest of its batch back to
    /// the source and wait: backpressure into the source instead of a
    /// buffer. The default is always ready; a [`FifoSink`] is not when full.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let _ = cx;
        Poll::Ready(())
    }
}

impl<T, F> Handler<T> for F
where
    F: FnMut(T) -> Result<(), String> + Send + 'static,
{
    fn call(&mut self, item: T) -> Result<(), String> {
        self(item)
    }
}

/// A delivery's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Items handed to the handler that it handled.
    pub delivered: u64,
    /// Items handed to the handler that it failed on (panic, exception,
    /// error return).
    pub failed: u64,
}

/// What one [`Delivery::run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// Handed out a batch; the delivery scheduled itself again.
    Batch,
    /// Found nothing; it runs again when the source wakes it.
    Idle,
    /// The delivery has ended (closed, or its source ended); it never runs
    /// again.
    Ended,
    /// Not scheduled (a stale wake-up, or already ended): did nothing.
    Skipped,
}

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
/// Running, and woken meanwhile: schedule again after this run.
const NOTIFIED: u8 = 3;
const DONE: u8 = 4;

/// The scheduling half: the state machine wakers drive.
struct Wakeup {
    state: AtomicU8,
    schedule: Box<dyn Fn() + Send + Sync>,
}

impl Wakeup {
    fn schedule_if_idle(&self) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return,
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if next == SCHEDULED {
                        (self.schedule)();
                    }
                    return;
                }
                Err(now) => state = now,
            }
        }
    }
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.schedule_if_idle();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule_if_idle();
    }
}

thread_local! {
    /// The delivery this thread is running a handler of (0: none).
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// Marks this thread as inside a delivery's run, for as long as it lives.
struct Inside {
    previous: usize,
}

impl Inside {
    fn enter(id: usize) -> Inside {
        Inside {
            previous: CURRENT.with(|c| c.replace(id)),
        }
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Whether this thread is running a handler (any delivery's) right now.
pub fn in_handler() -> bool {
    CURRENT.with(|c| c.get() != 0)
}

/// A source, a handler and a scheduler: see the module docs.
pub struct Delivery<S: Source, H: Handler<S::Item>> {
    /// The source and the handler, held while a run hands out items; `None`
    /// once ended (taking them out is how they are dropped, once).
    parts: Mutex<Option<(S, H)>>,
    wakeup: Arc<Wakeup>,
    closed: AtomicBool,
    delivered: AtomicU64,
    failed: AtomicU64,
    /// What the handler is for, in log lines ("mesh message handler").
    what: &'static str,
    /// Whether failures are written to stderr here (the engine's threads),
    /// or reported by the binding that runs the delivery, its own way.
    logs: bool,
}

impl<S: Source, H: Handler<S::Item>> Delivery<S, H> {
    /// A delivery that asks to be run by calling `schedule` (with a weak
    /// reference to itself; upgrade it and call [`run`](Self::run), on any
    /// thread, soon). `schedule` is called from whatever thread wakes the
    /// source (an emitter, the mesh reader), so it must only enqueue, never
    /// run the delivery itself or block. Scheduled once at the start, in
    /// case the source already holds items.
    /// Failures are counted, not logged: the binding reports them its own
    /// way (Python's `sys.unraisablehook`, a JavaScript `console.error`).
    pub fn new(
        source: S,
        handler: H,
        what: &'static str,
        schedule: impl Fn(Weak<Self>) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Self::with_logs(source, handler, what, false, schedule)
    }

    fn with_logs(
        source: S,
        handler: H,
        what: &'static str,
        logs: bool,
        schedule: impl Fn(Weak<Self>) + Send + Sync + 'static,
    ) -> Arc<Self> {
        let delivery = Arc::new_cyclic(|me: &Weak<Self>| {
            let me = me.clone();
            Delivery {
                parts: Mutex::new(Some((source, handler))),
                wakeup: Arc::new(Wakeup {
                    state: AtomicU8::new(IDLE),
                    schedule: Box::new(move || schedule(me.clone())),
                }),
                closed: AtomicBool::new(false),
                delivered: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                what,
                logs,
            }
        });
        delivery.wakeup.schedule_if_idle();
        delivery
    }

    fn id(&self) -> usize {
        self as *const Self as usize
    }

    /// Runs one batch: takes up to [`BATCH`] items and calls the handler for
    /// each, in order. Call it when the scheduler asks; a call that was not
    /// asked for does nothing ([`Ran::Skipped`]).
    pub fn run(&self) -> Ran {
        if self
            .wakeup
            .state
            .compare_exchange(SCHEDULED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Ran::Skipped;
        }
        let _inside = Inside::enter(self.id());
        let mut parts = self.parts.lock();
        let Some((source, handler)) = parts.as_mut() else {
            self.wakeup.state.store(DONE, Ordering::Release);
            return Ran::Ended;
        };
        if self.closed.load(Ordering::Acquire) {
            return self.end(&mut parts);
        }
        let waker = Waker::from(Arc::clone(&self.wakeup));
        let mut cx = Context::from_waker(&waker);
        match source.poll_take(&mut cx, BATCH) {
            Poll::Ready(Some(items)) => {
                let mut items = items.into_iter();
                while let Some(item) = items.next() {
                    if handler.poll_ready(&mut cx).is_pending() {
                        // Full: the rest goes back, and the handler's waker
                        // schedules us when it has room.
                        let mut rest = vec![item];
                        rest.extend(items);
                        source.give_back(rest);
                        drop(parts);
                        return self.idle();
                    }
                    match handler.call(item) {
                        Ok(()) => {
                            self.delivered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(text) => self.count_failure(&text),
                    }
                    if self.closed.load(Ordering::Acquire) {
                        let rest: Vec<S::Item> = items.collect();
                        if !rest.is_empty() {
                            source.give_back(rest);
                        }
                        return self.end(&mut parts);
                    }
                }
                drop(parts);
                // There may be more right away: go to the back of the queue.
                self.wakeup.state.store(SCHEDULED, Ordering::Release);
                (self.wakeup.schedule)();
                Ran::Batch
            }
            Poll::Ready(None) => self.end(&mut parts),
            Poll::Pending => {
                drop(parts);
                self.idle()
            }
        }
    }

    /// Ends a run with nothing more to do until a waker fires.
    fn idle(&self) -> Ran {
        if self
            .wakeup
            .state
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Woken while running: what woke it may have come after the
            // poll looked.
            self.wakeup.state.store(SCHEDULED, Ordering::Release);
            (self.wakeup.schedule)();
        }
        Ran::Idle
    }

    fn end(&self, parts: &mut Option<(S, H)>) -> Ran {
        self.wakeup.state.store(DONE, Ordering::Release);
        self.closed.store(true, Ordering::Release);
        // Drops the source (its waker registration with it) and the handler.
        drop(parts.take());
        Ran::Ended
    }

    fn count_failure(&self, text: &str) {
        let failed = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
        if self.logs && failed.is_power_of_two() {
            eprintln!(
                "net: {} failed ({failed} failure{} so far): {text}",
                self.what,
                if failed == 1 { "" } else { "s" }
            );
        }
    }

    /// Stops the calls (see the module docs for the rules). Idempotent.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if CURRENT.with(|c| c.get()) == self.id() {
            // Inside our own handler: the run in progress ends the delivery
            // when the handler returns.
            return;
        }
        let parts = if in_handler() {
            // Inside another delivery's handler: waiting for this one could
            // deadlock (it may be closing us); its runner ends it.
            self.parts.try_lock()
        } else {
            Some(self.parts.lock())
        };
        if let Some(mut parts) = parts {
            if parts.is_some() {
                self.end(&mut parts);
            }
        }
    }

    /// Puts items back into the source, for a binding whose handler got a
    /// batch and stopped partway (the Node SDK, closed from inside its
    /// handler). Waits for a run in progress; items of an ended delivery
    /// are dropped.
    ///
    /// The items were counted as delivered when the handler took them;
    /// they are not any more.
    pub fn give_back(&self, items: Vec<S::Item>) {
        if items.is_empty() {
            return;
        }
        let n = items.len() as u64;
        if let Some((source, _)) = self.parts.lock().as_mut() {
            source.give_back(items);
            let _ = self
                .delivered
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                    Some(d.saturating_sub(n))
                });
        }
    }

    /// Counts `n` items the handler took and then failed on, learned after
    /// the call returned (a Node handler runs after its batch has left the
    /// engine): they move from delivered to failed. Returns whether the
    /// last of them is one to report (the 1st, 2nd, 4th, 8th ... failure),
    /// the rule the engine's callback threads log by.
    pub fn count_late_failures(&self, n: u64) -> bool {
        if n == 0 {
            return false;
        }
        let _ = self
            .delivered
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(n))
            });
        let failed = self.failed.fetch_add(n, Ordering::Relaxed) + n;
        failed.is_power_of_two()
    }

    /// Whether the delivery has ended: closed (and its last call returned),
    /// or its source ended. A close from inside a handler counts once that
    /// call has returned.
    pub fn is_closed(&self) -> bool {
        self.wakeup.state.load(Ordering::Acquire) == DONE
    }

    /// Its counters.
    pub fn stats(&self) -> Stats {
        Stats {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// A delivery as the engine's callback threads and the handles see it.
pub trait Control: Send + Sync {
    /// [`Delivery::run`].
    fn run(&self) -> Ran;
    /// [`Delivery::close`].
    fn close(&self);
    /// [`Delivery::is_closed`].
    fn is_closed(&self) -> bool;
    /// [`Delivery::stats`].
    fn stats(&self) -> Stats;
    /// [`Delivery::count_late_failures`].
    fn count_late_failures(&self, n: u64) -> bool;
}

impl<S: Source, H: Handler<S::Item>> Control for Delivery<S, H> {
    fn run(&self) -> Ran {
        Delivery::run(self)
    }
    fn close(&self) {
        Delivery::close(self)
    }
    fn is_closed(&self) -> bool {
        Delivery::is_closed(self)
    }
    fn stats(&self) -> Stats {
        Delivery::stats(self)
    }
    fn count_late_failures(&self, n: u64) -> bool {
        Delivery::count_late_failures(self, n)
    }
}

/// A handler running on the engine's callback threads, from [`spawn`].
/// Dropping it closes it (as [`close`](Self::close)).
pub struct Handle {
    delivery: Arc<dyn Control>,
}

impl Handle {
    /// Wraps a delivery run by some other scheduler, for the same
    /// close-on-drop handle.
    pub fn new(delivery: Arc<dyn Control>) -> Handle {
        Handle { delivery }
    }

    /// Stops the calls; see the module docs for when it waits.
    pub fn close(&self) {
        self.delivery.close();
    }

    /// Whether it was closed or its source ended (a subscription's bus shut
    /// down and was drained; the mesh node shut down).
    pub fn is_closed(&self) -> bool {
        self.delivery.is_closed()
    }

    /// How many items it handled and failed on.
    pub fn stats(&self) -> Stats {
        self.delivery.stats()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.delivery.close();
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("closed", &self.is_closed())
            .field("stats", &self.stats())
            .finish()
    }
}

/// Calls `handler` for every item of `source` on the engine's callback
/// threads, until the returned handle is closed or dropped, or the source
/// ends. `what` names it in failure lines.
pub fn spawn<S, H>(source: S, handler: H, what: &'static str) -> Handle
where
    S: Source,
    H: Handler<S::Item>,
{
    let delivery = Delivery::with_logs(source, handler, what, true, |me: Weak<Delivery<S, H>>| {
        if let Some(me) = me.upgrade() {
            let job: Arc<dyn Control> = me;
            submit(job);
        }
    });
    Handle { delivery }
}

// ---------------------------------------------------------------------------
// The FIFO adaptor: a pull API for any push API.

struct FifoShared<T> {
    queue: Mutex<VecDeque<T>>,
    ready: Condvar,
    capacity: usize,
    /// The delivery waiting for room.
    room: Mutex<Option<Waker>>,
    /// The sink is gone (its delivery ended): after the queue, the end.
    ended: AtomicBool,
}

impl<T> FifoShared<T> {
    fn wake_sink(&self) {
        if let Some(waker) = self.room.lock().take() {
            waker.wake();
        }
    }
}

/// The reading end of a FIFO: whatever a push API hands the [`FifoSink`],
/// in order. See [`fifo`].
pub struct Fifo<T> {
    shared: Arc<FifoShared<T>>,
}

/// The handler end of a FIFO: give it to any push API (`spawn`, or a
/// binding's own scheduler). When the FIFO is full it is not ready, so the
/// delivery leaves the items in their source until the reader takes one:
/// nothing is dropped and nothing grows without bound.
pub struct FifoSink<T> {
    shared: Arc<FifoShared<T>>,
}

/// A FIFO holding up to `capacity` items (at least 1): every push API also
/// has a pull API this way. `push::spawn(source, sink, ..)`, then
/// `fifo.recv(timeout)` on any thread.
pub fn fifo<T: Send + 'static>(capacity: usize) -> (FifoSink<T>, Fifo<T>) {
    let shared = Arc::new(FifoShared {
        queue: Mutex::new(VecDeque::new()),
        ready: Condvar::new(),
        capacity: capacity.max(1),
        room: Mutex::new(None),
        ended: AtomicBool::new(false),
    });
    (
        FifoSink {
            shared: Arc::clone(&shared),
        },
        Fifo { shared },
    )
}

impl<T: Send + 'static> Handler<T> for FifoSink<T> {
    fn call(&mut self, item: T) -> Result<(), String> {
        self.shared.queue.lock().push_back(item);
        self.shared.ready.notify_one();
        Ok(())
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let queue = self.shared.queue.lock();
        if queue.len() < self.shared.capacity {
            return Poll::Ready(());
        }
        // Registered under the queue lock: a reader that takes an item
        // after this sees the waker.
        *self.shared.room.lock() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for FifoSink<T> {
    fn drop(&mut self) {
        let _queue = self.shared.queue.lock();
        self.shared.ended.store(true, Ordering::Release);
        self.shared.ready.notify_all();
    }
}

impl<T: Send + 'static> Fifo<T> {
    /// The next item, waiting up to `timeout` (`None`: until one comes or
    /// the FIFO ends). `None` on timeout or at the end ([`is_ended`](Self::is_ended)
    /// tells them apart).
    pub fn recv(&self, timeout: Option<Duration>) -> Option<T> {
        self.recv_inner(timeout, None).ok().flatten()
    }

    /// [`recv`](Self::recv) that fails with `call:cancelled` as soon as
    /// `cancel` is cancelled.
    pub fn recv_cancellable(
        &self,
        timeout: Option<Duration>,
        cancel: &crate::cancel::CancelToken,
    ) -> crate::Result<Option<T>> {
        let shared = Arc::clone(&self.shared);
        let _wake = cancel.on_cancel(move || {
            let _queue = shared.queue.lock();
            shared.ready.notify_all();
        });
        self.recv_inner(timeout, Some(cancel))
    }

    fn recv_inner(
        &self,
        timeout: Option<Duration>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> crate::Result<Option<T>> {
        let deadline = crate::time::Deadline::after(timeout).instant();
        let mut queue = self.shared.queue.lock();
        loop {
            if let Some(cancel) = cancel {
                cancel.check()?;
            }
            if let Some(item) = queue.pop_front() {
                drop(queue);
                self.shared.wake_sink();
                return Ok(Some(item));
            }
            if self.shared.ended.load(Ordering::Acquire) {
                return Ok(None);
            }
            match deadline {
                Some(d) => {
                    if self.shared.ready.wait_until(&mut queue, d).timed_out() && queue.is_empty() {
                        return Ok(None);
                    }
                }
                None => self.shared.ready.wait(&mut queue),
            }
        }
    }

    /// The next item if one is there, without waiting.
    pub fn try_recv(&self) -> Option<T> {
        let item = self.shared.queue.lock().pop_front();
        if item.is_some() {
            self.shared.wake_sink();
        }
        item
    }

    /// Whether the FIFO has ended: its sink is gone (the delivery was
    /// closed, or its source ended) and every item was read.
    pub fn is_ended(&self) -> bool {
        self.shared.ended.load(Ordering::Acquire) && self.shared.queue.lock().is_empty()
    }
}

impl<T> std::fmt::Debug for Fifo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fifo")
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// The engine's callback threads.

/// How many callback threads the engine runs: at least two (one slow
/// handler must not stop every other), at most four.
fn pool_size() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4)
}

struct Pool {
    queue: Mutex<PoolQueue>,
    ready: Condvar,
    /// Joined by [`shutdown`], so no callback thread outlives it.
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The process the threads belong to: after `fork()` the child has none
    /// of them, and starts its own pool at the next delivery.
    pid: u32,
}

struct PoolQueue {
    jobs: VecDeque<Arc<dyn Control>>,
    stop: bool,
    running_threads: usize,
}

static POOL: Mutex<Option<Arc<Pool>>> = Mutex::new(None);

fn pool() -> Arc<Pool> {
    let mut slot = POOL.lock();
    if let Some(pool) = slot.as_ref() {
        if pool.pid == std::process::id() {
            return Arc::clone(pool);
        }
    }
    let pool = Arc::new(Pool {
        queue: Mutex::new(PoolQueue {
            jobs: VecDeque::new(),
            stop: false,
            running_threads: 0,
        }),
        ready: Condvar::new(),
        threads: Mutex::new(Vec::new()),
        pid: std::process::id(),
    });
    for index in 0..pool_size() {
        let worker = Arc::clone(&pool);
        let started = std::thread::Builder::new()
            .name(format!("net-callback-{index}"))
            .spawn(move || worker.work());
        if let Ok(thread) = started {
            pool.queue.lock().running_threads += 1;
            pool.threads.lock().push(thread);
        }
    }
    *slot = Some(Arc::clone(&pool));
    pool
}

fn submit(job: Arc<dyn Control>) {
    let pool = pool();
    pool.queue.lock().jobs.push_back(job);
    pool.ready.notify_one();
}

impl Pool {
    fn work(&self) {
        loop {
            let job = {
                let mut queue = self.queue.lock();
                loop {
                    if queue.stop {
                        queue.running_threads -= 1;
                        self.ready.notify_all();
                        return;
                    }
                    if let Some(job) = queue.jobs.pop_front() {
                        break job;
                    }
                    self.ready.wait(&mut queue);
                }
            };
            job.run();
        }
    }
}

/// Stops the engine's callback threads (process teardown, so leak checkers
/// report clean; the C ABI's `net_runtime_shutdown` calls it). Close every
/// handler first: one still open is not called again until the next
/// [`spawn`] starts the threads anew. Waits up to one second for a handler
/// still running to return.
pub fn shutdown() {
    let Some(pool) = POOL.lock().take() else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut queue = pool.queue.lock();
    queue.stop = true;
    queue.jobs.clear();
    pool.ready.notify_all();
    while queue.running_threads > 0 {
        if pool.ready.wait_until(&mut queue, deadline).timed_out() {
            // A handler that does not return: leave its thread behind.
            return;
        }
    }
    drop(queue);
    for thread in std::mem::take(&mut *pool.threads.lock()) {
        let _ = thread.join();
    }
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
