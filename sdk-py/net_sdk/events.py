"""Value types returned by the SDK."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, List, NamedTuple


class Receipt(NamedTuple):
    """Where an accepted event went."""

    shard: int
    seq: int


@dataclass(frozen=True)
class Event:
    """One event: its exact payload and its stamp."""

    shard: int
    seq: int
    timestamp_ns: int
    raw: bytes

    @property
    def text(self) -> str:
        """The payload as text (invalid UTF-8 is replaced)."""
        return self.raw.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.raw)


@dataclass(frozen=True)
class PollResponse:
    """The result of a poll. Pass ``next_cursor`` to the next poll to resume
    (which acknowledges these events)."""

    events: List[Event]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True)
class Stats:
    """Counters of a node."""

    ingested: int
    dropped: int
    buffered: int
    shard_depths: List[int]


@dataclass(frozen=True)
class HealthInfo:
    """Health of a node: ``status`` is healthy, saturated or shutdown."""

    status: str
    num_shards: int
    full_shards: int
