"""Handlers in Python: the engine calls your function for each bus event and
each mesh message (push), instead of you waiting for them (pull). Handlers run
on one Python thread, ``net-callbacks``.

Run: python examples/python/handlers.py
"""

import threading

from net_sdk import Event, Mesh, Message, NetNode

with NetNode(shards=1) as node:
    texts = []
    three = threading.Event()

    def on_event(event: Event) -> None:
        texts.append(event.text)
        if len(texts) == 3:
            three.set()

    with node.on_event(on_event):  # the block's end closes the handler
        for text in ["a", "b", "c"]:
            node.emit_raw(text)
        assert three.wait(5)
    print("handler got " + ", ".join(texts))

NETWORK_KEY = bytes([7]) * 32
with Mesh(NETWORK_KEY, bind="127.0.0.1:0") as alice, Mesh(NETWORK_KEY, bind="127.0.0.1:0") as bob:
    bob_id = alice.connect(bob.local_addr, bob.public_key)

    def echo(message: Message) -> None:
        # Calling back into Net from inside a handler is fine.
        bob.send(message.from_, message.stream_id, b"re: " + message.payload)

    bob.on_message(echo)
    alice.open_stream(bob_id, 1, reliable=True).send_blocking(b"hello", timeout=5)
    answer = alice.recv(timeout=5)
    assert answer is not None
    print(f"alice got {answer.payload.decode()!r}")
