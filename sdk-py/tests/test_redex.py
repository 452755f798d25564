"""RedEX logs through the Python SDK: appends, batches, reads, tails, reopen, bad input."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from net.errors import (
    DecodeError,
    InvalidLogArgumentError,
    InvalidLogConfigError,
    LogClosedError,
    MalformedError,
    PayloadTooLargeError,
)
from net_sdk import Redex, redex


def test_append_read_tail_and_reopen(tmp_path: Path) -> None:
    with Redex(tmp_path) as rx:
        log = rx.open_log("orders/eu", max_payload=64, fsync_every=2)
        assert log.append(b"first") == 0
        assert log.append(b"8 bytes!") == 1
        with pytest.raises(PayloadTooLargeError):
            log.append(b"x" * 65)
        assert log.append_batch([b"a", b"bb", b""]) == 2
        assert log.append_batch([]) is None
        with pytest.raises(PayloadTooLargeError):
            log.append_batch([b"ok", b"x" * 100])
        assert log.next_seq == 5 and len(log) == 5
        got = log.read_range(1, 4)
        assert [(e.seq, e.payload) for e in got] == [(1, b"8 bytes!"), (2, b"a"), (3, b"bb")]
        assert all(e.timestamp_ns > 0 for e in got)
        with log.tail(3) as tail:
            batch = tail.next_batch(10, timeout=5)
            assert batch is not None and [e.seq for e in batch] == [3, 4]
            assert tail.next_batch(10, timeout=0.05) == []
            log.sync()
            log.close()
            assert tail.next_batch(10, timeout=5) is None
        with pytest.raises(LogClosedError):
            log.append(b"late")
    with Redex(tmp_path) as rx:
        log = rx.open_log("orders/eu")
        assert log.recovery.entries == 5 and log.recovery.corrupt_seqs == []
        assert [e.payload for e in log.read_range()] == [b"first", b"8 bytes!", b"a", b"bb", b""]
        assert log.append(b"after reopen") == 5


def test_retention_sweep() -> None:
    with Redex() as rx:
        log = rx.open_log("metrics", max_events=3)
        for i in range(10):
            log.append(str(i).encode())
        assert log.sweep_retention() == 7
        assert [e.payload for e in log.read_range()] == [b"7", b"8", b"9"]


def test_bad_input() -> None:
    with Redex() as rx:
        with pytest.raises(InvalidLogArgumentError):
            rx.open_log("../escape")
        with pytest.raises(InvalidLogConfigError):
            rx.open_log("x", fsync_every=1, fsync_interval=1.0)
        with pytest.raises(InvalidLogConfigError):
            rx.open_log("x", max_payload=0)
    with pytest.raises(InvalidLogConfigError):
        redex._net.Redex('{"dir": 1}')
    with pytest.raises(MalformedError):
        redex.decode_record(b"short")
    with pytest.raises(InvalidLogArgumentError):
        redex.encode_inline_record(1, b"seven!!")
    framed = bytearray(redex.frame_event(0x81, 1, 2, b"payload"))
    framed[-1] ^= 1
    with pytest.raises(DecodeError):
        redex.unframe_event(bytes(framed))


def test_tail_sees_concurrent_appends_once_in_order() -> None:
    writers, each = 4, 500
    with Redex() as rx:
        log = rx.open_log("live")
        with log.tail(0) as tail:

            def write(w: int) -> None:
                for i in range(each):
                    log.append(f"{w}/{i}".encode())

            threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
            for t in threads:
                t.start()
            seqs: list[int] = []
            payloads: set[bytes] = set()
            while len(seqs) < writers * each:
                batch = tail.next_batch(256, timeout=10)
                assert batch, "tail stalled"
                seqs += [e.seq for e in batch]
                payloads |= {e.payload for e in batch}
            for t in threads:
                t.join()
    assert seqs == list(range(writers * each))
    assert len(payloads) == writers * each


def test_closing_a_tail_from_another_thread_ends_iteration() -> None:
    with Redex() as rx:
        log = rx.open_log("quiet")
        log.append(b"only")
        tail = log.tail(0)
        timer = threading.Timer(0.2, tail.close)
        timer.start()
        assert [e.payload for e in tail] == [b"only"]
        timer.join()
