"""NetDB: event-sourced tasks and memories with queries and snapshots."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Dict, Generic, Iterator, List, Optional, Sequence, Type, TypeVar

from net import _net

from ._time import seconds_to_ms

T = TypeVar("T")


@dataclass(frozen=True)
class Task:
    """A task."""

    id: int
    title: str
    status: str
    created_ns: int
    updated_ns: int


@dataclass(frozen=True)
class Memory:
    """A memory (tags sorted and unique)."""

    id: int
    content: str
    tags: List[str]
    source: str
    pinned: bool
    created_ns: int
    updated_ns: int


@dataclass(frozen=True)
class WriteToken:
    """Returned by every write; ``wait_for_token`` makes it visible to queries."""

    model: str
    seq: int


def _now() -> int:
    return time.time_ns()


#: A record's 64-bit fields: the engine's JSON carries them as decimal strings
#: (exact in every language); they are ints here.
_U64_FIELDS = ("id", "created_ns", "updated_ns")


def _record(item: Type[T], raw: Dict[str, Any]) -> T:
    fields = {k: int(v) if k in _U64_FIELDS else v for k, v in raw.items()}
    return item(**fields)


def _arg(value: Any, name: str) -> Any:
    """An int argument as the engine takes it. Only ints pass (a ``bool`` or a
    ``float`` is a TypeError, ``None`` too); the engine checks the range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


class Watch(Generic[T]):
    """A watched query: iterating yields the current result, then each changed
    result (lists of records). Ends when closed or when the database closes;
    also a context manager."""

    def __init__(self, native: _net.Watch, item: Type[T]) -> None:
        self._native, self._item = native, item

    def next(
        self, timeout: Optional[float] = None, cancel: Optional[_net.CancelToken] = None
    ) -> Optional[List[T]]:
        """The next result; [] never signals timeout — None does, and also the end
        (check :attr:`closed`). :class:`~net.errors.CancelledError` once ``cancel``
        is cancelled."""
        raw = self._native.next(seconds_to_ms(timeout), cancel)
        if not raw:
            return None
        return [_record(self._item, r) for r in json.loads(raw)]

    def __iter__(self) -> Iterator[List[T]]:
        while True:
            raw = self._native.next(None)
            if raw is None:
                return
            if raw:
                yield [_record(self._item, r) for r in json.loads(raw)]

    def close(self) -> None:
        """Ends the watch."""
        self._native.close()

    def __enter__(self) -> Watch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Model(Generic[T]):
    def __init__(self, db: _net.NetDb, name: str, item: Type[T]) -> None:
        self._db, self._name, self._item = db, name, item

    def _write(self, op: str, **args: Any) -> WriteToken:
        for name in ("id", "ts"):
            if name in args:
                _arg(args[name], name)
        return WriteToken(self._name, self._db.write(self._name, op, json.dumps(args)))

    def _read(self, op: str, args: Dict[str, Any]) -> Any:
        query = json.dumps({k: v for k, v in args.items() if v is not None})
        return json.loads(self._db.read(self._name, op, query))

    def wait_for_token(
        self, token: WriteToken, timeout: float = 5.0, cancel: Optional[_net.CancelToken] = None
    ) -> None:
        """Blocks until the write is visible (FoldStoppedError / TimeoutError otherwise;
        CancelledError once ``cancel`` is cancelled)."""
        self._db.wait(self._name, token.seq, seconds_to_ms(timeout), cancel)

    def find_unique(self, id: int) -> Optional[T]:
        """The record with this id, or None."""
        found = self._read("find_unique", {"id": _arg(id, "id")})
        return None if found is None else _record(self._item, found)

    def find_many(self, **filter: Any) -> List[T]:
        """Records matching the filter keywords (``order_by``, ``limit`` too)."""
        return [_record(self._item, r) for r in self._read("find_many", filter)]

    def count_where(self, **filter: Any) -> int:
        """How many records match."""
        return int(self._read("count_where", filter))

    def exists_where(self, **filter: Any) -> bool:
        """Whether any record matches."""
        return bool(self._read("exists_where", filter))

    def watch(self, **filter: Any) -> Watch[T]:
        """Watches ``find_many(**filter)``: the current result, then each change."""
        query = json.dumps({k: v for k, v in filter.items() if v is not None})
        return Watch(self._db.watch(self._name, query), self._item)

    @property
    def fold_errors(self) -> int:
        """Events the fold refused (invalid transitions)."""
        return int(self._read("fold_errors", {}))


class Tasks(_Model[Task]):
    """The tasks model: filters ``status``, ``order_by``, ``limit``."""

    def create(self, id: int, title: str, ts: Optional[int] = None) -> WriteToken:
        return self._write("create", id=id, title=title, ts=_now() if ts is None else ts)

    def rename(self, id: int, title: str, ts: Optional[int] = None) -> WriteToken:
        return self._write("rename", id=id, title=title, ts=_now() if ts is None else ts)

    def complete(self, id: int, ts: Optional[int] = None) -> WriteToken:
        return self._write("complete", id=id, ts=_now() if ts is None else ts)

    def delete(self, id: int) -> WriteToken:
        return self._write("delete", id=id)


class Memories(_Model[Memory]):
    """The memories model: filters ``tag``, ``any_tags``, ``all_tags``, ``pinned``,
    ``source``, ``order_by``, ``limit``."""

    def store(
        self, id: int, content: str, tags: Sequence[str] = (), source: str = "", ts: Optional[int] = None
    ) -> WriteToken:
        return self._write(
            "store", id=id, content=content, tags=list(tags), source=source, ts=_now() if ts is None else ts
        )

    def retag(self, id: int, tags: Sequence[str], ts: Optional[int] = None) -> WriteToken:
        return self._write("retag", id=id, tags=list(tags), ts=_now() if ts is None else ts)

    def pin(self, id: int, ts: Optional[int] = None) -> WriteToken:
        return self._write("pin", id=id, ts=_now() if ts is None else ts)

    def unpin(self, id: int, ts: Optional[int] = None) -> WriteToken:
        return self._write("unpin", id=id, ts=_now() if ts is None else ts)

    def delete(self, id: int) -> WriteToken:
        return self._write("delete", id=id)


class NetDb:
    """Tasks and memories over local event logs, in memory or in ``directory``.

    ``with NetDb() as db: db.tasks.create(1, "plan")``. A context manager that
    closes on exit.
    """

    def __init__(
        self,
        directory: Optional[str] = None,
        *,
        origin: int = 0,
        tasks: bool = True,
        memories: bool = True,
        _native: Optional[_net.NetDb] = None,
    ) -> None:
        options = {"dir": directory, "origin": origin, "tasks": tasks, "memories": memories}
        self._options = json.dumps({k: v for k, v in options.items() if v is not None})
        self._db = _native or _net.NetDb(self._options)
        self.tasks = Tasks(self._db, "tasks", Task)
        self.memories = Memories(self._db, "memories", Memory)

    @classmethod
    def restore(cls, snapshot: bytes, directory: Optional[str] = None, **options: Any) -> NetDb:
        """A database restored from :meth:`snapshot` bytes (from any language)."""
        opts = {"dir": directory, **options}
        text = json.dumps({k: v for k, v in opts.items() if v is not None})
        return cls(directory, **options, _native=_net.NetDb.restore(text, snapshot))

    def snapshot(self) -> bytes:
        """The whole database (consistent per model) as bytes."""
        return self._db.snapshot()

    def close(self) -> None:
        """Stops the folds and closes the logs (persistent logs sync)."""
        self._db.close()

    def __enter__(self) -> NetDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
