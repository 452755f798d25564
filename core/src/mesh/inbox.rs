//! Where received messages wait to be read: a bounded [`Queue`]. The
//! node's inbox, which [`MeshNode::recv`](super::MeshNode::recv) drains, is
//! one; a protocol may keep its own (the bus link does).
//!
//! A full queue drops fire-and-forget messages (counted in
//! `dropped_inbox_full`) and leaves reliable ones unacknowledged, so their
//! sender resends them later: a slow reader slows its sender down instead
//! of losing messages.

use super::stats::{add, bump, Counters};
use super::transport::shutdown_error;
use crate::error::Result;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A message received from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Sender's node id.
    pub from: u64,
    /// Stream it was sent on.
    pub stream_id: u64,
    /// The decrypted bytes.
    pub payload: Vec<u8>,
}

impl Message {
    /// The field names every language gives a message (each in its own
    /// spelling: `From`/`StreamID` in Go, `from_` in Python, `streamId` in
    /// TypeScript), pinned by `tests/cross_lang/mesh/records.json`.
    pub const FIELDS: [&'static str; 3] = ["from", "stream_id", "payload"];
}

/// What a [`Queue`] holds: anything with a payload to count.
pub trait Queued {
    /// The payload's length in bytes (for `bytes_received`).
    fn payload_len(&self) -> usize;
}

impl Queued for Message {
    fn payload_len(&self) -> usize {
        self.payload.len()
    }
}

/// A bounded queue of messages and the condition its readers wait on.
pub(crate) struct Queue<T: Queued = Message> {
    messages: Mutex<VecDeque<T>>,
    /// Set once the node shut down: readers of an empty queue get
    /// `mesh:shutdown`.
    closed: AtomicBool,
    ready: Condvar,
    /// Push readers ([`MessageSource`]) wait on this one: the condition
    /// variable serves blocked threads, this serves registered wakers.
    arrived: event_listener::Event,
    capacity: usize,
    /// What readers of a closed, empty queue get (`mesh:shutdown` unless
    /// the queue belongs to something else).
    closed_error: fn() -> crate::error::Error,
}

impl<T: Queued> Queue<T> {
    pub(crate) fn new(capacity: usize) -> Queue<T> {
        Queue::closing_with(capacity, shutdown_error)
    }

    /// A queue whose readers get `closed_error()` once it is closed and
    /// empty.
    pub(crate) fn closing_with(
        capacity: usize,
        closed_error: fn() -> crate::error::Error,
    ) -> Queue<T> {
        Queue {
            messages: Mutex::new(VecDeque::new()),
            closed: AtomicBool::new(false),
            ready: Condvar::new(),
            arrived: event_listener::Event::new(),
            capacity,
            closed_error,
        }
    }

    pub(crate) fn has_room(&self) -> bool {
        self.messages.lock().len() < self.capacity
    }

    /// Appends messages; `force` appends even over capacity (a reliable
    /// stream's in-order run, already accepted and about to be acknowledged).
    pub(crate) fn push(
        &self,
        messages: impl IntoIterator<Item = T>,
        force: bool,
        counters: Option<&Counters>,
    ) -> usize {
        let mut queue = self.messages.lock();
        let mut pushed = 0;
        for message in messages {
            if !force && queue.len() >= self.capacity {
                if let Some(counters) = counters {
                    bump(&counters.dropped_inbox_full);
                }
                continue;
            }
            if let Some(counters) = counters {
                add(&counters.bytes_received, message.payload_len());
            }
            queue.push_back(message);
            pushed += 1;
        }
        drop(queue);
        if pushed > 0 {
            self.ready.notify_all();
            self.arrived.notify(usize::MAX);
        }
        pushed
    }

    /// The next message, waiting up to `timeout` (`None`: until one comes).
    /// `Ok(None)` on timeout; `mesh:shutdown` once the node is shut down and
    /// the queue is empty.
    pub(crate) fn pop(&self, timeout: Option<Duration>) -> Result<Option<T>> {
        self.pop_cancellable(timeout, None)
    }

    /// [`pop`](Self::pop) that also fails with `call:cancelled` once
    /// `cancel` is cancelled (its waker must wake this queue's readers).
    pub(crate) fn pop_cancellable(
        &self,
        timeout: Option<Duration>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> Result<Option<T>> {
        let deadline = crate::time::Deadline::after(timeout).instant();
        let mut queue = self.messages.lock();
        loop {
            if let Some(message) = queue.pop_front() {
                return Ok(Some(message));
            }
            self.check_open()?;
            if let Some(cancel) = cancel {
                cancel.check()?;
            }
            match deadline {
                Some(d) => {
                    if self.ready.wait_until(&mut queue, d).timed_out() && queue.is_empty() {
                        return Ok(None);
                    }
                }
                None => self.ready.wait(&mut queue),
            }
        }
    }

    /// Takes the next item, or registers `cx`'s waker (through `listener`,
    /// which the caller keeps between polls) and returns `Pending`.
    /// `Ready(None)` once the queue is closed and empty.
    pub(crate) fn poll_pop(
        &self,
        listener: &mut Option<event_listener::EventListener>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        use std::future::Future;
        use std::task::Poll;
        loop {
            if let Some(waiting) = listener.as_mut() {
                if std::pin::Pin::new(waiting).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *listener = None;
            }
            // Listen before looking, so an item pushed in between wakes us.
            let next = self.arrived.listen();
            let closed = self.check_open().is_err();
            if let Some(item) = self.messages.lock().pop_front() {
                return Poll::Ready(Some(item));
            }
            if closed {
                return Poll::Ready(None);
            }
            *listener = Some(next);
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err((self.closed_error)());
        }
        Ok(())
    }

    /// Marks the queue closed (its node shut down) and wakes every reader:
    /// what is queued can still be taken, then readers get `mesh:shutdown`.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake_all();
    }

    /// Wakes every reader (on shutdown, or a cancelled wait).
    pub(crate) fn wake_all(&self) {
        let _queue = self.messages.lock();
        self.ready.notify_all();
        self.arrived.notify(usize::MAX);
    }
}

/// A queue as a push source ([`crate::push::Source`]): the node's inbox is
/// one ([`MessageSource`], what `on_message` handlers drain) and a channel
/// subscription's queue another
/// ([`ChannelSubscription::source`](super::ChannelSubscription::source)).
/// Items it takes are taken from the queue, as a pull reader takes them (a
/// handler and a pull loop on one queue share the items, each getting some).
pub struct QueueSource<T: Queued> {
    queue: Arc<Queue<T>>,
    listener: Option<event_listener::EventListener>,
}

/// The node's inbox as a push source.
pub type MessageSource = QueueSource<Message>;

impl<T: Queued> std::fmt::Debug for QueueSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueSource").finish_non_exhaustive()
    }
}

impl<T: Queued> QueueSource<T> {
    /// Takes up to `max` messages, or registers `cx`'s waker for the next
    /// one (or shutdown) and returns `Pending`. `Ready(None)` once the node
    /// has shut down and the inbox is empty.
    pub fn poll_next_batch(
        &mut self,
        cx: &mut std::task::Context<'_>,
        max: usize,
    ) -> std::task::Poll<Option<Vec<T>>> {
        use std::future::Future;
        use std::task::Poll;
        let inbox = &self.queue;
        loop {
            if let Some(listener) = self.listener.as_mut() {
                if std::pin::Pin::new(listener).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.listener = None;
            }
            // Listen before looking, so a message pushed in between wakes us.
            let listener = inbox.arrived.listen();
            let closed = inbox.check_open().is_err();
            let mut queue = inbox.messages.lock();
            if !queue.is_empty() {
                let n = queue.len().min(max.max(1));
                return Poll::Ready(Some(queue.drain(..n).collect()));
            }
            drop(queue);
            if closed {
                return Poll::Ready(None);
            }
            self.listener = Some(listener);
        }
    }

    /// Puts messages taken but not handed out back at the front of the
    /// inbox, in their order (a handler closed mid-batch).
    pub fn give_back(&mut self, messages: Vec<T>) {
        let inbox = &self.queue;
        let mut queue = inbox.messages.lock();
        for message in messages.into_iter().rev() {
            queue.push_front(message);
        }
        drop(queue);
        inbox.ready.notify_all();
        inbox.arrived.notify(usize::MAX);
    }
}

impl<T: Queued> QueueSource<T> {
    pub(crate) fn new(queue: Arc<Queue<T>>) -> QueueSource<T> {
        QueueSource {
            queue,
            listener: None,
        }
    }
}
