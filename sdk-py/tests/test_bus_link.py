"""The bus over the mesh through the Python SDK: a send link on one node carries a
bus's events into a bus on a peer through a receive link. Real sockets on
127.0.0.1, two nodes in one process."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import FrozenInstanceError
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from net import Bus
from net.errors import (
    InvalidMeshArgumentError,
    InvalidMeshConfigError,
    MeshShutdownError,
    ShutdownError,
    UnknownPeerError,
)
from net_sdk import BusLink, BusLinkStats, Mesh, NetNode

KEY = bytes([7]) * 32
#: The loaded 2-core test machine gets generous deadlines.
DEADLINE = 10.0


def wait_until(condition: Callable[[], bool], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def node(**options: Any) -> Mesh:
    return Mesh(KEY, bind="127.0.0.1:0", **options)


@pytest.fixture
def pair() -> Iterator[Tuple[Mesh, Mesh]]:
    """Node a connected to node b."""
    with node() as a, node() as b:
        assert a.connect(b.local_addr, b.public_key) == b.node_id
        yield a, b


@pytest.fixture
def buses() -> Iterator[Tuple[NetNode, NetNode]]:
    """A bus to send from (on a) and one to receive into (on b)."""
    with NetNode() as outbox, NetNode() as inbox:
        yield outbox, inbox


def poll_n(bus: NetNode, n: int, timeout: float = DEADLINE) -> List[bytes]:
    """Exactly ``n`` events from ``bus`` (polled, acknowledging as it goes), or an
    assertion naming how many came in time; then checks nothing more arrives."""
    got: List[bytes] = []
    cursor: Optional[str] = None
    deadline = time.monotonic() + timeout
    while len(got) < n:
        assert time.monotonic() < deadline, f"received {len(got)} of {n} events"
        page = bus.poll(1000, cursor)
        cursor = page.next_cursor
        got.extend(e.raw for e in page.events)
        if not page.events:
            time.sleep(0.002)
    assert len(got) == n, f"received {len(got)} events, wanted {n}"
    return got


def test_events_cross_in_order_with_exact_bytes(
    pair: Tuple[Mesh, Mesh], buses: Tuple[NetNode, NetNode]
) -> None:
    a, b = pair
    outbox, inbox = buses
    # Mixed sizes: an empty event, one over a message (16 KiB) that travels in pieces.
    sent = [f"event {i} ".encode() * (i % 7) for i in range(198)]
    sent[10] = b""
    sent[100] = bytes(range(256)) * 80  # 20 KiB of every byte value
    sent.append(b"x" * 70_000)  # bigger than a whole stream message
    sent.append(b'{"json": true}')
    assert len(sent) == 200

    with b.receive_bus(inbox, a.node_id) as into, a.send_bus(outbox, b.node_id) as out:
        assert isinstance(out, BusLink) and repr(out).startswith("BusLink(direction='send'")
        assert (out.direction, out.peer, out.stream_id) == ("send", b.node_id, 6452595)
        assert (into.direction, into.peer, into.stream_id) == ("receive", a.node_id, 6452595)
        with inbox.subscribe(limit=len(sent)) as sub:
            for i, payload in enumerate(sent):
                if i % 50 == 0:
                    outbox.emit_raw_batch(sent[i : i + 10])
                elif i % 50 >= 10:
                    outbox.emit_raw(payload)
            got: List[bytes] = []
            deadline = time.monotonic() + DEADLINE
            while len(got) < len(sent):
                left = deadline - time.monotonic()
                assert left > 0, f"received {len(got)} of {len(sent)} events"
                batch = sub.next_batch(256, timeout=left)
                assert batch is not None
                got.extend(e.raw for e in batch)
        assert got == sent

        total = sum(len(p) for p in sent)
        # The sender counts a batch once the peer acknowledged it, which may come
        # a moment after the events arrived: wait for it. (The receiving link
        # counts an event before a reader can see it.)
        wait_until(lambda: out.stats().events == len(sent))
        for link, direction, peer in [(out, "send", b.node_id), (into, "receive", a.node_id)]:
            stats = link.stats()
            assert isinstance(stats, BusLinkStats)
            assert (stats.direction, stats.peer, stats.stream_id) == (direction, peer, 6452595)
            assert (stats.events, stats.bytes) == (200, total)
            assert stats.messages >= 5  # the 70 kB event alone takes five
            assert (stats.rejected, stats.malformed) == (0, 0)
            assert stats.running and stats.error is None
        assert out.stats().messages == into.stats().messages
        with pytest.raises(FrozenInstanceError):
            stats.events = 0  # type: ignore[misc]
        # Link streams are not the application's: nothing reached recv.
        assert b.recv(timeout=0.05) is None
    assert not out.stats().running and not into.stats().running


def test_events_from_many_threads_arrive_exactly_once(
    pair: Tuple[Mesh, Mesh], buses: Tuple[NetNode, NetNode]
) -> None:
    a, b = pair
    outbox, inbox = buses
    producers, each = 4, 250
    errors: List[BaseException] = []

    def produce(p: int) -> None:
        try:
            for i in range(each):
                outbox.emit({"p": p, "i": i})
        except BaseException as e:
            errors.append(e)

    total = producers * each
    with b.receive_bus(inbox, a.node_id, stream_id=9) as into, a.send_bus(
        outbox, b.node_id, stream_id=9, max_batch=64, message_bytes=512
    ) as out:
        threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        got = poll_n(inbox, total)
        # Everything acknowledged, and the receiver emitted each event once.
        wait_until(lambda: out.stats().events == total)
        assert into.stats().events == total
    values = [json.loads(raw) for raw in got]
    assert sorted((v["p"], v["i"]) for v in values) == [(p, i) for p in range(producers) for i in range(each)]
    for p in range(producers):
        assert [v["i"] for v in values if v["p"] == p] == list(range(each))


def test_link_options_reach_the_engine(pair: Tuple[Mesh, Mesh], buses: Tuple[NetNode, NetNode]) -> None:
    a, b = pair
    outbox, inbox = buses
    with b.link_bus(inbox, a.node_id, "receive", stream_id=(1 << 64) - 1) as into, a.link_bus(
        outbox, b.node_id, "send", stream_id=(1 << 64) - 1, max_batch=1, message_bytes=6
    ) as out:
        assert into.stream_id == out.stream_id == (1 << 64) - 1  # ids use all 64 bits
        for text in ["a", "bb", "a longer event, in pieces of six bytes"]:
            outbox.emit_raw(text)
        assert poll_n(inbox, 3) == [b"a", b"bb", b"a longer event, in pieces of six bytes"]
        wait_until(lambda: out.stats().events == 3)
        assert out.stats().messages > 3  # one batch per event, the last one split


def test_the_low_level_bus_and_raw_options(pair: Tuple[Mesh, Mesh]) -> None:
    a, b = pair
    outbox, inbox = Bus(), NetNode()
    try:
        with b.receive_bus(inbox, a.node_id, stream_id=12), BusLink.from_config(
            a, outbox, b.node_id, '{"direction": "send", "stream_id": 12}'
        ):
            outbox.emit_json('{"low": "level"}')
            assert poll_n(inbox, 1) == [b'{"low": "level"}']
    finally:
        outbox.shutdown()
        inbox.shutdown()


def test_oversized_events_are_rejected_by_the_receiving_bus(pair: Tuple[Mesh, Mesh]) -> None:
    a, b = pair
    with NetNode() as outbox, NetNode(max_event_size=100) as inbox:
        with b.receive_bus(inbox, a.node_id) as into, a.send_bus(outbox, b.node_id):
            outbox.emit_raw(b"y" * 101)
            outbox.emit_raw(b"fits")
            assert poll_n(inbox, 1) == [b"fits"]
            wait_until(lambda: into.stats().rejected == 1)
            stats = into.stats()
            assert (stats.events, stats.bytes, stats.running) == (1, 4, True)


def test_link_errors_are_typed(pair: Tuple[Mesh, Mesh], buses: Tuple[NetNode, NetNode]) -> None:
    a, b = pair
    outbox, inbox = buses
    stranger = (1 << 64) - 1
    with pytest.raises(UnknownPeerError) as unknown:
        a.send_bus(outbox, stranger)
    assert unknown.value.kind == "mesh:unknown_peer"
    b.receive_bus(inbox, stranger).close()  # a receive link needs no session yet

    with b.receive_bus(inbox, a.node_id, stream_id=5):
        with pytest.raises(InvalidMeshConfigError) as claimed:
            b.receive_bus(inbox, a.node_id, stream_id=5)
        assert claimed.value.kind == "mesh:invalid_config"
        b.receive_bus(inbox, a.node_id, stream_id=6).close()  # another stream is free
    b.receive_bus(inbox, a.node_id, stream_id=5).close()  # and a closed link frees the stream

    # A link's streams are the bus link's own: the application's stream 7,
    # opened with a window of one, does not stand in the way of a link on 7.
    app = a.open_stream(b.node_id, 7, reliable=True, window=1)
    with a.send_bus(outbox, b.node_id, stream_id=7) as on_seven:
        assert on_seven.stats().stream_id == 7
    assert app.stats().window == 1

    bad: List[Dict[str, Any]] = [
        {"max_batch": 0},
        {"max_batch": 65537},
        {"message_bytes": 5},
        {"message_bytes": 65424},
        {"stream_id": -1},
    ]
    for options in bad:
        with pytest.raises(InvalidMeshConfigError):
            a.send_bus(outbox, b.node_id, **options)
        with pytest.raises(InvalidMeshConfigError):
            b.receive_bus(inbox, a.node_id, **options)
    with pytest.raises(InvalidMeshConfigError):
        a.link_bus(outbox, b.node_id, "both")  # type: ignore[arg-type]
    with pytest.raises(InvalidMeshConfigError):
        BusLink.from_config(a, outbox, b.node_id, {"direction": "send", "colour": "blue"})
    with pytest.raises(InvalidMeshConfigError):
        BusLink.from_config(a, outbox, b.node_id, "not json")
    with pytest.raises(TypeError):
        a.send_bus("a bus", b.node_id)  # type: ignore[arg-type]
    # Out-of-range numbers are Net's typed error (also a ValueError), not OverflowError.
    with pytest.raises(InvalidMeshArgumentError) as info:
        a.send_bus(outbox, -1)
    assert isinstance(info.value, ValueError) and info.value.kind == "mesh:invalid_argument"

    outbox.shutdown()
    with pytest.raises(ShutdownError) as down:
        a.send_bus(outbox, b.node_id)
    assert down.value.kind == "bus:shutdown"
    b.close()
    with pytest.raises(MeshShutdownError) as closed:
        b.receive_bus(inbox, a.node_id)
    assert closed.value.kind == "mesh:shutdown"


def test_close_is_idempotent_and_stops_the_link(
    pair: Tuple[Mesh, Mesh], buses: Tuple[NetNode, NetNode]
) -> None:
    a, b = pair
    outbox, inbox = buses
    into = b.receive_bus(inbox, a.node_id)
    out = a.send_bus(outbox, b.node_id)
    assert out.stats().running and into.stats().running
    out.close()
    out.close()
    stats = out.stats()
    assert not stats.running and stats.error is None  # closed, not failed
    with into:
        pass
    into.close()  # after the context manager closed it
    assert not into.stats().running
    # The stream is free again for a new pair of links.
    with b.receive_bus(inbox, a.node_id), a.send_bus(outbox, b.node_id):
        outbox.emit_raw(b"again")
        assert poll_n(inbox, 1) == [b"again"]


def test_a_link_ends_when_its_node_or_bus_shuts_down(
    pair: Tuple[Mesh, Mesh], buses: Tuple[NetNode, NetNode]
) -> None:
    a, b = pair
    outbox, inbox = buses
    into = b.receive_bus(inbox, a.node_id)
    out = a.send_bus(outbox, b.node_id)
    outbox.emit_raw(b"before")
    assert poll_n(inbox, 1) == [b"before"]

    b.close()  # the receiving node goes away; the link object stays usable
    wait_until(lambda: not into.stats().running)
    error = into.stats().error
    assert error is not None and error.startswith("mesh:shutdown"), error
    into.close()
    into.close()

    outbox.shutdown()  # the sending bus goes away under its link
    wait_until(lambda: not out.stats().running)
    error = out.stats().error
    assert error is not None and error.startswith("bus:shutdown"), error
    out.close()


def test_dropping_a_link_closes_it(pair: Tuple[Mesh, Mesh], buses: Tuple[NetNode, NetNode]) -> None:
    a, b = pair
    _, inbox = buses
    b.receive_bus(inbox, a.node_id, stream_id=30)  # never kept: closed when collected
    b.receive_bus(inbox, a.node_id, stream_id=30).close()  # so the stream is free again
