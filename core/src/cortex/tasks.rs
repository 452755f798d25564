//! The tasks model: mutate-by-id CRUD over a CortEX fold.
//!
//! Events (binary payloads, see `codec`): `0x01` created `id, ts, title`,
//! `0x02` renamed `id, ts, title`, `0x03` completed `id, ts`, `0x04` deleted
//! `id`. Invalid transitions (renaming a missing task, creating an id twice)
//! are fold errors, counted and skipped.

use super::adapter::Fold;
use super::codec::Reader;
use super::meta::EventMeta;
use super::model::{Model, ModelState, RecordFilter};
use super::query::{OrderBy, Ordered};
use super::WriteToken;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

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
    /// Title (shared: cloning a task never copies it).
    pub title: Arc<str>,
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

impl RecordFilter<Task> for TasksFilter {
    fn order_by(&self) -> OrderBy {
        self.order_by
    }
    fn limit(&self) -> Option<usize> {
        self.limit
    }
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

#[derive(Default)]
/// Applies task events to [`TasksState`].
pub struct TasksFold;

impl Fold<TasksState> for TasksFold {
    fn apply(
        &mut self,
        state: &mut TasksState,
        _seq: u64,
        meta: &EventMeta,
        payload: &[u8],
    ) -> Result<(), String> {
        let mut r = Reader::new(payload);
        let id = r.u64()?;
        match meta.dispatch {
            CREATED => {
                let (ts, title) = (r.u64()?, r.str()?);
                r.finish()?;
                if state.tasks.contains_key(&id) {
                    return Err(format!("task {id} already exists"));
                }
                state.tasks.insert(
                    id,
                    Task {
                        id,
                        title: title.into(),
                        status: TaskStatus::Pending,
                        created_ns: ts,
                        updated_ns: ts,
                    },
                );
            }
            RENAMED | COMPLETED => {
                let ts = r.u64()?;
                let title = if meta.dispatch == RENAMED {
                    Some(r.str()?)
                } else {
                    None
                };
                r.finish()?;
                let task = state
                    .tasks
                    .get_mut(&id)
                    .ok_or_else(|| format!("no task {id}"))?;
                match title {
                    Some(title) => task.title = title.into(),
                    None => task.status = TaskStatus::Completed,
                }
                task.updated_ns = ts;
            }
            DELETED => {
                r.finish()?;
                state
                    .tasks
                    .remove(&id)
                    .ok_or_else(|| format!("no task {id}"))?;
            }
            other => return Err(format!("unknown tasks dispatch {other:#04x}")),
        }
        Ok(())
    }
}

/// The tasks model over its log: [`Model`] with typed writes.
pub type Tasks = Model<TasksState>;

impl ModelState for TasksState {
    type Item = Task;
    type Filter = TasksFilter;
    type Fold = TasksFold;

    fn records(&self) -> &BTreeMap<u64, Task> {
        &self.tasks
    }
}

impl Model<TasksState> {
    /// Creates a task.
    pub fn create(&self, id: u64, title: &str, now_ns: u64) -> Result<WriteToken> {
        self.write(CREATED, |w| {
            w.u64(id).u64(now_ns).str(title);
        })
    }

    /// Renames a task.
    pub fn rename(&self, id: u64, title: &str, now_ns: u64) -> Result<WriteToken> {
        self.write(RENAMED, |w| {
            w.u64(id).u64(now_ns).str(title);
        })
    }

    /// Marks a task completed.
    pub fn complete(&self, id: u64, now_ns: u64) -> Result<WriteToken> {
        self.write(COMPLETED, |w| {
            w.u64(id).u64(now_ns);
        })
    }

    /// Deletes a task.
    pub fn delete(&self, id: u64) -> Result<WriteToken> {
        self.write(DELETED, |w| {
            w.u64(id);
        })
    }
}
