"""Cancellation: a CancelToken cancelled from another thread ends a blocked
wait at once (CancelledError, kind call:cancelled) and takes nothing."""

from __future__ import annotations

import threading

import pytest
from net_sdk import CancelledError, CancelToken, Mesh, NetError, NetNode

KEY = bytes([7]) * 32


def cancel_soon(token: CancelToken) -> threading.Timer:
    timer = threading.Timer(0.05, token.cancel)
    timer.start()
    return timer


def test_a_cancelled_subscription_wait_raises_and_takes_nothing() -> None:
    with NetNode(shards=2) as node:
        sub = node.subscribe()
        token = CancelToken()
        timer = cancel_soon(token)
        with pytest.raises(CancelledError) as info:
            sub.next_batch(16, timeout=None, cancel=token)  # no timeout: only the cancel ends it
        timer.join()
        assert isinstance(info.value, NetError) and info.value.kind == "call:cancelled"
        assert token.cancelled
        node.emit_raw(b"after")
        with pytest.raises(CancelledError):
            sub.next_batch(16, timeout=5, cancel=token)  # sticky
        batch = sub.next_batch(16, timeout=5)
        assert batch is not None and [e.raw for e in batch] == [b"after"]


def test_a_cancelled_recv_raises_and_a_later_message_still_comes() -> None:
    with Mesh(KEY, bind="127.0.0.1:0") as a, Mesh(KEY, bind="127.0.0.1:0") as b:
        peer = a.connect(b.local_addr, b.public_key)
        token = CancelToken()
        timer = cancel_soon(token)
        with pytest.raises(CancelledError):
            b.recv(cancel=token)
        timer.join()
        a.send(peer, 3, b"later")
        message = b.recv(timeout=5)
        assert message is not None and message.payload == b"later"


def test_many_threads_cancel_many_waits() -> None:
    with NetNode(shards=2) as node:
        tokens = [CancelToken() for _ in range(8)]
        errors: list[BaseException] = []

        def wait(token: CancelToken) -> None:
            try:
                node.subscribe().next_batch(1, timeout=None, cancel=token)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=wait, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for token in tokens:
            token.cancel()
        for t in threads:
            t.join(10)
        assert all(not t.is_alive() for t in threads)
        assert len(errors) == 8 and all(isinstance(e, CancelledError) for e in errors)


def test_a_cancelled_blocking_send_tail_watch_and_netdb_wait() -> None:
    from net_sdk import NetDb, Redex

    with Mesh(KEY, bind="127.0.0.1:0") as a:
        with Mesh(KEY, bind="127.0.0.1:0") as b:
            peer = a.connect(b.local_addr, b.public_key)
        # b is gone: nothing is acknowledged, a window of one stays full.
        stream = a.open_stream(peer, 5, reliable=True, window=1)
        stream.send(b"first")
        for send in (
            lambda token: stream.send_blocking(b"second", timeout=None, cancel=token),
            lambda token: a.send_blocking(peer, 5, b"third", timeout=None, cancel=token),
        ):
            token = CancelToken()
            timer = cancel_soon(token)
            with pytest.raises(CancelledError):
                send(token)
            timer.join()
        assert stream.stats().sent == 1

    with Redex() as rx:
        tail = rx.open_log("live").tail(0)
        token = CancelToken()
        timer = cancel_soon(token)
        with pytest.raises(CancelledError):
            tail.next_batch(16, timeout=None, cancel=token)
        timer.join()

    with NetDb() as db:
        watch = db.tasks.watch()
        assert watch.next(timeout=5) == []
        token = CancelToken()
        timer = cancel_soon(token)
        with pytest.raises(CancelledError):
            watch.next(timeout=None, cancel=token)
        timer.join()
        written = db.tasks.create(1, "a")
        db.tasks.wait_for_token(written)
        token = CancelToken()
        timer = cancel_soon(token)
        far = type(written)(written.model, written.seq + 1000)
        with pytest.raises(CancelledError):
            db.tasks.wait_for_token(far, timeout=60, cancel=token)
        timer.join()
