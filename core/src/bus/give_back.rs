//! Giving back events a subscription took but did not deliver (see
//! [`Subscription::give_back`]). Its own module: a rare path, kept apart
//! from the read path's code.

use super::event::Event;
use super::Subscription;

impl Subscription {
    /// Puts events this subscription took but did not deliver back into the
    /// bus, where they are buffered as before (same shard, sequence and
    /// timestamp) and this subscription reads them again next. An iterator
    /// that fetches a batch and hands it out one event at a time calls this
    /// when its consumer stops early (`break`, `return`, `Close`), so a
    /// subscription never takes more than it delivers.
    ///
    /// Events that are not this bus's (a shard or sequence it never had) are
    /// ignored, as are events still buffered. A shard given more than its
    /// capacity holds them until read; under `drop_oldest` the next emit
    /// evicts down to capacity and counts what it evicts in `dropped`.
    /// Returns how many events went back.
    pub fn give_back(&mut self, events: Vec<Event>) -> usize {
        let n = self.bus.num_shards();
        let mut per_shard: Vec<Vec<(u64, u64, bytes::Bytes)>> = vec![Vec::new(); n];
        for event in events {
            if let Some(bucket) = per_shard.get_mut(usize::from(event.shard)) {
                bucket.push((event.seq, event.timestamp_ns, event.data));
            }
        }
        let mut restored = 0;
        for (shard, mut bucket) in per_shard.into_iter().enumerate() {
            if bucket.is_empty() {
                continue;
            }
            bucket.sort_unstable_by_key(|e| e.0);
            bucket.dedup_by_key(|e| e.0);
            let (back, oldest) = self.bus.inner.shards[shard].0.lock().restore(bucket);
            restored += back;
            if let Some(oldest) = oldest {
                // Read them again next.
                let pos = &mut self.cursor.positions[shard];
                *pos = (*pos).min(oldest);
            }
        }
        if restored > 0 {
            self.ended = false;
        }
        restored
    }
}
