"""Permission tokens in Python: a root grant, a delegation that narrows it, a
chain checked by a token cache, and a revocation.

Run: PYTHONPATH=bindings/python/python:sdk-py python3 examples/python/tokens.py
"""

from net_sdk import Identity, NetError, TokenCache, TokenScope

root, gateway, sensor = (Identity.from_seed(bytes([n]) * 32) for n in (1, 2, 3))

# The root lets the gateway subscribe below sensors/ and pass that on once.
grant = root.issue_token(
    gateway.public_key, TokenScope.SUBSCRIBE | TokenScope.DELEGATE, "sensors/**", ttl=3600, depth=1
)
# The gateway lets one sensor reader subscribe to the lidar channels only.
narrow = gateway.delegate_token(grant, sensor.public_key, TokenScope.SUBSCRIBE, "sensors/lidar/*", ttl=600)
print(f"token: {len(bytes(narrow))} bytes, id {narrow.id.hex()}")
# Widening is refused.
try:
    gateway.delegate_token(grant, sensor.public_key, TokenScope.PUBLISH, "sensors/lidar/*", ttl=600)
except NetError as e:
    print("publish from a subscribe grant:", e.kind)

# A node that trusts the root checks the chain, then revokes it.
cache = TokenCache()
cache.trust(root.public_key)
cache.install([grant, narrow], sensor.public_key, TokenScope.SUBSCRIBE, "sensors/lidar/front")


def allowed(channel: str) -> str:
    try:
        cache.check(sensor.public_key, TokenScope.SUBSCRIBE, channel)
        return "true"
    except NetError:
        return "false"


print("lidar/front allowed:", allowed("sensors/lidar/front"))
print("temp allowed:", allowed("sensors/temp"))
cache.revoke(grant.id)
print("after revoking the root grant:", allowed("sensors/lidar/front"))
