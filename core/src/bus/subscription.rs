//! Live subscriptions: buffered events first, then new ones as they arrive.
//!
//! A subscription is a consumer: events it returns are taken out of the bus.
//! It can be read three ways, all sharing one take step: non-blocking
//! ([`Subscription::try_next_batch`]), blocking with a timeout (for the C ABI and
//! the bindings' pull loops) and async (for the Rust SDK's `Stream`).
//! After shutdown it returns what is still buffered, then ends (`None`).

use super::cursor::Cursor;
use super::event::Event;
use super::filter::Filter;
use super::Bus;
use event_listener::Listener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Where a subscription starts and what it keeps.
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    /// Start from this poll cursor; `None` starts at the oldest buffered event.
    pub cursor: Option<String>,
    /// Only deliver events matching this filter (others are consumed and skipped).
    pub filter: Option<Filter>,
}

/// A live consumer of a bus.
pub struct Subscription {
    pub(super) bus: Bus,
    pub(super) cursor: Cursor,
    filter: Option<Filter>,
    pub(super) ended: bool,
    /// The registration [`poll_next_batch`](Self::poll_next_batch) waits on.
    listener: Option<event_listener::EventListener>,
}

/// What one non-blocking step found.
enum Step {
    Events(Vec<Event>),
    Empty,
    Ended,
}

impl Subscription {
    pub(super) fn new(bus: Bus, cursor: Cursor, filter: Option<Filter>) -> Self {
        bus.inner.listeners.fetch_add(1, Ordering::SeqCst);
        Subscription {
            bus,
            cursor,
            filter,
            ended: false,
            listener: None,
        }
    }

    /// The cursor just past everything this subscription has taken.
    pub fn cursor(&self) -> String {
        self.cursor.encode()
    }

    /// Whether the stream has ended (the bus shut down and was drained).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    fn step(&mut self, max: usize) -> Step {
        if self.ended {
            return Step::Ended;
        }
        // Read `sealed` before taking: if it was already set, no emit can land
        // after our take, so an empty take really is the end.
        let sealed = self.bus.inner.sealed.load(Ordering::Acquire);
        let max = max.max(1);
        let n = self.bus.num_shards();
        let mut out = Vec::new();
        for step in 0..n {
            if out.len() >= max {
                break;
            }
            let shard = (self.cursor.start + step) % n;
            let mut state = self.bus.inner.shards[shard].0.lock();
            let end = state.read(
                shard as u16,
                self.cursor.positions[shard],
                max,
                self.filter.as_ref(),
                &mut out,
            );
            state.release(end.next);
            self.cursor.positions[shard] = end.next;
        }
        self.cursor.start = (self.cursor.start + 1) % n;
        if !out.is_empty() {
            Step::Events(out)
        } else if sealed {
            self.ended = true;
            Step::Ended
        } else {
            Step::Empty
        }
    }

    /// Takes up to `max` events without waiting. `Some(empty)` means nothing is
    /// buffered now; `None` means the stream has ended.
    pub fn try_next_batch(&mut self, max: usize) -> Option<Vec<Event>> {
        match self.step(max) {
            Step::Events(events) => Some(events),
            Step::Empty => Some(Vec::new()),
            Step::Ended => None,
        }
    }

    /// Waits up to `timeout` (forever if `None`) for events. Returns `Some(empty)`
    /// on timeout and `None` once the stream has ended.
    pub fn next_batch_blocking(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
    ) -> Option<Vec<Event>> {
        let deadline = crate::time::Deadline::after(timeout).instant();
        loop {
            let listener = self.bus.inner.new_data.listen();
            match self.step(max) {
                Step::Events(events) => return Some(events),
                Step::Ended => return None,
                Step::Empty => {}
            }
            match deadline {
                Some(deadline) => {
                    if listener.wait_deadline(deadline).is_none() {
                        return Some(Vec::new());
                    }
                }
                None => listener.wait(),
            }
        }
    }

    /// Like [`next_batch_blocking`](Self::next_batch_blocking), and fails
    /// with `call:cancelled` as soon as `cancel` is cancelled (from any
    /// thread; a token cancelled before the call fails it at once).
    pub fn next_batch_cancellable(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
        cancel: &crate::cancel::CancelToken,
    ) -> crate::Result<Option<Vec<Event>>> {
        let deadline = crate::time::Deadline::after(timeout).instant();
        let bus = Arc::clone(&self.bus.inner);
        let _wake = cancel.on_cancel(move || {
            bus.new_data.notify(usize::MAX);
        });
        loop {
            cancel.check()?;
            let listener = self.bus.inner.new_data.listen();
            match self.step(max) {
                Step::Events(events) => return Ok(Some(events)),
                Step::Ended => return Ok(None),
                Step::Empty => {}
            }
            cancel.check()?;
            match deadline {
                Some(deadline) => {
                    if listener.wait_deadline(deadline).is_none() {
                        return Ok(Some(Vec::new()));
                    }
                }
                None => listener.wait(),
            }
        }
    }

    /// Takes up to `max` events, or registers `cx`'s waker for the next emit
    /// (or shutdown) and returns `Pending`. `Ready(None)` once the stream
    /// has ended. What push delivery ([`crate::push`]) drives.
    pub fn poll_next_batch(
        &mut self,
        cx: &mut std::task::Context<'_>,
        max: usize,
    ) -> std::task::Poll<Option<Vec<Event>>> {
        use std::future::Future;
        use std::task::Poll;
        loop {
            if let Some(listener) = self.listener.as_mut() {
                if std::pin::Pin::new(listener).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.listener = None;
            }
            // Listen before looking, so an emit between the look and the
            // registration still wakes us.
            let listener = self.bus.inner.new_data.listen();
            match self.step(max) {
                Step::Events(events) => return Poll::Ready(Some(events)),
                Step::Ended => return Poll::Ready(None),
                Step::Empty => self.listener = Some(listener),
            }
        }
    }

    /// Waits asynchronously for events; `None` once the stream has ended.
    pub async fn next_batch(&mut self, max: usize) -> Option<Vec<Event>> {
        loop {
            let listener = self.bus.inner.new_data.listen();
            match self.step(max) {
                Step::Events(events) => return Some(events),
                Step::Ended => return None,
                Step::Empty => listener.await,
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.bus.inner.listeners.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("cursor", &self.cursor.encode())
            .field("ended", &self.ended)
            .finish()
    }
}
