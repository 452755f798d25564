//! Channels: hierarchical names like `sensors/lidar/front`, and the patterns
//! that select them (`sensors/*`, `sensors/**`).
//!
//! Today this module holds what names, patterns and the things that refer
//! to them (permission tokens, subscriptions) agree on: which names are
//! valid, which names a pattern matches, which patterns contain which, and
//! the stable hashes both sides of the wire compute. Publishing and
//! subscribing over the mesh build on it.
//!
//! # Names
//!
//! A name is one to [`MAX_SEGMENTS`] segments joined by `/`, at most
//! [`MAX_NAME_LEN`] bytes in all. A segment is one to [`MAX_SEGMENT_LEN`]
//! bytes of ASCII letters, digits, `-`, `_` and `.`. Anything else (an
//! empty name or segment, a leading or trailing `/`, a space, a `*`, a
//! non-ASCII byte) is `channel:invalid_name`.
//!
//! # Patterns
//!
//! | pattern | matches |
//! |---|---|
//! | `sensors/lidar` | that channel only |
//! | `sensors/*` | the channels one level below `sensors` (`sensors/lidar`, not `sensors/lidar/front`) |
//! | `sensors/**` | every channel below `sensors`, at any depth |
//! | `*` / `**` | every top-level channel / every channel |
//!
//! A wildcard is only ever the last segment, and stands alone in it.

use crate::error::{Error, ErrorKind, Result};
use blake2::{Blake2s256, Digest};

/// The longest a channel name (or pattern) may be, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// The most segments a channel name has.
pub const MAX_SEGMENTS: usize = 16;
/// The longest one segment may be, in bytes.
pub const MAX_SEGMENT_LEN: usize = 64;

const NAME_HASH_DOMAIN: &[u8] = b"net/channel/v1";
const PATTERN_DIGEST_DOMAIN: &[u8] = b"net/channel-pattern/v1";

fn invalid(text: &str, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidChannelName,
        format!("{text:?} is not a channel name: {why}"),
    )
}

/// Checks `segments` of `text` (the whole name, for messages).
fn check_segments<'a>(text: &str, segments: impl Iterator<Item = &'a str>) -> Result<usize> {
    let mut count = 0;
    for segment in segments {
        count += 1;
        if segment.is_empty() {
            return Err(invalid(
                text,
                "an empty segment (a leading, trailing or doubled '/')",
            ));
        }
        if segment.len() > MAX_SEGMENT_LEN {
            return Err(invalid(
                text,
                format_args!("a segment is longer than {MAX_SEGMENT_LEN} bytes"),
            ));
        }
        if let Some(c) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(invalid(
                text,
                format_args!("{c:?} is not allowed (letters, digits, '-', '_' and '.' are)"),
            ));
        }
    }
    if count > MAX_SEGMENTS {
        return Err(invalid(
            text,
            format_args!("more than {MAX_SEGMENTS} segments"),
        ));
    }
    Ok(count)
}

/// A valid channel name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelName(String);

impl ChannelName {
    /// Checks `text` (see the module docs); `channel:invalid_name` otherwise.
    pub fn new(text: &str) -> Result<ChannelName> {
        if text.is_empty() {
            return Err(invalid(text, "it is empty"));
        }
        if text.len() > MAX_NAME_LEN {
            return Err(invalid(
                text,
                format_args!("it is longer than {MAX_NAME_LEN} bytes"),
            ));
        }
        check_segments(text, text.split('/'))?;
        Ok(ChannelName(text.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The stable 64-bit hash both ends of the wire use for this name: the
    /// first 8 bytes, little-endian, of BLAKE2s-256("net/channel/v1" ‖ name).
    pub fn hash(&self) -> u64 {
        let mut hasher = Blake2s256::new();
        hasher.update(NAME_HASH_DOMAIN);
        hasher.update(self.0.as_bytes());
        let digest: [u8; 32] = hasher.finalize().into();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    /// Every pattern that matches this name, from the most specific (the
    /// name itself) to the most general (`**`): for `a/b/c`, `a/b/c`,
    /// `a/b/*`, `a/b/**`, `a/**`, `**`. Patterns that both match one name
    /// always contain one another, in this order.
    pub fn matching_patterns(&self) -> Vec<ChannelPattern> {
        ChannelPattern::exact(self.clone()).containing()
    }
}

impl std::fmt::Display for ChannelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a pattern's last segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// No wildcard: one channel.
    Exact = 0,
    /// `prefix/*` (or `*`): one level below the prefix.
    OneLevel = 1,
    /// `prefix/**` (or `**`): any depth below the prefix.
    AnyDepth = 2,
}

impl PatternKind {
    /// The kind of the byte `b`, if it is one.
    pub fn from_byte(b: u8) -> Option<PatternKind> {
        match b {
            0 => Some(PatternKind::Exact),
            1 => Some(PatternKind::OneLevel),
            2 => Some(PatternKind::AnyDepth),
            _ => None,
        }
    }
}

/// A channel pattern: an exact name, or a prefix and a wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelPattern {
    kind: PatternKind,
    /// The segments before the wildcard (the whole name for `Exact`; empty
    /// for `*` and `**`).
    prefix: String,
}

impl ChannelPattern {
    /// Parses `text` (see the module docs); `channel:invalid_name` otherwise.
    pub fn new(text: &str) -> Result<ChannelPattern> {
        if text.len() > MAX_NAME_LEN {
            return Err(invalid(
                text,
                format_args!("it is longer than {MAX_NAME_LEN} bytes"),
            ));
        }
        let (kind, prefix) = match text.rsplit_once('/') {
            _ if text == "*" => (PatternKind::OneLevel, ""),
            _ if text == "**" => (PatternKind::AnyDepth, ""),
            Some((prefix, "*")) => (PatternKind::OneLevel, prefix),
            Some((prefix, "**")) => (PatternKind::AnyDepth, prefix),
            _ => (PatternKind::Exact, text),
        };
        if kind == PatternKind::Exact {
            return Ok(ChannelPattern::exact(ChannelName::new(text)?));
        }
        if text == "*" || text == "**" {
            return Ok(ChannelPattern {
                kind,
                prefix: String::new(),
            });
        }
        let segments = check_segments(text, prefix.split('/'))?;
        if segments + 1 > MAX_SEGMENTS {
            return Err(invalid(
                text,
                format_args!("more than {MAX_SEGMENTS} segments"),
            ));
        }
        Ok(ChannelPattern {
            kind,
            prefix: prefix.to_owned(),
        })
    }

    /// The pattern that matches `name` only.
    pub fn exact(name: ChannelName) -> ChannelPattern {
        ChannelPattern {
            kind: PatternKind::Exact,
            prefix: name.0,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> PatternKind {
        self.kind
    }

    /// The segments before the wildcard (the name itself if exact).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn prefix_segments(&self) -> usize {
        if self.prefix.is_empty() {
            0
        } else {
            self.prefix.split('/').count()
        }
    }

    /// Whether `name` is one of the channels this pattern selects.
    pub fn matches(&self, name: &ChannelName) -> bool {
        let under = |prefix: &str| {
            prefix.is_empty()
                || name
                    .0
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        match self.kind {
            PatternKind::Exact => self.prefix == name.0,
            PatternKind::AnyDepth => under(&self.prefix),
            PatternKind::OneLevel => {
                under(&self.prefix) && name.segments().count() == self.prefix_segments() + 1
            }
        }
    }

    /// Whether every channel `other` matches, this one matches too.
    pub fn contains(&self, other: &ChannelPattern) -> bool {
        other
            .containing()
            .iter()
            .any(|p| p.kind == self.kind && p.prefix == self.prefix)
    }

    /// Every pattern that contains this one, from itself to `**`, each
    /// containing the ones before it.
    pub fn containing(&self) -> Vec<ChannelPattern> {
        let mut out = vec![self.clone()];
        let segments: Vec<&str> = if self.prefix.is_empty() {
            Vec::new()
        } else {
            self.prefix.split('/').collect()
        };
        let any_depth = |n: usize| ChannelPattern {
            kind: PatternKind::AnyDepth,
            prefix: segments[..n].join("/"),
        };
        // The deepest `**` that contains this pattern, then each shorter one.
        let deepest = match self.kind {
            PatternKind::Exact => {
                let parent = segments.len() - 1;
                out.push(ChannelPattern {
                    kind: PatternKind::OneLevel,
                    prefix: segments[..parent].join("/"),
                });
                Some(parent)
            }
            PatternKind::OneLevel => Some(segments.len()),
            PatternKind::AnyDepth => segments.len().checked_sub(1),
        };
        if let Some(deepest) = deepest {
            for n in (0..=deepest).rev() {
                let p = any_depth(n);
                if p != *self {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The 32-byte digest a permission token carries for this pattern:
    /// BLAKE2s-256("net/channel-pattern/v1" ‖ kind ‖ prefix).
    pub fn digest(&self) -> [u8; 32] {
        let mut hasher = Blake2s256::new();
        hasher.update(PATTERN_DIGEST_DOMAIN);
        hasher.update([self.kind as u8]);
        hasher.update(self.prefix.as_bytes());
        hasher.finalize().into()
    }
}

impl std::fmt::Display for ChannelPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let wildcard = match self.kind {
            PatternKind::Exact => return f.write_str(&self.prefix),
            PatternKind::OneLevel => "*",
            PatternKind::AnyDepth => "**",
        };
        if self.prefix.is_empty() {
            f.write_str(wildcard)
        } else {
            write!(f, "{}/{wildcard}", self.prefix)
        }
    }
}

#[cfg(test)]
mod tests;
