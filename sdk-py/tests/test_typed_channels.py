"""Local channels and typed channels in the Python SDK: fan-out, Pydantic models,
dataclasses and plain JSON, bad messages and values, threads, and over the mesh."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, List, Optional

import pytest
from net_sdk import (
    ChannelConfig,
    InvalidChannelConfigError,
    InvalidChannelMessageError,
    InvalidChannelNameError,
    Mesh,
    NetNode,
    ShutdownError,
)
from pydantic import BaseModel


class TemperatureReading(BaseModel):
    sensor_id: str
    celsius: float


@dataclass
class Reading:
    sensor_id: str
    celsius: float
    note: Optional[str] = None


def test_seed_quick_start_typed_channel_lines() -> None:
    # The typed-channel lines of the seed README's Python quick start, as written.
    node = NetNode(shards=4)
    watcher = node.subscribe_channel("sensors/temperature")
    temps = node.channel("sensors/temperature", TemperatureReading)
    temps.publish(TemperatureReading(sensor_id="A1", celsius=22.5))
    message = watcher.next(timeout=1)
    assert message is not None and message.payload == b'{"sensor_id":"A1","celsius":22.5}'
    node.shutdown()


def test_raw_local_channels_fan_out_in_order() -> None:
    with NetNode() as node:
        exact = node.subscribe_channel("sensors/temp")
        every = node.subscribe_channel("sensors/**")
        assert exact.publisher == 0 and every.accepted == ("sensors/**",)
        assert node.publish("sensors/temp", "21") == 2
        assert node.publish("sensors/a/b", b"\x00\xff") == 1
        assert node.publish("alerts/fire", b"x") == 0
        first = exact.next(timeout=1)
        assert first is not None and (first.channel, first.payload, first.publisher) == (
            "sensors/temp",
            b"21",
            0,
        )
        assert exact.next(timeout=0.02) is None
        assert [m.payload for m in (every.next(timeout=1), every.next(timeout=1)) if m] == [
            b"21",
            b"\x00\xff",
        ]
        stats = node.channel_stats()
        assert (stats.published, stats.delivered, stats.dropped, stats.subscriptions) == (3, 3, 0, 2)
        with pytest.raises(InvalidChannelNameError):
            node.publish("a//b", b"x")
        with pytest.raises(InvalidChannelNameError):
            node.subscribe_channel("a/**/b")
        exact.close()
        assert node.channel_stats().subscriptions == 1


def test_typed_channels_with_pydantic_dataclasses_and_plain_json() -> None:
    with NetNode() as node:
        models = node.channel("t/model", TemperatureReading)
        records = node.channel("t/record", Reading)
        plain: Any = node.channel("t/plain")
        with models.subscribe() as a, records.subscribe() as b, plain.subscribe() as c:
            assert models.publish(TemperatureReading(sensor_id="A1", celsius=22.5)) == 1
            assert records.publish(Reading("B2", -4, note="frost")) == 1
            assert plain.publish({"any": ["json", 1, None]}) == 1
            assert a.next(timeout=1) == TemperatureReading(sensor_id="A1", celsius=22.5)
            assert b.next(timeout=1) == Reading("B2", -4, note="frost")
            assert c.next(timeout=1) == {"any": ["json", 1, None]}
            assert a.publisher == 0


def test_a_bad_message_raises_and_the_subscription_goes_on() -> None:
    with NetNode() as node:
        records = node.channel("t", Reading)
        sub = records.subscribe()
        for bad in (b'{"sensor_id": 1, "celsius": 2}', b"not json", b'{"sensor_id": "A"}', b"[]"):
            node.publish("t", bad)
        records.publish(Reading("ok", 1.5))
        for _ in range(4):
            with pytest.raises(InvalidChannelMessageError) as info:
                sub.next(timeout=1)
            assert info.value.kind == "channel:invalid_message"
        assert sub.next(timeout=1) == Reading("ok", 1.5)
        # Iterating raises on a bad one too; a new loop over the same subscription goes on.
        node.publish("t", b"{}")
        records.publish(Reading("after", 2))
        with pytest.raises(InvalidChannelMessageError):
            for _ in sub:
                pass
        assert next(iter(sub)) == Reading("after", 2)


def test_a_value_of_the_wrong_type_is_not_published() -> None:
    with NetNode() as node:
        records = node.channel("t", Reading)
        watcher = node.subscribe_channel("t")
        with pytest.raises(InvalidChannelMessageError):
            records.publish({"sensor_id": "A", "celsius": 1})  # type: ignore[arg-type]
        with pytest.raises(InvalidChannelMessageError):
            node.channel("p").publish({"nan": float("nan")})
        with pytest.raises(InvalidChannelNameError):
            node.channel("bad name", Reading)
        assert watcher.next(timeout=0.02) is None


def test_shutdown_ends_typed_subscriptions() -> None:
    node = NetNode()
    records = node.channel("t", Reading)
    sub = records.subscribe()
    records.publish(Reading("last", 0))
    node.shutdown()
    assert sub.next(timeout=1) == Reading("last", 0)
    with pytest.raises(ShutdownError):
        sub.next(timeout=1)
    with pytest.raises(ShutdownError):
        records.publish(Reading("late", 0))


def test_threads_publish_and_every_subscriber_gets_everything() -> None:
    with NetNode() as node:
        channel: Any = node.channel("load/typed")
        subs = [channel.subscribe() for _ in range(3)]

        def write(w: int) -> None:
            for i in range(300):
                assert channel.publish([w, i]) == 3

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for sub in subs:
            seen: List[List[int]] = [[] for _ in range(4)]
            for _ in range(1200):
                w, i = sub.next(timeout=5)
                seen[w].append(i)
            assert seen == [list(range(300))] * 4


def test_a_typed_channel_over_the_mesh() -> None:
    key = bytes([3]) * 32
    with Mesh(key, bind="127.0.0.1:0") as publisher, Mesh(key, bind="127.0.0.1:0") as subscriber:
        subscriber.connect(publisher.local_addr, publisher.public_key)
        # Priority 5: the channel's messages travel on their own data stream.
        publisher.register_channel(ChannelConfig("plant/temps", priority=5))
        with pytest.raises(InvalidChannelConfigError):
            publisher.register_channel(ChannelConfig("plant/other", priority=8))
        out = publisher.channel("plant/temps", TemperatureReading)
        with subscriber.channel("plant/temps", TemperatureReading).subscribe(publisher.node_id) as sub:
            assert sub.accepted == ("plant/temps",)
            for i in range(10):
                assert out.publish(TemperatureReading(sensor_id=f"s{i}", celsius=i / 2)).delivered == 1
            got = [sub.next(timeout=5) for _ in range(10)]
            assert got == [TemperatureReading(sensor_id=f"s{i}", celsius=i / 2) for i in range(10)]
            publisher.publish("plant/temps", b'{"celsius": "hot"}')
            with pytest.raises(InvalidChannelMessageError):
                sub.next(timeout=5)


def test_channel_config_defaults_come_from_the_engine() -> None:
    assert ChannelConfig("a").normalized() == {
        "name": "a",
        "visibility": "global",
        "publish_caps": None,
        "subscribe_caps": None,
        "require_token": False,
        "reliable": True,
        "congestion": "block",
        "block_timeout_ms": 1000,
        "priority": 0,
    }
    got = ChannelConfig("a", reliable=False, congestion="drop", block_timeout=0.0015).normalized()
    assert (got["reliable"], got["congestion"], got["block_timeout_ms"]) == (False, "drop", 2)
    with pytest.raises(InvalidChannelConfigError):
        ChannelConfig("a", block_timeout=-1).normalized()
    assert ChannelConfig("a", priority=7).normalized()["priority"] == 7
    with pytest.raises(InvalidChannelConfigError):
        ChannelConfig("a", priority=8).normalized()


def test_push_handlers_on_channel_subscriptions() -> None:
    with NetNode() as node:
        records = node.channel("push/t", Reading)
        sub = records.subscribe()
        got: queue.Queue[Any] = queue.Queue()
        handler = sub.on_message(got.put, on_invalid=lambda e: got.put(e.kind))
        for i in range(50):
            records.publish(Reading(f"s{i}", i))
        node.publish("push/t", b"{}")
        assert [got.get(timeout=5) for _ in range(50)] == [Reading(f"s{i}", i) for i in range(50)]
        assert got.get(timeout=5) == "channel:invalid_message"
        # Closing the subscription ends the handler after what was queued.
        records.publish(Reading("last", 0))
        sub.close()
        assert got.get(timeout=5) == Reading("last", 0)
        deadline = time.monotonic() + 5
        while not handler.stats.closed:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert handler.stats.delivered == 52

        raw = node.subscribe_channel("push/**")
        seen: queue.Queue[Any] = queue.Queue()
        with raw.on_message(seen.put):
            node.publish("push/a/b", b"x")
            message = seen.get(timeout=5)
            assert (message.channel, message.payload, message.publisher) == ("push/a/b", b"x", 0)
        node.publish("push/a/b", b"y")  # the handler is closed: pull gets it
        assert raw.next(timeout=1).payload == b"y"
