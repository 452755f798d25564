"""Push delivery: functions the engine calls for each event or message.

``NetNode.on_event(fn)`` and ``Mesh.on_message(fn)`` return a :class:`Handler`.
Every handler of the process runs on one Python thread, ``net-callbacks``
(started with the first handler; the engine's own threads never wait for the
GIL), one call at a time, in order per handler. A handler may call back into
Net (emit, send, subscribe, close itself). An exception in it goes to
``sys.unraisablehook`` (printed by default) and is counted in
:attr:`HandlerStats.failed`; the handler keeps being called. A handler runs
until :meth:`Handler.close` (or the end of a ``with`` block) or the end of its
source (the node shut down), even when its object is garbage-collected; at
interpreter exit the thread finishes the call in progress and stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from net import _net


@dataclass(frozen=True)
class HandlerStats:
    """A handler's counters."""

    #: Items the function handled.
    delivered: int
    #: Items it raised on.
    failed: int
    #: Whether it has ended (closed and its last call returned, or its source ended).
    closed: bool


class Handler:
    """A function the engine calls for each item; a context manager that closes it."""

    def __init__(self, native: _net.Handler) -> None:
        self._native = native

    def close(self) -> None:
        """Stops the calls. From outside a handler it waits for a call in progress to
        return, so none runs afterwards; from inside one it does not wait, and that
        call is the last. Idempotent."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether it has ended."""
        return self._native.closed

    @property
    def stats(self) -> HandlerStats:
        """Its counters now."""
        delivered, failed = self._native.stats()
        return HandlerStats(delivered, failed, self._native.closed)

    def __enter__(self) -> Handler:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.stats
        return f"Handler(delivered={s.delivered}, failed={s.failed}, closed={s.closed})"
