"""NetNode: the bus in Python."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence, Type, TypeVar, Union

from net import Bus

from ._mesh_stats import LocalChannelStats
from .channels import Channel, ChannelSubscription
from .events import Event, HealthInfo, PollResponse, Receipt, Stats
from .handler import Handler
from .subscription import Subscription, TypedSubscription, decoder_for

T = TypeVar("T")
Filter = Union[str, Mapping[str, Any]]


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _filter_text(filter: Optional[Filter]) -> Optional[str]:
    if filter is None or isinstance(filter, str):
        return filter
    return json.dumps(filter)


def _as_bytes(item: Union[bytes, bytearray, memoryview, str]) -> bytes:
    if isinstance(item, str):
        return item.encode()
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    # bytes(5) would be five zero bytes: refuse anything that is not data.
    raise TypeError(f"an event is bytes, bytearray, memoryview or str, not {type(item).__name__}")


class NetNode:
    """A Net node (today: the in-memory event bus).

    ``NetNode(shards=4)`` or ``NetNode.from_config('{"num_shards": 4}')``. Unset
    options keep the engine's defaults. Use it as a context manager to shut it
    down on exit. Every method raises a ``NetError`` subclass on failure.
    """

    def __init__(
        self,
        shards: Optional[int] = None,
        *,
        backpressure: Optional[str] = None,
        ring_buffer_capacity: Optional[int] = None,
        max_event_size: Optional[int] = None,
        config_json: Optional[str] = None,
    ) -> None:
        if config_json is None:
            options = {
                "num_shards": shards,
                "backpressure": backpressure,
                "ring_buffer_capacity": ring_buffer_capacity,
                "max_event_size": max_event_size,
            }
            config_json = json.dumps({k: v for k, v in options.items() if v is not None})
        self._bus = Bus(config_json)

    @classmethod
    def from_config(cls, config_json: str) -> NetNode:
        """A node from the engine's JSON configuration."""
        return cls(config_json=config_json)

    # -- emitting ---------------------------------------------------------------

    def emit(self, value: Any) -> Receipt:
        """Serializes ``value`` to JSON and emits it."""
        return Receipt(*self._bus.emit_json(_compact(value).decode()))

    def emit_str(self, text: str) -> Receipt:
        """Emits a JSON document given as text (validated)."""
        return Receipt(*self._bus.emit_json(text))

    def emit_raw(self, data: Union[bytes, bytearray, memoryview, str]) -> Receipt:
        """Emits raw bytes (any content); ``str`` is encoded as UTF-8."""
        return Receipt(*self._bus.emit_raw(_as_bytes(data)))

    def emit_batch(self, values: Iterable[Any]) -> int:
        """Serializes and emits many values in one call; all or nothing."""
        return self._bus.emit_json_batch([_compact(v) for v in values])

    def emit_str_batch(self, texts: Sequence[str]) -> int:
        """Emits many JSON texts (each validated); all or nothing."""
        return self._bus.emit_json_batch([t.encode() for t in texts])

    def emit_raw_batch(self, events: Sequence[Union[bytes, bytearray, memoryview, str]]) -> int:
        """Emits many raw events in one call; all or nothing. Fastest with a
        list of ``bytes``."""
        if all(type(e) is bytes for e in events):
            return self._bus.emit_raw_batch(list(events))  # type: ignore[arg-type]
        return self._bus.emit_raw_batch([_as_bytes(e) for e in events])

    # -- reading ----------------------------------------------------------------

    def poll(
        self, limit: int = 100, cursor: Optional[str] = None, filter: Optional[Filter] = None
    ) -> PollResponse:
        """Reads up to ``limit`` events after ``cursor`` (None: the oldest
        buffered event); passing a previous ``next_cursor`` acknowledges the
        events before it. ``filter`` is a dict or JSON text."""
        events, next_cursor, has_more = self._bus.poll(limit, cursor, _filter_text(filter))
        return PollResponse([Event(*e) for e in events], next_cursor, has_more)

    def subscribe(
        self, limit: Optional[int] = None, cursor: Optional[str] = None, filter: Optional[Filter] = None
    ) -> Subscription:
        """A live subscription; iterate it like a generator."""
        return Subscription(self._bus.subscribe(cursor, _filter_text(filter)), limit)

    def on_event(
        self,
        handler: Callable[[Event], Any],
        cursor: Optional[str] = None,
        filter: Optional[Filter] = None,
    ) -> Handler:
        """Calls ``handler(event)`` for every event of a new live subscription
        (buffered events first, from ``cursor``, matching ``filter``) on the
        ``net-callbacks`` thread; see :mod:`net_sdk.handler`. Each event it is
        given is taken from the bus, as :meth:`subscribe` takes it."""

        def deliver(raw: Any) -> None:
            handler(Event(*raw))

        return Handler(self._bus.on_event(deliver, cursor, _filter_text(filter)))

    def subscribe_typed(
        self,
        model: Callable[..., T],
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
        filter: Optional[Filter] = None,
    ) -> TypedSubscription[T]:
        """A subscription decoding each event into ``model``: a dataclass, a
        Pydantic model, or any callable taking the fields as keywords."""
        return TypedSubscription(self.subscribe(limit, cursor, filter), decoder_for(model))

    # -- lifecycle --------------------------------------------------------------

    def flush(self) -> None:
        """Returns once every earlier event is visible to polls."""
        self._bus.flush()

    def stats(self) -> Stats:
        """Counters (also after shutdown)."""
        return Stats(**json.loads(self._bus.stats()))

    # -- channels ---------------------------------------------------------------

    def publish(self, channel: str, payload: Union[bytes, bytearray, memoryview, str]) -> int:
        """Publishes ``payload`` on this node's local channel ``channel`` (no
        registration: any valid name); how many subscriptions took a copy. Where
        :meth:`emit` hands each event to one consumer, a channel fans out: every
        matching subscription gets every message (one whose queue is full misses
        it; see :meth:`channel_stats`)."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        return self._bus.channel_publish(channel, data)

    def subscribe_channel(self, pattern: str) -> ChannelSubscription:
        """Every later :meth:`publish` on ``pattern`` (a name, ``prefix/*`` or
        ``prefix/**``), read like a mesh subscription (its publisher is 0).
        :meth:`shutdown` ends it."""
        return ChannelSubscription(self._bus.channel_subscribe(pattern))

    def channel(self, name: str, model: Optional[Type[T]] = None) -> Channel[T]:
        """A typed channel: ``publish(value)`` and ``subscribe()`` with values of
        ``model`` (a Pydantic model, a dataclass, or None for plain JSON); see
        :mod:`net_sdk.channels`."""
        return Channel(self, name, model)

    def channel_stats(self) -> LocalChannelStats:
        """The local channels' counters."""
        return LocalChannelStats(**json.loads(self._bus.channel_stats_json()))

    def health(self) -> HealthInfo:
        """Health (also after shutdown)."""
        return HealthInfo(**json.loads(self._bus.health()))

    def shutdown(self) -> None:
        """Shuts the node down (idempotent); later calls raise ShutdownError."""
        self._bus.shutdown()

    def __enter__(self) -> NetNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def poll_all(self, batch: int = 1000) -> List[Event]:
        """Drains everything buffered now, acknowledging as it goes."""
        out: List[Event] = []
        cursor: Optional[str] = None
        while True:
            page = self.poll(batch, cursor)
            out.extend(page.events)
            cursor = page.next_cursor
            if not page.has_more:
                self.poll(1, cursor)  # acknowledge the last page
                return out
