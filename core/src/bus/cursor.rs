//! Poll cursors: an opaque string that records, per shard, the next sequence to read.
//!
//! The text form is `v1.<start shard>.<seq of shard 0>.<seq of shard 1>...`. It is
//! opaque to callers (they only pass it back), but plain text keeps it safe to log,
//! store and move between languages. The start shard rotates so that a poll with
//! a small limit does not starve the higher shards.

use crate::error::{Error, ErrorKind, Result};

/// Decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Shard the next poll starts from.
    pub start: usize,
    /// Next sequence to read, per shard.
    pub positions: Vec<u64>,
}

const PREFIX: &str = "v1";

impl Cursor {
    /// A cursor at the start of every shard.
    pub fn beginning(num_shards: usize) -> Cursor {
        Cursor {
            start: 0,
            positions: vec![0; num_shards],
        }
    }

    /// Encodes the cursor as its opaque text form.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4 + self.positions.len() * 4);
        out.push_str(PREFIX);
        out.push('.');
        out.push_str(&self.start.to_string());
        for p in &self.positions {
            out.push('.');
            out.push_str(&p.to_string());
        }
        out
    }

    /// Decodes a cursor for a bus of `num_shards` shards.
    pub fn decode(text: &str, num_shards: usize) -> Result<Cursor> {
        let bad = |why: &str| Error::new(ErrorKind::InvalidCursor, why.to_owned());
        let mut parts = text.split('.');
        if parts.next() != Some(PREFIX) {
            return Err(bad("not a cursor of this bus"));
        }
        let start: usize = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("malformed cursor"))?;
        let positions = parts
            .map(|s| s.parse::<u64>().map_err(|_| bad("malformed cursor")))
            .collect::<Result<Vec<u64>>>()?;
        if positions.len() != num_shards || start >= num_shards {
            return Err(bad("cursor belongs to a bus with a different shard count"));
        }
        Ok(Cursor { start, positions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let c = Cursor {
            start: 1,
            positions: vec![3, 0, 99],
        };
        assert_eq!(Cursor::decode(&c.encode(), 3).unwrap(), c);
    }

    #[test]
    fn garbage_is_invalid_cursor() {
        for bad in [
            "", "garbage", "v1", "v1.0", "v1.0.1.x", "v2.0.1", "v1.5.1.2", "v1.-1.2",
        ] {
            let kind = Cursor::decode(bad, 2).map(|_| ()).unwrap_err().kind();
            assert_eq!(kind, ErrorKind::InvalidCursor, "{bad}");
        }
    }
}
