//! The memories model: content with set-valued tags, pins, over a CortEX fold.
//!
//! Events (binary payloads, see `codec`): `0x10` stored `id, ts, content,
//! tags, source`, `0x11` retagged `id, ts, tags`, `0x12` pinned `id, ts`,
//! `0x13` unpinned `id, ts`, `0x14` deleted `id`. Tags are kept sorted and unique.

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

const STORED: u8 = 0x10;
const RETAGGED: u8 = 0x11;
const PINNED: u8 = 0x12;
const UNPINNED: u8 = 0x13;
const DELETED: u8 = 0x14;

/// A memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Caller-chosen id.
    pub id: u64,
    /// The content (shared: cloning a memory never copies it).
    pub content: Arc<str>,
    /// Tags, sorted and unique.
    pub tags: Arc<[String]>,
    /// Where it came from.
    pub source: Arc<str>,
    /// Whether it is pinned.
    pub pinned: bool,
    /// Creation time (ns).
    pub created_ns: u64,
    /// Last change (ns).
    pub updated_ns: u64,
}

impl Ordered for Memory {
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

/// A memory query. Tag predicates combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoriesFilter {
    /// Has this tag.
    pub tag: Option<String>,
    /// Has at least one of these tags (ignored when empty).
    pub any_tags: Vec<String>,
    /// Has every one of these tags.
    pub all_tags: Vec<String>,
    /// Pinned or not.
    pub pinned: Option<bool>,
    /// From this source.
    pub source: Option<String>,
    /// Result order.
    pub order_by: OrderBy,
    /// Most results.
    pub limit: Option<usize>,
}

impl RecordFilter<Memory> for MemoriesFilter {
    fn order_by(&self) -> OrderBy {
        self.order_by
    }
    fn limit(&self) -> Option<usize> {
        self.limit
    }
    fn matches(&self, m: &Memory) -> bool {
        let has = |t: &String| m.tags.binary_search(t).is_ok();
        self.tag.as_ref().is_none_or(has)
            && (self.any_tags.is_empty() || self.any_tags.iter().any(has))
            && self.all_tags.iter().all(has)
            && self.pinned.is_none_or(|p| m.pinned == p)
            && self.source.as_ref().is_none_or(|s| *m.source == **s)
    }
}

/// The folded memories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoriesState {
    memories: BTreeMap<u64, Memory>,
}

/// Tags sorted and unique, shared.
fn normalize(tags: Vec<&str>) -> Arc<[String]> {
    let mut tags: Vec<String> = tags.into_iter().map(str::to_owned).collect();
    tags.sort();
    tags.dedup();
    tags.into()
}

#[derive(Default)]
/// Applies memory events to [`MemoriesState`].
pub struct MemoriesFold;

impl Fold<MemoriesState> for MemoriesFold {
    fn apply(
        &mut self,
        state: &mut MemoriesState,
        _seq: u64,
        meta: &EventMeta,
        payload: &[u8],
    ) -> Result<(), String> {
        let mut r = Reader::new(payload);
        let id = r.u64()?;
        if meta.dispatch == DELETED {
            r.finish()?;
            state
                .memories
                .remove(&id)
                .ok_or_else(|| format!("no memory {id}"))?;
            return Ok(());
        }
        let ts = r.u64()?;
        if meta.dispatch == STORED {
            let (content, tags, source) = (r.str()?, r.strs()?, r.str()?);
            r.finish()?;
            if state.memories.contains_key(&id) {
                return Err(format!("memory {id} already exists"));
            }
            state.memories.insert(
                id,
                Memory {
                    id,
                    content: content.into(),
                    tags: normalize(tags),
                    source: source.into(),
                    pinned: false,
                    created_ns: ts,
                    updated_ns: ts,
                },
            );
            return Ok(());
        }
        let tags = if meta.dispatch == RETAGGED {
            Some(normalize(r.strs()?))
        } else {
            None
        };
        r.finish()?;
        let m = state
            .memories
            .get_mut(&id)
            .ok_or_else(|| format!("no memory {id}"))?;
        match (meta.dispatch, tags) {
            (RETAGGED, Some(tags)) => m.tags = tags,
            (PINNED, _) => m.pinned = true,
            (UNPINNED, _) => m.pinned = false,
            (other, _) => return Err(format!("unknown memories dispatch {other:#04x}")),
        }
        m.updated_ns = ts;
        Ok(())
    }
}

/// The memories model over its log: [`Model`] with typed writes.
pub type Memories = Model<MemoriesState>;

impl ModelState for MemoriesState {
    type Item = Memory;
    type Filter = MemoriesFilter;
    type Fold = MemoriesFold;

    fn records(&self) -> &BTreeMap<u64, Memory> {
        &self.memories
    }
}

impl Model<MemoriesState> {
    /// Stores a memory.
    pub fn store(
        &self,
        id: u64,
        content: &str,
        tags: &[&str],
        source: &str,
        now_ns: u64,
    ) -> Result<WriteToken> {
        self.write(STORED, |w| {
            w.u64(id).u64(now_ns).str(content).strs(tags).str(source);
        })
    }

    /// Replaces a memory's tags.
    pub fn retag(&self, id: u64, tags: &[&str], now_ns: u64) -> Result<WriteToken> {
        self.write(RETAGGED, |w| {
            w.u64(id).u64(now_ns).strs(tags);
        })
    }

    /// Pins a memory.
    pub fn pin(&self, id: u64, now_ns: u64) -> Result<WriteToken> {
        self.write(PINNED, |w| {
            w.u64(id).u64(now_ns);
        })
    }

    /// Unpins a memory.
    pub fn unpin(&self, id: u64, now_ns: u64) -> Result<WriteToken> {
        self.write(UNPINNED, |w| {
            w.u64(id).u64(now_ns);
        })
    }

    /// Deletes a memory.
    pub fn delete(&self, id: u64) -> Result<WriteToken> {
        self.write(DELETED, |w| {
            w.u64(id);
        })
    }
}
