"""Channels in Python: a publisher registers a token-gated channel and trusts a
root; a subscriber presents the root's grant and receives what is published; a
revocation stops delivery on the next publish.

Run: PYTHONPATH=bindings/python/python:sdk-py python3 examples/python/channels.py
"""

from net_sdk import ChannelConfig, ChannelUnauthorizedError, Identity, Mesh, TokenScope

key = bytes([7]) * 32
with Mesh(key, bind="127.0.0.1:0") as publisher, Mesh(key, bind="127.0.0.1:0") as subscriber:
    subscriber.connect(publisher.local_addr, publisher.public_key)

    # The publisher's channel wants a token; it trusts one root.
    publisher.register_channel(ChannelConfig("alerts/fire", require_token=True))
    root = Identity.from_seed(bytes([42]) * 32)
    publisher.token_cache.trust(root.public_key)

    # Without a token: refused with the reason.
    try:
        subscriber.subscribe(publisher.node_id, "alerts/fire")
    except ChannelUnauthorizedError as e:
        print("without a token:", e.kind)

    # With the root's grant for alerts/**: admitted.
    grant = root.issue_token(subscriber.public_key, TokenScope.SUBSCRIBE, "alerts/**", ttl=600)
    with subscriber.subscribe(publisher.node_id, "alerts/*", tokens=[grant]) as sub:
        print("admitted to", sub.accepted)
        for text in ("smoke", "heat", "flame"):
            publisher.publish("alerts/fire", text)
        for _, message in zip(range(3), sub):
            print(message.payload.decode(), "on", message.channel)

        # Revoked: the next publish skips the subscriber and drops it.
        publisher.token_cache.revoke(grant.id)
        report = publisher.publish("alerts/fire", b"after")
        assert report.delivered == 0
        print("after revoking:", report)
