"""Wire codecs of the mesh: the 64-byte Net header and the 18-byte routing header."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from net import _net

_U64 = ("session_id", "stream_id", "sequence")


@dataclass(frozen=True)
class NetHeader:
    """The header carried by every mesh packet."""

    version: int = 1
    flags: int = 0
    priority: int = 0
    hop_ttl: int = 0
    hop_count: int = 0
    frag_flags: int = 0
    subprotocol_id: int = 0
    channel_hash: int = 0
    nonce: bytes = field(default=bytes(12))
    session_id: int = 0
    stream_id: int = 0
    sequence: int = 0
    subnet_id: int = 0
    origin_hash: int = 0
    fragment_id: int = 0
    fragment_offset: int = 0
    payload_len: int = 0
    event_count: int = 0

    def encode(self) -> bytes:
        """The header's 64 bytes."""
        fields = asdict(self)
        fields["nonce"] = self.nonce.hex()
        for key in _U64:
            fields[key] = str(fields[key])
        return _net.header_encode(json.dumps(fields))

    @classmethod
    def decode(cls, data: bytes) -> NetHeader:
        """Decodes the header at the start of ``data`` (MalformedError with the reason otherwise)."""
        fields = json.loads(_net.header_decode(data))
        fields["nonce"] = bytes.fromhex(fields["nonce"])
        for key in _U64:
            fields[key] = int(fields[key])
        return cls(**fields)


@dataclass(frozen=True)
class RoutingHeader:
    """The header that precedes a routed packet."""

    ttl: int = 0
    hop_count: int = 0
    flags: int = 0
    src_id: int = 0
    dest_id: int = 0

    def encode(self) -> bytes:
        """The routing header's 18 bytes."""
        fields = asdict(self)
        fields["dest_id"] = str(self.dest_id)
        return _net.routing_encode(json.dumps(fields))

    @classmethod
    def decode(cls, data: bytes) -> RoutingHeader:
        """Decodes the routing header at the start of ``data``."""
        fields = json.loads(_net.routing_decode(data))
        fields["dest_id"] = int(fields["dest_id"])
        return cls(**fields)
