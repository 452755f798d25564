"""Live subscriptions as iterators (generators), with typed decoding."""

from __future__ import annotations

import json
from collections import deque
from typing import Any, Callable, Deque, Generic, Iterator, List, Optional, TypeVar

from net import _net
from net.errors import InvalidJsonError

from ._time import seconds_to_ms
from .events import Event

T = TypeVar("T")


class Subscription:
    """A live consumer: buffered events, then new ones as they arrive.

    Iterate it (``for event in sub``) or call :meth:`next_batch`. It ends after
    the node shuts down (once drained), after ``limit`` events, or on
    :meth:`close`; it is also a context manager that closes on exit.

    Iteration takes events from the engine in batches and yields them one at
    a time. Leaving the loop early (``break``, an exception, dropping the
    iterator) gives the events taken but not yielded back to the bus, so a
    later poll or iteration sees them: a subscription never takes more than it
    delivers.
    """

    def __init__(self, native: _net.Subscription, limit: Optional[int] = None) -> None:
        self._native = native
        self._limit = limit
        self._delivered = 0
        self._ended = False
        # Events of the engine's last batch not yet handed out (its tail).
        self._pending: Deque[Event] = deque()

    def _fetch(self, max: int, timeout: Optional[float], cancel: Optional[_net.CancelToken] = None) -> bool:
        """Fills the pending queue from the engine; False once the stream ended."""
        if self._ended:
            return False
        if self._limit is not None:
            left = self._limit - self._delivered - len(self._pending)
            if left <= 0:
                self._ended = True
                return False
            max = min(max, left)
        batch = self._native.next_batch(max, seconds_to_ms(timeout), cancel)
        if batch is None:
            self._ended = True
            return False
        self._pending.extend(Event(*item) for item in batch)
        return True

    def next_batch(
        self, max: int = 256, timeout: Optional[float] = None, cancel: Optional[_net.CancelToken] = None
    ) -> Optional[List[Event]]:
        """Waits up to ``timeout`` seconds (None: forever) for up to ``max`` events.
        Returns a list (empty on timeout) or None once the stream has ended.
        The GIL is released while waiting; Ctrl-C interrupts the wait, and so does
        ``cancel.cancel()`` from another thread (:class:`~net.errors.CancelledError`,
        nothing taken)."""
        if not self._pending and not self._fetch(max, timeout, cancel):
            return None
        out: List[Event] = []
        while self._pending and len(out) < max:
            out.append(self._pending.popleft())
        self._delivered += len(out)
        return out

    def __iter__(self) -> Iterator[Event]:
        try:
            while True:
                if not self._pending and not self._fetch(256, None):
                    return
                while self._pending:
                    event = self._pending.popleft()
                    self._delivered += 1
                    yield event
        finally:
            # Left early: what was taken but not yielded goes back to the bus.
            self._give_back()

    def _give_back(self) -> None:
        if self._pending:
            count = len(self._pending)
            self._pending.clear()
            self._native.unread(count)

    @property
    def cursor(self) -> str:
        """The cursor just past everything taken so far (never waits)."""
        return self._native.cursor()

    def close(self) -> None:
        """Ends the subscription (a blocked iterator stops within ~100 ms) and
        gives back events taken but not yet handed out."""
        self._ended = True
        self._give_back()
        self._native.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
