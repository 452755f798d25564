"""The bus over the mesh in Python: two nodes in one process, each with its own bus.
A send link on Alice carries the events emitted on her bus to Bob, where a receive
link emits them into his bus; Bob reads them like local events.

Run: python examples/python/bus_over_mesh.py
"""

import time
from typing import Any, List

from net_sdk import Mesh, NetNode

NETWORK_KEY = bytes([7]) * 32  # every node of a mesh shares this secret
EVENTS = [
    {"order": 1, "item": "coffee"},
    {"order": 2, "item": "tea"},
    {"order": 3, "item": "cake"},
]

with Mesh(NETWORK_KEY, bind="127.0.0.1:0") as alice, Mesh(NETWORK_KEY, bind="127.0.0.1:0") as bob:
    bob_id = alice.connect(bob.local_addr, bob.public_key)
    with NetNode() as outbox, NetNode() as inbox:
        # Bob listens first (a receive link needs no session yet), then Alice sends.
        with bob.receive_bus(inbox, alice.node_id) as into, alice.send_bus(outbox, bob_id) as out:
            for order in EVENTS:
                outbox.emit(order)

            # On Bob's side they are ordinary bus events: subscribe and read them.
            arrived: List[Any] = []
            with inbox.subscribe() as events:
                while len(arrived) < len(EVENTS):
                    batch = events.next_batch(timeout=10)
                    if not batch:
                        raise SystemExit(f"only {len(arrived)} events arrived in 10 s")
                    for event in batch:
                        print(f"bob got {event.json()}")
                        arrived.append(event.json())
            assert arrived == EVENTS

            # Alice counts an event once Bob acknowledged it: the last ack may be on its way.
            deadline = time.monotonic() + 10
            while out.stats().events < len(EVENTS) and time.monotonic() < deadline:
                time.sleep(0.01)
            for link in (out, into):
                s = link.stats()
                print(
                    f"{s.direction} link with {s.peer:016x} on stream {s.stream_id}: "
                    f"{s.events} events, {s.bytes} bytes in {s.messages} messages"
                )
    print(f"bus over mesh: {len(arrived)} events arrived")
