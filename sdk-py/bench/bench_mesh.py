"""Python binding benchmarks for the encrypted mesh: two nodes on loopback in one
process; bursts of 64 messages sent, then received. Prints JSON lines."""

from __future__ import annotations

import json
import time

from net_sdk import Mesh, Stream

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


if __name__ == "__main__":
    main()
