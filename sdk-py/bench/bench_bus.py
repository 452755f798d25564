"""Python binding benchmarks: batch ingest of 64-byte events and per-call cost.
Prints JSON lines."""

from __future__ import annotations

import json
import threading
import time

from net_sdk import Event, NetNode

EVENT = b'{"token":"hello","index":12345,"pad":"' + b"x" * 24 + b'"}'
assert len(EVENT) == 64


def rate(fn, seconds: float = 1.0) -> tuple[int, float]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        n += fn()
    return n, time.perf_counter() - start


def report(bench: str, metric: str, value: float) -> None:
    """One JSON line for a 64-byte-event benchmark."""
    print(json.dumps({"lang": "python", "bench": bench, metric: value, "payload_bytes": 64}))


def main() -> None:
    node = NetNode(shards=4, backpressure="drop_oldest")
    batch = [EVENT] * 1000
    count, elapsed = rate(lambda: node.emit_raw_batch(batch))
    report("emit_raw_batch_1000x64B", "events_per_sec", round(count / elapsed))

    def singles() -> int:
        for _ in range(1000):
            node.emit_raw(EVENT)
        return 1000

    count, elapsed = rate(singles)
    report("emit_raw_single_64B", "ns_per_call", round(elapsed / count * 1e9, 1))
    # Iterating a subscription (batches of 256 per wait) over 100k events, then
    # leaving a loop early (the unyielded rest of a batch goes back). Equal
    # payloads land on one shard, so that shard holds all 100k.
    node.shutdown()
    node = NetNode(shards=4, ring_buffer_capacity=1 << 17, backpressure="drop_oldest")
    for _ in range(100):
        node.emit_raw_batch(batch)
    sub = node.subscribe()
    seen, start = 0, time.perf_counter()
    for _ in sub:
        seen += 1
        if seen == 100_000:
            break
    elapsed = time.perf_counter() - start
    report("subscribe_for_100k_64B", "events_per_sec", round(seen / elapsed))
    # Each leave consumes the one event it yielded: 10k events, 10k leaves.
    for _ in range(10):
        node.emit_raw_batch(batch)
    leaves, start = 10_000, time.perf_counter()
    for _ in range(leaves):
        for _ in node.subscribe():
            break
    elapsed = time.perf_counter() - start
    report("subscribe_take_one_and_leave_64B", "us_per_leave", round(elapsed / leaves * 1e6, 1))
    node.shutdown()
    handlers()


def handlers() -> None:
    """Push: a handler on the net-callbacks thread, per event."""
    node = NetNode(shards=1, ring_buffer_capacity=1 << 17)
    batch = [EVENT] * 1000
    seen = [0]
    done = threading.Event()
    total = 100_000

    def count(_event: Event) -> None:
        seen[0] += 1
        if seen[0] == total:
            done.set()

    handler = node.on_event(count)
    start = time.perf_counter()
    for _ in range(total // 1000):
        node.emit_raw_batch(batch)
    done.wait(60)
    report("handler_100k_64B", "events_per_sec", round(seen[0] / (time.perf_counter() - start)))
    handler.close()
    # Latency: emit one event, wait until the handler has run.
    arrived = threading.Event()
    handler = node.on_event(lambda _e: arrived.set())
    samples = []
    for _ in range(2000):
        arrived.clear()
        start = time.perf_counter()
        node.emit_raw(EVENT)
        arrived.wait(5)
        samples.append(time.perf_counter() - start)
    handler.close()
    samples.sort()
    report("handler_emit_to_call_64B", "p50_us", round(samples[len(samples) // 2] * 1e6, 1))
    report("handler_emit_to_call_64B", "p99_us", round(samples[len(samples) * 99 // 100] * 1e6, 1))
    node.shutdown()


if __name__ == "__main__":
    main()
