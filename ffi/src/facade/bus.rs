//! Bus operations for the bindings: JSON in for control, bytes for data.

use net_core::bus::{Filter, PollRequest, SubscribeOptions, Subscription};
use net_core::{Error, ErrorKind, Result};
use parking_lot::Mutex;
use std::time::Duration;

pub use net_core::bus::{Bus, Event, PollResponse, Receipt};

use super::wait::{CloseFlag, Slice};
pub use super::wait::{Waited, WAIT_SLICE};
use net_core::cancel::CancelToken;

/// Opens a bus from a JSON configuration (empty means defaults).
pub fn open(config_json: &str) -> Result<Bus> {
    Bus::from_json(config_json)
}

fn parse_filter(filter_json: Option<&str>) -> Result<Option<Filter>> {
    filter_json
        .filter(|f| !f.trim().is_empty())
        .map(Filter::from_json)
        .transpose()
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|c| !c.is_empty()).map(str::to_owned)
}

/// Polls: `cursor` and `filter_json` may be absent or empty.
pub fn poll(
    bus: &Bus,
    limit: usize,
    cursor: Option<&str>,
    filter_json: Option<&str>,
) -> Result<PollResponse> {
    bus.poll(&PollRequest {
        limit,
        cursor: non_empty(cursor),
        filter: parse_filter(filter_json)?,
    })
}

/// Emits events packed back to back in `data`, with their lengths in `lens`
/// (the layout Go and other bindings can build without per-event allocations).
pub fn emit_raw_packed(bus: &Bus, data: &[u8], lens: &[usize]) -> Result<usize> {
    let total = lens.iter().try_fold(0usize, |acc, &l| acc.checked_add(l));
    if total != Some(data.len()) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "the event lengths do not add up to the buffer size",
        ));
    }
    let mut slices = Vec::with_capacity(lens.len());
    let mut offset = 0;
    for &len in lens {
        slices.push(&data[offset..offset + len]);
        offset += len;
    }
    bus.emit_raw_batch(&slices)
}

/// Statistics as JSON: `{"ingested","dropped","buffered","shard_depths"}`.
pub fn stats_json(bus: &Bus) -> String {
    serde_json::to_string(&bus.stats()).unwrap_or_default()
}

/// Health as JSON: `{"status","num_shards","full_shards"}`.
pub fn health_json(bus: &Bus) -> String {
    serde_json::to_string(&bus.health()).unwrap_or_default()
}

/// A subscription that can be closed from any thread while another waits on it.
///
/// Lock discipline (the rule every facade handle follows): the subscription's
/// lock is held only while one slice of a wait sleeps, never while the
/// binding's `interrupted` check runs (it may take the GIL), and getters read
/// snapshots under locks that are never held across a wait.
pub struct SubscriptionHandle {
    sub: Mutex<Subscription>,
    /// The batch the last `next` handed out, for [`SubscriptionHandle::unread`].
    last: Mutex<Vec<Event>>,
    /// The cursor after the last batch (a snapshot: reading it never waits).
    cursor: Mutex<String>,
    closed: CloseFlag,
}

/// What a wait on a subscription produced: events, a timeout, or the end
/// (closed, or the bus shut down and has been drained).
pub type Next = Waited<Vec<Event>>;

/// Opens a live subscription as the engine's own type, for push delivery
/// (`net_core::push`): a handler the engine calls for each event. Empty
/// `cursor` / `filter_json` mean "none", as for [`subscribe`].
pub fn subscription(
    bus: &Bus,
    cursor: Option<&str>,
    filter_json: Option<&str>,
) -> Result<Subscription> {
    bus.subscribe(SubscribeOptions {
        cursor: non_empty(cursor),
        filter: parse_filter(filter_json)?,
    })
}

/// Opens a live subscription.
pub fn subscribe(
    bus: &Bus,
    cursor: Option<&str>,
    filter_json: Option<&str>,
) -> Result<SubscriptionHandle> {
    Ok(SubscriptionHandle::from(subscription(
        bus,
        cursor,
        filter_json,
    )?))
}

impl From<Subscription> for SubscriptionHandle {
    fn from(sub: Subscription) -> Self {
        SubscriptionHandle {
            cursor: Mutex::new(sub.cursor()),
            sub: Mutex::new(sub),
            last: Mutex::new(Vec::new()),
            closed: CloseFlag::default(),
        }
    }
}

impl SubscriptionHandle {
    /// Waits up to `timeout` (forever if `None`) for up to `max` events. Waits in
    /// slices of [`WAIT_SLICE`], calling `interrupted` between slices so a binding
    /// can honour Ctrl-C; an `Err` from it ends the wait with that error.
    pub fn next(
        &self,
        max: usize,
        timeout: Option<Duration>,
        interrupted: impl FnMut() -> Result<()>,
    ) -> Result<Next> {
        self.next_cancellable(max, timeout, None, interrupted)
    }

    /// [`next`](Self::next) that also fails with `call:cancelled` as soon as
    /// `cancel` is cancelled (the wait wakes at once, mid-slice).
    pub fn next_cancellable(
        &self,
        max: usize,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
        interrupted: impl FnMut() -> Result<()>,
    ) -> Result<Next> {
        self.last.lock().clear();
        self.closed.wait(timeout, interrupted, |slice| {
            let mut sub = self.sub.lock();
            let batch = match cancel {
                Some(cancel) => sub.next_batch_cancellable(max, Some(slice), cancel)?,
                None => sub.next_batch_blocking(max, Some(slice)),
            };
            *self.cursor.lock() = sub.cursor();
            Ok(match batch {
                None => Slice::Ended,
                Some(events) if !events.is_empty() => {
                    *self.last.lock() = events.clone();
                    Slice::Ready(events)
                }
                Some(_) => Slice::Empty,
            })
        })
    }

    /// Gives the last `count` events of the batch the latest [`next`] returned
    /// back to the bus: the caller did not deliver them (an iterator left
    /// early). They are buffered again and this subscription reads them next.
    /// `bus:invalid_argument` if the batch had fewer events.
    ///
    /// [`next`]: SubscriptionHandle::next
    pub fn unread(&self, count: usize) -> Result<()> {
        let tail = {
            let mut last = self.last.lock();
            if count > last.len() {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "cannot give back {count} events: the last batch had {}",
                        last.len()
                    ),
                ));
            }
            let at = last.len() - count;
            last.split_off(at)
        };
        if tail.is_empty() {
            return Ok(());
        }
        let mut sub = self.sub.lock();
        sub.give_back(tail);
        *self.cursor.lock() = sub.cursor();
        Ok(())
    }

    /// Closes the subscription; a waiter returns `Done` within one wait slice.
    pub fn close(&self) {
        self.closed.close();
    }

    /// The cursor just past everything taken so far (never waits).
    pub fn cursor(&self) -> String {
        self.cursor.lock().clone()
    }
}
