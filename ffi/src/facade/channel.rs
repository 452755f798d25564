//! Channel names and patterns for the bindings (see `net_core::channel`).

use net_core::channel::{ChannelName, ChannelPattern};
use net_core::Result;

/// Checks a channel name; `channel:invalid_name` otherwise.
pub fn check_channel_name(name: &str) -> Result<()> {
    ChannelName::new(name).map(|_| ())
}

/// A channel name's stable 64-bit hash.
pub fn channel_hash(name: &str) -> Result<u64> {
    Ok(ChannelName::new(name)?.hash())
}

/// Whether the channel pattern `pattern` matches the channel `name`.
pub fn channel_matches(pattern: &str, name: &str) -> Result<bool> {
    Ok(ChannelPattern::new(pattern)?.matches(&ChannelName::new(name)?))
}
