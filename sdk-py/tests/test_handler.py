"""Push delivery in Python: handlers on the net-callbacks thread, re-entry,
exceptions, closing from inside and outside, mesh messages, and a clean exit
with live handlers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, Callable, List

import pytest
from net.errors import InvalidFilterError, MeshShutdownError
from net_sdk import Event, Handler, Mesh, Message, NetNode

KEY = bytes([7]) * 32


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


def test_every_event_in_order_on_the_callbacks_thread_and_a_handler_may_emit() -> None:
    with NetNode(shards=1) as node:
        for i in range(10):
            node.emit_raw(str(i))
        seen: List[str] = []
        threads = set()

        def on_event(event: Event) -> None:
            threads.add(threading.current_thread().name)
            seen.append(event.raw.decode())
            if event.raw == b"ping":
                node.emit_raw("pong")  # re-entry: no deadlock

        with node.on_event(on_event) as handler:
            assert isinstance(handler, Handler)
            for i in range(10, 100):
                node.emit_raw(str(i))
            node.emit_raw("ping")
            wait_until(lambda: handler.stats.delivered == 102)
        assert seen == [str(i) for i in range(100)] + ["ping", "pong"]
        assert threads == {"net-callbacks"}
        assert handler.closed and handler.stats.failed == 0


def test_an_exception_is_reported_counted_and_the_handler_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: reported.append(info.exc_value))
    with NetNode(shards=1) as node:
        calls: List[int] = []

        def on_event(event: Event) -> None:
            calls.append(event.seq)
            if event.seq % 2 == 0:
                raise ValueError(f"bad event {event.seq}")

        handler = node.on_event(on_event)
        for _ in range(10):
            node.emit_raw("x")
        wait_until(lambda: handler.stats.delivered + handler.stats.failed == 10)
        assert (handler.stats.delivered, handler.stats.failed) == (5, 5)
        assert len(reported) == 5 and all(isinstance(e, ValueError) for e in reported)
        handler.close()


def test_closing_from_inside_stops_at_once_and_gives_the_rest_back() -> None:
    with NetNode(shards=1) as node:
        for i in range(10):
            node.emit_raw(str(i))
        box: List[Handler] = []
        ready = threading.Event()
        calls: List[int] = []

        def on_event(event: Event) -> None:
            ready.wait(5)
            calls.append(event.seq)
            if len(calls) == 3:
                box[0].close()

        box.append(node.on_event(on_event))
        ready.set()
        wait_until(lambda: box[0].closed)
        time.sleep(0.02)
        assert calls == [0, 1, 2]
        # The seven it had not handed out are read by the next subscriber.
        sub = node.subscribe(limit=7)
        assert [e.seq for e in sub] == list(range(3, 10))


def test_closing_from_outside_waits_for_the_call_in_progress() -> None:
    with NetNode(shards=1) as node:
        entered = threading.Event()
        finished = threading.Event()

        def on_event(event: Event) -> None:
            entered.set()
            time.sleep(0.1)
            finished.set()

        handler = node.on_event(on_event)
        node.emit_raw("x")
        assert entered.wait(5)
        handler.close()
        assert finished.is_set() and handler.closed
        node.emit_raw("y")
        time.sleep(0.05)
        assert handler.stats.delivered == 1


def test_a_bad_filter_raises_and_a_handler_survives_garbage_collection() -> None:
    with NetNode(shards=1) as node:
        with pytest.raises(InvalidFilterError):
            node.on_event(lambda e: None, filter="{nope")
        got: List[int] = []
        node.on_event(lambda e: got.append(e.seq))  # not kept: still runs
        import gc

        gc.collect()
        node.emit_raw("x")
        wait_until(lambda: got == [0])


def test_mesh_messages_reach_a_handler_that_replies_from_inside() -> None:
    with Mesh(KEY, bind="127.0.0.1:0") as a, Mesh(KEY, bind="127.0.0.1:0") as b:
        b_id = a.connect(b.local_addr, b.public_key)

        def on_message(message: Message) -> None:
            b.send(message.from_, message.stream_id, b"re:" + message.payload)

        handler = b.on_message(on_message)
        stream = a.open_stream(b_id, 5, reliable=True)
        for i in range(10):
            stream.send_blocking(bytes([i]), timeout=5)
        replies = sorted(a.recv(timeout=5).payload for _ in range(10))  # type: ignore[union-attr]
        assert replies == [b"re:" + bytes([i]) for i in range(10)]
        b.close()
        wait_until(lambda: handler.closed)
        assert handler.stats.delivered == 10
        with pytest.raises(MeshShutdownError):
            b.on_message(lambda m: None)


@pytest.mark.parametrize("round", range(3))
def test_exit_with_live_handlers_is_clean(round: int) -> None:
    code = """
        import threading, time
        from net_sdk import NetNode, Mesh
        node = NetNode(shards=2)
        calls = []
        def slow(event):
            calls.append(event.seq)
            time.sleep(0.01)
            node.emit_raw("again")  # keeps it busy until exit
        node.on_event(slow)
        mesh = Mesh(bytes([7]) * 32, bind="127.0.0.1:0")
        mesh.on_message(lambda m: None)
        def emitter():
            while True:
                node.emit_raw("tick")
                time.sleep(0.001)
        threading.Thread(target=emitter, daemon=True).start()
        node.emit_raw("start")
        deadline = time.monotonic() + 5
        while len(calls) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        print("calls", len(calls) >= 20, flush=True)
    """
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    assert child.returncode == 0, child.stderr
    assert "calls True" in child.stdout
    assert "FATAL" not in child.stderr and "Fatal" not in child.stderr
