"""The encrypted mesh through the Python SDK: two nodes in one process, every error
path, threads, Ctrl-C during blocking calls, and a Rust node in another process."""

from __future__ import annotations

import itertools
import json
import select
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
from net.errors import (
    HandshakeFailedError,
    InvalidArgumentError,
    InvalidKeyError,
    InvalidMeshConfigError,
    InvalidSeedError,
    MeshIoError,
    MeshShutdownError,
    MeshTimeoutError,
    MessageTooLargeError,
    NetError,
    StreamBackpressureError,
    UnknownPeerError,
)
from net_sdk import Identity, Mesh, Message

ROOT = Path(__file__).resolve().parents[2]
MESH_ECHO = ROOT / "target" / "release" / "examples" / "mesh_echo"
KEY = bytes([7]) * 32
#: Largest payloads: reliable messages carry a 4-byte epoch.
MAX_RELIABLE, MAX_FIRE_AND_FORGET = 65423, 65427
#: Short handshakes for the tests that expect one to fail.
FAST: Dict[str, Any] = {"handshake_timeout": 1.5, "handshake_retry": 0.1}


def node(key: bytes = KEY, **options: Any) -> Mesh:
    return Mesh(key, bind="127.0.0.1:0", **options)


@pytest.fixture
def pair() -> Iterator[Tuple[Mesh, Mesh, int]]:
    """Node a connected to node b; the int is b's node id as a knows it."""
    with node() as a, node() as b:
        yield a, b, a.connect(b.local_addr, b.public_key)


def recv_n(mesh: Mesh, n: int, timeout: float = 10.0) -> List[Message]:
    """Exactly ``n`` messages, or an assertion naming how many came in time."""
    got: List[Message] = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"received {len(got)} of {n} messages"
        message = mesh.recv(timeout=left)
        if message is not None:
            got.append(message)
    return got


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_two_nodes_talk_both_ways(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    assert peer == b.node_id != a.node_id
    assert len(a.public_key) == 32 and a.local_addr.startswith("127.0.0.1:")

    # a -> b, reliable: in order, including an empty and a largest payload.
    stream = a.open_stream(peer, 2, reliable=True, window=16)
    assert (stream.peer, stream.id) == (peer, 2)
    assert a.open_stream(peer, 2, reliable=True, window=16).id == 2  # same settings again: fine
    biggest = bytes(range(256)) * 255 + bytes(range(143))
    assert len(biggest) == MAX_RELIABLE
    stream.send(b"first")
    stream.send_with_retry(b"", max_retries=8)
    stream.send_blocking(biggest, timeout=5)
    a.send_blocking(peer, 2, b"by ids", timeout=5)
    got = recv_n(b, 4)
    assert [(m.sender, m.stream_id) for m in got] == [(a.node_id, 2)] * 4
    assert [m.payload for m in got] == [b"first", b"", biggest, b"by ids"]

    # b -> a: a fire-and-forget reply (loopback does not lose these) and a reliable one.
    reply = b.open_stream(a.node_id, 1, reliable=False)
    reply.send(b"pong")
    reply.send(bytearray(b""))
    b.send(a.node_id, 1, b"f" * MAX_FIRE_AND_FORGET)
    b.open_stream(a.node_id, 4).send_blocking(b"reliable back", timeout=5)
    got = recv_n(a, 4)
    assert sorted((m.stream_id, m.payload) for m in got) == sorted(
        [(1, b"pong"), (1, b""), (1, b"f" * MAX_FIRE_AND_FORGET), (4, b"reliable back")]
    )
    assert {m.sender for m in got} == {b.node_id}

    wait_until(lambda: stream.stats().in_flight == 0)
    stats = stream.stats()
    assert stats.reliable and (stats.peer, stats.stream_id, stats.window) == (peer, 2, 16)
    assert (stats.sent, stats.backpressure_events, stats.duplicates) == (4, 0, 0)
    inbound = b.stream_stats(a.node_id, 2)
    assert inbound is not None and inbound.received == 4
    fire = a.stream_stats(b.node_id, 1)
    assert fire is not None and fire.reliability == "fire_and_forget" and fire.received == 3
    assert a.stream_stats(peer, 99) is None

    [a_sees] = a.peers()
    [b_sees] = b.peers()
    assert (a_sees.node_id, a_sees.public_key, a_sees.addr) == (b.node_id, b.public_key, b.local_addr)
    assert (b_sees.node_id, b_sees.public_key) == (a.node_id, a.public_key)
    assert a_sees.confirmed and b_sees.confirmed
    node_stats = a.stats()
    assert node_stats.handshakes_completed == 1 and node_stats.handshakes_failed == 0
    assert node_stats.bytes_sent == 5 + MAX_RELIABLE + 6
    assert node_stats.dropped_tampered == node_stats.dropped_replayed == 0
    assert b.stats().bytes_received >= 5 + MAX_RELIABLE + 6
    assert a.recv(timeout=0) is None


def test_messages_generator(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    stream = a.open_stream(peer, 2)
    for i in range(5):
        stream.send_blocking(str(i).encode(), timeout=5)
    got = [m.payload for m in itertools.islice(b.messages(timeout=5), 5)]
    assert got == [b"0", b"1", b"2", b"3", b"4"]
    start = time.monotonic()
    assert list(b.messages(timeout=0.05)) == []  # ends after 50 ms without a message
    assert time.monotonic() - start < 2
    timer = threading.Timer(0.1, b.close)  # and ends when the node is closed
    timer.start()
    assert list(b.messages()) == []
    timer.join()


def test_oversized_messages_are_refused(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, _, peer = pair
    with pytest.raises(MessageTooLargeError) as info:
        a.open_stream(peer, 2).send(b"x" * (MAX_RELIABLE + 1))
    assert info.value.kind == "mesh:message_too_large" and info.value.code == -84
    with pytest.raises(MessageTooLargeError):
        a.send(peer, 1, b"x" * (MAX_FIRE_AND_FORGET + 1))
    assert a.stream_stats(peer, 2).sent == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"network_key": KEY[:31]}, InvalidMeshConfigError),
        ({"network_key": "zz" * 32}, InvalidMeshConfigError),
        ({"network_key": KEY, "bind": "nowhere"}, InvalidMeshConfigError),
        ({"network_key": KEY, "handshake_timeout": 0}, InvalidMeshConfigError),
        ({"network_key": KEY, "handshake_retry": 0}, InvalidMeshConfigError),
        ({"network_key": KEY, "retransmit_timeout": 0}, InvalidMeshConfigError),
        ({"network_key": KEY, "inbox_capacity": 0}, InvalidMeshConfigError),
        ({"network_key": KEY, "simulated_loss": 1.0}, InvalidMeshConfigError),
        ({"network_key": KEY, "simulated_loss": -0.1}, InvalidMeshConfigError),
        ({"network_key": KEY, "seed": b"\x01\x02"}, InvalidSeedError),
        ({"network_key": KEY, "seed": "not hex at all"}, InvalidMeshConfigError),
    ],
)
def test_invalid_options(options: Dict[str, Any], error: type) -> None:
    with pytest.raises(error) as info:
        Mesh(**options)
    assert info.value.kind == error.kind  # type: ignore[attr-defined]


def test_config_entry_point_and_identity() -> None:
    for text in ["not json", "{}", json.dumps({"network_key": KEY.hex(), "colour": "red"})]:
        with pytest.raises(InvalidMeshConfigError):
            Mesh.from_config(text)
    ident = Identity.from_seed(bytes(range(32)))
    config = {"network_key": KEY.hex(), "bind": "127.0.0.1:0", "seed": ident.seed.hex()}
    with Mesh.from_config(config) as m1, node(seed=ident) as m2, node(seed=ident.seed) as m3:
        assert m1.public_key == m2.public_key == m3.public_key == ident.public_key
        assert m1.node_id == m2.node_id == m3.node_id == ident.node_id
        assert len({m1.local_addr, m2.local_addr, m3.local_addr}) == 3
        # The address is taken: binding it again fails with an I/O error.
        with pytest.raises(MeshIoError):
            Mesh(KEY, bind=m1.local_addr)


def test_handshake_failures() -> None:
    with node(**FAST) as a, node(bytes([8]) * 32) as other_key, node() as b:
        # A node holding another network key cannot complete the handshake.
        with pytest.raises(HandshakeFailedError) as info:
            a.connect(other_key.local_addr, other_key.public_key)
        assert info.value.kind == "mesh:handshake_failed"
        assert a.stats().handshakes_failed == 1 and a.peers() == []
        # A node that is not the identity asked for cannot read the handshake: no answer.
        with node(handshake_timeout=0.3) as impatient, pytest.raises(MeshTimeoutError):
            impatient.connect(b.local_addr, other_key.public_key)
        assert a.connect(b.local_addr, b.public_key) == b.node_id  # the right pair still works
        assert [p.node_id for p in a.peers()] == [b.node_id]


def test_connect_to_a_silent_address_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent, node(handshake_timeout=0.3) as a:
        silent.bind(("127.0.0.1", 0))
        start = time.monotonic()
        with pytest.raises(MeshTimeoutError):
            a.connect(silent.getsockname(), bytes(Identity.generate().public_key))
        assert 0.25 < time.monotonic() - start < 3


def test_unknown_peer(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    stranger = (1 << 64) - 1  # node ids use all 64 bits
    for call in [
        lambda: a.open_stream(stranger, 2),
        lambda: a.send(stranger, 1, b"x"),
        lambda: a.send_with_retry(stranger, 1, b"x", 3),
        lambda: a.send_blocking(stranger, 1, b"x", timeout=1),
    ]:
        with pytest.raises(UnknownPeerError):
            call()
    assert a.stream_stats(stranger, 1) is None
    a.send(peer, 1, b"known")  # the known peer is unaffected
    assert recv_n(b, 1)[0].payload == b"known"


def test_backpressure_then_timeout(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    stream = a.open_stream(peer, 2, reliable=True, window=2)
    b.close()  # no acks will ever come
    stream.send(b"1")
    stream.send(b"2")
    with pytest.raises(StreamBackpressureError) as info:
        stream.send(b"3")
    assert info.value.kind == "mesh:backpressure" and info.value.code == -87
    with pytest.raises(StreamBackpressureError):
        stream.send_with_retry(b"3", max_retries=2)
    with pytest.raises(StreamBackpressureError):
        stream.send_with_retry(b"3", max_retries=10)  # more than one round of retries
    start = time.monotonic()
    with pytest.raises(MeshTimeoutError):
        stream.send_blocking(b"3", timeout=0.03)
    assert 0.02 < time.monotonic() - start < 2
    stats = stream.stats()
    assert (stats.sent, stats.in_flight, stats.window) == (2, 2, 2)
    assert stats.backpressure_events >= 1
    # The stream exists now: other settings for it are refused.
    with pytest.raises(InvalidMeshConfigError):
        a.open_stream(peer, 2, reliable=True, window=4)
    with pytest.raises(InvalidMeshConfigError):
        a.open_stream(peer, 2, reliable=False)
    with pytest.raises(InvalidMeshConfigError):
        a.open_stream(peer, 6, window=(1 << 16) + 1)


def test_close_wakes_waiters_and_fails_later_calls(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    stream = a.open_stream(peer, 2)
    stream.send(b"before close")
    wait_until(lambda: stream.stats().in_flight == 0)  # acked: it is in b's inbox

    outcome: List[BaseException] = []

    def wait_forever() -> None:
        try:
            a.recv()
        except NetError as e:
            outcome.append(e)

    waiter = threading.Thread(target=wait_forever)
    waiter.start()
    a.close()
    waiter.join(5)
    assert not waiter.is_alive() and isinstance(outcome[0], MeshShutdownError)
    a.close()  # idempotent

    b.close()
    message = b.recv(timeout=1)  # what arrived before the close is still delivered
    assert message is not None and message.payload == b"before close"
    for call in [
        lambda: b.recv(timeout=1),
        lambda: b.recv(),
        lambda: b.send(a.node_id, 1, b"x"),
        lambda: b.open_stream(a.node_id, 2),
        lambda: b.connect(a.local_addr, a.public_key),
        lambda: stream.send(b"after"),
        lambda: stream.send_blocking(b"after", timeout=1),
    ]:
        with pytest.raises(MeshShutdownError) as info:
            call()
        assert info.value.kind == "mesh:shutdown"
    assert list(b.messages()) == []


def test_bad_arguments() -> None:
    with node() as a, node() as b:
        key = b.public_key
        for bad in [key[:31], key + b"\x00", key.hex()[:-2], "not hex"]:
            with pytest.raises(InvalidKeyError) as info:
                a.connect(b.local_addr, bad)
            assert info.value.kind == "identity:invalid_key"
        for addr in ["localhost", "127.0.0.1", "127.0.0.1:port", "[::1"]:
            with pytest.raises(InvalidArgumentError) as arg:
                a.connect(addr, key)
            assert arg.value.kind == "bus:invalid_argument"
        with pytest.raises(TypeError):
            a.connect(b.local_addr, 12345)  # type: ignore[arg-type]
        # Hex keys and (host, port) tuples are accepted.
        host, port = b.local_addr.rsplit(":", 1)
        peer = a.connect((host, int(port)), key.hex())
        assert peer == b.node_id
        with pytest.raises(TypeError):
            a.send(peer, 1, "text")  # type: ignore[arg-type]
        for bad_id in [-1, 1 << 64]:
            with pytest.raises(OverflowError):
                a.send(bad_id, 1, b"x")
            with pytest.raises(OverflowError):
                a.send(peer, bad_id, b"x")
        with pytest.raises(OverflowError):
            a.open_stream(peer, 2, window=-1)
        a.send(peer, 1, bytearray(b"a bytearray"))
        assert recv_n(b, 1)[0].payload == b"a bytearray"


def test_threads_sending_on_their_own_streams_keep_order(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    each, streams = 300, [a.open_stream(peer, 2 * (i + 1), window=32) for i in range(4)]
    errors: List[BaseException] = []

    def send_all(stream_index: int) -> None:
        try:
            stream = streams[stream_index]
            for i in range(each):
                stream.send_blocking(f"{stream.id}:{i}".encode(), timeout=10)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=send_all, args=(i,)) for i in range(len(streams))]
    for t in threads:
        t.start()
    got = recv_n(b, each * len(streams), timeout=30)
    for t in threads:
        t.join()
    assert errors == []
    seen: Dict[int, List[int]] = {s.id: [] for s in streams}
    for m in got:
        stream_id, index = m.payload.decode().split(":")
        assert int(stream_id) == m.stream_id and m.sender == a.node_id
        seen[m.stream_id].append(int(index))
    assert all(indexes == list(range(each)) for indexes in seen.values()), seen
    assert b.recv(timeout=0.05) is None  # exactly once: nothing more


class Interrupted(Exception):
    pass


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raises Interrupted from a SIGALRM after ``seconds``, as Ctrl-C would."""

    def ring(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_blocking_calls_honour_signals(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    stream = a.open_stream(peer, 2, window=1)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    with silent, node(handshake_timeout=60) as patient:
        b.close()
        stream.send(b"fills the window")
        calls: List[Callable[[], object]] = [
            lambda: a.recv(),
            lambda: stream.send_blocking(b"x"),
            lambda: stream.send_with_retry(b"x", max_retries=100_000),
            lambda: patient.connect(silent.getsockname(), b.public_key),
        ]
        for call in calls:
            start = time.monotonic()
            with alarm(0.2), pytest.raises(Interrupted):
                call()
            assert time.monotonic() - start < 2
    assert stream.stats().in_flight == 1  # the interrupted sends sent nothing


def test_cross_process_with_the_rust_mesh_echo() -> None:
    assert MESH_ECHO.exists(), (
        f"{MESH_ECHO} is missing: build it with `cargo build --release -p net-sdk --examples`"
    )
    proc = subprocess.Popen([str(MESH_ECHO)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, "mesh_echo printed nothing in 10 s"
        info = json.loads(proc.stdout.readline())
        with node() as mesh:
            peer = mesh.connect(info["addr"], info["public_key"])
            assert peer == int(info["node_id"])
            stream = mesh.open_stream(peer, 2, reliable=True)
            for i in range(500):
                stream.send_blocking(f"message {i}".encode(), timeout=10)
            got = recv_n(mesh, 500, timeout=30)
            assert [(m.sender, m.stream_id) for m in got] == [(peer, 2)] * 500
            assert [m.payload for m in got] == [f"message {i}".encode() for i in range(500)]

            fire = {f"datagram {i}".encode() for i in range(5)}
            for payload in sorted(fire):
                mesh.send(peer, 1, payload)
            echoed = []
            for m in mesh.messages(timeout=1):
                assert m.stream_id == 1 and m.payload in fire
                echoed.append(m.payload)
                if len(echoed) == len(fire):
                    break
            assert len(echoed) >= 1 and len(set(echoed)) == len(echoed)

            stream.send_blocking(b"bye", timeout=10)
            [bye] = recv_n(mesh, 1)
            assert (bye.stream_id, bye.payload) == (2, b"bye")
            assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
