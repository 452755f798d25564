//! The 18-byte routing header that precedes the Net header on multi-hop packets.
//!
//! A forwarder reads and rewrites only this header (TTL down, hop count up);
//! it never needs to decrypt what follows.

use super::malformed;
use crate::error::Error;

/// `"RT"` on the wire: 0x5452 as a little-endian u16. Disjoint from the Net
/// header's magic, so the first two bytes classify a datagram.
pub const ROUTING_MAGIC: u16 = 0x5452;
/// Encoded size of a [`RoutingHeader`].
pub const ROUTING_HEADER_LEN: usize = 18;

/// Route flags (one byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteFlags(pub u8);

impl RouteFlags {
    /// Mesh control traffic.
    pub const CONTROL: u8 = 0x01;
    /// The destination must acknowledge.
    pub const REQUIRES_ACK: u8 = 0x02;
    /// Forward ahead of other traffic.
    pub const PRIORITY: u8 = 0x04;
    /// Last packet of a stream.
    pub const END_OF_STREAM: u8 = 0x08;
    const KNOWN: u8 = 0x0F;
}

/// The routing header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoutingHeader {
    /// Hops left; a forwarder drops the packet at zero.
    pub ttl: u8,
    /// Hops taken.
    pub hop_count: u8,
    /// Route flags.
    pub flags: RouteFlags,
    /// The sender's routing id (low 32 bits of its node id).
    pub src_id: u32,
    /// The destination's full node id.
    pub dest_id: u64,
}

impl RoutingHeader {
    /// Encodes into 18 bytes.
    pub fn encode(&self) -> [u8; ROUTING_HEADER_LEN] {
        let mut out = [0u8; ROUTING_HEADER_LEN];
        out[0..2].copy_from_slice(&ROUTING_MAGIC.to_le_bytes());
        out[2] = self.ttl;
        out[3] = self.hop_count;
        out[4] = self.flags.0;
        out[5] = 0;
        out[6..10].copy_from_slice(&self.src_id.to_le_bytes());
        out[10..18].copy_from_slice(&self.dest_id.to_le_bytes());
        out
    }

    /// Decodes the routing header at the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<RoutingHeader, Error> {
        let b: &[u8; ROUTING_HEADER_LEN] = buf
            .get(..ROUTING_HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed("shorter than the 18-byte routing header"))?;
        if u16::from_le_bytes([b[0], b[1]]) != ROUTING_MAGIC {
            return Err(malformed("bad routing magic"));
        }
        if b[4] & !RouteFlags::KNOWN != 0 {
            return Err(malformed("unknown route flag bits"));
        }
        if b[5] != 0 {
            return Err(malformed("reserved routing byte is not zero"));
        }
        Ok(RoutingHeader {
            ttl: b[2],
            hop_count: b[3],
            flags: RouteFlags(b[4]),
            src_id: u32::from_le_bytes([b[6], b[7], b[8], b[9]]),
            dest_id: u64::from_le_bytes([b[10], b[11], b[12], b[13], b[14], b[15], b[16], b[17]]),
        })
    }

    /// The routing id of a node id (its low 32 bits).
    pub fn routing_id(node_id: u64) -> u32 {
        node_id as u32
    }

    /// Advances one hop in place on an encoded packet: TTL down, hop count up.
    /// Fails (and leaves the bytes alone) when the TTL is already zero.
    pub fn forward_in_place(packet: &mut [u8]) -> Result<RoutingHeader, Error> {
        let mut header = RoutingHeader::decode(packet)?;
        if header.ttl == 0 {
            return Err(malformed("TTL expired"));
        }
        header.ttl -= 1;
        header.hop_count = header.hop_count.saturating_add(1);
        packet[2] = header.ttl;
        packet[3] = header.hop_count;
        Ok(header)
    }
}
