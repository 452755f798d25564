"""The encrypted mesh in Python: two nodes in one process share a network key,
connect, talk on a reliable stream, and reply on a fire-and-forget one.

Run: python examples/python/mesh.py
"""

from net_sdk import Mesh

NETWORK_KEY = bytes([7]) * 32  # every node of a mesh shares this secret

with Mesh(NETWORK_KEY, bind="127.0.0.1:0") as alice, Mesh(NETWORK_KEY, bind="127.0.0.1:0") as bob:
    # Alice needs Bob's address and public key; the handshake proves both.
    bob_id = alice.connect(bob.local_addr, bob.public_key)
    print(f"alice connected to bob ({bob_id:016x}) at {bob.local_addr}")

    # Stream 2, reliable: in order, exactly once, resent until acknowledged.
    orders = alice.open_stream(bob_id, 2, reliable=True)
    for text in ["order 1", "order 2", "order 3"]:
        orders.send_blocking(text.encode(), timeout=5)

    for message in bob.messages(timeout=1):
        print(f"bob got {message.payload.decode()!r} on stream {message.stream_id}")
        # Stream 1 was never opened: fire-and-forget, like a datagram.
        bob.send(message.from_, 1, b"ack " + message.payload)
        if message.payload == b"order 3":
            break

    for message in alice.messages(timeout=1):
        print(f"alice got {message.payload.decode()!r} on stream {message.stream_id}")
        if message.payload == b"ack order 3":
            break

    stats = orders.stats()
    print(f"stream 2: {stats.reliability}, {stats.sent} sent, window {stats.window}")
