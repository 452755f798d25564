//! NetDB for the bindings: open/restore, model writes and queries as JSON
//! (control plane), snapshots as bytes.
//!
//! Writes: `tasks` — `create {id,title,ts}`, `rename {id,title,ts}`,
//! `complete {id,ts}`, `delete {id}`; `memories` — `store {id,content,tags,source,ts}`,
//! `retag {id,tags,ts}`, `pin {id,ts}`, `unpin {id,ts}`, `delete {id}`. Each
//! returns the write's sequence (its token). Reads: `find_unique {id}`,
//! `find_many <filter>`, `count_where <filter>`, `exists_where <filter>`,
//! `fold_errors {}`; results are JSON.
//!
//! Every op names the fields it needs (a missing `id`, `title` or `content` is
//! `netdb:invalid_argument`, never a silent 0 or ""), and unknown fields are
//! refused. `id` and `ts` take a number or a decimal string; in results, a
//! record's `id`, `created_ns` and `updated_ns` are decimal strings, so
//! JavaScript reads every 64-bit value exactly (counts stay numbers).

use super::json::{u64s_as_strings, U64};
use super::wait::{CloseFlag, Slice, Waited};
use net_core::cancel::CancelToken;
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
    Error::new(ErrorKind::InvalidDbArgument, detail.to_string())
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

/// The arguments of a write or a `find_unique` (each op needs its own).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    id: Option<U64>,
    title: Option<String>,
    content: Option<String>,
    tags: Option<Vec<String>>,
    source: Option<String>,
    ts: Option<U64>,
}

impl Args {
    fn id(&self, call: &str) -> Result<u64> {
        self.id
            .map(|U64(id)| id)
            .ok_or_else(|| bad(format!("{call} needs an id")))
    }

    fn ts(&self) -> u64 {
        self.ts.map_or(0, |U64(ts)| ts)
    }

    fn text<'a>(field: &'a Option<String>, call: &str, name: &str) -> Result<&'a str> {
        field
            .as_deref()
            .ok_or_else(|| bad(format!("{call} needs a {name} (a string)")))
    }
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
        let call = format!("{model}.{op}");
        let tags: Vec<&str> = a.tags.iter().flatten().map(String::as_str).collect();
        let token = match (model, op) {
            ("tasks", "create") => {
                let title = Args::text(&a.title, &call, "title")?;
                self.tasks()?.create(a.id(&call)?, title, a.ts())?
            }
            ("tasks", "rename") => {
                let title = Args::text(&a.title, &call, "title")?;
                self.tasks()?.rename(a.id(&call)?, title, a.ts())?
            }
            ("tasks", "complete") => self.tasks()?.complete(a.id(&call)?, a.ts())?,
            ("tasks", "delete") => self.tasks()?.delete(a.id(&call)?)?,
            ("memories", "store") => {
                let content = Args::text(&a.content, &call, "content")?;
                let source = a.source.as_deref().unwrap_or_default();
                self.memories()?
                    .store(a.id(&call)?, content, &tags, source, a.ts())?
            }
            ("memories", "retag") => self.memories()?.retag(a.id(&call)?, &tags, a.ts())?,
            ("memories", "pin") => self.memories()?.pin(a.id(&call)?, a.ts())?,
            ("memories", "unpin") => self.memories()?.unpin(a.id(&call)?, a.ts())?,
            ("memories", "delete") => self.memories()?.delete(a.id(&call)?)?,
            _ => return Err(bad(format!("unknown write {call}"))),
        };
        Ok(token.seq)
    }

    /// Blocks until write `seq` of `model` is visible to queries.
    pub fn wait(&self, model: &str, seq: u64, timeout: Option<Duration>) -> Result<()> {
        self.wait_cancellable(model, seq, timeout, None)
    }

    /// [`wait`](Self::wait) that fails with `call:cancelled` once `cancel` is
    /// cancelled.
    pub fn wait_cancellable(
        &self,
        model: &str,
        seq: u64,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<()> {
        let timeout = timeout.unwrap_or(Duration::MAX);
        let token = net_core::cortex::WriteToken {
            origin_hash: 0,
            seq,
        };
        let never = CancelToken::new();
        let cancel = cancel.unwrap_or(&never);
        match model {
            "tasks" => self
                .tasks()?
                .wait_for_token_cancellable(token, timeout, cancel),
            "memories" => self
                .memories()?
                .wait_for_token_cancellable(token, timeout, cancel),
            _ => Err(bad(format!("unknown model {model}"))),
        }
    }

    /// Runs a query; the result is JSON.
    pub fn read(&self, model: &str, op: &str, args_json: &str) -> Result<String> {
        let value = match model {
            "tasks" => {
                let t = self.tasks()?;
                match op {
                    "find_unique" => {
                        json!(t.find_unique(parse::<Args>(args_json)?.id("tasks.find_unique")?))
                    }
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
                    "find_unique" => {
                        json!(m.find_unique(parse::<Args>(args_json)?.id("memories.find_unique")?))
                    }
                    "find_many" => json!(m.find_many(&parse::<MemoriesFilter>(args_json)?)),
                    "count_where" => json!(m.count_where(&parse::<MemoriesFilter>(args_json)?)),
                    "exists_where" => json!(m.exists_where(&parse::<MemoriesFilter>(args_json)?)),
                    "fold_errors" => json!(m.adapter().status().errors),
                    _ => return Err(bad(format!("unknown query {model}.{op}"))),
                }
            }
            _ => return Err(bad(format!("unknown model {model}"))),
        };
        Ok(Value::to_string(&u64s_as_strings(value)))
    }

    /// Watches a query (`find_many` semantics with a JSON filter): the current
    /// result first, then each changed result.
    pub fn watch(&self, model: &str, filter_json: &str) -> Result<WatchHandle> {
        let next: WatchFn = match model {
            "tasks" => {
                let mut w = self.tasks()?.watch(parse::<TasksFilter>(filter_json)?);
                Box::new(move |t, cancel| {
                    w.next_blocking_cancellable(t, cancel)
                        .map(|r| r.map(|v| u64s_as_strings(json!(v)).to_string()))
                })
            }
            "memories" => {
                let mut w = self
                    .memories()?
                    .watch(parse::<MemoriesFilter>(filter_json)?);
                Box::new(move |t, cancel| {
                    w.next_blocking_cancellable(t, cancel)
                        .map(|r| r.map(|v| u64s_as_strings(json!(v)).to_string()))
                })
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

type WatchFn = Box<dyn FnMut(Duration, Option<&CancelToken>) -> Result<Option<String>> + Send>;

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
        self.next_cancellable(timeout, None, interrupted)
    }

    /// [`next`](Self::next) that fails with `call:cancelled` as soon as
    /// `cancel` is cancelled.
    pub fn next_cancellable(
        &self,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
        interrupted: impl FnMut() -> Result<()>,
    ) -> Result<WatchNext> {
        self.closed.wait(timeout, interrupted, |slice| {
            match (*self.next.lock())(slice, cancel) {
                Ok(Some(json)) => Ok(Slice::Ready(json)),
                Ok(None) => Ok(Slice::Empty),
                Err(e) if e.kind() == ErrorKind::FoldStopped => Ok(Slice::Ended),
                Err(e) => Err(e),
            }
        })
    }

    /// Ends the watch; a waiter returns `Done` within one slice.
    pub fn close(&self) {
        self.closed.close();
    }
}
