//! The memories model: content with set-valued tags, pins, over a CortEX fold.
//!
//! Events (JSON payloads): `0x10` stored, `0x11` retagged, `0x12` pinned,
//! `0x13` unpinned, `0x14` deleted. Tags are kept sorted and unique.

use super::adapter::Fold;
use super::meta::EventMeta;
use super::model::{Model, ModelState, RecordFilter};
use super::query::{OrderBy, Ordered};
use super::WriteToken;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// The content.
    pub content: String,
    /// Tags, sorted and unique.
    pub tags: Vec<String>,
    /// Where it came from.
    pub source: String,
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
            && self.source.as_ref().is_none_or(|s| &m.source == s)
    }
}

/// The folded memories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoriesState {
    memories: BTreeMap<u64, Memory>,
}

fn normalize(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags.dedup();
    tags
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Change {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    ts: u64,
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
        let c: Change = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if meta.dispatch == STORED {
            if state.memories.contains_key(&c.id) {
                return Err(format!("memory {} already exists", c.id));
            }
            state.memories.insert(
                c.id,
                Memory {
                    id: c.id,
                    content: c.content.unwrap_or_default(),
                    tags: normalize(c.tags.unwrap_or_default()),
                    source: c.source.unwrap_or_default(),
                    pinned: false,
                    created_ns: c.ts,
                    updated_ns: c.ts,
                },
            );
            return Ok(());
        }
        if meta.dispatch == DELETED {
            state
                .memories
                .remove(&c.id)
                .ok_or_else(|| format!("no memory {}", c.id))?;
            return Ok(());
        }
        let m = state
            .memories
            .get_mut(&c.id)
            .ok_or_else(|| format!("no memory {}", c.id))?;
        match meta.dispatch {
            RETAGGED => m.tags = normalize(c.tags.unwrap_or_default()),
            PINNED => m.pinned = true,
            UNPINNED => m.pinned = false,
            other => return Err(format!("unknown memories dispatch {other:#04x}")),
        }
        m.updated_ns = c.ts;
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
        self.write(
            STORED,
            &Change {
                id,
                content: Some(content.to_owned()),
                tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
                source: Some(source.to_owned()),
                ts: now_ns,
            },
        )
    }

    /// Replaces a memory's tags.
    pub fn retag(&self, id: u64, tags: &[&str], now_ns: u64) -> Result<WriteToken> {
        self.write(
            RETAGGED,
            &Change {
                id,
                tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
                ts: now_ns,
                ..Default::default()
            },
        )
    }

    /// Pins a memory.
    pub fn pin(&self, id: u64, now_ns: u64) -> Result<WriteToken> {
        self.write(
            PINNED,
            &Change {
                id,
                ts: now_ns,
                ..Default::default()
            },
        )
    }

    /// Unpins a memory.
    pub fn unpin(&self, id: u64, now_ns: u64) -> Result<WriteToken> {
        self.write(
            UNPINNED,
            &Change {
                id,
                ts: now_ns,
                ..Default::default()
            },
        )
    }

    /// Deletes a memory.
    pub fn delete(&self, id: u64) -> Result<WriteToken> {
        self.write(
            DELETED,
            &Change {
                id,
                ..Default::default()
            },
        )
    }
}
