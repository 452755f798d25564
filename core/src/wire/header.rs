//! The 64-byte Net header carried by every mesh packet.

use super::malformed;
use crate::error::Error;

/// `"EN"` on the wire: 0x4E45 as a little-endian u16.
pub const MAGIC: u16 = 0x4E45;
/// The header version this codec speaks.
pub const VERSION: u8 = 1;
/// Encoded size of a [`NetHeader`].
pub const HEADER_LEN: usize = 64;
/// Highest priority value.
const MAX_PRIORITY: u8 = 7;

/// Fragment flag: this packet is the first fragment of a message.
pub const FRAG_FIRST: u8 = 0x01;
/// Fragment flag: this packet is the last fragment of a message.
pub const FRAG_LAST: u8 = 0x02;
const FRAG_KNOWN: u8 = FRAG_FIRST | FRAG_LAST;

/// Packet flags (one byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketFlags(pub u8);

impl PacketFlags {
    /// A Noise handshake message.
    pub const HANDSHAKE: u8 = 0x01;
    /// The stream is reliable (acknowledged, retransmitted).
    pub const RELIABLE: u8 = 0x02;
    /// Carries acknowledgements.
    pub const ACK: u8 = 0x04;
    /// Carries a selective negative acknowledgement.
    pub const NACK: u8 = 0x08;
    /// A heartbeat.
    pub const HEARTBEAT: u8 = 0x10;
    /// Mesh control traffic (routes, beacons).
    pub const CONTROL: u8 = 0x20;
    /// The payload is encrypted (ChaCha20-Poly1305, tag included in the payload).
    pub const ENCRYPTED: u8 = 0x40;
    const KNOWN: u8 = 0x7F;

    /// Whether every bit of `flag` is set.
    pub fn contains(self, flag: u8) -> bool {
        self.0 & flag == flag
    }
}

/// The Net header. Field order and sizes are the wire layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetHeader {
    /// Header version (always [`VERSION`] when encoded by this codec).
    pub version: u8,
    /// Packet flags.
    pub flags: PacketFlags,
    /// 0 (lowest) to 7.
    pub priority: u8,
    /// Hops the packet may still take.
    pub hop_ttl: u8,
    /// Hops taken so far.
    pub hop_count: u8,
    /// [`FRAG_FIRST`] / [`FRAG_LAST`].
    pub frag_flags: u8,
    /// Subprotocol (0 = plain events).
    pub subprotocol_id: u16,
    /// Hash of the channel name.
    pub channel_hash: u16,
    /// AEAD nonce.
    pub nonce: [u8; 12],
    /// Session this packet belongs to.
    pub session_id: u64,
    /// Stream within the session.
    pub stream_id: u64,
    /// Packet sequence within the stream.
    pub sequence: u64,
    /// Hierarchical subnet (region/fleet/vehicle/subsystem).
    pub subnet_id: u32,
    /// Sender's origin hash.
    pub origin_hash: u32,
    /// Message being fragmented.
    pub fragment_id: u16,
    /// Offset of this fragment.
    pub fragment_offset: u16,
    /// Bytes of payload after the header.
    pub payload_len: u16,
    /// Events carried in the payload.
    pub event_count: u16,
}

impl NetHeader {
    /// A header with the current version and everything else zero.
    pub fn new() -> Self {
        NetHeader {
            version: VERSION,
            ..Default::default()
        }
    }

    /// Encodes into 64 bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..2].copy_from_slice(&MAGIC.to_le_bytes());
        out[2] = self.version;
        out[3] = self.flags.0;
        out[4] = self.priority;
        out[5] = self.hop_ttl;
        out[6] = self.hop_count;
        out[7] = self.frag_flags;
        out[8..10].copy_from_slice(&self.subprotocol_id.to_le_bytes());
        out[10..12].copy_from_slice(&self.channel_hash.to_le_bytes());
        out[12..24].copy_from_slice(&self.nonce);
        out[24..32].copy_from_slice(&self.session_id.to_le_bytes());
        out[32..40].copy_from_slice(&self.stream_id.to_le_bytes());
        out[40..48].copy_from_slice(&self.sequence.to_le_bytes());
        out[48..52].copy_from_slice(&self.subnet_id.to_le_bytes());
        out[52..56].copy_from_slice(&self.origin_hash.to_le_bytes());
        out[56..58].copy_from_slice(&self.fragment_id.to_le_bytes());
        out[58..60].copy_from_slice(&self.fragment_offset.to_le_bytes());
        out[60..62].copy_from_slice(&self.payload_len.to_le_bytes());
        out[62..64].copy_from_slice(&self.event_count.to_le_bytes());
        out
    }

    /// Decodes the header at the start of `buf` (trailing bytes are ignored).
    pub fn decode(buf: &[u8]) -> Result<NetHeader, Error> {
        let b: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed("shorter than the 64-byte Net header"))?;
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            u64::from_le_bytes([
                b[i],
                b[i + 1],
                b[i + 2],
                b[i + 3],
                b[i + 4],
                b[i + 5],
                b[i + 6],
                b[i + 7],
            ])
        };
        if u16_at(0) != MAGIC {
            return Err(malformed("bad magic"));
        }
        if b[2] != VERSION {
            return Err(malformed("unsupported header version"));
        }
        if b[3] & !PacketFlags::KNOWN != 0 {
            return Err(malformed("unknown packet flag bits"));
        }
        if b[4] > MAX_PRIORITY {
            return Err(malformed("priority above 7"));
        }
        if b[7] & !FRAG_KNOWN != 0 {
            return Err(malformed("unknown fragment flag bits"));
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&b[12..24]);
        Ok(NetHeader {
            version: b[2],
            flags: PacketFlags(b[3]),
            priority: b[4],
            hop_ttl: b[5],
            hop_count: b[6],
            frag_flags: b[7],
            subprotocol_id: u16_at(8),
            channel_hash: u16_at(10),
            nonce,
            session_id: u64_at(24),
            stream_id: u64_at(32),
            sequence: u64_at(40),
            subnet_id: u32_at(48),
            origin_hash: u32_at(52),
            fragment_id: u16_at(56),
            fragment_offset: u16_at(58),
            payload_len: u16_at(60),
            event_count: u16_at(62),
        })
    }

    /// Decodes a whole direct packet: the header, then exactly `payload_len`
    /// bytes of payload, which are returned.
    pub fn decode_packet(buf: &[u8]) -> Result<(NetHeader, &[u8]), Error> {
        let header = NetHeader::decode(buf)?;
        let payload = &buf[HEADER_LEN..];
        if payload.len() != usize::from(header.payload_len) {
            return Err(malformed("payload length does not match the header"));
        }
        Ok((header, payload))
    }
}
