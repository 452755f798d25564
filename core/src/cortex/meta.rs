//! The 20-byte event meta that prefixes every CortEX payload in a RedEX log.
//!
//! Layout (little-endian): `dispatch u8 | flags u8 | reserved [u8; 2] |
//! origin_hash u32 | seq_or_ts u64 | checksum u32`, where the checksum is the
//! CRC-32 of the payload that follows. Dispatches `0x00..=0x7F` belong to
//! CortEX's own models; `0x80..=0xFF` are for applications.

use crate::error::{Error, ErrorKind, Result};

/// Encoded size of the meta.
pub const META_LEN: usize = 20;

/// Event meta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventMeta {
    /// What kind of event this is (the model decides).
    pub dispatch: u8,
    /// Flags (none defined yet; must be zero).
    pub flags: u8,
    /// The producer's origin hash.
    pub origin_hash: u32,
    /// Per-origin counter or Unix nanoseconds.
    pub seq_or_ts: u64,
    /// CRC-32 of the payload.
    pub checksum: u32,
}

fn decode_error(why: &str) -> Error {
    Error::new(ErrorKind::Decode, why.to_owned())
}

impl EventMeta {
    /// Meta for `payload`, with its checksum computed.
    pub fn for_payload(dispatch: u8, origin_hash: u32, seq_or_ts: u64, payload: &[u8]) -> Self {
        EventMeta {
            dispatch,
            flags: 0,
            origin_hash,
            seq_or_ts,
            checksum: crc32fast::hash(payload),
        }
    }

    /// Encodes into 20 bytes.
    pub fn encode(&self) -> [u8; META_LEN] {
        let mut out = [0u8; META_LEN];
        out[0] = self.dispatch;
        out[1] = self.flags;
        out[4..8].copy_from_slice(&self.origin_hash.to_le_bytes());
        out[8..16].copy_from_slice(&self.seq_or_ts.to_le_bytes());
        out[16..20].copy_from_slice(&self.checksum.to_le_bytes());
        out
    }

    /// Meta + payload, ready to append.
    pub fn frame(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(META_LEN + payload.len());
        out.extend_from_slice(&self.encode());
        out.extend_from_slice(payload);
        out
    }

    /// Splits a framed entry into meta and payload, checking the checksum.
    pub fn unframe(entry: &[u8]) -> Result<(EventMeta, &[u8])> {
        let b: &[u8; META_LEN] = entry
            .get(..META_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| decode_error("entry is shorter than the 20-byte event meta"))?;
        let meta = EventMeta {
            dispatch: b[0],
            flags: b[1],
            origin_hash: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            seq_or_ts: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
            checksum: u32::from_le_bytes([b[16], b[17], b[18], b[19]]),
        };
        let payload = &entry[META_LEN..];
        if crc32fast::hash(payload) != meta.checksum {
            return Err(decode_error(
                "payload checksum does not match the event meta",
            ));
        }
        Ok((meta, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip_and_checksum() {
        let meta = EventMeta::for_payload(0x81, 0xDEAD_BEEF, 42, b"payload");
        let framed = meta.frame(b"payload");
        let (back, payload) = EventMeta::unframe(&framed).unwrap();
        assert_eq!((back, payload), (meta, &b"payload"[..]));
        let mut bad = framed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(
            EventMeta::unframe(&bad).unwrap_err().kind(),
            ErrorKind::Decode
        );
        assert!(EventMeta::unframe(&framed[..19]).is_err());
    }
}
