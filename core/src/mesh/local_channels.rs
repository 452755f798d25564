//! Channels inside one process: publish on a name, and every local
//! subscription whose name or pattern matches gets a copy.
//!
//! Each [`Bus`](crate::bus::Bus) carries one [`LocalChannels`]
//! ([`Bus::channels`](crate::bus::Bus::channels)): the bus itself is a work
//! queue (an event goes to one consumer), while a channel fans out (every
//! subscriber gets every message). Subscriptions are the same
//! [`ChannelSubscription`] a mesh subscription is, so code that reads one
//! reads the other; their `publisher` is 0 and their messages'
//! `publisher` too.
//!
//! | | local channels | channels over the mesh |
//! |---|---|---|
//! | reach | this process | authorised subscribers on other nodes |
//! | rules (tokens, capabilities, subnets) | none: one process trusts itself | per channel |
//! | registration | none: publish on any valid name | `register_channel` first |
//! | a subscriber that does not keep up | its queue fills, then it misses messages (counted in [`LocalChannelStats::dropped`]) | the channel's congestion policy |
//!
//! Typed channels in every SDK (`node.channel<T>(name)`) are built on this
//! and on mesh channels alike.

use super::channel_layer::{ChannelSubscription, Roster};
use super::channels::{ChannelMessage, Sub};
use super::inbox::Queue;
use super::stats::{add, bump};
use crate::channel::{ChannelName, ChannelPattern};
use crate::error::{Error, Result};
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// One process's channels (see the [module docs](self)).
pub struct LocalChannels {
    subs: RwLock<HashMap<u64, Arc<Sub>>>,
    next_id: AtomicU64,
    capacity: usize,
    closed: AtomicBool,
    closed_error: fn() -> Error,
    published: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

super::stats::stats_record! {
    /// Counters of a [`LocalChannels`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
    pub struct LocalChannelStats {
        /// Publish calls.
        pub published: u64,
        /// Copies queued for subscribers.
        pub delivered: u64,
        /// Copies a full subscriber queue refused.
        pub dropped: u64,
        /// Open subscriptions.
        pub subscriptions: u64,
    }
}

impl std::fmt::Debug for LocalChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChannels")
            .field("stats", &self.stats())
            .finish()
    }
}

impl LocalChannels {
    /// A hub whose subscriptions hold up to `capacity` messages each, and
    /// whose calls fail with `closed_error()` once closed.
    pub fn new(capacity: usize, closed_error: fn() -> Error) -> Arc<LocalChannels> {
        Arc::new(LocalChannels {
            subs: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            capacity: capacity.max(1),
            closed: AtomicBool::new(false),
            closed_error,
            published: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err((self.closed_error)());
        }
        Ok(())
    }

    /// Queues a copy of `payload` for every subscription matching
    /// `channel` and returns how many took it (a full one refuses it, and
    /// the refusal is counted). `channel:invalid_name` for a bad name.
    pub fn publish(&self, channel: &str, payload: &[u8]) -> Result<usize> {
        self.check_open()?;
        let name = ChannelName::new(channel)?;
        bump(&self.published);
        let shared: Arc<str> = Arc::from(name.as_str());
        let mut delivered = 0;
        let mut dropped = 0;
        for sub in self.subs.read().values() {
            if !sub.pattern.matches(&name) {
                continue;
            }
            let message = ChannelMessage {
                publisher: 0,
                channel: shared.clone(),
                payload: payload.to_vec(),
            };
            if sub.queue.push([message], false, None) == 1 {
                delivered += 1;
            } else {
                dropped += 1;
            }
        }
        add(&self.delivered, delivered);
        add(&self.dropped, dropped);
        Ok(delivered)
    }

    /// A subscription to a name or a pattern (`sensors/*`, `sensors/**`):
    /// every later publish that matches. `channel:invalid_name` for a bad
    /// pattern.
    pub fn subscribe(self: &Arc<Self>, pattern: &str) -> Result<ChannelSubscription> {
        self.check_open()?;
        let pattern = ChannelPattern::new(pattern)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let sub = Arc::new(Sub {
            publisher: 0,
            pattern: pattern.clone(),
            queue: Arc::new(Queue::closing_with(self.capacity, self.closed_error)),
            priorities: Default::default(),
        });
        self.subs.write().insert(id, sub.clone());
        let roster: Arc<dyn Roster> = self.clone();
        Ok(ChannelSubscription::local(
            id,
            pattern.to_string(),
            sub,
            Arc::downgrade(&roster),
        ))
    }

    /// The counters now.
    pub fn stats(&self) -> LocalChannelStats {
        LocalChannelStats {
            published: self.published.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            subscriptions: self.subs.read().len() as u64,
        }
    }

    /// Ends every subscription (readers drain what is queued, then get the
    /// closed error) and refuses later calls.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for sub in self.subs.write().drain().map(|(_, sub)| sub) {
            sub.queue.close();
        }
    }
}

impl Roster for LocalChannels {
    fn remove(&self, id: u64) {
        self.subs.write().remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::time::Duration;

    fn hub() -> Arc<LocalChannels> {
        LocalChannels::new(4, || {
            Error::new(ErrorKind::Shutdown, "the bus has been shut down")
        })
    }

    const WAIT: Option<Duration> = Some(Duration::from_millis(10));

    #[test]
    fn every_matching_subscription_gets_a_copy_and_no_other() {
        let hub = hub();
        let exact = hub.subscribe("sensors/temp").unwrap();
        let one = hub.subscribe("sensors/*").unwrap();
        let deep = hub.subscribe("sensors/**").unwrap();
        let other = hub.subscribe("alerts/*").unwrap();
        assert_eq!(hub.publish("sensors/temp", b"21").unwrap(), 3);
        assert_eq!(hub.publish("sensors/a/b", b"deep").unwrap(), 1);
        for sub in [&exact, &one, &deep] {
            let m = sub.next(WAIT).unwrap().unwrap();
            assert_eq!(
                (m.publisher, &*m.channel, &m.payload[..]),
                (0, "sensors/temp", &b"21"[..])
            );
        }
        assert_eq!(deep.next(WAIT).unwrap().unwrap().payload, b"deep");
        assert_eq!(exact.next(WAIT).unwrap(), None);
        assert_eq!(one.next(WAIT).unwrap(), None);
        assert_eq!(other.next(WAIT).unwrap(), None);
        assert_eq!(exact.publisher(), 0);
        assert_eq!(one.accepted(), ["sensors/*"]);
    }

    #[test]
    fn a_full_subscriber_misses_messages_and_they_are_counted() {
        let hub = hub();
        let slow = hub.subscribe("a").unwrap();
        for i in 0..6u8 {
            hub.publish("a", &[i]).unwrap();
        }
        let stats = hub.stats();
        assert_eq!((stats.published, stats.delivered, stats.dropped), (6, 4, 2));
        let got: Vec<u8> = (0..4)
            .map(|_| slow.next(WAIT).unwrap().unwrap().payload[0])
            .collect();
        assert_eq!(got, [0, 1, 2, 3]);
    }

    #[test]
    fn bad_names_closing_and_unsubscribing() {
        let hub = hub();
        for bad in ["", "a//b", "a/*/b", "sp ace"] {
            assert_eq!(
                hub.publish(bad, b"x").unwrap_err().kind(),
                ErrorKind::InvalidChannelName
            );
        }
        assert_eq!(
            hub.subscribe("a/**/b").unwrap_err().kind(),
            ErrorKind::InvalidChannelName
        );
        let gone = hub.subscribe("a").unwrap();
        gone.close();
        assert_eq!(hub.publish("a", b"x").unwrap(), 0);
        assert_eq!(hub.stats().subscriptions, 0);
        let kept = hub.subscribe("a").unwrap();
        hub.publish("a", b"last").unwrap();
        hub.close();
        assert_eq!(kept.next(WAIT).unwrap().unwrap().payload, b"last");
        assert_eq!(kept.next(WAIT).unwrap_err().kind(), ErrorKind::Shutdown);
        assert_eq!(
            hub.publish("a", b"x").unwrap_err().kind(),
            ErrorKind::Shutdown
        );
        assert_eq!(hub.subscribe("a").unwrap_err().kind(), ErrorKind::Shutdown);
    }

    #[test]
    fn publishers_and_subscribers_on_many_threads() {
        let hub = LocalChannels::new(100_000, || Error::new(ErrorKind::Shutdown, "closed"));
        let subs: Vec<_> = (0..4).map(|_| hub.subscribe("load/*").unwrap()).collect();
        let writers: Vec<_> = (0..4u8)
            .map(|w| {
                let hub = hub.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u32 {
                        let mut p = vec![w];
                        p.extend_from_slice(&i.to_le_bytes());
                        assert_eq!(hub.publish(&format!("load/w{w}"), &p).unwrap(), 4);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        for sub in &subs {
            let mut next = [0u32; 4];
            for _ in 0..4000 {
                let m = sub.next(WAIT).unwrap().unwrap();
                let w = m.payload[0] as usize;
                let i = u32::from_le_bytes(m.payload[1..5].try_into().unwrap());
                assert_eq!(i, next[w], "each writer's messages in order");
                next[w] += 1;
            }
            assert_eq!(sub.next(WAIT).unwrap(), None);
        }
    }
}

#[cfg(test)]
mod fields_tests {
    use crate::mesh::{CapabilityStats, ChannelStats, LocalChannelStats, MeshStats};

    fn keys<T: serde::Serialize + Default>() -> Vec<String> {
        match serde_json::to_value(T::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            other => panic!("not an object: {other:?}"),
        }
    }

    fn names(fields: &[(&str, &str)]) -> Vec<String> {
        let mut names: Vec<String> = fields.iter().map(|(n, _)| (*n).to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn every_stats_record_lists_exactly_its_json_fields_with_a_description() {
        assert_eq!(keys::<MeshStats>(), names(MeshStats::FIELDS));
        assert_eq!(keys::<ChannelStats>(), names(ChannelStats::FIELDS));
        assert_eq!(keys::<CapabilityStats>(), names(CapabilityStats::FIELDS));
        assert_eq!(
            keys::<LocalChannelStats>(),
            names(LocalChannelStats::FIELDS)
        );
        for (name, doc) in ChannelStats::FIELDS
            .iter()
            .chain(CapabilityStats::FIELDS)
            .chain(LocalChannelStats::FIELDS)
        {
            assert!(!doc.trim().is_empty(), "{name} has no description");
        }
    }
}
