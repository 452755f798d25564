"""Python binding benchmarks for local state: RedEX appends and NetDB calls.
Prints JSON lines (one per benchmark)."""

from __future__ import annotations

import json
import time
from typing import Callable, Optional

from net_sdk import NetDb, Redex


def per_call(name: str, fn: Callable[[int], None], payload: Optional[int], seconds: float = 1.0) -> None:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            fn(n)
            n += 1
    ns = (time.perf_counter() - start) / n * 1e9
    row = {"lang": "python", "bench": name, "ns_per_call": round(ns, 1), "payload_bytes": payload}
    print(json.dumps(row))


def main() -> None:
    with Redex() as rx:
        log = rx.open_log("bench", max_events=1 << 16)
        payload = b"p" * 32

        def append(i: int) -> None:
            log.append(payload)
            if i & 0xFFFF == 0xFFFF:
                log.sweep_retention()

        per_call("log_append_32B", append, 32)
        batch = [b"e" * 64] * 64

        def append_batch(i: int) -> None:
            log.append_batch(batch)
            if i & 0x3FF == 0x3FF:
                log.sweep_retention()

        per_call("log_append_batch_64x64B", append_batch, 64)

    with NetDb(memories=False) as db:
        per_call("tasks_create", lambda i: db.tasks.create(i, "write the benchmark", ts=i), None)
    with NetDb(memories=False) as db:
        last = None
        for i in range(1000):
            last = db.tasks.create(i, "task", ts=i)
            if i % 2 == 0:
                last = db.tasks.complete(i, ts=i)
        assert last is not None
        db.tasks.wait_for_token(last)
        per_call("tasks_find_many_1k", lambda i: db.tasks.find_many(status="pending"), None)
        per_call("tasks_find_unique", lambda i: db.tasks.find_unique(i % 1000), None)


if __name__ == "__main__":
    main()
