//! Wire formats of the mesh: the 64-byte Net header and the 18-byte routing
//! header, as pure, allocation-free encode/decode functions.
//!
//! Everything is little-endian. Decoders never panic: malformed input fails
//! with `wire:malformed` and a detail naming the reason. The receive path tells
//! the two formats apart from the first two bytes alone (`"EN"` for a direct
//! Net packet, `"RT"` for a routed one).

mod header;
mod routing;

pub use header::{NetHeader, PacketFlags, FRAG_FIRST, FRAG_LAST, HEADER_LEN, MAGIC, VERSION};
pub use routing::{RouteFlags, RoutingHeader, ROUTING_HEADER_LEN, ROUTING_MAGIC};

use crate::error::{Error, ErrorKind};

/// What the first bytes of a datagram say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// Starts with a Net header.
    Direct,
    /// Starts with a routing header, then a Net header.
    Routed,
}

/// Classifies a datagram by its first two bytes.
pub fn classify(datagram: &[u8]) -> Result<PacketKind, Error> {
    match datagram {
        [a, b, ..] if u16::from_le_bytes([*a, *b]) == MAGIC => Ok(PacketKind::Direct),
        [a, b, ..] if u16::from_le_bytes([*a, *b]) == ROUTING_MAGIC => Ok(PacketKind::Routed),
        [_, _, ..] => Err(malformed("unknown magic")),
        _ => Err(malformed("shorter than a magic number")),
    }
}

pub(crate) fn malformed(reason: &str) -> Error {
    Error::new(ErrorKind::Malformed, reason.to_owned())
}

#[cfg(test)]
mod tests;
