"""Python binding benchmarks: batch ingest of 64-byte events and per-call cost.
Prints JSON lines."""

from __future__ import annotations

import json
import time

from net_sdk import NetNode

EVENT = b'{"token":"hello","index":12345,"pad":"' + b"x" * 24 + b'"}'
assert len(EVENT) == 64


def rate(fn, seconds: float = 1.0) -> tuple[int, float]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        n += fn()
    return n, time.perf_counter() - start


def main() -> None:
    node = NetNode(shards=4, backpressure="drop_oldest")
    batch = [EVENT] * 1000
    count, elapsed = rate(lambda: node.emit_raw_batch(batch))
    print(
        json.dumps(
            {
                "lang": "python",
                "bench": "emit_raw_batch_1000x64B",
                "events_per_sec": round(count / elapsed),
                "payload_bytes": 64,
            }
        )
    )

    def singles() -> int:
        for _ in range(1000):
            node.emit_raw(EVENT)
        return 1000

    count, elapsed = rate(singles)
    print(
        json.dumps(
            {
                "lang": "python",
                "bench": "emit_raw_single_64B",
                "ns_per_call": round(elapsed / count * 1e9, 1),
                "payload_bytes": 64,
            }
        )
    )
    node.shutdown()


if __name__ == "__main__":
    main()
