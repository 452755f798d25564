"""Behaviour of the Python SDK: happy path, typed errors, lifecycle, threads."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from net_sdk import (
    BackpressureError,
    EventTooLargeError,
    InvalidConfigError,
    InvalidCursorError,
    InvalidFilterError,
    InvalidJsonError,
    NetError,
    NetNode,
    ShutdownError,
)


def test_seed_quick_start_shape() -> None:
    node = NetNode(shards=4)
    node.emit({"token": "hello", "index": 0})
    seen = [event.raw for event in node.subscribe(limit=1)]
    assert seen == [b'{"token":"hello","index":0}']
    node.shutdown()


def test_emit_variants_poll_and_cursor() -> None:
    with NetNode(shards=1) as node:
        assert node.emit({"a": 1}).seq == 0
        assert node.emit_str('{"b": 2}').seq == 1
        assert node.emit_raw("text").seq == 2
        assert node.emit_batch([1, 2]) == 2
        assert node.emit_str_batch(["[3]"]) == 1
        assert node.emit_raw_batch([b"x", "y", bytearray(b"z")]) == 3
        page = node.poll(limit=4)
        assert [e.text for e in page.events] == ['{"a":1}', '{"b": 2}', "text", "1"]
        assert page.has_more
        rest = node.poll(limit=100, cursor=page.next_cursor)
        assert [e.raw for e in rest.events] == [b"2", b"[3]", b"x", b"y", b"z"]
        assert node.stats().buffered == 5  # the first page was acknowledged
        assert page.events[0].json() == {"a": 1}
        assert node.poll(filter={"field": "a", "eq": 1}).events == []  # acknowledged already


def test_typed_errors() -> None:
    with pytest.raises(InvalidConfigError) as info:
        NetNode(shards=0)
    assert info.value.kind == "bus:invalid_config" and info.value.code == -10
    with pytest.raises(InvalidConfigError):
        NetNode.from_config('{"shards": 4}')
    with pytest.raises(InvalidConfigError):
        NetNode(backpressure="sometimes")
    node = NetNode(shards=1, max_event_size=8, ring_buffer_capacity=1, backpressure="fail")
    with pytest.raises(EventTooLargeError):
        node.emit_raw(b"123456789")
    with pytest.raises(InvalidJsonError):
        node.emit_str("{nope")
    with pytest.raises(InvalidCursorError):
        node.poll(cursor="garbage")
    with pytest.raises(InvalidFilterError):
        node.poll(filter={"xor": []})
    node.emit_raw(b"1")
    with pytest.raises(BackpressureError) as bp:
        node.emit_raw(b"2")
    assert isinstance(bp.value, NetError) and str(bp.value).startswith("bus:backpressure: ")
    # Area, reason and detail come from the engine, not from the message text.
    assert (bp.value.area, bp.value.reason, bp.value.code) == ("bus", "backpressure", -11)
    assert str(bp.value) == f"bus:backpressure: {bp.value.detail}" and bp.value.detail
    with pytest.raises(BackpressureError):
        node.emit_raw_batch([b"x"])
    with pytest.raises(TypeError):
        node.emit({"not": {1, 2}})


def test_shutdown_is_final_but_stats_answer() -> None:
    node = NetNode(shards=2)
    node.emit_raw(b"kept")
    node.shutdown()
    node.shutdown()
    for call in (
        lambda: node.emit({"a": 1}),
        lambda: node.emit_raw(b"x"),
        lambda: node.emit_batch([1]),
        lambda: node.poll(),
        lambda: node.flush(),
        lambda: node.subscribe(),
    ):
        with pytest.raises(ShutdownError):
            call()
    assert node.stats().ingested == 1
    assert node.health().status == "shutdown"


@dataclass
class Reading:
    celsius: float


def test_typed_subscriptions_dataclass_and_pydantic() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Model(pydantic.BaseModel):
        celsius: float

    with NetNode(shards=1) as node:
        node.emit({"celsius": 21.5})
        node.emit({"celsius": 22})
        assert list(node.subscribe_typed(Reading, limit=2)) == [Reading(21.5), Reading(22)]
        node.emit({"celsius": 3})
        assert [m.celsius for m in node.subscribe_typed(Model, limit=1)] == [3.0]
        node.emit({"fahrenheit": 1})
        with pytest.raises(InvalidJsonError):
            list(node.subscribe_typed(Model, limit=1))


def test_subscription_waits_without_the_gil_and_closes() -> None:
    with NetNode(shards=1) as node:
        sub = node.subscribe()
        assert sub.next_batch(timeout=0.05) == []
        producer = threading.Thread(target=lambda: (time.sleep(0.05), node.emit_raw(b"late")))
        producer.start()
        batch = sub.next_batch(timeout=5)
        producer.join()
        assert batch is not None and [e.raw for e in batch] == [b"late"]
        closer = threading.Timer(0.05, sub.close)
        closer.start()
        assert sub.next_batch(timeout=5) is None
        assert list(sub) == []


def test_many_threads_emit_while_another_shuts_down() -> None:
    node = NetNode(shards=4, ring_buffer_capacity=64)
    sub = node.subscribe()
    seen: set[tuple[int, int]] = set()

    def consume() -> None:
        for event in sub:
            key = (event.shard, event.seq)
            assert key not in seen
            seen.add(key)

    consumer = threading.Thread(target=consume)
    consumer.start()
    receipts = [0] * 6

    def produce(i: int) -> None:
        while True:
            try:
                node.emit_raw_batch([b"payload"] * 8)
            except ShutdownError:
                return
            receipts[i] += 8

    producers = [threading.Thread(target=produce, args=(i,)) for i in range(6)]
    for p in producers:
        p.start()
    time.sleep(0.1)
    node.shutdown()
    for p in producers:
        p.join()
    consumer.join(timeout=30)
    stats = node.stats()
    assert stats.ingested == sum(receipts)
    assert len(seen) + stats.dropped == sum(receipts)


def test_identity_and_wire_surface() -> None:
    from net_sdk import BadSignatureError, Identity, InvalidSeedError, MalformedError, verify
    from net_sdk.wire import NetHeader, RoutingHeader

    ident = Identity.generate()
    again = Identity.from_seed(ident.seed)
    assert again.public_key == ident.public_key and again.node_id == ident.node_id
    assert "seed" not in repr(ident)
    sig = bytearray(ident.sign(b"m"))
    sig[0] ^= 1
    with pytest.raises(BadSignatureError):
        verify(ident.public_key, b"m", bytes(sig))
    with pytest.raises(InvalidSeedError):
        Identity.from_seed(b"short")
    hdr = NetHeader(session_id=2**64 - 1, payload_len=3, nonce=bytes(range(12)))
    assert NetHeader.decode(hdr.encode()) == hdr
    assert RoutingHeader.decode(RoutingHeader(ttl=3, dest_id=7).encode()).dest_id == 7
    with pytest.raises(MalformedError):
        NetHeader.decode(b"short")


def test_netdb_crud_snapshot_and_errors(tmp_path: Any) -> None:
    from net_sdk import (
        FoldStoppedError,
        InvalidDbArgumentError,
        LogClosedError,
        ModelMissingError,
        NetDb,
        Task,
        WriteToken,
    )

    with NetDb() as db:
        t = db.tasks.create(1, "plan", ts=10)
        db.tasks.wait_for_token(t)
        db.tasks.wait_for_token(db.tasks.complete(1, ts=20))
        assert db.tasks.find_unique(1) == Task(1, "plan", "completed", 10, 20)
        assert db.tasks.find_unique(2) is None
        db.memories.wait_for_token(db.memories.store(5, "note", ["b", "a"], "chat"))
        assert db.memories.find_many(tag="a")[0].tags == ["a", "b"]
        assert db.tasks.count_where(status="completed") == 1
        with pytest.raises(InvalidDbArgumentError):
            db.tasks.find_many(bogus=1)
        snapshot = db.snapshot()
    restored = NetDb.restore(snapshot)
    assert restored.tasks.find_unique(1) == Task(1, "plan", "completed", 10, 20)
    assert restored.memories.exists_where(source="chat")
    restored.close()
    with pytest.raises(LogClosedError):
        restored.tasks.create(9, "after close")
    with pytest.raises(FoldStoppedError):
        restored.tasks.wait_for_token(WriteToken("tasks", 99))
    only_tasks = NetDb(str(tmp_path), tasks=True, memories=False)
    with pytest.raises(ModelMissingError):
        only_tasks.memories.count_where()
    only_tasks.tasks.wait_for_token(only_tasks.tasks.create(1, "durable"))
    only_tasks.close()
    reopened = NetDb(str(tmp_path), memories=False)
    assert reopened.tasks.count_where() == 1
    reopened.close()


def test_netdb_watch_yields_current_then_changes_and_ends() -> None:
    from net_sdk import NetDb

    db = NetDb()
    watch = db.tasks.watch(status="completed")
    assert watch.next(timeout=5) == []  # the current (empty) result
    db.tasks.wait_for_token(db.tasks.create(1, "a"))
    assert watch.next(timeout=0.1) is None  # no change in the completed set
    db.tasks.complete(1)
    changed = watch.next(timeout=5)
    assert changed is not None and [t.id for t in changed] == [1]
    closer = threading.Timer(0.05, db.close)
    closer.start()
    assert list(watch) == []  # ends when the database closes
