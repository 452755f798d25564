//! Subscriptions as `Stream`s.

use crate::error::{Result, SdkError};
use futures_core::Stream;
use futures_util::stream::{self, BoxStream, StreamExt};
use net_core::bus::{Event, Subscription};
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Events taken from the bus per wake-up.
const BATCH: usize = 256;

/// A live stream of events (see [`crate::Net::subscribe`]).
///
/// It takes events from the bus in batches and yields them one at a time;
/// dropping it (a `break`, a `take(n)`, an early return) gives the events it
/// took but did not yield back to the bus, so nothing is lost.
pub struct EventStream {
    inner: BoxStream<'static, Result<Event>>,
}

/// An open subscription and the events taken from it but not yet yielded.
struct Open {
    sub: Box<Subscription>,
    buffer: VecDeque<Event>,
}

impl Drop for Open {
    fn drop(&mut self) {
        if !self.buffer.is_empty() {
            self.sub.give_back(self.buffer.drain(..).collect());
        }
    }
}

enum State {
    Open(Open),
    Failed(SdkError),
    Done,
}

impl EventStream {
    pub(crate) fn new(sub: Result<Subscription>) -> Self {
        let state = match sub {
            Ok(sub) => State::Open(Open {
                sub: Box::new(sub),
                buffer: VecDeque::new(),
            }),
            Err(e) => State::Failed(e),
        };
        let inner = stream::unfold(state, |state| async move {
            match state {
                State::Done => None,
                State::Failed(e) => Some((Err(e), State::Done)),
                State::Open(mut open) => {
                    if open.buffer.is_empty() {
                        let batch = open.sub.next_batch(BATCH).await?;
                        open.buffer.extend(batch);
                    }
                    let event = open.buffer.pop_front()?;
                    Some((Ok(event), State::Open(open)))
                }
            }
        })
        .boxed();
        EventStream { inner }
    }
}

impl Stream for EventStream {
    type Item = Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A live stream of decoded events (see [`crate::Net::subscribe_typed`]).
pub struct TypedEventStream<T> {
    events: EventStream,
    _type: PhantomData<fn() -> T>,
}

impl<T> TypedEventStream<T> {
    pub(crate) fn new(events: EventStream) -> Self {
        TypedEventStream {
            events,
            _type: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Stream for TypedEventStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.events).poll_next(cx).map(|item| {
            item.map(|event| {
                event.and_then(|e| {
                    e.parse::<T>()
                        .map_err(|err| SdkError::InvalidJson(err.to_string()))
                })
            })
        })
    }
}
