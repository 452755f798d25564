//! The capability index: which known nodes satisfy a predicate.
//!
//! A node keeps one [`CapabilityIndex`] of every capability set it has
//! heard announced (its own included). [`find_nodes`] answers from posting
//! lists: each tag key, each `key=value` and each metadata entry lists the
//! nodes that carry it, and a predicate is evaluated only on the nodes of
//! its most selective required key (an `and` takes its smallest part's
//! list; `or` the union of its parts'; a `not` at the top scans every
//! node). A query that asks for a rare tag among 10 000 nodes touches a
//! handful; one that matches half of them still returns half of them.
//!
//! # Scopes
//!
//! A provider narrows who *finds* it with reserved tags. The strictest
//! wins: `scope:subnet-local` over `scope:tenant:<id>` and
//! `scope:region:<name>`, which over none (global). Scopes are a
//! query-side filter ([`find_nodes_scoped`]); [`find_nodes`] ignores them.
//!
//! | provider's scope | found by `global` | `tenant:t` | `region:r` | `same_subnet` |
//! |---|---|---|---|---|
//! | global (no scope tag) | yes | yes | yes | yes |
//! | tenant `t` / region `r` | no | if it names `t` | if it names `r` | no |
//! | subnet-local | no | no | no | if in the querier's subnet |
//!
//! [`find_nodes`]: CapabilityIndex::find_nodes
//! [`find_nodes_scoped`]: CapabilityIndex::find_nodes_scoped

use super::predicate::Operand;
use super::{CapabilitySet, Predicate};
use crate::error::{Error, ErrorKind, Result};
use crate::subnet::SubnetId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Who may find a provider, resolved from its `scope:*` tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No scope tag: everyone.
    Global,
    /// `scope:tenant:<id>` / `scope:region:<name>` tags: those tenants and
    /// regions.
    Limited {
        /// Tenant ids named.
        tenants: Vec<String>,
        /// Region names named.
        regions: Vec<String>,
    },
    /// `scope:subnet-local`: queriers in the same subnet.
    SubnetLocal,
}

impl Scope {
    /// The scope a set's tags give (strictest wins).
    pub fn of(set: &CapabilitySet) -> Scope {
        if set.key_values("scope:subnet-local").is_some() {
            return Scope::SubnetLocal;
        }
        let mut tenants = Vec::new();
        let mut regions = Vec::new();
        for key in set.keys() {
            if let Some(id) = key.strip_prefix("scope:tenant:") {
                tenants.push(id.to_string());
            } else if let Some(name) = key.strip_prefix("scope:region:") {
                regions.push(name.to_string());
            }
        }
        if tenants.is_empty() && regions.is_empty() {
            Scope::Global
        } else {
            Scope::Limited { tenants, regions }
        }
    }
}

/// Who is asking, for [`CapabilityIndex::find_nodes_scoped`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeFilter {
    /// Only unscoped providers.
    Global,
    /// Unscoped providers and those scoped to this tenant.
    Tenant(String),
    /// Unscoped providers and those scoped to this region.
    Region(String),
    /// Unscoped providers and subnet-local ones in the querier's subnet.
    SameSubnet,
}

impl ScopeFilter {
    /// Reads `global`, `same_subnet`, `tenant:<id>` or `region:<name>`;
    /// `capability:invalid_predicate` otherwise.
    pub fn parse(text: &str) -> Result<ScopeFilter> {
        let bad = || {
            Error::new(
                ErrorKind::InvalidPredicate,
                format!("{text:?} is not a scope filter (global, same_subnet, tenant:<id>, region:<name>)"),
            )
        };
        Ok(match text {
            "global" => ScopeFilter::Global,
            "same_subnet" => ScopeFilter::SameSubnet,
            _ => match text.split_once(':') {
                Some(("tenant", id)) if !id.is_empty() => ScopeFilter::Tenant(id.to_string()),
                Some(("region", name)) if !name.is_empty() => ScopeFilter::Region(name.to_string()),
                _ => return Err(bad()),
            },
        })
    }

    /// Whether a provider of `scope` in `subnet` is visible to a querier in
    /// `querier_subnet`.
    pub fn admits(&self, scope: &Scope, subnet: SubnetId, querier_subnet: SubnetId) -> bool {
        match scope {
            Scope::Global => true,
            Scope::SubnetLocal => {
                matches!(self, ScopeFilter::SameSubnet) && subnet == querier_subnet
            }
            Scope::Limited { tenants, regions } => match self {
                ScopeFilter::Tenant(t) => tenants.iter().any(|x| x == t),
                ScopeFilter::Region(r) => regions.iter().any(|x| x == r),
                ScopeFilter::Global | ScopeFilter::SameSubnet => false,
            },
        }
    }
}

/// One node's entry in the index.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// The node.
    pub node_id: u64,
    /// What it announced.
    pub caps: Arc<CapabilitySet>,
    /// Its subnet.
    pub subnet: SubnetId,
    /// The announcement's version (newer replaces older).
    pub version: u64,
    /// When the entry lapses (`None`: never, as for the node itself).
    pub expires_at: Option<Instant>,
    scope: Scope,
}

impl IndexEntry {
    /// The scope its tags give.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

/// The capability index (see the module docs).
#[derive(Debug, Default)]
pub struct CapabilityIndex {
    slots: Vec<Option<IndexEntry>>,
    free: Vec<u32>,
    by_node: HashMap<u64, u32>,
    /// Tag and metadata key → slots, sorted.
    by_key: HashMap<String, Vec<u32>>,
    /// `key=value` (tags and metadata) → slots, sorted.
    by_value: HashMap<String, Vec<u32>>,
    local_subnet: SubnetId,
}

fn post(list: &mut Vec<u32>, slot: u32) {
    if let Err(at) = list.binary_search(&slot) {
        list.insert(at, slot);
    }
}

fn unpost(map: &mut HashMap<String, Vec<u32>>, key: &str, slot: u32) {
    if let Some(list) = map.get_mut(key) {
        if let Ok(at) = list.binary_search(&slot) {
            list.remove(at);
        }
        if list.is_empty() {
            map.remove(key);
        }
    }
}

/// The posting keys of a set: its keys, and its `key=value` pairs.
fn postings(set: &CapabilitySet) -> (Vec<String>, Vec<String>) {
    let mut keys: Vec<String> = set.keys().map(str::to_string).collect();
    let mut pairs: Vec<String> = set.tags().filter(|t| t.contains('=')).collect();
    for (k, v) in set.metadata() {
        keys.push(k.clone());
        pairs.push(format!("{k}={v}"));
    }
    (keys, pairs)
}

impl CapabilityIndex {
    /// An empty index for a node in `local_subnet` (the subnet
    /// `same_subnet` queries compare with).
    pub fn new(local_subnet: SubnetId) -> Self {
        CapabilityIndex {
            local_subnet,
            ..Self::default()
        }
    }

    /// The subnet `same_subnet` queries compare with.
    pub fn local_subnet(&self) -> SubnetId {
        self.local_subnet
    }

    /// Changes the local subnet.
    pub fn set_local_subnet(&mut self, subnet: SubnetId) {
        self.local_subnet = subnet;
    }

    /// Nodes indexed.
    pub fn len(&self) -> usize {
        self.by_node.len()
    }

    /// Whether no node is indexed.
    pub fn is_empty(&self) -> bool {
        self.by_node.is_empty()
    }

    /// A node's entry.
    pub fn get(&self, node_id: u64) -> Option<&IndexEntry> {
        let slot = *self.by_node.get(&node_id)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Indexes (or replaces) a node's set. An announcement older than the
    /// entry held (a lower `version`) is ignored: returns whether it was
    /// taken. An equal version replaces (a refresh of the same set).
    pub fn upsert(
        &mut self,
        node_id: u64,
        caps: Arc<CapabilitySet>,
        subnet: SubnetId,
        version: u64,
        expires_at: Option<Instant>,
    ) -> bool {
        if let Some(old) = self.get(node_id) {
            if old.version > version {
                return false;
            }
            self.remove(node_id);
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        let (keys, pairs) = postings(&caps);
        for key in keys {
            post(self.by_key.entry(key).or_default(), slot);
        }
        for pair in pairs {
            post(self.by_value.entry(pair).or_default(), slot);
        }
        let scope = Scope::of(&caps);
        self.slots[slot as usize] = Some(IndexEntry {
            node_id,
            caps,
            subnet,
            version,
            expires_at,
            scope,
        });
        self.by_node.insert(node_id, slot);
        true
    }

    /// Drops a node; returns whether it was there.
    pub fn remove(&mut self, node_id: u64) -> bool {
        let Some(slot) = self.by_node.remove(&node_id) else {
            return false;
        };
        if let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::take) {
            let (keys, pairs) = postings(&entry.caps);
            for key in keys {
                unpost(&mut self.by_key, &key, slot);
            }
            for pair in pairs {
                unpost(&mut self.by_value, &pair, slot);
            }
        }
        self.free.push(slot);
        true
    }

    /// Drops every entry whose time has passed; returns their node ids.
    pub fn gc(&mut self, now: Instant) -> Vec<u64> {
        let lapsed: Vec<u64> = self
            .slots
            .iter()
            .flatten()
            .filter(|e| e.expires_at.is_some_and(|at| at <= now))
            .map(|e| e.node_id)
            .collect();
        for node in &lapsed {
            self.remove(*node);
        }
        lapsed
    }

    /// The nodes whose sets satisfy `predicate`, by node id, scopes
    /// ignored.
    pub fn find_nodes(&self, predicate: &Predicate) -> Vec<u64> {
        self.find(predicate, |_| true)
    }

    /// The nodes whose sets satisfy `predicate` and whose scope admits the
    /// querier (see the module docs), by node id.
    pub fn find_nodes_scoped(&self, predicate: &Predicate, filter: &ScopeFilter) -> Vec<u64> {
        let local = self.local_subnet;
        self.find(predicate, |e| filter.admits(&e.scope, e.subnet, local))
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &IndexEntry> {
        self.slots.iter().flatten()
    }

    fn find(&self, predicate: &Predicate, admit: impl Fn(&IndexEntry) -> bool) -> Vec<u64> {
        let mut out: Vec<u64> = match self.plan(predicate) {
            // The posting lists answer the whole predicate: no evaluation.
            Some(Plan { slots, exact: true }) => slots
                .iter()
                .filter_map(|s| self.slots.get(*s as usize)?.as_ref())
                .filter(|e| admit(e))
                .map(|e| e.node_id)
                .collect(),
            Some(Plan {
                slots,
                exact: false,
            }) => slots
                .iter()
                .filter_map(|s| self.slots.get(*s as usize)?.as_ref())
                .filter(|e| admit(e) && predicate.matches(&e.caps))
                .map(|e| e.node_id)
                .collect(),
            None => self
                .slots
                .iter()
                .flatten()
                .filter(|e| admit(e) && predicate.matches(&e.caps))
                .map(|e| e.node_id)
                .collect(),
        };
        out.sort_unstable();
        out
    }

    /// The slots a predicate can only be true on (`None`: any slot), and
    /// whether it is true on exactly those.
    fn plan(&self, predicate: &Predicate) -> Option<Plan<'_>> {
        const NONE: &[u32] = &[];
        let by_key = |k: &str, exact: bool| {
            Some(Plan {
                slots: Cow::Borrowed(self.by_key.get(k).map_or(NONE, Vec::as_slice)),
                exact,
            })
        };
        match predicate {
            Predicate::Exists(k) => by_key(k, true),
            Predicate::Equals(k, Operand::Number(_))
            | Predicate::AtLeast(k, _)
            | Predicate::AtMost(k, _)
            | Predicate::SemverCompatible(k, _)
            | Predicate::In(k, _) => by_key(k, false),
            Predicate::Equals(k, Operand::Text(v)) => {
                // Postings index tags and metadata alike, so `key=value`
                // answers exactly.
                let pair = format!("{k}={v}");
                Some(Plan {
                    slots: Cow::Borrowed(self.by_value.get(&pair).map_or(NONE, Vec::as_slice)),
                    exact: true,
                })
            }
            Predicate::And(parts) => {
                let plans: Vec<Option<Plan<'_>>> = parts.iter().map(|p| self.plan(p)).collect();
                if !plans.is_empty() && plans.iter().all(|p| p.as_ref().is_some_and(|p| p.exact)) {
                    let mut lists = plans.into_iter().flatten();
                    let first = lists.next()?.slots.into_owned();
                    let slots = lists.fold(first, |acc, p| intersect(&acc, &p.slots));
                    return Some(Plan {
                        slots: Cow::Owned(slots),
                        exact: true,
                    });
                }
                plans
                    .into_iter()
                    .flatten()
                    .min_by_key(|p| p.slots.len())
                    .map(|p| Plan { exact: false, ..p })
            }
            Predicate::Or(parts) => {
                let mut all: Vec<u32> = Vec::new();
                let mut exact = true;
                for part in parts {
                    let plan = self.plan(part)?;
                    exact &= plan.exact;
                    all.extend_from_slice(&plan.slots);
                }
                all.sort_unstable();
                all.dedup();
                Some(Plan {
                    slots: Cow::Owned(all),
                    exact,
                })
            }
            Predicate::Not(inner) => match self.plan(inner) {
                Some(Plan { slots, exact: true }) => Some(Plan {
                    slots: Cow::Owned(
                        (0..self.slots.len() as u32)
                            .filter(|s| self.slots[*s as usize].is_some())
                            .filter(|s| slots.binary_search(s).is_err())
                            .collect(),
                    ),
                    exact: true,
                }),
                _ => None,
            },
        }
    }
}

/// Slots a predicate can be true on.
struct Plan<'a> {
    slots: Cow<'a, [u32]>,
    /// True on every one of them (no evaluation needed).
    exact: bool,
}

/// The common elements of two sorted lists.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}
