//! NetDB for the bindings: open/restore, model writes and queries as JSON
//! (control plane), snapshots as bytes.
//!
//! Writes: `tasks` — `create {id,title,ts}`, `rename {id,title,ts}`,
//! `complete {id,ts}`, `delete {id}`; `memories` — `store {id,content,tags,source,ts}`,
//! `retag {id,tags,ts}`, `pin {id,ts}`, `unpin {id,ts}`, `delete {id}`. Each
//! returns the write's sequence (its token). Reads: `find_unique {id}`,
//! `find_many <filter>`, `count_where <filter>`, `exists_where <filter>`,
//! `fold_errors {}`; results are JSON.

use super::wait::{CloseFlag, Slice, Waited};
use net_core::cortex::{Memories, MemoriesFilter, NetDb, NetDbSnapshot, Tasks, TasksFilter};
use net_core::redex::Redex;
use net_core::{Error, ErrorKind, Result};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// Options for opening a database (JSON object, every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenOptions {
    /// Persist under this directory (default: in memory).
    dir: Option<String>,
    /// Origin hash stamped on writes.
    #[serde(default)]
    origin: u32,
    /// Enable the tasks model (default true).
    tasks: Option<bool>,
    /// Enable the memories model (default true).
    memories: Option<bool>,
}

fn bad(detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidArgument, detail.to_string())
}

fn parse<T: DeserializeOwned>(json: &str) -> Result<T> {
    let text = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(text).map_err(bad)
}

/// An open database.
pub struct NetDbHandle {
    db: NetDb,
}

fn builder(options_json: &str) -> Result<net_core::cortex::NetDbBuilder> {
    let o: OpenOptions = parse(options_json)?;
    let redex = match &o.dir {
        Some(dir) => Redex::with_persistent_dir(dir),
        None => Redex::new(),
    };
    let mut b = NetDb::builder(redex).origin(o.origin);
    if o.tasks.unwrap_or(true) {
        b = b.with_tasks();
    }
    if o.memories.unwrap_or(true) {
        b = b.with_memories();
    }
    Ok(b)
}

#[derive(Deserialize)]
struct Args {
    #[serde(default)]
    id: u64,
    title: Option<String>,
    content: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    source: Option<String>,
    #[serde(default)]
    ts: u64,
}

impl NetDbHandle {
    /// Opens a database from JSON options (`dir`, `origin`, `tasks`, `memories`).
    pub fn open(options_json: &str) -> Result<NetDbHandle> {
        Ok(NetDbHandle {
            db: builder(options_json)?.build()?,
        })
    }

    /// Opens a database restored from snapshot bytes.
    pub fn restore(options_json: &str, snapshot: &[u8]) -> Result<NetDbHandle> {
        let bundle = NetDbSnapshot::decode(snapshot)?;
        Ok(NetDbHandle {
            db: builder(options_json)?.build_from_snapshot(&bundle)?,
        })
    }

    fn tasks(&self) -> Result<&Tasks> {
        self.db.tasks()
    }

    fn memories(&self) -> Result<&Memories> {
        self.db.memories()
    }

    /// Applies a write; returns its sequence (wait on it for read-your-writes).
    pub fn write(&self, model: &str, op: &str, args_json: &str) -> Result<u64> {
        let a: Args = parse(args_json)?;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let tags: Vec<&str> = a.tags.iter().map(String::as_str).collect();
        let token = match (model, op) {
            ("tasks", "create") => self.tasks()?.create(a.id, &text(&a.title), a.ts)?,
            ("tasks", "rename") => self.tasks()?.rename(a.id, &text(&a.title), a.ts)?,
            ("tasks", "complete") => self.tasks()?.complete(a.id, a.ts)?,
            ("tasks", "delete") => self.tasks()?.delete(a.id)?,
            ("memories", "store") => {
                self.memories()?
                    .store(a.id, &text(&a.content), &tags, &text(&a.source), a.ts)?
            }
            ("memories", "retag") => self.memories()?.retag(a.id, &tags, a.ts)?,
            ("memories", "pin") => self.memories()?.pin(a.id, a.ts)?,
            ("memories", "unpin") => self.memories()?.unpin(a.id, a.ts)?,
            ("memories", "delete") => self.memories()?.delete(a.id)?,
            _ => return Err(bad(format!("unknown write {model}.{op}"))),
        };
        Ok(token.seq)
    }

    /// Blocks until write `seq` of `model` is visible to queries.
    pub fn wait(&self, model: &str, seq: u64, timeout_ms: u64) -> Result<()> {
        let timeout = Duration::from_millis(timeout_ms);
        let token = net_core::cortex::WriteToken {
            origin_hash: 0,
            seq,
        };
        match model {
            "tasks" => self.tasks()?.wait_for_token(token, timeout),
            "memories" => self.memories()?.wait_for_token(token, timeout),
            _ => Err(bad(format!("unknown model {model}"))),
        }
    }

    /// Runs a query; the result is JSON.
    pub fn read(&self, model: &str, op: &str, args_json: &str) -> Result<String> {
        let value = match model {
            "tasks" => {
                let t = self.tasks()?;
                match op {
                    "find_unique" => json!(t.find_unique(parse::<Args>(args_json)?.id)),
                    "find_many" => json!(t.find_many(&parse::<TasksFilter>(args_json)?)),
                    "count_where" => json!(t.count_where(&parse::<TasksFilter>(args_json)?)),
                    "exists_where" => json!(t.exists_where(&parse::<TasksFilter>(args_json)?)),
                    "fold_errors" => json!(t.adapter().status().errors),
                    _ => return Err(bad(format!("unknown query {model}.{op}"))),
                }
            }
            "memories" => {
                let m = self.memories()?;
                match op {
                    "find_unique" => json!(m.find_unique(parse::<Args>(args_json)?.id)),
                    "find_many" => json!(m.find_many(&parse::<MemoriesFilter>(args_json)?)),
                    "count_where" => json!(m.count_where(&parse::<MemoriesFilter>(args_json)?)),
                    "exists_where" => json!(m.exists_where(&parse::<MemoriesFilter>(args_json)?)),
                    "fold_errors" => json!(m.adapter().status().errors),
                    _ => return Err(bad(format!("unknown query {model}.{op}"))),
                }
            }
            _ => return Err(bad(format!("unknown model {model}"))),
        };
        Ok(Value::to_string(&value))
    }

    /// Watches a query (`find_many` semantics with a JSON filter): the current
    /// result first, then each changed result.
    pub fn watch(&self, model: &str, filter_json: &str) -> Result<WatchHandle> {
        let next: WatchFn = match model {
            "tasks" => {
                let mut w = self.tasks()?.watch(parse::<TasksFilter>(filter_json)?);
                Box::new(move |t| w.next_blocking(t).map(|r| r.map(|v| json!(v).to_string())))
            }
            "memories" => {
                let mut w = self
                    .memories()?
                    .watch(parse::<MemoriesFilter>(filter_json)?);
                Box::new(move |t| w.next_blocking(t).map(|r| r.map(|v| json!(v).to_string())))
            }
            _ => return Err(bad(format!("unknown model {model}"))),
        };
        Ok(WatchHandle {
            next: Mutex::new(next),
            closed: CloseFlag::default(),
        })
    }

    /// The whole database as snapshot bytes.
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        self.db.snapshot()?.encode()
    }

    /// Stops the folds and closes the logs.
    pub fn close(&self) -> Result<()> {
        self.db.close()
    }
}

type WatchFn = Box<dyn FnMut(Duration) -> Result<Option<String>> + Send>;

/// A watched query that can be closed from any thread while another waits.
pub struct WatchHandle {
    next: Mutex<WatchFn>,
    closed: CloseFlag,
}

/// What a wait on a watch produced: a changed result (JSON array of records),
/// a timeout, or the end (watch closed or the fold stopped).
pub type WatchNext = Waited<String>;

impl WatchHandle {
    /// Waits up to `timeout` (forever if `None`) for the next result, in slices
    /// of 100 ms, calling `interrupted` between slices.
    pub fn next(
        &self,
        timeout: Option<Duration>,
        interrupted: impl FnMut() -> Result<()>,
    ) -> Result<WatchNext> {
        let mut next = self.next.lock();
        self.closed
            .wait(timeout, interrupted, |slice| match (*next)(slice) {
                Ok(Some(json)) => Ok(Slice::Ready(json)),
                Ok(None) => Ok(Slice::Empty),
                Err(e) if e.kind() == ErrorKind::FoldStopped => Ok(Slice::Ended),
                Err(e) => Err(e),
            })
    }

    /// Ends the watch; a waiter returns `Done` within one slice.
    pub fn close(&self) {
        self.closed.close();
    }
}
