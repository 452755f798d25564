"""Capability sets, predicates and subnets from Python."""

from __future__ import annotations

import threading

import pytest
from net_sdk import (
    CapabilitySet,
    Gpu,
    Hardware,
    InvalidCapabilityDiffError,
    InvalidCapabilitySetError,
    InvalidCapabilityTagError,
    InvalidPredicateError,
    InvalidSubnetError,
    InvalidSubnetPolicyError,
    Limits,
    Predicate,
    Software,
    SubnetId,
    SubnetPolicy,
    SubnetRule,
    Visibility,
)


def gpu_node() -> CapabilitySet:
    return (
        CapabilitySet(["inference"])
        .with_hardware(
            Hardware(cpu_cores=16, memory_gb=64, gpu=Gpu(vendor="nvidia", model="RTX 4090", vram_gb=24))
        )
        .with_metadata("intent", "ml-training")
    )


def test_builders_are_canonical_and_views_read_back() -> None:
    caps = gpu_node()
    assert caps.tags[:3] == ("hardware.cpu.cores=16", "hardware.gpu", "hardware.gpu.model=RTX 4090")
    assert "inference" in caps
    views = caps.views()
    assert views.hardware.gpu is not None and views.hardware.gpu.vram_gb == 24
    assert views.hardware.cpu_cores == 16
    more = caps.with_software(Software(models=("llama3-70b",), runtimes={"python": "3.11"})).with_limits(
        Limits(max_concurrent=4)
    )
    assert more.views().software.models == ("llama3-70b",)
    assert more.views().limits.max_concurrent == 4
    assert CapabilitySet.from_json(more.to_json()) == more
    assert caps.validate().valid and not caps.validate().warnings


def test_predicates_compose_and_round_trip() -> None:
    caps = gpu_node()
    want = (
        Predicate.exists("hardware.gpu")
        & Predicate.at_least("hardware.gpu.vram_gb", 16)
        & ~Predicate.one_of("region", ["cn"])
    )
    assert want.matches(caps)
    assert not Predicate.at_most("hardware.cpu.cores", 8).matches(caps)
    assert Predicate.equals("intent", "ml-training").matches(caps)
    assert Predicate.any_of(Predicate.exists("tpu"), Predicate.exists("inference")).matches(caps)
    assert not Predicate.any_of().matches(caps) and Predicate.all_of().matches(caps)
    assert Predicate.from_json(want.to_json()) == want
    assert len(want.to_dict()["and"]) == 3  # `&` flattens


def test_errors_are_typed() -> None:
    with pytest.raises(InvalidCapabilityTagError):
        CapabilitySet(["a b"])
    with pytest.raises(InvalidCapabilitySetError):
        CapabilitySet.from_json("[1]")
    with pytest.raises(InvalidCapabilitySetError):
        CapabilitySet().with_hardware(Hardware(cpu_cores=-1))
    with pytest.raises(InvalidPredicateError):
        Predicate.from_json('{"exist": "a"}')
    with pytest.raises(InvalidPredicateError):
        Predicate.semver_compatible("a", "x.y").matches(gpu_node())
    with pytest.raises(InvalidSubnetError):
        SubnetId.parse("0.7")
    with pytest.raises(InvalidSubnetError):
        SubnetId(0x00070000)
    with pytest.raises(InvalidSubnetPolicyError):
        SubnetPolicy([SubnetRule("x:", 4, {"a": 1})]).assign(CapabilitySet())
    with pytest.raises(InvalidCapabilitySetError):
        CapabilitySet([1])  # type: ignore[list-item]


def test_diff_and_apply() -> None:
    before = gpu_node()
    after = before.with_tags("software.model=llama3-70b")
    diff = after.diff(before)
    assert diff.added == ("software.model=llama3-70b",) and not diff.removed
    assert before.apply(diff) == after
    assert not after.diff(after)
    with pytest.raises(InvalidCapabilityDiffError):
        after.apply(diff)


def test_subnets_and_visibility() -> None:
    fleet = SubnetId.from_levels(3, 7)
    assert str(fleet) == "3.7.0.0" and fleet.value == 0x03070000 and fleet.levels == (3, 7)
    child = SubnetId.parse("3.7.1")
    assert not Visibility.SUBNET_LOCAL.allows(fleet, child)
    assert Visibility.PARENT_VISIBLE.allows(fleet, child)
    assert Visibility.GLOBAL.allows(fleet, SubnetId.GLOBAL)
    policy = (
        SubnetPolicy()
        .add_rule(SubnetRule("region:", 0).map("us", 3))
        .add_rule(SubnetRule("fleet:", 1).map("blue", 7))
    )
    assert policy.assign(CapabilitySet(["region:us", "fleet:blue"])) == fleet
    assert SubnetPolicy.from_json(policy.to_json()) == policy


def test_threads_share_the_engine() -> None:
    want = Predicate.exists("hardware.gpu") & Predicate.at_least("hardware.memory_gb", 32)
    caps = gpu_node()
    wrong: list[int] = []

    def work() -> None:
        for _ in range(200):
            if not want.matches(caps):
                wrong.append(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


def test_announcements_cross_a_line_of_three_meshes() -> None:
    import time

    from net_sdk import CapabilityConfig, InvalidMeshConfigError, Mesh

    key = bytes([7]) * 32
    policy = SubnetPolicy().add_rule(SubnetRule("region:", 0).map("eu", 4))
    home = SubnetId.parse("3.7")
    config = CapabilityConfig(subnet=home, subnet_policy=policy, min_announce_interval=0.05)
    nodes = [Mesh(key, bind="127.0.0.1:0", capabilities=config) for _ in range(3)]
    try:
        for a, b in zip(nodes, nodes[1:]):
            a.connect(b.local_addr, b.public_key)
        origin = nodes[2]
        origin.announce_capabilities(gpu_node().with_tags("region:eu"))
        want = Predicate.exists("hardware.gpu") & Predicate.at_least("hardware.gpu.vram_gb", 16)
        deadline = time.monotonic() + 5
        while nodes[0].find_nodes(want) != [origin.node_id] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert nodes[0].find_nodes(want) == [origin.node_id]
        assert origin.find_nodes(want) == [origin.node_id]
        seen = nodes[0].capabilities_of(origin.node_id)
        assert seen is not None and "region:eu" in seen
        assert nodes[0].capabilities_of(12345) is None
        assert nodes[0].subnet_of(origin.node_id) == SubnetId.parse("4")
        assert nodes[0].subnet_of(nodes[0].node_id) == home
        assert nodes[0].subnet_of(12345) is None
        assert nodes[0].find_nodes(want, scope="global") == [origin.node_id]
        stats = nodes[1].capability_stats()
        assert stats.forwarded == 1 and stats.indexed == 1
        with pytest.raises(InvalidPredicateError):
            nodes[0].find_nodes(want, scope="planet")
    finally:
        for n in nodes:
            n.close()
    with pytest.raises(InvalidMeshConfigError):
        Mesh(key, bind="127.0.0.1:0", capabilities={"ttl": 0.001})
    with pytest.raises(InvalidMeshConfigError):
        Mesh(key, bind="127.0.0.1:0", capabilities={"colour": 1})


def test_channels_publish_subscribe_and_revoke() -> None:
    from net_sdk import (
        ChannelConfig,
        ChannelUnauthorizedError,
        Identity,
        InvalidChannelConfigError,
        Mesh,
        TokenScope,
        UnknownChannelError,
    )

    key = bytes([7]) * 32
    with Mesh(key, bind="127.0.0.1:0") as p, Mesh(key, bind="127.0.0.1:0") as s:
        s.connect(p.local_addr, p.public_key)
        p.register_channel(ChannelConfig("alerts/fire", require_token=True))
        with pytest.raises(InvalidChannelConfigError):
            p.register_channel("alerts/fire")
        root = Identity.from_seed(bytes([42]) * 32)
        p.token_cache.trust(root.public_key)
        token = root.issue_token(s.public_key, TokenScope.SUBSCRIBE, "alerts/**", ttl=600)
        with pytest.raises(ChannelUnauthorizedError):
            s.subscribe(p.node_id, "alerts/fire")
        with pytest.raises(UnknownChannelError):
            s.subscribe(p.node_id, "alerts/none", tokens=[token])
        with s.subscribe(p.node_id, "alerts/*", tokens=[token]) as sub:
            assert sub.accepted == ("alerts/fire",) and sub.publisher == p.node_id
            assert p.channel_subscribers("alerts/fire") == [s.node_id]
            for i in range(20):
                report = p.publish("alerts/fire", bytes([i]))
                assert (report.attempted, report.delivered, report.skipped) == (1, 1, ())
            for i, message in zip(range(20), sub):
                assert message.payload == bytes([i]) and message.channel == "alerts/fire"
            p.token_cache.revoke(token.id)
            report = p.publish("alerts/fire", "after")
            assert report.delivered == 0 and report.skipped == ((s.node_id, "revoked"),)
            assert sub.next(timeout=0.1) is None
        with pytest.raises(UnknownChannelError):
            p.publish("nope", b"")
        stats = p.channel_stats()
        assert stats.evicted_revoked == 1 and stats.subscribes_accepted == 1
        assert p.unregister_channel("alerts/fire") and not p.unregister_channel("alerts/fire")
