//! The fixed 20-byte index record of a RedEX log.
//!
//! Layout (little-endian): `seq u64 | offset u32 | len u32 | flags+checksum u32`.
//! The top 4 bits of the last word are flags (bit 31 INLINE, bit 29 VOID), the
//! low 28 bits a checksum of the payload (CRC-32, truncated). An *inline* record carries its 8-byte payload in
//! the `offset` and `len` fields instead of pointing into the payload segment.

use crate::error::{Error, ErrorKind, Result};

/// Encoded size of a record.
pub const RECORD_LEN: usize = 20;
/// Size of an inline payload.
pub const INLINE_LEN: usize = 8;
/// Flag: the payload is stored inline in the record.
pub const FLAG_INLINE: u32 = 0x8000_0000;
/// Flag: the position holds no entry (recovery found its payload missing).
/// The record keeps the position, so its sequence number is never reused.
pub const FLAG_VOID: u32 = 0x2000_0000;
const FLAGS_MASK: u32 = 0xF000_0000;
const CHECKSUM_MASK: u32 = 0x0FFF_FFFF;

/// Checksum of a payload as stored in a record (28 bits).
pub fn checksum(payload: &[u8]) -> u32 {
    crc32fast::hash(payload) & CHECKSUM_MASK
}

/// One index record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Sequence number.
    pub seq: u64,
    /// Offset into the payload segment (inline: payload bytes 0..4).
    pub offset: u32,
    /// Payload length (inline: payload bytes 4..8).
    pub len: u32,
    /// Flags (top 4 bits) and checksum (low 28 bits).
    pub flags_checksum: u32,
}

impl Record {
    /// A record pointing at `len` bytes at `offset` of the segment.
    pub fn heap(seq: u64, offset: u32, payload: &[u8]) -> Result<Record> {
        let len = u32::try_from(payload.len())
            .map_err(|_| Error::new(ErrorKind::PayloadTooLarge, "payload exceeds 4 GiB"))?;
        Ok(Record {
            seq,
            offset,
            len,
            flags_checksum: checksum(payload),
        })
    }

    /// A record carrying an 8-byte payload inline.
    pub fn inline(seq: u64, payload: [u8; INLINE_LEN]) -> Record {
        Record {
            seq,
            offset: u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]),
            len: u32::from_le_bytes([payload[4], payload[5], payload[6], payload[7]]),
            flags_checksum: FLAG_INLINE | checksum(&payload),
        }
    }

    /// A record that holds sequence `seq`'s position without an entry.
    pub fn void(seq: u64) -> Record {
        Record {
            seq,
            offset: 0,
            len: 0,
            flags_checksum: FLAG_VOID,
        }
    }

    /// Whether the position holds no entry.
    pub fn is_void(&self) -> bool {
        self.flags_checksum & FLAG_VOID != 0
    }

    /// Whether the payload is inline.
    pub fn is_inline(&self) -> bool {
        self.flags_checksum & FLAG_INLINE != 0
    }

    /// The stored checksum.
    pub fn checksum(&self) -> u32 {
        self.flags_checksum & CHECKSUM_MASK
    }

    /// The flag bits.
    pub fn flags(&self) -> u32 {
        self.flags_checksum & FLAGS_MASK
    }

    /// The inline payload (meaningful only when [`Record::is_inline`]).
    pub fn inline_payload(&self) -> [u8; INLINE_LEN] {
        let mut out = [0u8; INLINE_LEN];
        out[..4].copy_from_slice(&self.offset.to_le_bytes());
        out[4..].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// Bytes of payload segment the record uses.
    pub fn heap_len(&self) -> usize {
        if self.is_inline() {
            0
        } else {
            self.len as usize
        }
    }

    /// Encodes into 20 bytes.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        out[..8].copy_from_slice(&self.seq.to_le_bytes());
        out[8..12].copy_from_slice(&self.offset.to_le_bytes());
        out[12..16].copy_from_slice(&self.len.to_le_bytes());
        out[16..20].copy_from_slice(&self.flags_checksum.to_le_bytes());
        out
    }

    /// Decodes 20 bytes; fails with `wire:malformed` on short input or unknown flags.
    pub fn decode(bytes: &[u8]) -> Result<Record> {
        let b: &[u8; RECORD_LEN] = bytes
            .get(..RECORD_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Error::new(ErrorKind::Malformed, "shorter than a 20-byte record"))?;
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let record = Record {
            seq: u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            offset: word(8),
            len: word(12),
            flags_checksum: word(16),
        };
        let flags = record.flags();
        if flags & !(FLAG_INLINE | FLAG_VOID) != 0 || flags == FLAG_INLINE | FLAG_VOID {
            return Err(Error::new(ErrorKind::Malformed, "unknown record flag bits"));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_and_inline_records_round_trip() {
        let heap = Record::heap(7, 100, b"hello").unwrap();
        assert!(!heap.is_inline());
        assert_eq!(Record::decode(&heap.encode()).unwrap(), heap);
        assert_eq!(heap.checksum(), checksum(b"hello"));
        let inline = Record::inline(8, *b"12345678");
        assert!(inline.is_inline());
        assert_eq!(inline.inline_payload(), *b"12345678");
        assert_eq!(Record::decode(&inline.encode()).unwrap(), inline);
        assert_eq!(inline.heap_len(), 0);
        let mut bad = heap.encode();
        bad[19] |= 0x40;
        assert_eq!(
            Record::decode(&bad).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        assert!(Record::decode(&bad[..19]).is_err());
        let void = Record::void(9);
        assert!(void.is_void() && !void.is_inline());
        assert_eq!(Record::decode(&void.encode()).unwrap(), void);
        let mut both = void.encode();
        both[19] |= 0x80;
        assert!(Record::decode(&both).is_err(), "inline and void at once");
    }
}
