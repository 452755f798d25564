//! The tasks model: mutate-by-id CRUD over a CortEX fold.
//!
//! Events (JSON payloads): `0x01` created, `0x02` renamed, `0x03` completed,
//! `0x04` deleted. Invalid transitions (renaming a missing task, creating an id
//! twice) are fold errors, counted and skipped.

use super::adapter::{CortexAdapter, Fold, FoldErrorPolicy, StartPosition, Watch};
use super::meta::EventMeta;
use super::query::{select, OrderBy, Ordered};
use super::WriteToken;
use crate::error::{Error, ErrorKind, Result};
use crate::redex::RedexFile;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

const CREATED: u8 = 0x01;
const RENAMED: u8 = 0x02;
const COMPLETED: u8 = 0x03;
const DELETED: u8 = 0x04;

/// A task's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not done yet.
    Pending,
    /// Done.
    Completed,
}

/// A task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Caller-chosen id.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Status.
    pub status: TaskStatus,
    /// Creation time (ns).
    pub created_ns: u64,
    /// Last change (ns).
    pub updated_ns: u64,
}

impl Ordered for Task {
    fn id(&self) -> u64 {
        self.id
    }
    fn created_ns(&self) -> u64 {
        self.created_ns
    }
    fn updated_ns(&self) -> u64 {
        self.updated_ns
    }
}

/// A task query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TasksFilter {
    /// Only tasks with this status.
    pub status: Option<TaskStatus>,
    /// Result order.
    pub order_by: OrderBy,
    /// Most results.
    pub limit: Option<usize>,
}

impl TasksFilter {
    fn matches(&self, t: &Task) -> bool {
        self.status.is_none_or(|s| t.status == s)
    }
}

/// The folded tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TasksState {
    tasks: BTreeMap<u64, Task>,
}

impl TasksState {
    /// The task with this id.
    pub fn find_unique(&self, id: u64) -> Option<&Task> {
        self.tasks.get(&id)
    }

    /// Tasks matching `filter`.
    pub fn find_many(&self, filter: &TasksFilter) -> Vec<Task> {
        select(
            self.tasks.values(),
            |t| filter.matches(t),
            filter.order_by,
            filter.limit,
        )
    }

    /// How many tasks match (ignores order and limit).
    pub fn count_where(&self, filter: &TasksFilter) -> usize {
        self.tasks.values().filter(|t| filter.matches(t)).count()
    }

    /// Whether any task matches.
    pub fn exists_where(&self, filter: &TasksFilter) -> bool {
        self.tasks.values().any(|t| filter.matches(t))
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// A query builder.
    pub fn query(&self) -> TasksQuery<'_> {
        TasksQuery {
            state: self,
            filter: TasksFilter::default(),
        }
    }
}

/// Builder over [`TasksState`] (`state.query().where_status(..).limit(10).collect()`).
pub struct TasksQuery<'a> {
    state: &'a TasksState,
    filter: TasksFilter,
}

impl TasksQuery<'_> {
    /// Only this status.
    pub fn where_status(mut self, status: TaskStatus) -> Self {
        self.filter.status = Some(status);
        self
    }
    /// Result order.
    pub fn order_by(mut self, order: OrderBy) -> Self {
        self.filter.order_by = order;
        self
    }
    /// Most results.
    pub fn limit(mut self, n: usize) -> Self {
        self.filter.limit = Some(n);
        self
    }
    /// Runs the query.
    pub fn collect(self) -> Vec<Task> {
        self.state.find_many(&self.filter)
    }
    /// Counts matches.
    pub fn count(self) -> usize {
        self.state.count_where(&self.filter)
    }
}

#[derive(Serialize, Deserialize)]
struct Change {
    id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default)]
    ts: u64,
}

struct TasksFold;

impl Fold<TasksState> for TasksFold {
    fn apply(
        &mut self,
        state: &mut TasksState,
        _seq: u64,
        meta: &EventMeta,
        payload: &[u8],
    ) -> Result<(), String> {
        let c: Change = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        match meta.dispatch {
            CREATED => {
                if state.tasks.contains_key(&c.id) {
                    return Err(format!("task {} already exists", c.id));
                }
                state.tasks.insert(
                    c.id,
                    Task {
                        id: c.id,
                        title: c.title.unwrap_or_default(),
                        status: TaskStatus::Pending,
                        created_ns: c.ts,
                        updated_ns: c.ts,
                    },
                );
            }
            RENAMED | COMPLETED => {
                let task = state
                    .tasks
                    .get_mut(&c.id)
                    .ok_or_else(|| format!("no task {}", c.id))?;
                if meta.dispatch == RENAMED {
                    task.title = c.title.unwrap_or_default();
                } else {
                    task.status = TaskStatus::Completed;
                }
                task.updated_ns = c.ts;
            }
            DELETED => {
                state
                    .tasks
                    .remove(&c.id)
                    .ok_or_else(|| format!("no task {}", c.id))?;
            }
            other => return Err(format!("unknown tasks dispatch {other:#04x}")),
        }
        Ok(())
    }
}

/// The tasks model over its log.
pub struct Tasks {
    adapter: CortexAdapter<TasksState>,
}

impl Tasks {
    /// Opens the model, replaying `file` from the beginning.
    pub fn open(file: RedexFile, origin_hash: u32) -> Result<Tasks> {
        let adapter = CortexAdapter::open(
            file,
            TasksState::default(),
            TasksFold,
            StartPosition::FromBeginning,
            FoldErrorPolicy::LogAndContinue,
            origin_hash,
        )?;
        Ok(Tasks { adapter })
    }

    /// Opens the model from a snapshot, folding what came after it.
    pub fn open_from_snapshot(
        file: RedexFile,
        bytes: &[u8],
        next_seq: u64,
        origin_hash: u32,
    ) -> Result<Tasks> {
        let adapter = CortexAdapter::open_from_snapshot(
            file,
            bytes,
            next_seq,
            TasksFold,
            FoldErrorPolicy::LogAndContinue,
            origin_hash,
        )?;
        Ok(Tasks { adapter })
    }

    fn write(&self, dispatch: u8, change: &Change) -> Result<WriteToken> {
        let payload =
            serde_json::to_vec(change).map_err(|e| Error::new(ErrorKind::Decode, e.to_string()))?;
        let seq = self.adapter.append(dispatch, &payload)?;
        Ok(WriteToken {
            origin_hash: self.adapter.origin_hash(),
            seq,
        })
    }

    /// Creates a task.
    pub fn create(&self, id: u64, title: &str, now_ns: u64) -> Result<WriteToken> {
        self.write(
            CREATED,
            &Change {
                id,
                title: Some(title.to_owned()),
                ts: now_ns,
            },
        )
    }

    /// Renames a task.
    pub fn rename(&self, id: u64, title: &str, now_ns: u64) -> Result<WriteToken> {
        self.write(
            RENAMED,
            &Change {
                id,
                title: Some(title.to_owned()),
                ts: now_ns,
            },
        )
    }

    /// Marks a task completed.
    pub fn complete(&self, id: u64, now_ns: u64) -> Result<WriteToken> {
        self.write(
            COMPLETED,
            &Change {
                id,
                title: None,
                ts: now_ns,
            },
        )
    }

    /// Deletes a task.
    pub fn delete(&self, id: u64) -> Result<WriteToken> {
        self.write(
            DELETED,
            &Change {
                id,
                title: None,
                ts: 0,
            },
        )
    }

    /// Blocks until the write is visible in queries (read-your-writes).
    pub fn wait_for_token(&self, token: WriteToken, timeout: Duration) -> Result<()> {
        self.adapter.wait_for_seq(token.seq, timeout)
    }

    /// The folded state.
    pub fn state(&self) -> parking_lot::RwLockReadGuard<'_, TasksState> {
        self.adapter.state()
    }

    /// The task with this id.
    pub fn find_unique(&self, id: u64) -> Option<Task> {
        self.adapter.state().find_unique(id).cloned()
    }

    /// Tasks matching `filter`.
    pub fn find_many(&self, filter: &TasksFilter) -> Vec<Task> {
        self.adapter.state().find_many(filter)
    }

    /// How many tasks match.
    pub fn count_where(&self, filter: &TasksFilter) -> usize {
        self.adapter.state().count_where(filter)
    }

    /// Whether any task matches.
    pub fn exists_where(&self, filter: &TasksFilter) -> bool {
        self.adapter.state().exists_where(filter)
    }

    /// Watches a query: the current result, then each changed result.
    pub fn watch(
        &self,
        filter: TasksFilter,
    ) -> Watch<TasksState, Task, impl Fn(&TasksState) -> Vec<Task>> {
        self.adapter
            .watch(move |s: &TasksState| s.find_many(&filter))
    }

    /// The underlying adapter (status, snapshots, changes).
    pub fn adapter(&self) -> &CortexAdapter<TasksState> {
        &self.adapter
    }
}
