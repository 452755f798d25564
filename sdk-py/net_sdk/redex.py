"""RedEX: local append-only logs, one per channel name, with live tails.

>>> from net_sdk import Redex
>>> with Redex() as rx:
...     log = rx.open_log("orders")
...     log.append(b"first")
0
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from net import _net

from ._time import config_ms, seconds_to_ms


@dataclass(frozen=True)
class Entry:
    """One log entry as read back."""

    seq: int
    timestamp_ns: int
    payload: bytes


@dataclass(frozen=True)
class Recovery:
    """What reopening a persistent log found."""

    entries: int
    truncated_records: int
    corrupt_seqs: List[int]
    missing_timestamps: int


@dataclass(frozen=True)
class Record:
    """A decoded 20-byte RedEX index record."""

    seq: int
    offset: int
    len: int
    flags_checksum: int
    inline: bool
    inline_payload: bytes


@dataclass(frozen=True)
class EventMeta:
    """The 20-byte meta that prefixes every CortEX payload."""

    dispatch: int
    flags: int
    origin_hash: int
    seq_or_ts: int
    checksum: int


def _entries(raw: List[Tuple[int, int, bytes]]) -> List[Entry]:
    return [Entry(seq, ts, payload) for seq, ts, payload in raw]


class Tail:
    """A live reader: retained entries from a sequence, then each new one, with no
    gap and no duplicate. Iterating yields entries until the tail or the log is
    closed; also a context manager."""

    def __init__(self, native: _net.Tail, batch: int) -> None:
        self._native, self._batch = native, batch

    def next_batch(
        self, max: int = 256, timeout: Optional[float] = None, cancel: Optional[_net.CancelToken] = None
    ) -> Optional[List[Entry]]:
        """Up to ``max`` entries; ``[]`` on timeout, None once the tail has ended;
        :class:`~net.errors.CancelledError` once ``cancel`` is cancelled (nothing taken)."""
        raw = self._native.next(max, seconds_to_ms(timeout), cancel)
        return None if raw is None else _entries(raw)

    def __iter__(self) -> Iterator[Entry]:
        while True:
            raw = self._native.next(self._batch, None)
            if raw is None:
                return
            yield from _entries(raw)

    @property
    def position(self) -> int:
        """The next sequence this tail will return."""
        return self._native.position()

    def close(self) -> None:
        """Ends the tail; a blocked reader stops within ~100 ms."""
        self._native.close()

    def __enter__(self) -> Tail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Log:
    """One open log. Also a context manager (closes the log)."""

    def __init__(self, native: _net.Log) -> None:
        self._native = native

    def append(self, payload: bytes) -> int:
        """Appends one entry; returns its sequence."""
        return self._native.append(payload)

    def append_batch(self, payloads: Iterable[bytes]) -> Optional[int]:
        """Appends an atomic batch; returns the first sequence (the rest follow
        consecutively), or None for an empty batch. A failing batch appends nothing."""
        return self._native.append_batch(list(payloads))

    def read_range(self, start: int = 0, end: Optional[int] = None) -> List[Entry]:
        """Retained entries with ``start <= seq < end`` (``end`` None: to the last)."""
        return _entries(self._native.read_range(start, (1 << 64) - 1 if end is None else end))

    def tail(self, from_seq: int = 0, *, batch: int = 256) -> Tail:
        """A live reader from ``from_seq``."""
        return Tail(self._native.tail(from_seq), batch)

    @property
    def next_seq(self) -> int:
        """The sequence the next append will get."""
        return self._native.next_seq()

    def __len__(self) -> int:
        return len(self._native)

    def sweep_retention(self) -> int:
        """Applies the retention limits now; returns how many entries were evicted."""
        return self._native.sweep_retention()

    def sync(self) -> None:
        """Durability barrier: payload, then index, then timestamps reach the disk."""
        self._native.sync()

    def close(self) -> None:
        """Closes the log (idempotent); appends then raise LogClosedError."""
        self._native.close()

    @property
    def recovery(self) -> Recovery:
        """What reopening found (all zero for in-memory logs)."""
        r = json.loads(self._native.recovery_json())
        return Recovery(
            entries=r["entries"],
            truncated_records=r["truncated_records"],
            corrupt_seqs=[int(s) for s in r["corrupt_seqs"]],
            missing_timestamps=r["missing_timestamps"],
        )

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Redex:
    """Maps channel names to logs, in memory or under ``dir``. A context manager
    that closes every log (each syncs first) on exit."""

    def __init__(self, dir: Union[str, os.PathLike[str], None] = None) -> None:
        options = {} if dir is None else {"dir": os.fspath(dir)}
        self._native = _net.Redex(json.dumps(options))

    def open_log(
        self,
        channel: str,
        *,
        max_events: Optional[int] = None,
        max_bytes: Optional[int] = None,
        max_age: Optional[float] = None,
        max_payload: Optional[int] = None,
        fsync_every: Optional[int] = None,
        fsync_interval: Optional[float] = None,
        fsync_bytes: Optional[int] = None,
    ) -> Log:
        """Opens (or returns the open) log for ``channel`` — segments of
        ``[A-Za-z0-9_.-]`` separated by ``/``. Retention (``max_events``,
        ``max_bytes``, ``max_age`` seconds) applies on :meth:`Log.sweep_retention`;
        fsync runs off the append path after ``fsync_every`` entries, or every
        ``fsync_interval`` seconds and/or ``fsync_bytes`` unsynced bytes."""
        config: Dict[str, Any] = {
            "max_events": max_events,
            "max_bytes": max_bytes,
            "max_age_ms": config_ms(max_age),
            "max_payload": max_payload,
        }
        fsync = {"every_n": fsync_every, "interval_ms": config_ms(fsync_interval), "max_bytes": fsync_bytes}
        fsync = {k: v for k, v in fsync.items() if v is not None}
        if fsync:
            config["fsync"] = fsync
        text = json.dumps({k: v for k, v in config.items() if v is not None})
        return Log(self._native.open_log(channel, text))

    def close(self) -> None:
        """Closes every log of this manager."""
        self._native.close()

    def __enter__(self) -> Redex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode_heap_record(seq: int, offset: int, payload: bytes) -> bytes:
    """The 20-byte index record of ``payload`` stored at ``offset``."""
    return _net.record_heap(seq, offset, payload)


def encode_inline_record(seq: int, payload: bytes) -> bytes:
    """The 20-byte index record carrying exactly 8 payload bytes inline."""
    return _net.record_inline(seq, payload)


def decode_record(data: bytes) -> Record:
    """Decodes a 20-byte index record (MalformedError otherwise)."""
    return Record(*_net.record_decode(data))


def frame_event(dispatch: int, origin_hash: int, seq_or_ts: int, payload: bytes) -> bytes:
    """``payload`` behind its 20-byte CortEX event meta (checksum computed)."""
    return _net.event_frame(dispatch, origin_hash, seq_or_ts, payload)


def unframe_event(data: bytes) -> Tuple[EventMeta, bytes]:
    """Splits a framed entry into meta and payload (DecodeError on a bad checksum)."""
    return EventMeta(*_net.event_unframe(data)), data[20:]
