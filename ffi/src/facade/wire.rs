//! Wire codecs for the bindings: headers as JSON objects, packets as bytes.
//!
//! 64-bit fields travel as decimal strings so JavaScript reads them exactly;
//! the nonce travels as hex.

use net_core::wire::{NetHeader, PacketFlags, RouteFlags, RoutingHeader};
use net_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// The JSON shape of a Net header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderJson {
    version: u8,
    flags: u8,
    priority: u8,
    hop_ttl: u8,
    hop_count: u8,
    frag_flags: u8,
    subprotocol_id: u16,
    channel_hash: u16,
    nonce: String,
    session_id: String,
    stream_id: String,
    sequence: String,
    subnet_id: u32,
    origin_hash: u32,
    fragment_id: u16,
    fragment_offset: u16,
    payload_len: u16,
    event_count: u16,
}

/// The JSON shape of a routing header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingJson {
    ttl: u8,
    hop_count: u8,
    flags: u8,
    src_id: u32,
    dest_id: String,
}

fn bad_json(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("header JSON: {e}"))
}

fn u64_field(s: &str, name: &str) -> Result<u64> {
    s.parse()
        .map_err(|_| bad_json(format!("{name} must be a decimal u64 string")))
}

/// Encodes a Net header given as JSON into its 64 bytes.
pub fn header_encode(json: &str) -> Result<[u8; net_core::wire::HEADER_LEN]> {
    let j: HeaderJson = serde_json::from_str(json).map_err(bad_json)?;
    let nonce: [u8; 12] = hex::decode(&j.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| bad_json("nonce must be 12 bytes of hex"))?;
    Ok(NetHeader {
        version: j.version,
        flags: PacketFlags(j.flags),
        priority: j.priority,
        hop_ttl: j.hop_ttl,
        hop_count: j.hop_count,
        frag_flags: j.frag_flags,
        subprotocol_id: j.subprotocol_id,
        channel_hash: j.channel_hash,
        nonce,
        session_id: u64_field(&j.session_id, "session_id")?,
        stream_id: u64_field(&j.stream_id, "stream_id")?,
        sequence: u64_field(&j.sequence, "sequence")?,
        subnet_id: j.subnet_id,
        origin_hash: j.origin_hash,
        fragment_id: j.fragment_id,
        fragment_offset: j.fragment_offset,
        payload_len: j.payload_len,
        event_count: j.event_count,
    }
    .encode())
}

/// Decodes the Net header at the start of `bytes` into JSON (`wire:malformed`
/// with the reason otherwise).
pub fn header_decode(bytes: &[u8]) -> Result<String> {
    let h = NetHeader::decode(bytes)?;
    let j = HeaderJson {
        version: h.version,
        flags: h.flags.0,
        priority: h.priority,
        hop_ttl: h.hop_ttl,
        hop_count: h.hop_count,
        frag_flags: h.frag_flags,
        subprotocol_id: h.subprotocol_id,
        channel_hash: h.channel_hash,
        nonce: hex::encode(h.nonce),
        session_id: h.session_id.to_string(),
        stream_id: h.stream_id.to_string(),
        sequence: h.sequence.to_string(),
        subnet_id: h.subnet_id,
        origin_hash: h.origin_hash,
        fragment_id: h.fragment_id,
        fragment_offset: h.fragment_offset,
        payload_len: h.payload_len,
        event_count: h.event_count,
    };
    serde_json::to_string(&j).map_err(bad_json)
}

/// Encodes a routing header given as JSON into its 18 bytes.
pub fn routing_encode(json: &str) -> Result<[u8; net_core::wire::ROUTING_HEADER_LEN]> {
    let j: RoutingJson = serde_json::from_str(json).map_err(bad_json)?;
    Ok(RoutingHeader {
        ttl: j.ttl,
        hop_count: j.hop_count,
        flags: RouteFlags(j.flags),
        src_id: j.src_id,
        dest_id: u64_field(&j.dest_id, "dest_id")?,
    }
    .encode())
}

/// Decodes the routing header at the start of `bytes` into JSON.
pub fn routing_decode(bytes: &[u8]) -> Result<String> {
    let r = RoutingHeader::decode(bytes)?;
    serde_json::to_string(&RoutingJson {
        ttl: r.ttl,
        hop_count: r.hop_count,
        flags: r.flags.0,
        src_id: r.src_id,
        dest_id: r.dest_id.to_string(),
    })
    .map_err(bad_json)
}
