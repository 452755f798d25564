//! Where received messages wait to be read: the node's inbox, which
//! [`MeshNode::recv`] drains, and *claimed* streams, whose messages go to one
//! reader of their own instead (the bus link is one).
//!
//! Both are bounded. A full queue drops fire-and-forget messages (counted in
//! `dropped_inbox_full`) and leaves reliable ones unacknowledged, so their
//! sender resends them later: a slow reader slows its sender down instead
//! of losing messages.

use super::node::{Inner, MeshNode, Message};
use super::stats::{add, bump};
use crate::error::{Error, ErrorKind, Result};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// A bounded queue of messages and the condition its readers wait on.
pub(super) struct Queue {
    messages: Mutex<VecDeque<Message>>,
    ready: Condvar,
    /// Push readers ([`MessageSource`]) wait on this one: the condition
    /// variable serves blocked threads, this serves registered wakers.
    arrived: event_listener::Event,
    capacity: usize,
}

impl Queue {
    pub(super) fn new(capacity: usize) -> Queue {
        Queue {
            messages: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            arrived: event_listener::Event::new(),
            capacity,
        }
    }

    fn has_room(&self) -> bool {
        self.messages.lock().len() < self.capacity
    }

    /// Appends messages; `force` appends even over capacity (a reliable
    /// stream's in-order run, already accepted and about to be acknowledged).
    fn push(
        &self,
        messages: impl IntoIterator<Item = Message>,
        force: bool,
        inner: &Inner,
    ) -> usize {
        let mut queue = self.messages.lock();
        let mut pushed = 0;
        for message in messages {
            if !force && queue.len() >= self.capacity {
                bump(&inner.counters.dropped_inbox_full);
                continue;
            }
            add(&inner.counters.bytes_received, message.payload.len());
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
    pub(super) fn pop(&self, inner: &Inner, timeout: Option<Duration>) -> Result<Option<Message>> {
        self.pop_cancellable(inner, timeout, None)
    }

    /// [`pop`](Self::pop) that also fails with `call:cancelled` once
    /// `cancel` is cancelled (its waker must wake this queue's readers).
    pub(super) fn pop_cancellable(
        &self,
        inner: &Inner,
        timeout: Option<Duration>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> Result<Option<Message>> {
        let deadline = crate::time::Deadline::after(timeout).instant();
        let mut queue = self.messages.lock();
        loop {
            if let Some(message) = queue.pop_front() {
                return Ok(Some(message));
            }
            inner.check_open()?;
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

    /// Wakes every reader (on shutdown).
    pub(super) fn wake_all(&self) {
        let _queue = self.messages.lock();
        self.ready.notify_all();
        self.arrived.notify(usize::MAX);
    }
}

/// The node's inbox as a push source ([`crate::push::Source`]): what
/// `on_message` handlers drain. Messages it takes are taken from the inbox,
/// as [`MeshNode::recv`] takes them (a handler and a `recv` loop on one node
/// share the messages, each getting some).
pub struct MessageSource {
    inner: Arc<Inner>,
    listener: Option<event_listener::EventListener>,
}

impl std::fmt::Debug for MessageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageSource").finish_non_exhaustive()
    }
}

impl MessageSource {
    /// Takes up to `max` messages, or registers `cx`'s waker for the next
    /// one (or shutdown) and returns `Pending`. `Ready(None)` once the node
    /// has shut down and the inbox is empty.
    pub fn poll_next_batch(
        &mut self,
        cx: &mut std::task::Context<'_>,
        max: usize,
    ) -> std::task::Poll<Option<Vec<Message>>> {
        use std::future::Future;
        use std::task::Poll;
        let inbox = &self.inner.inbox;
        loop {
            if let Some(listener) = self.listener.as_mut() {
                if std::pin::Pin::new(listener).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.listener = None;
            }
            // Listen before looking, so a message pushed in between wakes us.
            let listener = inbox.arrived.listen();
            let closed = self.inner.check_open().is_err();
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
    pub fn give_back(&mut self, messages: Vec<Message>) {
        let inbox = &self.inner.inbox;
        let mut queue = inbox.messages.lock();
        for message in messages.into_iter().rev() {
            queue.push_front(message);
        }
        drop(queue);
        inbox.ready.notify_all();
        inbox.arrived.notify(usize::MAX);
    }
}

impl MeshNode {
    /// The inbox as a push source: `net_core::push::spawn(node.message_source()?,
    /// handler, ..)` calls `handler` for every message [`recv`](Self::recv)
    /// would have returned. `mesh:shutdown` once the node is shut down.
    pub fn message_source(&self) -> Result<MessageSource> {
        self.inner.check_open()?;
        Ok(MessageSource {
            inner: self.inner.clone(),
            listener: None,
        })
    }
}

impl Inner {
    /// The queue messages from `from` on `stream_id` go to.
    fn queue_for(&self, from: u64, stream_id: u64) -> Option<Arc<Queue>> {
        let claims = self.claims.read();
        if claims.is_empty() {
            return None;
        }
        claims.get(&(from, stream_id)).cloned()
    }

    /// Whether the queue for this stream has room for another message.
    pub(super) fn has_room_for(&self, from: u64, stream_id: u64) -> bool {
        match self.queue_for(from, stream_id) {
            Some(queue) => queue.has_room(),
            None => self.inbox.has_room(),
        }
    }

    /// Hands messages of one stream to their reader. `force` delivers even
    /// over capacity. Returns how many were delivered.
    pub(super) fn deliver(
        &self,
        from: u64,
        stream_id: u64,
        messages: impl IntoIterator<Item = Message>,
        force: bool,
    ) -> usize {
        // The claims stay read-locked while pushing: a claim installed
        // meanwhile would otherwise miss a message that lands in the inbox
        // just after it moved the inbox's messages over.
        let claims = self.claims.read();
        match claims.get(&(from, stream_id)) {
            Some(queue) => queue.push(messages, force, self),
            None => self.inbox.push(messages, force, self),
        }
    }

    /// Wakes every reader of the inbox and of claimed streams (on shutdown).
    pub(super) fn wake_readers(&self) {
        self.inbox.wake_all();
        for queue in self.claims.read().values() {
            queue.wake_all();
        }
    }
}

/// A stream whose messages from one peer skip the inbox and come here
/// instead, until the claim is dropped. See [`MeshNode::claim_stream`].
pub struct ClaimedStream {
    inner: Arc<Inner>,
    key: (u64, u64),
    queue: Arc<Queue>,
}

impl std::fmt::Debug for ClaimedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedStream")
            .field("peer", &format_args!("{:016x}", self.key.0))
            .field("stream_id", &self.key.1)
            .finish()
    }
}

impl ClaimedStream {
    /// The peer's node id.
    pub fn peer(&self) -> u64 {
        self.key.0
    }

    /// The stream id.
    pub fn id(&self) -> u64 {
        self.key.1
    }

    /// The next message on the stream, as [`MeshNode::recv`].
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Message>> {
        self.queue.pop(&self.inner, timeout)
    }
}

impl Drop for ClaimedStream {
    fn drop(&mut self) {
        self.inner.claims.write().remove(&self.key);
    }
}

impl MeshNode {
    /// Takes stream `stream_id` from peer `node_id` out of the inbox: its
    /// messages come to the returned claim instead, until it is dropped.
    /// Messages of that stream already waiting in the inbox move to the
    /// claim, in order, so nothing that arrived before the claim is lost to
    /// it. One claim per stream and peer: a second fails with
    /// `mesh:invalid_config`.
    pub fn claim_stream(&self, node_id: u64, stream_id: u64) -> Result<ClaimedStream> {
        self.inner.check_open()?;
        let key = (node_id, stream_id);
        let queue = Arc::new(Queue::new(self.inner.config.inbox_capacity));
        let mut claims = self.inner.claims.write();
        if claims.contains_key(&key) {
            return Err(Error::new(
                ErrorKind::InvalidMeshConfig,
                format!("stream {stream_id} from node {node_id:016x} is already claimed"),
            ));
        }
        // Holding the inbox lock while the claim is installed: no message of
        // the stream can land in the inbox after the move.
        let mut inbox = self.inner.inbox.messages.lock();
        let (moved, kept): (VecDeque<Message>, VecDeque<Message>) = inbox
            .drain(..)
            .partition(|m| m.from == node_id && m.stream_id == stream_id);
        *inbox = kept;
        *queue.messages.lock() = moved;
        claims.insert(key, queue.clone());
        drop(inbox);
        drop(claims);
        if self.inner.closed.load(Ordering::Acquire) {
            queue.wake_all();
        }
        Ok(ClaimedStream {
            inner: self.inner.clone(),
            key,
            queue,
        })
    }
}
