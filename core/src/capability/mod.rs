//! Capabilities: what a node can do, said as tags and metadata, and the
//! predicates that ask for it.
//!
//! A [`CapabilitySet`] is a set of **tags** plus a map of **metadata**. A
//! tag is a bare key (`gpu`, `nrpc:echo`, `scope:subnet-local`) or a key
//! with a value (`hardware.memory_gb=64`, `software.model=llama3-70b`). A
//! key may carry several values (a node can hold several models); metadata
//! keys carry one. Tags are what a node announces and what queries match;
//! metadata is free-form text beside them (an operator's note, an intent).
//!
//! | part | rule |
//! |---|---|
//! | key | 1 to [`MAX_KEY_LEN`] bytes of ASCII letters, digits, `.`, `_`, `-`, `:` and `/` |
//! | value | 1 to [`MAX_VALUE_LEN`] bytes of UTF-8 without control characters |
//! | metadata value | up to [`MAX_METADATA_VALUE_LEN`] bytes, same characters |
//! | set | at most [`MAX_TAGS`] tags and [`MAX_METADATA`] metadata entries |
//!
//! # Typed views
//!
//! Hardware, software and limits are tags under fixed keys, so a query on
//! them is a query on tags and the wire carries one shape. [`Hardware`],
//! [`Software`] and [`Limits`] write those tags
//! ([`CapabilitySet::with_hardware`]) and read them back
//! ([`CapabilitySet::hardware`]):
//!
//! | view | keys |
//! |---|---|
//! | hardware | `hardware.cpu.cores`, `hardware.cpu.threads`, `hardware.memory_gb`, `hardware.gpu` (present), `hardware.gpu.vendor`, `hardware.gpu.model`, `hardware.gpu.vram_gb`, `hardware.gpu.count` |
//! | software | `software.model` (many), `software.tool` (many), `software.runtime.<name>` (a version) |
//! | limits | `limits.max_concurrent`, `limits.max_payload_bytes`, `limits.max_rate_per_sec` |
//!
//! # Reserved tags
//!
//! `scope:subnet-local`, `scope:tenant:<id>` and `scope:region:<name>`
//! narrow who finds a node through
//! [`CapabilityIndex::find_nodes_scoped`]; `nrpc:<service>` names a
//! service a node serves.
//!
//! # JSON
//!
//! Every language builds and reads sets as one JSON shape,
//! `{"tags": [...], "metadata": {...}}`, with the typed sections
//! `"hardware"`, `"software"` and `"limits"` accepted on input and written
//! out as tags ([`CapabilitySet::from_json`]). The canonical output orders
//! tags by key, then value, and writes numbers without a trailing `.0`.
//! Predicates ([`Predicate`]), validation ([`validate`]) and diffs
//! ([`CapabilityDiff`]) have their own JSON, described with them.

mod index;
mod predicate;
mod validate;

pub use index::{CapabilityIndex, IndexEntry, Scope, ScopeFilter};
pub use predicate::{Predicate, MAX_PREDICATE_DEPTH, MAX_PREDICATE_NODES};
pub use validate::{validate, Issue, ValidationReport};

use crate::error::{Error, ErrorKind, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The longest a tag or metadata key may be, in bytes.
pub const MAX_KEY_LEN: usize = 128;
/// The longest a tag value may be, in bytes.
pub const MAX_VALUE_LEN: usize = 256;
/// The longest a metadata value may be, in bytes.
pub const MAX_METADATA_VALUE_LEN: usize = 1024;
/// The most tags one set holds.
pub const MAX_TAGS: usize = 256;
/// The most metadata entries one set holds.
pub const MAX_METADATA: usize = 64;

fn bad_tag(text: &str, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidCapabilityTag,
        format!("{text:?} is not a capability tag: {why}"),
    )
}

fn bad_set(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidCapabilitySet, why)
}

/// Checks a tag or metadata key.
pub(crate) fn check_key(text: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(bad_tag(text, "the key is empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(bad_tag(
            text,
            format_args!("the key is longer than {MAX_KEY_LEN} bytes"),
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/')))
    {
        return Err(bad_tag(
            text,
            format_args!(
                "{c:?} is not allowed in a key (letters, digits, '.', '_', '-', ':' and '/' are)"
            ),
        ));
    }
    Ok(())
}

fn check_value(text: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(bad_tag(text, "the value after '=' is empty"));
    }
    if value.len() > max {
        return Err(bad_tag(
            text,
            format_args!("the value is longer than {max} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(bad_tag(text, "the value holds a control character"));
    }
    Ok(())
}

/// A number as tags write it: integral values without a fraction.
pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The number a tag value reads as: decimal notation only (no `inf`, `nan`,
/// `+`, hex), finite.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if !digits
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
    {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// One value of a tag key: its text and, when it reads as one, its number.
#[derive(Debug, Clone)]
pub(crate) struct TagValue {
    pub(crate) text: Box<str>,
    pub(crate) number: Option<f64>,
}

impl TagValue {
    fn new(text: &str) -> Self {
        TagValue {
            text: text.into(),
            number: parse_number(text),
        }
    }
}

/// The values one key carries: `present` when the bare key is a tag, and
/// each `key=value` tag's value, sorted.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyValues {
    pub(crate) present: bool,
    pub(crate) values: Vec<TagValue>,
}

impl KeyValues {
    fn count(&self) -> usize {
        usize::from(self.present) + self.values.len()
    }
}

/// A set of capability tags and metadata (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct CapabilitySet {
    tags: BTreeMap<String, KeyValues>,
    tag_count: usize,
    metadata: BTreeMap<String, String>,
}

impl PartialEq for CapabilitySet {
    fn eq(&self, other: &Self) -> bool {
        self.metadata == other.metadata && self.tags().eq(other.tags())
    }
}

impl Eq for CapabilitySet {}

/// Splits a tag into its key and value.
fn split_tag(tag: &str) -> Result<(&str, Option<&str>)> {
    let (key, value) = match tag.split_once('=') {
        Some((key, value)) => (key, Some(value)),
        None => (tag, None),
    };
    check_key(tag, key)?;
    if let Some(value) = value {
        check_value(tag, value, MAX_VALUE_LEN)?;
    }
    Ok((key, value))
}

impl CapabilitySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tag (`key` or `key=value`); `capability:invalid_tag` when it
    /// is not one, `capability:invalid_set` past [`MAX_TAGS`]. Returns
    /// whether the tag was new.
    pub fn insert_tag(&mut self, tag: &str) -> Result<bool> {
        let (key, value) = split_tag(tag)?;
        let fresh = match self.tags.get(key) {
            None => true,
            Some(kv) => match value {
                None => !kv.present,
                Some(v) => kv
                    .values
                    .binary_search_by(|x| x.text.as_ref().cmp(v))
                    .is_err(),
            },
        };
        if !fresh {
            return Ok(false);
        }
        if self.tag_count >= MAX_TAGS {
            return Err(bad_set(format!("a set holds at most {MAX_TAGS} tags")));
        }
        let kv = self.tags.entry(key.to_string()).or_default();
        match value {
            None => kv.present = true,
            Some(v) => {
                let at = kv
                    .values
                    .binary_search_by(|x| x.text.as_ref().cmp(v))
                    .unwrap_or_else(|at| at);
                kv.values.insert(at, TagValue::new(v));
            }
        }
        self.tag_count += 1;
        Ok(true)
    }

    /// [`insert_tag`](Self::insert_tag), builder style.
    pub fn with_tag(mut self, tag: &str) -> Result<Self> {
        self.insert_tag(tag)?;
        Ok(self)
    }

    /// Removes a tag; returns whether it was there. A malformed tag is not
    /// there.
    pub fn remove_tag(&mut self, tag: &str) -> bool {
        let Ok((key, value)) = split_tag(tag) else {
            return false;
        };
        let Some(kv) = self.tags.get_mut(key) else {
            return false;
        };
        let removed = match value {
            None => std::mem::replace(&mut kv.present, false),
            Some(v) => match kv.values.binary_search_by(|x| x.text.as_ref().cmp(v)) {
                Ok(at) => {
                    kv.values.remove(at);
                    true
                }
                Err(_) => false,
            },
        };
        if kv.count() == 0 {
            self.tags.remove(key);
        }
        if removed {
            self.tag_count -= 1;
        }
        removed
    }

    /// Whether the set holds exactly this tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        let Ok((key, value)) = split_tag(tag) else {
            return false;
        };
        self.tags.get(key).is_some_and(|kv| match value {
            None => kv.present,
            Some(v) => kv.values.iter().any(|x| &*x.text == v),
        })
    }

    /// Sets a metadata entry (replacing any earlier value).
    pub fn set_metadata(&mut self, key: &str, value: &str) -> Result<()> {
        let text = format!("{key}={value}");
        check_key(&text, key)?;
        check_value(&text, value, MAX_METADATA_VALUE_LEN)?;
        if !self.metadata.contains_key(key) && self.metadata.len() >= MAX_METADATA {
            return Err(bad_set(format!(
                "a set holds at most {MAX_METADATA} metadata entries"
            )));
        }
        self.metadata.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// [`set_metadata`](Self::set_metadata), builder style.
    pub fn with_metadata(mut self, key: &str, value: &str) -> Result<Self> {
        self.set_metadata(key, value)?;
        Ok(self)
    }

    /// Removes a metadata entry, returning its value.
    pub fn remove_metadata(&mut self, key: &str) -> Option<String> {
        self.metadata.remove(key)
    }

    /// The metadata, by key.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The number of tags.
    pub fn tag_count(&self) -> usize {
        self.tag_count
    }

    /// Whether the set has no tags and no metadata.
    pub fn is_empty(&self) -> bool {
        self.tag_count == 0 && self.metadata.is_empty()
    }

    /// Every tag, ordered by key then value (a bare key before its values).
    pub fn tags(&self) -> impl Iterator<Item = String> + '_ {
        self.tags.iter().flat_map(|(key, kv)| {
            let bare = kv.present.then(|| key.clone());
            bare.into_iter()
                .chain(kv.values.iter().map(move |v| format!("{key}={}", v.text)))
        })
    }

    /// The distinct tag keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tags.keys().map(String::as_str)
    }

    pub(crate) fn key_values(&self, key: &str) -> Option<&KeyValues> {
        self.tags.get(key)
    }

    /// The values of `key`'s `key=value` tags, in order.
    pub fn values(&self, key: &str) -> impl Iterator<Item = &str> {
        self.tags
            .get(key)
            .into_iter()
            .flat_map(|kv| kv.values.iter().map(|v| &*v.text))
    }

    /// The one value of `key` (the first, when there are several).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values(key).next()
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.tags.get(key)?.values.first()?.number
    }

    /// Replaces every value of `key` with `value` (`None` removes them).
    fn put(&mut self, key: &str, value: Option<String>) -> Result<()> {
        let old: Vec<String> = self.values(key).map(|v| format!("{key}={v}")).collect();
        for tag in old {
            self.remove_tag(&tag);
        }
        if let Some(value) = value {
            self.insert_tag(&format!("{key}={value}"))?;
        }
        Ok(())
    }

    /// Writes `hardware` as its `hardware.*` tags (replacing those it sets).
    pub fn with_hardware(mut self, hardware: &Hardware) -> Result<Self> {
        let num = |n: Option<f64>| n.map(format_number);
        self.put(
            "hardware.cpu.cores",
            hardware.cpu_cores.map(|n| n.to_string()),
        )?;
        self.put(
            "hardware.cpu.threads",
            hardware.cpu_threads.map(|n| n.to_string()),
        )?;
        self.put("hardware.memory_gb", num(hardware.memory_gb))?;
        if let Some(gpu) = &hardware.gpu {
            self.insert_tag("hardware.gpu")?;
            self.put("hardware.gpu.vendor", gpu.vendor.clone())?;
            self.put("hardware.gpu.model", gpu.model.clone())?;
            self.put("hardware.gpu.vram_gb", num(gpu.vram_gb))?;
            self.put("hardware.gpu.count", gpu.count.map(|n| n.to_string()))?;
        }
        Ok(self)
    }

    /// Writes `software` as its `software.*` tags (adding to those there).
    pub fn with_software(mut self, software: &Software) -> Result<Self> {
        for model in &software.models {
            self.insert_tag(&format!("software.model={model}"))?;
        }
        for tool in &software.tools {
            self.insert_tag(&format!("software.tool={tool}"))?;
        }
        for (name, version) in &software.runtimes {
            self.put(&format!("software.runtime.{name}"), Some(version.clone()))?;
        }
        Ok(self)
    }

    /// Writes `limits` as its `limits.*` tags (replacing those it sets).
    pub fn with_limits(mut self, limits: &Limits) -> Result<Self> {
        self.put(
            "limits.max_concurrent",
            limits.max_concurrent.map(|n| n.to_string()),
        )?;
        self.put(
            "limits.max_payload_bytes",
            limits.max_payload_bytes.map(|n| n.to_string()),
        )?;
        self.put(
            "limits.max_rate_per_sec",
            limits.max_rate_per_sec.map(format_number),
        )?;
        Ok(self)
    }

    /// The hardware view of the tags (fields whose tags are absent or not
    /// numbers are `None`; [`validate`] reports the latter).
    pub fn hardware(&self) -> Hardware {
        let int = |key: &str| self.number(key).and_then(as_u32);
        let gpu = self.has_tag("hardware.gpu").then(|| Gpu {
            vendor: self.value("hardware.gpu.vendor").map(str::to_string),
            model: self.value("hardware.gpu.model").map(str::to_string),
            vram_gb: self.number("hardware.gpu.vram_gb"),
            count: int("hardware.gpu.count"),
        });
        Hardware {
            cpu_cores: int("hardware.cpu.cores"),
            cpu_threads: int("hardware.cpu.threads"),
            memory_gb: self.number("hardware.memory_gb"),
            gpu,
        }
    }

    /// The software view of the tags.
    pub fn software(&self) -> Software {
        let runtimes = self
            .tags
            .range::<str, _>((
                std::ops::Bound::Included("software.runtime."),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with("software.runtime."))
            .filter_map(|(k, kv)| {
                let name = &k["software.runtime.".len()..];
                let version = kv.values.first()?;
                (!name.is_empty()).then(|| (name.to_string(), version.text.to_string()))
            })
            .collect();
        Software {
            models: self.values("software.model").map(str::to_string).collect(),
            tools: self.values("software.tool").map(str::to_string).collect(),
            runtimes,
        }
    }

    /// The limits view of the tags.
    pub fn limits(&self) -> Limits {
        let int = |key: &str| {
            self.number(key)
                .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= u64::MAX as f64)
                .map(|n| n as u64)
        };
        Limits {
            max_concurrent: int("limits.max_concurrent"),
            max_payload_bytes: int("limits.max_payload_bytes"),
            max_rate_per_sec: self.number("limits.max_rate_per_sec"),
        }
    }

    /// What differs from `prev` to `self`: apply it to `prev` to get `self`.
    pub fn diff(&self, prev: &CapabilitySet) -> CapabilityDiff {
        let now: std::collections::BTreeSet<String> = self.tags().collect();
        let before: std::collections::BTreeSet<String> = prev.tags().collect();
        let mut diff = CapabilityDiff {
            added: now.difference(&before).cloned().collect(),
            removed: before.difference(&now).cloned().collect(),
            ..CapabilityDiff::default()
        };
        for (key, value) in &self.metadata {
            if prev.metadata.get(key) != Some(value) {
                diff.metadata_set.insert(key.clone(), value.clone());
            }
        }
        for key in prev.metadata.keys() {
            if !self.metadata.contains_key(key) {
                diff.metadata_removed.push(key.clone());
            }
        }
        diff
    }

    /// `self` with `diff` applied. A diff that removes a tag or metadata key
    /// the set lacks, or adds one it has, is `capability:invalid_diff`: it
    /// was taken against another set.
    pub fn apply(&self, diff: &CapabilityDiff) -> Result<CapabilitySet> {
        let stale = |what: String| {
            Error::new(
                ErrorKind::InvalidCapabilityDiff,
                format!("the diff does not apply to this set: {what}"),
            )
        };
        let mut next = self.clone();
        for tag in &diff.removed {
            if !next.remove_tag(tag) {
                return Err(stale(format!("it removes {tag:?}, which the set lacks")));
            }
        }
        for tag in &diff.added {
            if !next.insert_tag(tag)? {
                return Err(stale(format!("it adds {tag:?}, which the set has")));
            }
        }
        for key in &diff.metadata_removed {
            if next.metadata.remove(key).is_none() {
                return Err(stale(format!(
                    "it removes metadata {key:?}, which the set lacks"
                )));
            }
        }
        for (key, value) in &diff.metadata_set {
            next.set_metadata(key, value)?;
        }
        Ok(next)
    }

    /// Reads a set from its JSON (see the module docs). Unknown keys, a tag
    /// that is not one and limits exceeded are errors.
    pub fn from_json(json: &str) -> Result<CapabilitySet> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| bad_set(format!("a capability set must be JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// [`from_json`](Self::from_json) from a parsed value.
    pub fn from_value(value: &Value) -> Result<CapabilitySet> {
        let object = value
            .as_object()
            .ok_or_else(|| bad_set("a capability set must be a JSON object"))?;
        let mut set = CapabilitySet::new();
        for (key, field) in object {
            match key.as_str() {
                "tags" => {
                    let tags = field
                        .as_array()
                        .ok_or_else(|| bad_set("\"tags\" must be an array of strings"))?;
                    if tags.len() > MAX_TAGS {
                        return Err(bad_set(format!("a set holds at most {MAX_TAGS} tags")));
                    }
                    for tag in tags {
                        let tag = tag
                            .as_str()
                            .ok_or_else(|| bad_set("\"tags\" must be an array of strings"))?;
                        set.insert_tag(tag)?;
                    }
                }
                "metadata" => {
                    let entries = field.as_object().ok_or_else(|| {
                        bad_set("\"metadata\" must be an object of string values")
                    })?;
                    if entries.len() > MAX_METADATA {
                        return Err(bad_set(format!(
                            "a set holds at most {MAX_METADATA} metadata entries"
                        )));
                    }
                    for (k, v) in entries {
                        let v = v.as_str().ok_or_else(|| {
                            bad_set(format!("metadata {k:?} must be a string"))
                        })?;
                        set.set_metadata(k, v)?;
                    }
                }
                "hardware" | "software" | "limits" => {}
                other => {
                    return Err(bad_set(format!(
                        "unknown key {other:?} in a capability set (tags, metadata, hardware, software, limits)"
                    )))
                }
            }
        }
        if let Some(hw) = object.get("hardware") {
            set = set.with_hardware(&Hardware::from_value(hw)?)?;
        }
        if let Some(sw) = object.get("software") {
            set = set.with_software(&Software::from_value(sw)?)?;
        }
        if let Some(limits) = object.get("limits") {
            set = set.with_limits(&Limits::from_value(limits)?)?;
        }
        Ok(set)
    }

    /// The canonical JSON value: `{"tags": [...], "metadata": {...}}`.
    pub fn to_value(&self) -> Value {
        let metadata: Map<String, Value> = self
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        serde_json::json!({
            "tags": self.tags().collect::<Vec<_>>(),
            "metadata": metadata,
        })
    }

    /// The canonical JSON text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// The typed views as JSON: `{"hardware": {...}, "software": {...},
    /// "limits": {...}}`, absent fields left out.
    pub fn views_json(&self) -> String {
        self.views_value().to_string()
    }

    /// [`views_json`](Self::views_json) as a value.
    pub fn views_value(&self) -> Value {
        serde_json::json!({
            "hardware": self.hardware().to_value(),
            "software": self.software().to_value(),
            "limits": self.limits().to_value(),
        })
    }
}

fn as_u32(n: f64) -> Option<u32> {
    (n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX)).then_some(n as u32)
}

/// Reads one typed section: an object whose keys are all in `allowed`.
fn section<'a>(value: &'a Value, name: &str, allowed: &[&str]) -> Result<&'a Map<String, Value>> {
    let object = value
        .as_object()
        .ok_or_else(|| bad_set(format!("\"{name}\" must be an object")))?;
    if let Some(k) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad_set(format!(
            "unknown key {k:?} in \"{name}\" ({})",
            allowed.join(", ")
        )));
    }
    Ok(object)
}

fn field_number(object: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(Some)
            .ok_or_else(|| bad_set(format!("{name:?} must be a number of at least 0"))),
    }
}

fn field_count<T: TryFrom<u64>>(object: &Map<String, Value>, name: &str) -> Result<Option<T>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad_set(format!("{name:?} must be a whole number of at least 0"))),
    }
}

fn field_string(object: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad_set(format!("{name:?} must be a string"))),
    }
}

fn field_strings(object: &Map<String, Value>, name: &str) -> Result<Vec<String>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad_set(format!("{name:?} must be an array of strings")))
            })
            .collect(),
        Some(_) => Err(bad_set(format!("{name:?} must be an array of strings"))),
    }
}

fn put_opt(object: &mut Map<String, Value>, name: &str, value: Option<Value>) {
    if let Some(v) = value {
        object.insert(name.to_string(), v);
    }
}

/// A number as JSON writes it: integral values as integers.
pub(crate) fn num_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

/// A GPU, as the `hardware.gpu.*` tags describe it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gpu {
    /// `hardware.gpu.vendor` (`nvidia`, `amd`, `intel`, `apple`, ...).
    pub vendor: Option<String>,
    /// `hardware.gpu.model`.
    pub model: Option<String>,
    /// `hardware.gpu.vram_gb`.
    pub vram_gb: Option<f64>,
    /// `hardware.gpu.count` (how many of this GPU).
    pub count: Option<u32>,
}

/// The hardware view (see the module docs for its tags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hardware {
    /// `hardware.cpu.cores`.
    pub cpu_cores: Option<u32>,
    /// `hardware.cpu.threads`.
    pub cpu_threads: Option<u32>,
    /// `hardware.memory_gb`.
    pub memory_gb: Option<f64>,
    /// `hardware.gpu` and its details.
    pub gpu: Option<Gpu>,
}

impl Hardware {
    fn from_value(value: &Value) -> Result<Hardware> {
        let o = section(
            value,
            "hardware",
            &["cpu_cores", "cpu_threads", "memory_gb", "gpu"],
        )?;
        let gpu = match o.get("gpu") {
            None | Some(Value::Null) => None,
            Some(g) => {
                let g = section(g, "gpu", &["vendor", "model", "vram_gb", "count"])?;
                Some(Gpu {
                    vendor: field_string(g, "vendor")?,
                    model: field_string(g, "model")?,
                    vram_gb: field_number(g, "vram_gb")?,
                    count: field_count(g, "count")?,
                })
            }
        };
        Ok(Hardware {
            cpu_cores: field_count(o, "cpu_cores")?,
            cpu_threads: field_count(o, "cpu_threads")?,
            memory_gb: field_number(o, "memory_gb")?,
            gpu,
        })
    }

    fn to_value(&self) -> Value {
        let mut o = Map::new();
        put_opt(&mut o, "cpu_cores", self.cpu_cores.map(Value::from));
        put_opt(&mut o, "cpu_threads", self.cpu_threads.map(Value::from));
        put_opt(&mut o, "memory_gb", self.memory_gb.map(num_value));
        if let Some(gpu) = &self.gpu {
            let mut g = Map::new();
            put_opt(&mut g, "vendor", gpu.vendor.clone().map(Value::from));
            put_opt(&mut g, "model", gpu.model.clone().map(Value::from));
            put_opt(&mut g, "vram_gb", gpu.vram_gb.map(num_value));
            put_opt(&mut g, "count", gpu.count.map(Value::from));
            o.insert("gpu".into(), Value::Object(g));
        }
        Value::Object(o)
    }
}

/// The software view (see the module docs for its tags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Software {
    /// `software.model` values: models the node can run.
    pub models: Vec<String>,
    /// `software.tool` values: tools the node offers.
    pub tools: Vec<String>,
    /// `software.runtime.<name>` → version.
    pub runtimes: BTreeMap<String, String>,
}

impl Software {
    fn from_value(value: &Value) -> Result<Software> {
        let o = section(value, "software", &["models", "tools", "runtimes"])?;
        let runtimes = match o.get("runtimes") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|v| (k.clone(), v.to_string()))
                        .ok_or_else(|| bad_set(format!("runtime {k:?} must be a version string")))
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(bad_set("\"runtimes\" must be an object of versions")),
        };
        Ok(Software {
            models: field_strings(o, "models")?,
            tools: field_strings(o, "tools")?,
            runtimes,
        })
    }

    fn to_value(&self) -> Value {
        serde_json::json!({
            "models": self.models,
            "tools": self.tools,
            "runtimes": self.runtimes,
        })
    }
}

/// The limits view (see the module docs for its tags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// `limits.max_concurrent`: work items the node takes at once.
    pub max_concurrent: Option<u64>,
    /// `limits.max_payload_bytes`: the largest payload it accepts.
    pub max_payload_bytes: Option<u64>,
    /// `limits.max_rate_per_sec`: requests per second it accepts.
    pub max_rate_per_sec: Option<f64>,
}

impl Limits {
    fn from_value(value: &Value) -> Result<Limits> {
        let o = section(
            value,
            "limits",
            &["max_concurrent", "max_payload_bytes", "max_rate_per_sec"],
        )?;
        Ok(Limits {
            max_concurrent: field_count(o, "max_concurrent")?,
            max_payload_bytes: field_count(o, "max_payload_bytes")?,
            max_rate_per_sec: field_number(o, "max_rate_per_sec")?,
        })
    }

    fn to_value(&self) -> Value {
        let mut o = Map::new();
        put_opt(
            &mut o,
            "max_concurrent",
            self.max_concurrent.map(Value::from),
        );
        put_opt(
            &mut o,
            "max_payload_bytes",
            self.max_payload_bytes.map(Value::from),
        );
        put_opt(
            &mut o,
            "max_rate_per_sec",
            self.max_rate_per_sec.map(num_value),
        );
        Value::Object(o)
    }
}

/// What changed between two capability sets ([`CapabilitySet::diff`]).
///
/// JSON: `{"added": [tags], "removed": [tags], "metadata_set": {key:
/// value}, "metadata_removed": [keys]}`, every field optional on input.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityDiff {
    /// Tags in the new set only.
    #[serde(default)]
    pub added: Vec<String>,
    /// Tags in the old set only.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Metadata entries new or changed.
    #[serde(default)]
    pub metadata_set: BTreeMap<String, String>,
    /// Metadata keys gone.
    #[serde(default)]
    pub metadata_removed: Vec<String>,
}

impl CapabilityDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.metadata_set.is_empty()
            && self.metadata_removed.is_empty()
    }

    /// Reads a diff from its JSON.
    pub fn from_json(json: &str) -> Result<CapabilityDiff> {
        serde_json::from_str(json).map_err(|e| {
            Error::new(
                ErrorKind::InvalidCapabilityDiff,
                format!("not a capability diff: {e}"),
            )
        })
    }

    /// The diff as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
