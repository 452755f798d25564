"""Capabilities in Python: describe a node, ask questions of it, validate and diff
sets, derive subnets, and find a node over the mesh by what it can do.

Run: PYTHONPATH=bindings/python/python:sdk-py python3 examples/python/capabilities.py
"""

import time

from net_sdk import (
    CapabilitySet,
    Gpu,
    Hardware,
    Mesh,
    Predicate,
    SubnetId,
    SubnetPolicy,
    SubnetRule,
    Visibility,
)

# A GPU node: typed hardware becomes tags, beside free-form ones.
gpu_node = CapabilitySet(["software.model=llama3-70b", "region:eu"]).with_hardware(
    Hardware(cpu_cores=16, memory_gb=64, gpu=Gpu(vendor="nvidia", vram_gb=24))
)
print("tags:", list(gpu_node.tags))
print("valid:", gpu_node.validate().valid)

# A question, evaluated in the engine (the same JSON in every language).
wants = (
    Predicate.exists("hardware.gpu")
    & Predicate.at_least("hardware.gpu.vram_gb", 16)
    & Predicate.equals("software.model", "llama3-70b")
)
print(wants, "->", wants.matches(gpu_node))

# What changed when a model was added.
print("diff added:", gpu_node.with_tags("software.model=whisper").diff(gpu_node).added)

# Subnets: the policy every node shares turns tags into a subnet.
policy = SubnetPolicy().add_rule(SubnetRule("region:", 0).map("eu", 4))
subnet = policy.assign(gpu_node)
reaches = Visibility.SUBNET_LOCAL.allows(subnet, SubnetId.parse("5"))
print("subnet:", subnet, "| subnet_local reaches 5.0.0.0:", reaches)

# Over the mesh: b announces, a finds it by what it can do.
key = bytes([7]) * 32
with Mesh(key, bind="127.0.0.1:0") as a, Mesh(key, bind="127.0.0.1:0") as b:
    a.connect(b.local_addr, b.public_key)
    b.announce_capabilities(gpu_node)
    deadline = time.monotonic() + 5
    while not a.find_nodes(wants) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert a.find_nodes(wants) == [b.node_id]
    print("a finds b:", a.find_nodes(wants) == [b.node_id])
