"""Live subscriptions as iterators (generators), with typed decoding."""

from __future__ import annotations

import json
from typing import Any, Callable, Generic, Iterator, List, Optional, TypeVar

from net import _net
from net.errors import InvalidJsonError

from .events import Event

T = TypeVar("T")


class Subscription:
    """A live consumer: buffered events, then new ones as they arrive.

    Iterate it (``for event in sub``) or call :meth:`next_batch`. It ends after
    the node shuts down (once drained), after ``limit`` events, or on
    :meth:`close`; it is also a context manager that closes on exit.
    """

    def __init__(self, native: _net.Subscription, limit: Optional[int] = None) -> None:
        self._native = native
        self._limit = limit
        self._delivered = 0
        self._ended = False

    def next_batch(self, max: int = 256, timeout: Optional[float] = None) -> Optional[List[Event]]:
        """Waits up to ``timeout`` seconds (None: forever) for up to ``max`` events.
        Returns a list (empty on timeout) or None once the stream has ended.
        The GIL is released while waiting; Ctrl-C interrupts the wait."""
        if self._ended:
            return None
        if self._limit is not None:
            left = self._limit - self._delivered
            if left <= 0:
                self._ended = True
                return None
            max = min(max, left)
        timeout_ms = None if timeout is None else max_ms(timeout)
        batch = self._native.next_batch(max, timeout_ms)
        if batch is None:
            self._ended = True
            return None
        self._delivered += len(batch)
        return [Event(*item) for item in batch]

    def __iter__(self) -> Iterator[Event]:
        while True:
            batch = self.next_batch()
            if batch is None:
                return
            yield from batch

    @property
    def cursor(self) -> str:
        """The cursor just past everything taken so far."""
        return self._native.cursor()

    def close(self) -> None:
        """Ends the subscription (a blocked iterator stops within ~100 ms)."""
        self._ended = True
        self._native.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def max_ms(seconds: float) -> int:
    """Seconds to whole milliseconds, never negative."""
    return max(0, int(seconds * 1000))


def decoder_for(model: Callable[..., T]) -> Callable[[bytes], T]:
    """A decoder for a Pydantic model (``model_validate_json``), a dataclass or
    any callable taking the JSON object's fields as keyword arguments."""
    validate = getattr(model, "model_validate_json", None)
    if callable(validate):
        return validate  # type: ignore[no-any-return]

    def decode(raw: bytes) -> T:
        data: Any = json.loads(raw)
        if isinstance(data, dict):
            return model(**data)
        return model(data)

    return decode


class TypedSubscription(Generic[T]):
    """A subscription that decodes every event into ``T``; iterating it yields
    ``T`` values. A payload that does not decode raises ``InvalidJsonError``
    (chained to the model's own error)."""

    def __init__(self, inner: Subscription, decode: Callable[[bytes], T]) -> None:
        self._inner = inner
        self._decode = decode

    def __iter__(self) -> Iterator[T]:
        for event in self._inner:
            try:
                value = self._decode(event.raw)
            except Exception as e:  # the model's own validation error, or bad JSON
                raise InvalidJsonError(
                    f"bus:invalid_json: event {event.shard}/{event.seq} does not decode: {e}"
                ) from e
            yield value

    def close(self) -> None:
        """Ends the subscription."""
        self._inner.close()

    def __enter__(self) -> TypedSubscription[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
