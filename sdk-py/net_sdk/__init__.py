"""Net for Python: one Rust engine, used from five languages.

>>> from net_sdk import NetNode
>>> with NetNode(shards=4) as node:
...     node.emit({"token": "hello"})
"""

from __future__ import annotations

from net._net import CancelToken
from net.errors import *  # noqa: F403 - the exception classes are part of this API
from net.errors import ERRORS_BY_KIND, NetError

from . import capability, mesh, redex, token, wire
from ._mesh_stats import CapabilityStats, ChannelStats, LocalChannelStats
from .capability import (
    CapabilityDiff,
    CapabilitySet,
    CapabilityViews,
    Gpu,
    Hardware,
    Limits,
    Predicate,
    Software,
    SubnetId,
    SubnetPolicy,
    SubnetRule,
    ValidationReport,
    Visibility,
)
from .channels import Channel, ChannelMessage, ChannelSubscription, MeshChannel, TypedChannelSubscription
from .events import Event, HealthInfo, PollResponse, Receipt, Stats
from .handler import Handler, HandlerStats
from .identity import Identity, public_key_ids, verify
from .mesh import (
    AuditLog,
    BusLink,
    BusLinkStats,
    CapabilityConfig,
    ChannelConfig,
    KnownPeer,
    LinkDirection,
    Mesh,
    MeshStats,
    Message,
    PeerCipher,
    PeerHealth,
    PeerInfo,
    PeerStore,
    PublishReport,
    Route,
    Stream,
    StreamStats,
    Trust,
    normalize_channel_config,
)
from .netdb import Memory, NetDb, Task, WriteToken
from .node import NetNode
from .redex import Entry, Log, Redex, Tail
from .subscription import Subscription
from .token import (
    PermissionToken,
    TokenCache,
    TokenInfo,
    TokenScope,
    channel_hash,
    channel_matches,
    check_channel_name,
)

__all__ = [
    "ERRORS_BY_KIND",
    "AuditLog",
    "BusLink",
    "BusLinkStats",
    "CancelToken",
    "CapabilityConfig",
    "CapabilityDiff",
    "CapabilitySet",
    "CapabilityStats",
    "CapabilityViews",
    "Channel",
    "ChannelConfig",
    "ChannelMessage",
    "ChannelStats",
    "ChannelSubscription",
    "Entry",
    "Event",
    "Gpu",
    "Handler",
    "HandlerStats",
    "Hardware",
    "HealthInfo",
    "Identity",
    "KnownPeer",
    "Limits",
    "LinkDirection",
    "LocalChannelStats",
    "Log",
    "Memory",
    "Mesh",
    "MeshChannel",
    "MeshStats",
    "Message",
    "NetDb",
    "NetError",
    "NetNode",
    "PeerCipher",
    "PeerHealth",
    "PeerInfo",
    "PeerStore",
    "PermissionToken",
    "PollResponse",
    "Predicate",
    "PublishReport",
    "Receipt",
    "Redex",
    "Route",
    "Software",
    "Stats",
    "Stream",
    "StreamStats",
    "SubnetId",
    "SubnetPolicy",
    "SubnetRule",
    "Subscription",
    "Tail",
    "Task",
    "TokenCache",
    "TokenInfo",
    "TokenScope",
    "Trust",
    "TypedChannelSubscription",
    "ValidationReport",
    "Visibility",
    "WriteToken",
    "capability",
    "channel_hash",
    "channel_matches",
    "check_channel_name",
    "mesh",
    "normalize_channel_config",
    "public_key_ids",
    "redex",
    "token",
    "verify",
    "wire",
]
