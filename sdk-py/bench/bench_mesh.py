"""Python binding benchmarks for the encrypted mesh: two nodes on loopback in one
process; bursts of 64 messages sent, then received; and events carried from one bus
to another through a pair of bus links. Prints JSON lines."""

from __future__ import annotations

import json
import time

from net_sdk import Mesh, NetNode, Stream

BURST = 64


def burst_rate(
    sender: Stream, receiver: Mesh, payload: bytes, seconds: float = 1.0
) -> tuple[int, int, float]:
    """Sends bursts of BURST messages (``send_blocking`` on a reliable stream, which
    waits for window room; ``send`` otherwise) and receives each burst before the
    next; returns (sent, received, elapsed seconds). Fire-and-forget may lose some."""
    send = sender.send_blocking if sender.stats().reliable else sender.send
    sent = received = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(BURST):
            send(payload)
        sent += BURST
        while received < sent:
            if receiver.recv(timeout=0.2) is None:
                break  # a lost datagram: stop waiting for this burst
            received += 1
    return sent, received, time.perf_counter() - start


def link_rate(a: Mesh, b: Mesh, size: int, count: int = 100_000) -> tuple[int, int, float]:
    """Emits ``count`` events of ``size`` bytes (in batches of 1000) on a bus linked
    from ``a`` to a bus on ``b`` and polls them all out of ``b``'s bus; returns (events
    received, events the buses dropped, elapsed seconds). Both buses hold ``count``
    events, so none should be dropped."""
    event = b"e" * size
    with NetNode(ring_buffer_capacity=1 << 17) as outbox, NetNode(ring_buffer_capacity=1 << 17) as inbox:
        with b.receive_bus(inbox, a.node_id, stream_id=100 + size), a.send_bus(
            outbox, b.node_id, stream_id=100 + size
        ):
            received, cursor = 0, None
            start = time.perf_counter()
            for _ in range(count // 1000):
                outbox.emit_raw_batch([event] * 1000)
            deadline = start + 60
            while received < count and time.perf_counter() < deadline:
                page = inbox.poll(4096, cursor)
                cursor = page.next_cursor
                received += len(page.events)
                if not page.events:
                    time.sleep(0.0005)
            elapsed = time.perf_counter() - start
            return received, outbox.stats().dropped + inbox.stats().dropped, elapsed


def main() -> None:
    key = bytes([7]) * 32
    with Mesh(key, bind="127.0.0.1:0") as a, Mesh(key, bind="127.0.0.1:0") as b:
        peer = a.connect(b.local_addr, b.public_key)
        for stream_id, reliable in [(1, False), (2, True)]:
            stream = a.open_stream(peer, stream_id, reliable=reliable)
            for size in (64, 1024):
                payload = b"m" * size
                burst_rate(stream, b, payload, seconds=0.2)  # warm up
                sent, received, elapsed = burst_rate(stream, b, payload)
                mode = "reliable" if reliable else "fire_and_forget"
                row = {
                    "lang": "python",
                    "bench": f"mesh_{mode}_burst{BURST}_{size}B",
                    "messages_per_sec": round(received / elapsed),
                    "payload_bytes": size,
                    "lost": sent - received,
                }
                print(json.dumps(row))
        link_rate(a, b, 64, count=10_000)  # warm up
        received, dropped, elapsed = link_rate(a, b, 64)
        row = {
            "lang": "python",
            "bench": "mesh_bus_link_64B",
            "events_per_sec": round(received / elapsed),
            "payload_bytes": 64,
            "lost": 100_000 - received + dropped,
        }
        print(json.dumps(row))


if __name__ == "__main__":
    main()
