//! Per-log settings: retention, fsync policy and payload limit.

use crate::error::{Error, ErrorKind, Result};
use std::time::Duration;

/// Default largest payload of one entry (16 MiB).
pub const DEFAULT_MAX_PAYLOAD: usize = 16 << 20;

/// Retention limits, applied together by an explicit sweep. `None` = no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many newest entries.
    pub max_events: Option<u64>,
    /// Keep at most this many bytes of newest heap payload.
    pub max_bytes: Option<u64>,
    /// Drop entries appended longer ago than this.
    pub max_age_ns: Option<u64>,
}

/// When a persistent log fsyncs on its own (always off the append path).
/// `sync()` and `close()` are durability barriers under every policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Only `sync()` and `close()` fsync.
    #[default]
    Never,
    /// Fsync after every N appended entries.
    EveryN(u64),
    /// Fsync on a timer while there are unsynced appends.
    Interval(Duration),
    /// Fsync when either the period elapses or this many bytes are unsynced.
    IntervalOrBytes {
        /// Timer period (zero: bytes only).
        period: Duration,
        /// Unsynced bytes threshold (zero: timer only).
        max_bytes: u64,
    },
}

/// Settings for one log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedexFileConfig {
    /// Retention limits for `sweep_retention`.
    pub retention: Retention,
    /// Background fsync policy (persistent logs only).
    pub fsync: FsyncPolicy,
    /// Largest payload of one entry.
    pub max_payload: usize,
}

impl Default for RedexFileConfig {
    fn default() -> Self {
        RedexFileConfig {
            retention: Retention::default(),
            fsync: FsyncPolicy::default(),
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }
}

impl RedexFileConfig {
    /// Checks the settings: a zero payload limit, `EveryN(0)` and a zero
    /// `Interval` period (which would fsync in a busy loop) fail with
    /// `redex:invalid_config`. `IntervalOrBytes` may leave one of its two
    /// triggers at zero (it then uses the other; both zero: never).
    pub fn validate(&self) -> Result<()> {
        let bad = |why: &str| Err(Error::new(ErrorKind::InvalidLogConfig, why.to_owned()));
        if self.max_payload == 0 {
            return bad("max_payload must be at least 1");
        }
        match self.fsync {
            FsyncPolicy::EveryN(0) => bad("fsync every_n must be at least 1"),
            FsyncPolicy::Interval(p) if p.is_zero() => {
                bad("fsync interval_ms must be at least 1 (0 would fsync in a busy loop)")
            }
            _ => Ok(()),
        }
    }
}
