"""Regression tests for defects found by an adversarial try of the SDK: lost
events on ``break``, aborts at exit, GIL deadlocks, unchecked numbers, wrong
error areas, RedEX directories shared by two writers. Crash, exit and hang
cases run in child processes."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from net.errors import (
    InvalidArgumentError,
    InvalidDbArgumentError,
    InvalidLogArgumentError,
    InvalidLogConfigError,
    InvalidMeshArgumentError,
    LogLockedError,
    NetError,
)
from net_sdk import Mesh, NetDb, NetNode, Redex

KEY = bytes([7]) * 32


def run_child(code: str, timeout: float = 60.0, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter with this test's import path."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        **kw,
    )


# -- a subscription never takes more than it delivers ---------------------------


def test_break_gives_back_what_the_iterator_had_not_yielded() -> None:
    with NetNode(shards=1) as node:
        node.emit_raw_batch([f"e{i}" for i in range(10)])
        sub = node.subscribe()
        for event in sub:
            assert event.raw == b"e0"
            break
        stats = node.stats()
        assert (stats.ingested, stats.dropped, stats.buffered) == (10, 0, 9)
        assert [e.raw for e in node.poll(100).events] == [f"e{i}".encode() for i in range(1, 10)]
        # The same subscription carries on from where its consumer stopped.
        assert [e.raw for e in sub.next_batch(100, timeout=1)] == [f"e{i}".encode() for i in range(1, 10)]


def test_an_exception_in_the_loop_and_close_give_back_too() -> None:
    with NetNode(shards=1) as node:
        node.emit_raw_batch([b"a", b"b", b"c"])
        sub = node.subscribe()
        with pytest.raises(RuntimeError):
            for _ in sub:
                raise RuntimeError("consumer failed")
        assert node.stats().buffered == 2
        it = iter(sub)
        assert next(it).raw == b"b"
        sub.close()  # the live iterator still holds "c"
        assert [e.raw for e in node.poll(10).events] == [b"c"]


# -- Python exits cleanly with threads blocked in Net waits ------------------------

EXIT_SCRIPT = """
import threading, time, sys
from net_sdk import Mesh, NetNode, Redex

node = NetNode(shards=1)
sub = node.subscribe()
mesh = Mesh(bytes([7]) * 32, bind="127.0.0.1:0")
log = Redex("{dir}").open_log("exit")
tail = log.tail(0)

def iterate():
    for _ in sub:
        pass

def receive():
    while True:
        mesh.recv()

def follow():
    for _ in tail:
        pass

def produce():
    # Keeps the waiting threads coming back from the engine while Python exits.
    i = 0
    while True:
        node.emit_raw(b"x")
        i += 1
        if i % 50 == 0:
            time.sleep(0.001)

for target in (iterate, receive, follow, produce):
    threading.Thread(target=target, daemon=True).start()

class SlowToFinalize:
    def __del__(self):
        # Runs while the interpreter finalizes, so the waiting threads come
        # back from the engine during finalization (the window that aborted).
        time.sleep(0.5)

slow = SlowToFinalize()

# Appended, never closed: still on disk after the exit.
for i in range(100):
    log.append(b"entry %d" % i)
time.sleep(0.3)
print("exiting", flush=True)
"""


@pytest.mark.parametrize("round", range(4))
def test_exit_with_daemon_threads_blocked_in_net_waits_is_clean(tmp_path: Path, round: int) -> None:
    # Before: SIGABRT ("FATAL: exception not rethrown") when a waiting thread
    # came back from the engine into the finalizing interpreter.
    child = run_child(EXIT_SCRIPT.replace("{dir}", str(tmp_path)))
    assert child.returncode == 0, f"exit {child.returncode}: {child.stderr[-2000:]}"
    assert "FATAL" not in child.stderr
    assert child.stdout.strip() == "exiting"
    with Redex(tmp_path) as rx:
        log = rx.open_log("exit")
        assert log.recovery.entries == 100 and not log.recovery.corrupt_seqs
        assert log.read_range(99, 100)[0].payload == b"entry 99"


# -- no engine lock is waited on while holding the GIL ---------------------------


def test_reading_cursor_and_position_while_another_thread_iterates_never_deadlocks() -> None:
    child = run_child(
        """
        import threading, time
        from net_sdk import NetNode, Redex

        node = NetNode(shards=1)
        sub = node.subscribe()
        tail = Redex().open_log("t").tail(0)
        threading.Thread(target=lambda: [None for _ in sub], daemon=True).start()
        threading.Thread(target=lambda: [None for _ in tail], daemon=True).start()
        time.sleep(0.2)
        start = time.monotonic()
        for i in range(2000):
            assert sub.cursor.startswith("v1.")
            assert tail.position == 0
        print("done", round(time.monotonic() - start, 3), flush=True)
        """,
        timeout=30,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.startswith("done")


# -- numbers, timeouts and inputs get Net's typed errors ------------------------


def test_out_of_range_numbers_raise_the_areas_typed_error_not_overflow() -> None:
    with NetNode(shards=1) as node:
        sub = node.subscribe()
        for bad in (-1, 1 << 64, 1 << 200):
            with pytest.raises(InvalidArgumentError) as info:
                node.poll(bad)
            assert isinstance(info.value, ValueError) and info.value.kind == "bus:invalid_argument"
            with pytest.raises(InvalidArgumentError):
                sub.next_batch(bad, timeout=0)
        with pytest.raises(InvalidArgumentError):
            node.poll(0)
        with pytest.raises(TypeError):
            node.poll(1.5)  # type: ignore[arg-type]
        for timeout in (math.nan, -1.0, -math.inf):
            with pytest.raises(InvalidArgumentError) as info:
                sub.next_batch(1, timeout=timeout)
            assert "timeout" in str(info.value)
        # Infinity and huge values mean "no limit": here something is waiting.
        node.emit_raw(b"x")
        assert [e.raw for e in sub.next_batch(1, timeout=math.inf)] == [b"x"]
        node.emit_raw(b"y")
        assert [e.raw for e in sub.next_batch(1, timeout=1e300)] == [b"y"]


def test_mesh_windows_retries_and_timeouts_are_checked_by_the_engine() -> None:
    with Mesh(KEY, bind="127.0.0.1:0") as a, Mesh(KEY, bind="127.0.0.1:0") as b:
        peer = a.connect(b.local_addr, b.public_key)
        stream = a.open_stream(peer, 9, reliable=True)
        for bad in (-1, 1 << 32):
            with pytest.raises(InvalidMeshArgumentError):
                a.open_stream(peer, 10, reliable=True, window=bad)
            with pytest.raises(InvalidMeshArgumentError):
                stream.send_with_retry(b"x", bad)
        with pytest.raises(InvalidMeshArgumentError):
            a.recv(timeout=math.nan)
        with pytest.raises(InvalidMeshArgumentError):
            stream.send_blocking(b"x", timeout=-0.5)


def test_connecting_a_node_to_itself_is_refused_at_once() -> None:
    with Mesh(KEY, bind="127.0.0.1:0", handshake_timeout=30) as a:
        start = time.monotonic()
        with pytest.raises(InvalidMeshArgumentError):
            a.connect(a.local_addr, a.public_key)
        # Not a speed target: before, this waited out the 30 s handshake timeout.
        assert time.monotonic() - start < 15


def test_a_bad_connect_address_is_a_mesh_error() -> None:
    with Mesh(KEY, bind="127.0.0.1:0") as a:
        with pytest.raises(InvalidMeshArgumentError) as info:
            a.connect("not an address", a.public_key)
        assert info.value.kind == "mesh:invalid_argument"


def test_emit_raw_refuses_anything_that_is_not_bytes() -> None:
    with NetNode(shards=1) as node:
        for bad in (5, None, 1.5, [1, 2]):
            with pytest.raises(TypeError):
                node.emit_raw(bad)  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                node.emit_raw_batch([b"ok", bad])  # type: ignore[list-item]
        assert node.stats().ingested == 0


def test_netdb_writes_need_their_fields_and_ids_stay_exact() -> None:
    with NetDb() as db:
        with pytest.raises(InvalidDbArgumentError) as info:
            db.tasks.create(7, None)  # type: ignore[arg-type]
        assert "title" in str(info.value)
        for bad_id in (-1, 1 << 64):
            with pytest.raises(InvalidDbArgumentError):
                db.tasks.create(bad_id, "t")
        for wrong in ("7", 7.0, None, True):
            with pytest.raises(TypeError):
                db.tasks.create(wrong, "t")  # type: ignore[arg-type]
        with pytest.raises(InvalidDbArgumentError):
            db.tasks.wait_for_token(db.tasks.create(1, "t"), timeout=math.nan)
        big = (1 << 64) - 1
        db.tasks.wait_for_token(db.tasks.create(big, "last", ts=big - 1))
        db.tasks.wait_for_token(db.tasks.create((1 << 53) + 1, "past 2^53", ts=(1 << 53) + 3))
        found = db.tasks.find_unique(big)
        assert found is not None and (found.id, found.created_ns) == (big, big - 1)
        assert [t.id for t in db.tasks.find_many()] == [1, (1 << 53) + 1, big]
        snapshot = db.snapshot()
    with NetDb.restore(snapshot) as restored:
        assert restored.tasks.find_unique((1 << 53) + 1).created_ns == (1 << 53) + 3  # type: ignore[union-attr]


# -- RedEX: one writer per log directory --------------------------------------


def test_a_second_redex_on_one_directory_is_refused_and_released_on_close(tmp_path: Path) -> None:
    first = Redex(tmp_path)
    log = first.open_log("orders")
    log.append(b"one")
    second = Redex(tmp_path)
    with pytest.raises(LogLockedError) as info:
        second.open_log("orders")
    assert info.value.kind == "redex:locked"
    assert log.append(b"two") == 1
    first.close()
    again = second.open_log("orders")
    assert again.append(b"three") == 2
    second.close()


def test_another_process_holding_a_log_is_refused_and_its_death_releases_it(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from net_sdk import Redex
                log = Redex({str(tmp_path)!r}).open_log("held")
                log.append(b"child")
                print("holding", flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        with pytest.raises(LogLockedError):
            Redex(tmp_path).open_log("held")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    rx = Redex(tmp_path)
    log = rx.open_log("held")
    assert log.recovery.entries == 1 and log.append(b"parent") == 1
    rx.close()


def test_redex_config_and_argument_errors_name_redex(tmp_path: Path) -> None:
    with Redex(tmp_path) as rx:
        with pytest.raises(InvalidLogConfigError):
            rx.open_log("busy", fsync_interval=0)
        with pytest.raises(InvalidLogArgumentError):
            rx.open_log("../escape")
        log = rx.open_log("ok")
        with pytest.raises(InvalidLogArgumentError):
            log.read_range(-1, 5)
        with pytest.raises(InvalidLogArgumentError):
            log.tail(0).next_batch(1, timeout=math.nan)


def test_every_error_is_a_net_error_with_an_area_prefix() -> None:
    for cls in (InvalidDbArgumentError, InvalidLogArgumentError, InvalidMeshArgumentError):
        assert issubclass(cls, NetError) and issubclass(cls, ValueError)
    assert json.loads(json.dumps({"k": LogLockedError.kind})) == {"k": "redex:locked"}
