//! The handle every CortEX model shares: open (from the log or a snapshot),
//! write, read-your-writes, queries and watches. A model supplies its state type
//! (with its fold and query methods) and its typed write methods.

use super::adapter::{CortexAdapter, Fold, FoldErrorPolicy, StartPosition, Watch};
use super::codec::Writer;
use super::query::{select, OrderBy, Ordered};
use super::WriteToken;
use crate::error::Result;
use crate::redex::RedexFile;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest an open waits for the initial replay before failing with `cortex:timeout`.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(600);

/// A model's query filter.
pub trait RecordFilter<Item> {
    /// Whether `item` matches.
    fn matches(&self, item: &Item) -> bool;
    /// The requested order.
    fn order_by(&self) -> OrderBy;
    /// The requested maximum.
    fn limit(&self) -> Option<usize>;
}

/// What a model's state offers to the shared handle: its records by id, from
/// which every query form is derived once, here.
pub trait ModelState: Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The records the model holds.
    type Item: Clone + PartialEq + Ordered;
    /// Its query filter.
    type Filter: RecordFilter<Self::Item> + Send + Sync + 'static;
    /// The fold that applies its events.
    type Fold: Fold<Self> + Default;

    /// The records, in id order.
    fn records(&self) -> &BTreeMap<u64, Self::Item>;

    /// The record with this id.
    fn find_unique(&self, id: u64) -> Option<&Self::Item> {
        self.records().get(&id)
    }
    /// Records matching `filter`, ordered and limited by it.
    fn find_many(&self, filter: &Self::Filter) -> Vec<Self::Item> {
        select(
            self.records().values(),
            |r| filter.matches(r),
            filter.order_by(),
            filter.limit(),
        )
    }
    /// How many records match (ignores order and limit).
    fn count_where(&self, filter: &Self::Filter) -> usize {
        self.records()
            .values()
            .filter(|r| filter.matches(r))
            .count()
    }
    /// Whether any record matches.
    fn exists_where(&self, filter: &Self::Filter) -> bool {
        self.records().values().any(|r| filter.matches(r))
    }
    /// Number of records.
    fn len(&self) -> usize {
        self.records().len()
    }
    /// Whether there are no records.
    fn is_empty(&self) -> bool {
        self.records().is_empty()
    }
}

/// A model over its log (see [`super::Tasks`] and [`super::Memories`]).
pub struct Model<S: ModelState> {
    adapter: CortexAdapter<S>,
}

impl<S: ModelState> Model<S> {
    /// Opens the model, replaying its log from the beginning; returns once
    /// everything already in the log is folded, so queries see it. Invalid
    /// events are counted and skipped (`FoldErrorPolicy::LogAndContinue`).
    pub fn open(file: RedexFile, origin_hash: u32) -> Result<Self> {
        let adapter = CortexAdapter::open(
            file,
            S::default(),
            S::Fold::default(),
            StartPosition::FromBeginning,
            FoldErrorPolicy::LogAndContinue,
            origin_hash,
        )?;
        Model::caught_up(adapter)
    }

    /// Waits until the fold has applied everything the log held at open.
    fn caught_up(adapter: CortexAdapter<S>) -> Result<Self> {
        let next = adapter.file().next_seq();
        if next > 0 && adapter.status().next_seq < next {
            adapter.wait_for_seq(next - 1, REPLAY_TIMEOUT)?;
        }
        Ok(Model { adapter })
    }

    /// Opens the model from a snapshot, folding what came after it (returns
    /// once the log's tail after the snapshot is folded).
    pub fn open_from_snapshot(
        file: RedexFile,
        bytes: &[u8],
        next_seq: u64,
        origin_hash: u32,
    ) -> Result<Self> {
        let adapter = CortexAdapter::open_from_snapshot(
            file,
            bytes,
            next_seq,
            S::Fold::default(),
            FoldErrorPolicy::LogAndContinue,
            origin_hash,
        )?;
        Model::caught_up(adapter)
    }

    /// Appends one event whose payload `encode` writes (see `codec`).
    pub(crate) fn write(
        &self,
        dispatch: u8,
        encode: impl FnOnce(&mut Writer<'_>),
    ) -> Result<WriteToken> {
        let seq = self
            .adapter
            .append_with(dispatch, |buf| encode(&mut Writer(buf)))?;
        Ok(WriteToken {
            origin_hash: self.adapter.origin_hash(),
            seq,
        })
    }

    /// Blocks until the write is visible in queries (read-your-writes); fails
    /// with `cortex:fold_stopped` rather than hanging if the fold has stopped.
    pub fn wait_for_token(&self, token: WriteToken, timeout: Duration) -> Result<()> {
        self.adapter.wait_for_seq(token.seq, timeout)
    }

    /// [`wait_for_token`](Self::wait_for_token) that fails with
    /// `call:cancelled` once `cancel` is cancelled.
    pub fn wait_for_token_cancellable(
        &self,
        token: WriteToken,
        timeout: Duration,
        cancel: &crate::cancel::CancelToken,
    ) -> Result<()> {
        self.adapter
            .wait_for_seq_cancellable(token.seq, timeout, Some(cancel))
    }

    /// The folded state (hold the guard briefly: the fold waits for it).
    pub fn state(&self) -> parking_lot::RwLockReadGuard<'_, S> {
        self.adapter.state()
    }

    /// The record with this id.
    pub fn find_unique(&self, id: u64) -> Option<S::Item> {
        self.adapter.state().find_unique(id).cloned()
    }

    /// Records matching `filter`.
    pub fn find_many(&self, filter: &S::Filter) -> Vec<S::Item> {
        self.adapter.state().find_many(filter)
    }

    /// How many records match.
    pub fn count_where(&self, filter: &S::Filter) -> usize {
        self.adapter.state().count_where(filter)
    }

    /// Whether any record matches.
    pub fn exists_where(&self, filter: &S::Filter) -> bool {
        self.adapter.state().exists_where(filter)
    }

    /// Watches a query: the current result, then each changed result.
    pub fn watch(&self, filter: S::Filter) -> Watch<S, S::Item, impl Fn(&S) -> Vec<S::Item>> {
        self.adapter.watch(move |s: &S| s.find_many(&filter))
    }

    /// The underlying adapter (status, snapshots, changes).
    pub fn adapter(&self) -> &CortexAdapter<S> {
        &self.adapter
    }
}
