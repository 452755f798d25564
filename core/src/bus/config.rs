//! Bus configuration: typed settings, their defaults, and strict JSON parsing.
//!
//! Every language configures the bus through this one parser, so the defaults
//! and the validation rules exist exactly once.

use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// Default per-shard capacity, in events.
pub const DEFAULT_RING_CAPACITY: usize = 65_536;
/// Default maximum size of one event, in bytes (1 MiB).
pub const DEFAULT_MAX_EVENT_SIZE: usize = 1 << 20;
/// Upper bound on the shard count; more shards than this only waste memory.
pub const MAX_SHARDS: usize = 1024;
/// Upper bound on the per-shard capacity (16 Mi events).
pub const MAX_RING_CAPACITY: usize = 1 << 24;
/// Upper bound on `max_event_size` (64 MiB).
pub const MAX_EVENT_SIZE_LIMIT: usize = 64 << 20;

/// What the bus does when an event arrives at a full shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backpressure {
    /// Keep the buffered events and discard the new one (counted in `dropped`).
    DropNewest,
    /// Evict the oldest buffered event to make room (counted in `dropped`).
    #[default]
    DropOldest,
    /// Refuse the new event with `bus:backpressure`; nothing is discarded.
    Fail,
}

impl Backpressure {
    /// The JSON spelling of the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Backpressure::DropNewest => "drop_newest",
            Backpressure::DropOldest => "drop_oldest",
            Backpressure::Fail => "fail",
        }
    }
}

/// Settings for one bus. Build it with [`BusConfig::default`] and field updates,
/// or parse it from JSON with [`BusConfig::from_json`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusConfig {
    /// Number of shards; default: the number of CPU cores.
    pub num_shards: usize,
    /// Events each shard buffers before the backpressure policy applies.
    pub ring_buffer_capacity: usize,
    /// Policy applied when a shard is full.
    pub backpressure: Backpressure,
    /// Largest accepted event, in bytes.
    pub max_event_size: usize,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            num_shards: default_shards(),
            ring_buffer_capacity: DEFAULT_RING_CAPACITY,
            backpressure: Backpressure::default(),
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
        }
    }
}

fn default_shards() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_SHARDS)
}

/// The JSON shape: every key optional, unknown keys rejected.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    num_shards: Option<u64>,
    ring_buffer_capacity: Option<u64>,
    backpressure: Option<Backpressure>,
    max_event_size: Option<u64>,
}

impl BusConfig {
    /// Parses a JSON object. An empty string or `{}` gives the defaults; unknown
    /// keys and invalid values fail with `bus:invalid_config`.
    pub fn from_json(json: &str) -> Result<BusConfig> {
        let trimmed = json.trim();
        if trimmed.is_empty() {
            return Ok(BusConfig::default());
        }
        let raw: RawConfig = serde_json::from_str(trimmed)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig, e.to_string()))?;
        let mut config = BusConfig::default();
        if let Some(n) = raw.num_shards {
            config.num_shards = to_usize(n, "num_shards")?;
        }
        if let Some(n) = raw.ring_buffer_capacity {
            config.ring_buffer_capacity = to_usize(n, "ring_buffer_capacity")?;
        }
        if let Some(p) = raw.backpressure {
            config.backpressure = p;
        }
        if let Some(n) = raw.max_event_size {
            config.max_event_size = to_usize(n, "max_event_size")?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value is in range.
    pub fn validate(&self) -> Result<()> {
        check_range("num_shards", self.num_shards, 1, MAX_SHARDS)?;
        check_range(
            "ring_buffer_capacity",
            self.ring_buffer_capacity,
            1,
            MAX_RING_CAPACITY,
        )?;
        check_range(
            "max_event_size",
            self.max_event_size,
            1,
            MAX_EVENT_SIZE_LIMIT,
        )
    }

    /// The effective configuration as JSON (what the bus actually runs with).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn to_usize(n: u64, key: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("{key} = {n} does not fit this platform"),
        )
    })
}

fn check_range(key: &str, value: usize, min: usize, max: usize) -> Result<()> {
    if value < min || value > max {
        return Err(Error::new(
            ErrorKind::InvalidConfig,
            format!("{key} must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(json: &str) -> ErrorKind {
        BusConfig::from_json(json).unwrap_err().kind()
    }

    #[test]
    fn defaults_and_overrides() {
        let d = BusConfig::from_json("").unwrap();
        assert_eq!(d, BusConfig::default());
        assert!(d.num_shards >= 1);
        let c = BusConfig::from_json(r#"{"num_shards": 4, "backpressure": "fail"}"#).unwrap();
        assert_eq!(c.num_shards, 4);
        assert_eq!(c.backpressure, Backpressure::Fail);
        assert_eq!(c.ring_buffer_capacity, DEFAULT_RING_CAPACITY);
    }

    #[test]
    fn rejects_bad_configs() {
        for bad in [
            r#"{"num_shards": 0}"#,
            r#"{"num_shards": -1}"#,
            r#"{"num_shards": "4"}"#,
            r#"{"shards": 4}"#,
            r#"{"backpressure": "sometimes"}"#,
            r#"{"ring_buffer_capacity": 0}"#,
            r#"{"max_event_size": 0}"#,
            r#"[1,2]"#,
            r#"{"num_shards": 4"#,
            "null",
        ] {
            assert_eq!(kind(bad), ErrorKind::InvalidConfig, "{bad}");
        }
    }
}
