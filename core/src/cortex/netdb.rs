//! NetDB: one handle over the enabled CortEX models, with whole-database snapshots.

use super::memories::Memories;
use super::tasks::Tasks;
use crate::error::{Error, ErrorKind, Result};
use crate::redex::{Redex, RedexFileConfig};
use serde::{Deserialize, Serialize};

/// The log channel of the tasks model.
pub const TASKS_CHANNEL: &str = "cortex/tasks";
/// The log channel of the memories model.
pub const MEMORIES_CHANNEL: &str = "cortex/memories";

/// One model's snapshot: its state and the log position it reflects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSnapshot {
    /// Everything below this sequence is in `state`.
    pub next_seq: u64,
    /// The model state, as JSON.
    pub state: serde_json::Value,
}

/// A whole-database snapshot (consistent per model).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetDbSnapshot {
    /// The tasks model, if enabled.
    pub tasks: Option<ModelSnapshot>,
    /// The memories model, if enabled.
    pub memories: Option<ModelSnapshot>,
}

fn bad_snapshot(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidSnapshot, e.to_string())
}

impl NetDbSnapshot {
    /// Encodes the bundle (JSON: stable and readable in every language).
    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(bad_snapshot)
    }

    /// Decodes a bundle; garbage fails with `netdb:invalid_snapshot`.
    pub fn decode(bytes: &[u8]) -> Result<NetDbSnapshot> {
        serde_json::from_slice(bytes).map_err(bad_snapshot)
    }
}

/// Configures a [`NetDb`].
#[must_use]
pub struct NetDbBuilder {
    redex: Redex,
    origin_hash: u32,
    tasks: bool,
    memories: bool,
}

/// The database handle.
pub struct NetDb {
    redex: Redex,
    tasks: Option<Tasks>,
    memories: Option<Memories>,
}

impl NetDb {
    /// Starts building over a RedEX manager (in memory, or persistent).
    pub fn builder(redex: Redex) -> NetDbBuilder {
        NetDbBuilder {
            redex,
            origin_hash: 0,
            tasks: false,
            memories: false,
        }
    }

    /// The tasks model (`netdb:model_missing` if not enabled).
    pub fn tasks(&self) -> Result<&Tasks> {
        self.tasks
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::ModelMissing, "the tasks model is not enabled"))
    }

    /// The memories model.
    pub fn memories(&self) -> Result<&Memories> {
        self.memories
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::ModelMissing, "the memories model is not enabled"))
    }

    /// Snapshots every enabled model.
    pub fn snapshot(&self) -> Result<NetDbSnapshot> {
        let model = |bytes: Vec<u8>, next_seq: u64| -> Result<ModelSnapshot> {
            Ok(ModelSnapshot {
                next_seq,
                state: serde_json::from_slice(&bytes).map_err(bad_snapshot)?,
            })
        };
        Ok(NetDbSnapshot {
            tasks: match &self.tasks {
                Some(t) => {
                    let (bytes, next) = t.adapter().snapshot()?;
                    Some(model(bytes, next)?)
                }
                None => None,
            },
            memories: match &self.memories {
                Some(m) => {
                    let (bytes, next) = m.adapter().snapshot()?;
                    Some(model(bytes, next)?)
                }
                None => None,
            },
        })
    }

    /// Stops the folds and closes the logs (each persistent log syncs).
    pub fn close(&self) -> Result<()> {
        if let Some(t) = &self.tasks {
            t.adapter().close();
        }
        if let Some(m) = &self.memories {
            m.adapter().close();
        }
        self.redex.close()
    }
}

impl NetDbBuilder {
    /// The producer identity stamped on writes.
    pub fn origin(mut self, origin_hash: u32) -> Self {
        self.origin_hash = origin_hash;
        self
    }

    /// Enables the tasks model.
    pub fn with_tasks(mut self) -> Self {
        self.tasks = true;
        self
    }

    /// Enables the memories model.
    pub fn with_memories(mut self) -> Self {
        self.memories = true;
        self
    }

    /// Opens every enabled model. Failure-atomic: if one fails, the ones already
    /// opened are closed before the error returns.
    pub fn build(self) -> Result<NetDb> {
        self.build_inner(None)
    }

    /// Opens every enabled model from a snapshot bundle; a model whose entry is
    /// missing is opened from its log as in [`NetDbBuilder::build`].
    pub fn build_from_snapshot(self, snapshot: &NetDbSnapshot) -> Result<NetDb> {
        self.build_inner(Some(snapshot))
    }

    fn build_inner(self, snapshot: Option<&NetDbSnapshot>) -> Result<NetDb> {
        let origin = self.origin_hash;
        let open_log = |channel: &str| {
            self.redex
                .open_file(channel, RedexFileConfig::default())
                .map(|(file, _)| file)
        };
        let tasks = if self.tasks {
            let file = open_log(TASKS_CHANNEL)?;
            Some(match snapshot.and_then(|s| s.tasks.as_ref()) {
                Some(s) => {
                    let bytes = serde_json::to_vec(&s.state).map_err(bad_snapshot)?;
                    Tasks::open_from_snapshot(file, &bytes, s.next_seq, origin)?
                }
                None => Tasks::open(file, origin)?,
            })
        } else {
            None
        };
        let memories = if self.memories {
            let opened = open_log(MEMORIES_CHANNEL).and_then(|file| {
                match snapshot.and_then(|s| s.memories.as_ref()) {
                    Some(s) => {
                        let bytes = serde_json::to_vec(&s.state).map_err(bad_snapshot)?;
                        Memories::open_from_snapshot(file, &bytes, s.next_seq, origin)
                    }
                    None => Memories::open(file, origin),
                }
            });
            match opened {
                Ok(m) => Some(m),
                Err(e) => {
                    if let Some(t) = &tasks {
                        t.adapter().close();
                    }
                    let _ = self.redex.close();
                    return Err(e);
                }
            }
        } else {
            None
        };
        Ok(NetDb {
            redex: self.redex,
            tasks,
            memories,
        })
    }
}
