"""The encrypted mesh through the Python SDK: two nodes in one process, every error
path, threads, Ctrl-C during blocking calls, trust policies with the peer store and
the audit log, relaying through a third node, and a Rust node in another process."""

from __future__ import annotations

import hashlib
import itertools
import json
import pickle
import select
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import FrozenInstanceError, fields
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import pytest
from net.errors import (
    CorruptError,
    HandshakeFailedError,
    InvalidKeyError,
    InvalidMeshArgumentError,
    InvalidMeshConfigError,
    InvalidSeedError,
    MeshIoError,
    MeshShutdownError,
    MeshTimeoutError,
    MessageTooLargeError,
    NetError,
    StreamBackpressureError,
    UnknownPeerError,
    UntrustedPeerError,
)
from net_sdk import (
    AuditLog,
    Identity,
    KnownPeer,
    Mesh,
    MeshStats,
    Message,
    PeerInfo,
    PeerStore,
    Route,
    Trust,
)

ROOT = Path(__file__).resolve().parents[2]
MESH_ECHO = ROOT / "target" / "release" / "examples" / "mesh_echo"
KEY = bytes([7]) * 32
#: Largest payloads: reliable messages carry a 4-byte epoch.
MAX_RELIABLE, MAX_FIRE_AND_FORGET = 65423, 65427
#: Short handshakes for the tests that expect one to fail.
FAST: Dict[str, Any] = {"handshake_timeout": 1.5, "handshake_retry": 0.1}


def node(key: bytes = KEY, **options: Any) -> Mesh:
    options.setdefault("bind", "127.0.0.1:0")
    return Mesh(key, **options)


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
    assert [(m.from_, m.stream_id) for m in got] == [(a.node_id, 2)] * 4
    assert [m.payload for m in got] == [b"first", b"", biggest, b"by ids"]

    # b -> a: a fire-and-forget reply (loopback does not lose these) and a reliable one.
    reply = b.open_stream(a.node_id, 1, reliable=False)
    reply.send(b"pong")
    reply.send(bytearray(b""))
    b.send(a.node_id, 1, b"f" * MAX_FIRE_AND_FORGET)
    b.open_stream(a.node_id, 4, reliable=True).send_blocking(b"reliable back", timeout=5)
    got = recv_n(a, 4)
    assert sorted((m.stream_id, m.payload) for m in got) == sorted(
        [(1, b"pong"), (1, b""), (1, b"f" * MAX_FIRE_AND_FORGET), (4, b"reliable back")]
    )
    assert {m.from_ for m in got} == {b.node_id}

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
    # Both sides agreed one packet cipher.
    assert a_sees.cipher == b_sees.cipher and a_sees.cipher in ("aes-256-gcm", "chacha20-poly1305")
    node_stats = a.stats()
    assert node_stats.handshakes_completed == 1 and node_stats.handshakes_failed == 0
    assert node_stats.bytes_sent == 5 + MAX_RELIABLE + 6
    assert node_stats.dropped_tampered == node_stats.dropped_replayed == 0
    assert b.stats().bytes_received >= 5 + MAX_RELIABLE + 6
    assert a.recv(timeout=0) is None


def test_messages_generator(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    stream = a.open_stream(peer, 2, reliable=True)
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
        a.open_stream(peer, 2, reliable=True).send(b"x" * (MAX_RELIABLE + 1))
    assert info.value.kind == "mesh:message_too_large" and info.value.code == -84
    with pytest.raises(MessageTooLargeError):
        a.send(peer, 1, b"x" * (MAX_FIRE_AND_FORGET + 1))
    assert a.stream_stats(peer, 2).sent == 0  # type: ignore[union-attr]


def test_loss_is_a_test_seam_not_an_option() -> None:
    # Loss, duplication and reordering are injected in the engine's tests
    # (mesh::conditions); the configuration does not know the key.
    with pytest.raises(InvalidMeshConfigError, match="simulated_loss"):
        Mesh.from_config({"network_key": KEY.hex(), "bind": "127.0.0.1:0", "simulated_loss": 0.5})
    with pytest.raises(TypeError):
        Mesh(KEY, simulated_loss=0.5)  # type: ignore[call-arg]


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
        ({"network_key": KEY, "beacon_interval": 0}, InvalidMeshConfigError),
        ({"network_key": KEY, "max_hops": 0}, InvalidMeshConfigError),
        ({"network_key": KEY, "max_hops": 256}, InvalidMeshConfigError),
        ({"network_key": KEY, "max_hops": -1}, InvalidMeshConfigError),
        ({"network_key": KEY, "rekey_interval": 0}, InvalidMeshConfigError),
        ({"network_key": KEY, "session_timeout": 0}, InvalidMeshConfigError),
        # At least three beacon intervals (the default beacon interval is 1 s).
        ({"network_key": KEY, "session_timeout": 2.9}, InvalidMeshConfigError),
        ({"network_key": KEY, "beacon_interval": 0.05, "session_timeout": 0.1}, InvalidMeshConfigError),
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
        lambda: a.open_stream(stranger, 2, reliable=True),
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
        a.open_stream(peer, 6, reliable=True, window=(1 << 16) + 1)


def test_close_wakes_waiters_and_fails_later_calls(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    stream = a.open_stream(peer, 2, reliable=True)
    stream.send(b"before close")
    wait_until(lambda: stream.stats().in_flight == 0)  # acked: it is in b's inbox
    b_addr = b.local_addr

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
    with node(bind=b_addr) as again:  # and the port is free at once
        assert again.local_addr == b_addr
    for call in [
        lambda: b.local_addr,
        lambda: b.recv(timeout=1),
        lambda: b.recv(),
        lambda: b.send(a.node_id, 1, b"x"),
        lambda: b.open_stream(a.node_id, 2, reliable=True),
        lambda: b.connect(a.local_addr, a.public_key),
        lambda: b.connect_routed(a.public_key),
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
            with pytest.raises(InvalidMeshArgumentError) as arg:
                a.connect(addr, key)
            assert arg.value.kind == "mesh:invalid_argument"
        with pytest.raises(TypeError):
            a.connect(b.local_addr, 12345)  # type: ignore[arg-type]
        # Hex keys and (host, port) tuples are accepted.
        host, port = b.local_addr.rsplit(":", 1)
        peer = a.connect((host, int(port)), key.hex())
        assert peer == b.node_id
        with pytest.raises(TypeError):
            a.send(peer, 1, "text")  # type: ignore[arg-type]
        for bad_id in [-1, 1 << 64, 1 << 200]:
            with pytest.raises(InvalidMeshArgumentError):
                a.send(bad_id, 1, b"x")
            with pytest.raises(InvalidMeshArgumentError):
                a.send(peer, bad_id, b"x")
        with pytest.raises(InvalidMeshArgumentError):
            a.open_stream(peer, 2, reliable=True, window=-1)
        with pytest.raises(InvalidMeshArgumentError):
            a.open_stream(peer, 2, reliable=True, window=1 << 32)
        with pytest.raises(TypeError):
            a.open_stream(peer, 2, reliable=True, window=1.5)  # type: ignore[arg-type]
        a.send(peer, 1, bytearray(b"a bytearray"))
        assert recv_n(b, 1)[0].payload == b"a bytearray"


def test_threads_sending_on_their_own_streams_keep_order(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, b, peer = pair
    each, streams = 300, [a.open_stream(peer, 2 * (i + 1), reliable=True, window=32) for i in range(4)]
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
        assert int(stream_id) == m.stream_id and m.from_ == a.node_id
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
    stream = a.open_stream(peer, 2, reliable=True, window=1)
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
            assert [(m.from_, m.stream_id) for m in got] == [(peer, 2)] * 500
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


def audit_lines(path: Path) -> List[Dict[str, Any]]:
    """The audit log's lines, after checking their hash chain."""
    text = path.read_text()
    lines = text.splitlines()
    prev = "0" * 64
    for line in lines:
        assert json.loads(line)["prev"] == prev
        prev = hashlib.blake2s(line.encode()).hexdigest()
    return [json.loads(line) for line in lines]


def test_tofu_pins_the_first_key_and_refuses_an_impostor(tmp_path: Path) -> None:
    audit, store = tmp_path / "audit.jsonl", tmp_path / "peers.json"
    alice, impostor_id = Identity.from_seed(bytes([1]) * 32), Identity.from_seed(bytes([2]) * 32)
    options: Dict[str, Any] = {
        "trust": Trust("tofu"),
        "peer_store": PeerStore(store, flush_interval=0.05),
        "audit_log": AuditLog(str(audit)),
    }
    with node(**options) as b:
        a = node(seed=alice)
        a_addr = a.local_addr
        peer = a.connect(b.local_addr, b.public_key)
        a.open_stream(peer, 2, reliable=True).send_blocking(b"hello", timeout=5)
        [message] = recv_n(b, 1)
        assert (message.from_, message.payload) == (alice.node_id, b"hello")
        a.close()  # the port is released at once
        # Alice is gone; an impostor with another key takes her address. B stays silent.
        with Mesh(KEY, bind=a_addr, seed=impostor_id, handshake_timeout=0.8, handshake_retry=0.1) as impostor:
            start = time.monotonic()
            with pytest.raises(MeshTimeoutError):
                impostor.connect(b.local_addr, b.public_key)
            assert time.monotonic() - start < 3
        stats = b.stats()
        assert (stats.trust_accepted, stats.trust_rejected) == (1, 1)
        [known] = b.known_peers()
        assert isinstance(known, KnownPeer)
        assert (known.addr, known.node_id, known.public_key) == (a_addr, alice.node_id, alice.public_key)
        assert abs(known.last_success.timestamp() - time.time()) < 60
        # Connecting to that address expecting another key fails at once, typed.
        start = time.monotonic()
        with pytest.raises(UntrustedPeerError) as info:
            b.connect(a_addr, impostor_id.public_key)
        assert time.monotonic() - start < 0.5
        assert info.value.kind == "mesh:untrusted_peer" and info.value.code == -88
        assert b.stats().trust_rejected == 2
        assert b.peers()[0].public_key == alice.public_key  # no session with the impostor

    lines = audit_lines(audit)
    assert [line["decision"] for line in lines] == ["accept", "reject", "reject"]
    assert [line["side"] for line in lines] == ["responder", "responder", "initiator"]
    assert [line["public_key"] for line in lines] == [
        alice.public_key.hex(),
        impostor_id.public_key.hex(),
        impostor_id.public_key.hex(),
    ]
    assert [line["node_id"] for line in lines] == [str(alice.node_id)] + [str(impostor_id.node_id)] * 2
    assert {(line["kind"], line["policy"], line["addr"]) for line in lines} == {
        ("trust_decision", "tofu", a_addr)
    }

    # The pin outlives the node: a new one on the same store still refuses the impostor.
    assert alice.public_key.hex() in store.read_text()
    with node(**options) as again:
        assert [p.public_key for p in again.known_peers()] == [alice.public_key]
        with pytest.raises(UntrustedPeerError):
            again.connect(a_addr, impostor_id.public_key)
    assert len(audit_lines(audit)) == 4  # the chain continues across restarts


def test_allowlist_accepts_only_listed_keys(tmp_path: Path) -> None:
    alice = Identity.from_seed(bytes([1]) * 32)
    trust = {"policy": "allowlist", "allow": [alice.public_key.hex()]}
    with node(trust=trust, audit_log=tmp_path / "audit.jsonl") as b, node(seed=alice) as a, node(
        handshake_timeout=0.8, handshake_retry=0.1
    ) as stranger:
        assert a.connect(b.local_addr, b.public_key) == b.node_id
        a.send(b.node_id, 1, b"listed")
        assert recv_n(b, 1)[0].payload == b"listed"
        with pytest.raises(MeshTimeoutError):
            stranger.connect(b.local_addr, b.public_key)
        start = time.monotonic()
        with pytest.raises(UntrustedPeerError):
            b.connect(stranger.local_addr, stranger.public_key)
        assert time.monotonic() - start < 0.5
        stats = b.stats()
        assert (stats.trust_accepted, stats.trust_rejected) == (1, 2)
        assert [p.node_id for p in b.peers()] == [alice.node_id]
        assert b.known_peers() == []  # no peer store
        # The listed peer is unaffected: b can still reach a the other way round.
        b.send(alice.node_id, 1, b"back")
        assert recv_n(a, 1)[0].payload == b"back"
    decisions = [(line["side"], line["decision"]) for line in audit_lines(tmp_path / "audit.jsonl")]
    assert decisions == [("responder", "accept"), ("responder", "reject"), ("initiator", "reject")]


def test_pinned_keys_hold_under_the_open_policy() -> None:
    with node() as a, node() as other:
        host, port = a.local_addr.rsplit(":", 1)
        trust = Trust(pinned={(host, int(port)): other.public_key})
        assert trust.pinned == {a.local_addr: other.public_key} and trust.policy == "open"
        with node(trust=trust) as b:
            with pytest.raises(UntrustedPeerError):
                b.connect(a.local_addr, a.public_key)
            assert b.connect(other.local_addr, other.public_key) == other.node_id  # open elsewhere
            assert (b.stats().trust_accepted, b.stats().trust_rejected) == (1, 1)


def test_trust_options_are_frozen_values() -> None:
    key = Identity.from_seed(bytes([1]) * 32).public_key
    trust = Trust("tofu", allow=[key.hex()], pinned={"127.0.0.1:9": bytearray(key)})
    assert trust == Trust("tofu", allow=(key,), pinned={("127.0.0.1", 9): key.hex()})
    assert trust.allow == (key,) and hash(trust) == hash(Trust("tofu", allow=[key]))
    assert key.hex() in repr(trust) and "127.0.0.1:9" in repr(trust)
    assert pickle.loads(pickle.dumps(trust)) == trust
    with pytest.raises(FrozenInstanceError):
        trust.policy = "open"  # type: ignore[misc]
    with pytest.raises(TypeError):
        trust.pinned["127.0.0.1:10"] = key  # type: ignore[index]
    store = PeerStore(Path("peers.json"), ttl=3600, max_entries=10)
    assert store.path == Path("peers.json") and store.flush_interval is None
    with pytest.raises(FrozenInstanceError):
        store.ttl = 1  # type: ignore[misc]
    assert AuditLog("a.jsonl", keep=2) == AuditLog("a.jsonl", None, 2)


def test_trust_sections_in_every_spelling(tmp_path: Path) -> None:
    spellings: List[Dict[str, Any]] = [
        {"trust": "tofu", "peer_store": tmp_path / "p1.json", "audit_log": str(tmp_path / "a1.jsonl")},
        {
            "trust": {"policy": "allowlist", "allow": [bytes(Identity.generate().public_key)]},
            "peer_store": {"path": tmp_path / "p2.json", "ttl": 60, "max_entries": 5},
            "audit_log": {"path": str(tmp_path / "a2.jsonl"), "max_bytes": 4096, "keep": 1},
        },
        {
            "trust": Trust(),
            "peer_store": PeerStore(str(tmp_path / "p3.json"), flush_interval=0.5),
            "audit_log": AuditLog(tmp_path / "sub" / "a3.jsonl"),
        },
    ]
    for options in spellings:
        with node(**options) as mesh:
            assert mesh.known_peers() == [] and mesh.stats().trust_rejected == 0
    assert (tmp_path / "sub" / "a3.jsonl").exists()  # the audit log's directory is created
    config = {
        "network_key": KEY.hex(),
        "bind": "127.0.0.1:0",
        "trust": {"policy": "tofu", "pinned": {"127.0.0.1:9": bytes(32).hex()}},
        "peer_store": {"path": str(tmp_path / "p4.json"), "ttl_ms": 1000, "flush_interval_ms": 10},
        "audit_log": {"path": str(tmp_path / "a4.jsonl"), "max_bytes": 100, "keep": 1},
    }
    with Mesh.from_config(config) as mesh:
        assert mesh.known_peers() == []


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"trust": "paranoid"}, InvalidMeshConfigError),
        ({"trust": {"policy": "tofu", "colour": "red"}}, InvalidMeshConfigError),
        ({"trust": Trust(pinned={"nowhere": KEY})}, InvalidMeshConfigError),
        ({"trust": Trust(pinned={"127.0.0.1": KEY})}, InvalidMeshConfigError),
        ({"trust": {"allow": [KEY[:31]]}}, InvalidKeyError),
        ({"trust": {"allow": ["zz" * 32]}}, InvalidKeyError),
        ({"trust": Trust("allowlist", allow=[KEY + b"\x00"])}, InvalidKeyError),
        ({"trust": Trust("tofu", pinned={"127.0.0.1:1": "abcd"})}, InvalidKeyError),
        ({"peer_store": PeerStore("peers.json", max_entries=0)}, InvalidMeshConfigError),
        ({"peer_store": PeerStore("peers.json", ttl=0)}, InvalidMeshConfigError),
        ({"peer_store": PeerStore("peers.json", flush_interval=0)}, InvalidMeshConfigError),
        ({"peer_store": PeerStore("peers.json", max_entries=-1)}, InvalidMeshConfigError),
        ({"peer_store": {"path": "peers.json", "ttl_ms": 5}}, InvalidMeshConfigError),
        ({"audit_log": AuditLog("audit.jsonl", max_bytes=0)}, InvalidMeshConfigError),
        ({"audit_log": AuditLog("audit.jsonl", keep=-1)}, InvalidMeshConfigError),
        ({"audit_log": {"file": "audit.jsonl"}}, InvalidMeshConfigError),
    ],
)
def test_invalid_trust_options(
    options: Dict[str, Any], error: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error) as info:
        node(**options)
    assert info.value.kind == error.kind  # type: ignore[attr-defined]


def test_invalid_trust_values_in_python(tmp_path: Path) -> None:
    with pytest.raises(InvalidKeyError):
        Trust(allow=["not hex"])
    with pytest.raises(InvalidKeyError):
        Trust(pinned={"127.0.0.1:1": "zz"})
    with pytest.raises(TypeError):
        Trust(allow=KEY)  # type: ignore[arg-type]  # one key, not a list of them
    with pytest.raises(TypeError):
        Trust(allow=[12345])  # type: ignore[list-item]
    wrong_types: List[Dict[str, Any]] = [{"trust": 5}, {"peer_store": 5}, {"audit_log": [str(tmp_path)]}]
    for bad in wrong_types:
        with pytest.raises(TypeError):
            node(**bad)
    # A damaged peer store is reported, not silently forgotten.
    damaged = tmp_path / "peers.json"
    damaged.write_text("not json")
    with pytest.raises(CorruptError):
        node(peer_store=damaged)


def test_stats_tolerate_counters_the_sdk_does_not_know(pair: Tuple[Mesh, Mesh, int]) -> None:
    a, _, _ = pair
    raw = json.loads(a._native.stats_json())
    named = {f.name for f in fields(MeshStats)}
    relaying = {"packets_forwarded", "dropped_unroutable", "peers_suspected", "peers_failed"}
    lifetimes = {"sessions_rekeyed", "sessions_expired", "handshakes_throttled"}
    assert {"trust_accepted", "trust_rejected", "peers_recovered"} | relaying | lifetimes <= named <= set(raw)
    stats = a.stats()
    assert stats.trust_accepted == 1 and stats.trust_rejected == 0
    assert stats.handshakes_throttled == 0
    assert {name: getattr(stats, name) for name in named} == {name: raw[name] for name in named}


#: Beacons every 40 ms: routes spread and neighbours' health is judged quickly.
BEACONS: Dict[str, Any] = {"beacon_interval": 0.04, **FAST}


def link(a: Mesh, b: Mesh) -> None:
    """Connects a to b and waits until b lists a confirmed session with a."""
    assert a.connect(b.local_addr, b.public_key) == b.node_id
    wait_until(lambda: any(p.node_id == a.node_id and p.confirmed for p in b.peers()))


def route_to(mesh: Mesh, dest: Mesh) -> Optional[Route]:
    return next((r for r in mesh.routes() if r.dest == dest.node_id), None)


def peer_info(mesh: Mesh, peer: Mesh) -> Optional[PeerInfo]:
    return next((p for p in mesh.peers() if p.node_id == peer.node_id), None)


@pytest.fixture
def line() -> Iterator[Tuple[Mesh, Mesh, Mesh]]:
    """Nodes a, b and c, with a and c each connected only to b and routes learned
    both ways through it."""
    with node(**BEACONS) as a, node(**BEACONS) as b, node(**BEACONS) as c:
        link(a, b)
        link(c, b)
        a_to_c, c_to_a = Route(c.node_id, b.node_id, 2), Route(a.node_id, b.node_id, 2)
        wait_until(lambda: route_to(a, c) == a_to_c and route_to(c, a) == c_to_a, timeout=10)
        yield a, b, c


def test_relaying_through_a_third_node(line: Tuple[Mesh, Mesh, Mesh]) -> None:
    a, b, c = line
    assert route_to(a, b) in (None, Route(b.node_id, b.node_id, 1))  # a neighbour, if listed
    [to_c] = [r for r in a.routes() if r.dest == c.node_id]
    assert isinstance(to_c, Route) and (to_c.next_hop, to_c.hops) == (b.node_id, 2)
    assert to_c.dest > 0 and to_c.dest < 1 << 64  # ids are plain ints, all 64 bits
    with pytest.raises(FrozenInstanceError):
        to_c.hops = 1  # type: ignore[misc]

    # a has no address for c, only its key: the session runs through b.
    assert a.connect_routed(c.public_key) == c.node_id
    stream = a.open_stream(c.node_id, 2, reliable=True)
    for i in range(100):
        stream.send_blocking(f"routed {i}".encode(), timeout=10)
    got = recv_n(c, 100)
    assert [(m.from_, m.stream_id) for m in got] == [(a.node_id, 2)] * 100
    assert [m.payload for m in got] == [f"routed {i}".encode() for i in range(100)]

    # c answers over the same session, back through b.
    c.open_stream(a.node_id, 4, reliable=True).send_blocking(b"reply from c", timeout=10)
    [reply] = recv_n(a, 1)
    assert (reply.from_, reply.stream_id, reply.payload) == (c.node_id, 4, b"reply from c")

    # b relayed every packet without holding the a-c session.
    assert b.stats().packets_forwarded >= 100
    assert sorted(p.node_id for p in b.peers()) == sorted([a.node_id, c.node_id])
    assert not any(p.routed for p in b.peers())
    wait_until(lambda: getattr(peer_info(c, a), "confirmed", False))  # c lists a once confirmed
    c_sees_a = peer_info(c, a)
    assert c_sees_a is not None and c_sees_a.public_key == a.public_key
    assert c_sees_a.routed and c_sees_a.health == "alive"
    a_sees_c = peer_info(a, c)
    assert a_sees_c is not None and a_sees_c.routed and a_sees_c.confirmed
    a_sees_b = peer_info(a, b)
    assert a_sees_b is not None and not a_sees_b.routed
    assert a.stats().packets_forwarded == c.stats().packets_forwarded == 0


def test_connect_routed_errors(line: Tuple[Mesh, Mesh, Mesh]) -> None:
    a, _, c = line
    stranger = Identity.generate().public_key  # a valid key nobody has a route to
    start = time.monotonic()
    with pytest.raises(UnknownPeerError) as info:
        a.connect_routed(stranger)
    assert info.value.kind == "mesh:unknown_peer" and time.monotonic() - start < 1
    with pytest.raises(UnknownPeerError):
        a.connect_routed(bytes(stranger).hex())
    key = c.public_key
    bad_keys: List[Union[bytes, str]] = [key[:31], key + b"\x00", b"", key.hex()[:-2], "not hex"]
    for bad in bad_keys:
        with pytest.raises(InvalidKeyError) as bad_key:
            a.connect_routed(bad)
        assert bad_key.value.kind == "identity:invalid_key"
    with pytest.raises(TypeError):
        a.connect_routed(12345)  # type: ignore[arg-type]
    assert a.connect_routed(key.hex()) == c.node_id  # a hex key works too


def test_a_silent_neighbour_turns_suspect_then_failed() -> None:
    with node(**BEACONS) as a, node(**BEACONS) as b:
        link(a, b)
        b_info = peer_info(a, b)
        assert b_info is not None and b_info.health == "alive" and not b_info.routed
        b.close()  # b stops beaconing
        wait_until(lambda: (peer_info(a, b) or b_info).health == "failed", timeout=10)
        stats = a.stats()
        assert stats.peers_suspected >= 1 and stats.peers_failed >= 1


def test_connect_routed_honours_signals_and_trust() -> None:
    with node(**BEACONS) as b, node(beacon_interval=0.04, handshake_timeout=60) as a:
        # c accepts only b, so it leaves a's routed handshake unanswered.
        with node(trust=Trust("allowlist", allow=[b.public_key]), **BEACONS) as c:
            link(a, b)
            link(c, b)
            wait_until(lambda: route_to(a, c) is not None, timeout=10)
            start = time.monotonic()
            with alarm(0.3), pytest.raises(Interrupted):
                a.connect_routed(c.public_key)
            assert time.monotonic() - start < 2
            wait_until(lambda: c.stats().trust_rejected >= 1)
            assert peer_info(c, a) is None


def test_sessions_are_rekeyed_and_streams_carry_on() -> None:
    # a opens the session, so a rekeys it, every 100 ms.
    with node(rekey_interval=0.1) as a, node() as b:
        peer = a.connect(b.local_addr, b.public_key)
        stream = a.open_stream(peer, 2, reliable=True)
        stream.send_blocking(b"before", timeout=10)
        assert recv_n(b, 1)[0].payload == b"before"
        wait_until(lambda: a.stats().sessions_rekeyed >= 2, timeout=10)
        stream.send_blocking(b"after", timeout=10)
        b.open_stream(a.node_id, 3, reliable=True).send_blocking(b"back", timeout=10)
        assert recv_n(b, 1)[0].payload == b"after"
        assert recv_n(a, 1)[0].payload == b"back"
        assert a.stats().sessions_expired == 0
        assert b.stats().sessions_rekeyed >= 1  # the responder sees its session replaced too
        assert [p.node_id for p in a.peers()] == [b.node_id]


def test_a_silent_session_expires() -> None:
    lively: Dict[str, Any] = {"beacon_interval": 0.05, "session_timeout": 0.6}
    with node(**lively) as a, node(**lively) as b:
        peer = a.connect(b.local_addr, b.public_key)
        a.send(peer, 1, b"hello")
        assert recv_n(b, 1)[0].payload == b"hello"
        b.close()  # b falls silent
        wait_until(lambda: a.stats().sessions_expired == 1, timeout=10)
        assert all(p.node_id != b.node_id for p in a.peers())
        with pytest.raises(UnknownPeerError) as info:
            a.send(peer, 1, b"gone")
        assert info.value.kind == "mesh:unknown_peer"
        assert a.stats().sessions_expired == 1


def test_a_forked_child_runs_its_own_engine_threads(pair: Tuple[Mesh, Mesh, int]) -> None:
    """The engine's runtime (node timers) and callback threads are the
    parent's; a child after fork() starts its own on first use, so reliable
    streams (acks and resends run on the timers) and handlers work there."""
    import os

    a, b, peer = pair
    a.open_stream(peer, 3, reliable=True).send(b"before the fork")
    assert recv_n(b, 1)[0].payload == b"before the fork"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            with node() as x, node() as y:
                got: List[bytes] = []
                handler = y.on_message(lambda m: got.append(m.payload))
                x_peer = x.connect(y.local_addr, y.public_key)
                stream = x.open_stream(x_peer, 1, reliable=True)
                for i in range(50):
                    stream.send_blocking(b"%d" % i, timeout=10)
                deadline = time.monotonic() + 10
                while len(got) < 50 and time.monotonic() < deadline:
                    time.sleep(0.01)
                handler.close()
                code = 0 if got == [b"%d" % i for i in range(50)] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    # The parent's engine carries on.
    a.open_stream(peer, 3, reliable=True).send(b"after the fork")
    assert recv_n(b, 1)[0].payload == b"after the fork"


def test_connect_runs_on_the_calling_thread_without_a_helper() -> None:
    """A connect waits on the caller's thread, in steps (Ctrl-C is looked at
    between them), and starts no thread of its own."""
    import os

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    stranger = Identity.generate().public_key
    seen: List[str] = []
    with node(**FAST) as a:

        def look() -> None:
            time.sleep(0.3)
            for task in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{task}/comm") as comm:
                        seen.append(comm.read().strip())
                except OSError:
                    pass

        looker = threading.Thread(target=look)
        looker.start()
        with pytest.raises(MeshTimeoutError):
            a.connect(f"127.0.0.1:{silent.getsockname()[1]}", stranger)
        looker.join()
    silent.close()
    assert seen, "the look at the threads happened"
    assert not [name for name in seen if name.startswith("net-mesh-conn")], seen
