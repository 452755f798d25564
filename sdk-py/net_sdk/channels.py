"""Channel messages and subscriptions, and typed channels.

A typed channel carries JSON values of one type: ``node.channel(name, Model)`` on
a :class:`~net_sdk.NetNode` (this process's local channels: every subscriber gets
every message) or ``mesh.channel(name, Model)`` on a :class:`~net_sdk.Mesh`
(channels over the mesh, with their rules). ``Model`` is a Pydantic model, a
dataclass, or ``None`` for plain JSON values. Publishing checks the value's type
and serializes it; receiving parses and validates each message. A value or a
message that does not fit raises :class:`~net.errors.InvalidChannelMessageError`
(``channel:invalid_message``), chained to the model's own error; the subscription
stays open, so the next call reads the next message.

>>> from dataclasses import dataclass
>>> from net_sdk import NetNode
>>> @dataclass
... class Reading:
...     sensor_id: str
...     celsius: float
>>> with NetNode() as node:
...     temps = node.channel("sensors/temperature", Reading)
...     with temps.subscribe() as sub:
...         temps.publish(Reading("A1", 22.5))
...         print(sub.next(timeout=1))
1
Reading(sensor_id='A1', celsius=22.5)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    Iterator,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
)

from net import _net
from net.errors import InvalidChannelMessageError

from ._time import seconds_to_ms
from .handler import Handler

if TYPE_CHECKING:
    from .mesh import Mesh, PublishReport
    from .node import NetNode
    from .token import PermissionToken

T = TypeVar("T")


@dataclass(frozen=True)
class ChannelMessage:
    """A message received on a channel."""

    publisher: int
    channel: str
    payload: bytes


class ChannelSubscription:
    """A subscription to one publisher's channel (or pattern of channels), as returned
    by :meth:`Mesh.subscribe` (or to this process's local channels, by
    :meth:`NetNode.subscribe_channel`: its publisher is 0). Iterate it (a generator
    that waits for each message), or call :meth:`next`; closing it, or leaving its
    ``with`` block, unsubscribes."""

    def __init__(self, native: _net.ChannelSubscription) -> None:
        self._native = native
        self.accepted: Tuple[str, ...] = tuple(json.loads(native.accepted_json()))

    @property
    def publisher(self) -> int:
        return self._native.publisher()

    def next(
        self, timeout: Optional[float] = None, *, cancel: Optional[_net.CancelToken] = None
    ) -> Optional[ChannelMessage]:
        """The next message, waiting up to ``timeout`` seconds (None: until one comes);
        None on timeout."""
        got = self._native.next(seconds_to_ms(timeout), cancel)
        return None if got is None else ChannelMessage(*got)

    def __iter__(self) -> Iterator[ChannelMessage]:
        while True:
            message = self.next()
            if message is None:
                return
            yield message

    def on_message(self, handler: Callable[[ChannelMessage], Any]) -> Handler:
        """Calls ``handler(message)`` for each message on the ``net-callbacks``
        thread, in order, until the subscription closes (the queued messages
        first) or the returned :class:`~net_sdk.Handler` is closed; see
        :mod:`net_sdk.handler`. A handler and :meth:`next` on one subscription
        share its messages."""

        def deliver(raw: Any) -> None:
            handler(ChannelMessage(*raw))

        return Handler(self._native.on_message(deliver))

    def close(self) -> None:
        """Unsubscribes (idempotent)."""
        self._native.close()

    def __enter__(self) -> ChannelSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Codec(Generic[T]):
    """Encodes values of a channel's type to JSON bytes and back, validating."""

    def __init__(self, name: str, model: Optional[Type[T]]) -> None:
        self.name = name
        self.model = model

    def encode(self, value: T) -> bytes:
        model = self.model
        try:
            if model is not None and not isinstance(value, model):
                raise TypeError(f"expected {model.__name__}, got {type(value).__name__}")
            dump = getattr(value, "model_dump_json", None)
            if callable(dump):
                return cast(str, dump()).encode()
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                value = cast(Any, dataclasses.asdict(value))
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as e:
            raise InvalidChannelMessageError(
                f"channel:invalid_message: a value for {self.name} does not encode: {e}"
            ) from e

    def decode(self, message: ChannelMessage) -> T:
        model = self.model
        try:
            if model is None:
                return cast(T, json.loads(message.payload))
            validate = getattr(model, "model_validate_json", None)
            if callable(validate):
                return cast(T, validate(message.payload))
            data: Any = json.loads(message.payload)
            if dataclasses.is_dataclass(model):
                if not isinstance(data, dict):
                    raise TypeError(f"a {model.__name__} is a JSON object, got {type(data).__name__}")
                return model(**_check_fields(model, data))
            return model(data)  # type: ignore[call-arg]
        except Exception as e:  # the model's own validation error, or bad JSON
            raise InvalidChannelMessageError(
                f"channel:invalid_message: a message on {message.channel} does not decode "
                f"as {getattr(model, '__name__', 'JSON')}: {e}"
            ) from e


_SIMPLE: Dict[str, Any] = {"str": str, "int": int, "float": (int, float), "bool": bool}


def _simple_type(annotation: Any) -> Tuple[Any, bool]:
    """The Python types a JSON value must have for a simple field annotation
    (str, int, float, bool, optionally ``Optional``/``| None``), and whether
    null is allowed; ``(None, True)`` for anything else (not checked)."""
    nullable = False
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        if text.startswith("Optional[") and text.endswith("]"):
            text, nullable = text[len("Optional[") : -1], True
        elif text.endswith("|None"):
            text, nullable = text[: -len("|None")], True
        elif text.startswith("None|"):
            text, nullable = text[len("None|") :], True
        want = _SIMPLE.get(text)
    else:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) is Union and len(args) == 1:
            annotation, nullable = args[0], True
        want = _SIMPLE.get(getattr(annotation, "__name__", ""))
    return (want, nullable) if want is not None else (None, True)


def _check_fields(model: Any, data: Dict[str, Any]) -> Dict[str, Any]:
    """A dataclass's fields against a JSON object: every field without a default
    present, simple annotations (str, int, float, bool, optional ones) matched;
    unknown keys are dropped (as Pydantic, Zod, serde and Go do by default)."""
    known = {f.name: f for f in dataclasses.fields(model)}
    for name, field in known.items():
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise TypeError(f"missing field {name!r}")
            continue
        want, nullable = _simple_type(field.type)
        value = data[name]
        if want is None or (value is None and nullable):
            continue
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            wanted = getattr(field.type, "__name__", field.type)
            raise TypeError(f"field {name!r} must be {wanted}, got {type(value).__name__}")
    return {k: v for k, v in data.items() if k in known}


class TypedChannelSubscription(Generic[T]):
    """A channel subscription that yields values of the channel's type. Iterate it
    or call :meth:`next`; a message that does not decode raises
    ``InvalidChannelMessageError`` and the subscription goes on."""

    def __init__(self, inner: ChannelSubscription, codec: _Codec[T]) -> None:
        self._inner = inner
        self._codec = codec

    @property
    def publisher(self) -> int:
        """The publisher's node id (0 for local channels)."""
        return self._inner.publisher

    @property
    def accepted(self) -> Sequence[str]:
        """The channels the publisher admitted this subscription to."""
        return self._inner.accepted

    def next(
        self, timeout: Optional[float] = None, *, cancel: Optional[_net.CancelToken] = None
    ) -> Optional[T]:
        """The next value, waiting up to ``timeout`` seconds (None: until one comes);
        None on timeout."""
        message = self._inner.next(timeout, cancel=cancel)
        return None if message is None else self._codec.decode(message)

    def __iter__(self) -> Iterator[T]:
        for message in self._inner:
            yield self._codec.decode(message)

    def on_message(
        self,
        handler: Callable[[T], Any],
        *,
        on_invalid: Optional[Callable[[InvalidChannelMessageError], Any]] = None,
    ) -> Handler:
        """Calls ``handler(value)`` for each message that decodes, on the
        ``net-callbacks`` thread; a message that does not goes to
        ``on_invalid(error)`` (without one, it counts as the handler's failure)."""
        codec = self._codec

        def deliver(message: ChannelMessage) -> None:
            try:
                value = codec.decode(message)
            except InvalidChannelMessageError as e:
                if on_invalid is None:
                    raise
                on_invalid(e)
                return
            handler(value)

        return self._inner.on_message(deliver)

    def close(self) -> None:
        """Unsubscribes (idempotent)."""
        self._inner.close()

    def __enter__(self) -> TypedChannelSubscription[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Channel(Generic[T]):
    """A typed channel on this process's local channels (see
    :meth:`NetNode.channel`): every subscriber gets every value published."""

    def __init__(self, node: NetNode, name: str, model: Optional[Type[T]]) -> None:
        _net.channel_check_name(name)
        self.name = name
        self._node = node
        self._codec: _Codec[T] = _Codec(name, model)

    def publish(self, value: T) -> int:
        """Publishes ``value``; how many local subscriptions took it."""
        return self._node.publish(self.name, self._codec.encode(value))

    def subscribe(self) -> TypedChannelSubscription[T]:
        """Every value published from now on."""
        return TypedChannelSubscription(self._node.subscribe_channel(self.name), self._codec)


class MeshChannel(Generic[T]):
    """A typed channel over the mesh (see :meth:`Mesh.channel`). The publisher
    registers the channel (:meth:`Mesh.register_channel`) with its rules first."""

    def __init__(self, mesh: Mesh, name: str, model: Optional[Type[T]]) -> None:
        _net.channel_check_name(name)
        self.name = name
        self._mesh = mesh
        self._codec: _Codec[T] = _Codec(name, model)

    def publish(self, value: T) -> PublishReport:
        """Publishes ``value`` to every subscriber the channel's rules admit."""
        return self._mesh.publish(self.name, self._codec.encode(value))

    def subscribe(
        self,
        publisher: int,
        *,
        tokens: Sequence[PermissionToken] = (),
        timeout: float = 10.0,
    ) -> TypedChannelSubscription[T]:
        """Asks ``publisher`` for the channel (see :meth:`Mesh.subscribe`)."""
        sub = self._mesh.subscribe(publisher, self.name, tokens=tokens, timeout=timeout)
        return TypedChannelSubscription(sub, self._codec)
