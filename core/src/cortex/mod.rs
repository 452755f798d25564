//! CortEX: event-sourced local state over RedEX logs.
//!
//! A [`CortexAdapter`] prefixes every payload with a 20-byte [`EventMeta`] and
//! folds the log into state on its own thread, with a read-your-writes barrier
//! (`wait_for_seq`), change notifications and consistent snapshots. Two models
//! ship on it — [`Tasks`] and [`Memories`] — and [`NetDb`] bundles them.

mod adapter;
mod codec;
mod memories;
mod meta;
mod model;
mod netdb;
mod query;
mod tasks;

pub use adapter::{
    Changes, CortexAdapter, Fold, FoldErrorPolicy, FoldStatus, StartPosition, Watch,
};
pub use memories::{Memories, MemoriesFilter, MemoriesFold, MemoriesState, Memory};
pub use meta::{EventMeta, META_LEN};
pub use model::{Model, ModelState, RecordFilter};
pub use netdb::{
    ModelSnapshot, NetDb, NetDbBuilder, NetDbSnapshot, MEMORIES_CHANNEL, TASKS_CHANNEL,
};
pub use query::{OrderBy, Ordered};
pub use tasks::{Task, TaskStatus, Tasks, TasksFilter, TasksFold, TasksQuery, TasksState};

/// Returned by every model write: wait on it to read your own write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WriteToken {
    /// The writer's origin hash.
    pub origin_hash: u32,
    /// The log sequence of the write.
    pub seq: u64,
}

#[cfg(test)]
mod tests;
