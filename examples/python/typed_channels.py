"""Typed channels in Python: values of one Pydantic model (or dataclass) on a
channel, on a node's local channels (every subscriber gets every value) and over
the mesh.

Run: PYTHONPATH=bindings/python/python:sdk-py python3 examples/python/typed_channels.py
"""

import queue

from net_sdk import InvalidChannelMessageError, Mesh, NetNode
from pydantic import BaseModel


class TemperatureReading(BaseModel):
    sensor_id: str
    celsius: float


# On one node: publish and subscribe, no registration.
node = NetNode(shards=4)
temps = node.channel("sensors/temperature", TemperatureReading)
with temps.subscribe() as sub:
    n = temps.publish(TemperatureReading(sensor_id="A1", celsius=22.5))
    print(f"local: {n} subscriber got {sub.next(timeout=5)!r}")

    # A message that is not a TemperatureReading raises; the subscription goes on.
    node.publish("sensors/temperature", b'{"celsius": "hot"}')
    try:
        sub.next(timeout=5)
    except InvalidChannelMessageError as e:
        print("a bad message:", e.kind)

# Or pushed: the engine calls a function for each value (on the net-callbacks thread).
values: "queue.Queue[TemperatureReading]" = queue.Queue()
with temps.subscribe() as pushed, pushed.on_message(values.put):
    temps.publish(TemperatureReading(sensor_id="A2", celsius=19))
    print("pushed:", values.get(timeout=5))
node.shutdown()

# Over the mesh: the publisher registers the channel, a peer subscribes.
key = bytes([7]) * 32
with Mesh(key, bind="127.0.0.1:0") as publisher, Mesh(key, bind="127.0.0.1:0") as subscriber:
    subscriber.connect(publisher.local_addr, publisher.public_key)
    publisher.register_channel("plant/temps")
    out = publisher.channel("plant/temps", TemperatureReading)
    with subscriber.channel("plant/temps", TemperatureReading).subscribe(publisher.node_id) as remote:
        report = out.publish(TemperatureReading(sensor_id="boiler", celsius=81))
        print(f"mesh: delivered {report.delivered}, got {remote.next(timeout=5)!r}")
