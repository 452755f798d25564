"""Net bus quick start in Python: emit, poll, subscribe, typed errors.

Run: PYTHONPATH=bindings/python/python:sdk-py python3 examples/python/quickstart.py
"""

from dataclasses import dataclass

from net_sdk import InvalidJsonError, NetNode


@dataclass
class Token:
    token: str
    index: int = 0


node = NetNode(shards=4)

# Emit
node.emit({"token": "hello", "index": 0})
node.emit_raw(b'{"token": "world", "index": 1}')
print("batch accepted", node.emit_batch([{"token": "a", "index": 2}, {"token": "b", "index": 3}]))

# Poll (reads without consuming; pass next_cursor back to acknowledge)
page = node.poll(limit=100)
for event in page.events:
    print("polled", event.text)

# Bad input is a typed exception
try:
    node.emit_str("{oops")
except InvalidJsonError as e:
    print("rejected:", e.kind)

# Stream (generator), decoded into a dataclass
for token in node.subscribe_typed(Token, limit=4):
    print("streamed", token)

print(node.stats())
node.shutdown()
