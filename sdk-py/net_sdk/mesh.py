"""The encrypted mesh: nodes that connect over UDP with a Noise handshake bound to a
shared network key, then exchange messages on numbered streams.

>>> from net_sdk import Mesh
>>> key = bytes([7]) * 32
>>> with Mesh(key, bind="127.0.0.1:0") as a, Mesh(key, bind="127.0.0.1:0") as b:
...     peer = a.connect(b.local_addr, b.public_key)
...     stream = a.open_stream(peer, 2, reliable=True)
...     stream.send_blocking(b"hello", timeout=5)
...     b.recv(timeout=5).payload
b'hello'

Peers are node ids (ints: they routinely exceed 2**53, which Python does not mind).
A stream that was never opened is fire-and-forget; a reliable stream delivers in
order, exactly once, resending until acknowledged, and refuses a send with
:class:`~net.errors.StreamBackpressureError` while its window is full.
Blocking calls release the GIL and can be interrupted with Ctrl-C.

Which peers a node accepts is its :class:`Trust` policy: open (any key that completes
the handshake), TOFU (the first key seen at an address is pinned) or an allowlist,
plus keys pinned at addresses under every policy. A :class:`PeerStore` remembers
peers (and TOFU pins) across restarts, and an :class:`AuditLog` records every
decision as a hash-chained JSON line::

    Mesh(key, trust=Trust("tofu"), peer_store="peers.json", audit_log="audit.jsonl")

Nodes relay for each other. Every ``beacon_interval`` seconds a node tells its
neighbours the routes it knows (up to ``max_hops`` hops), so a node learns routes to
nodes it has no address for; :meth:`Mesh.routes` lists them and
:meth:`Mesh.connect_routed` opens an end-to-end session through the relays (which
forward on the routing header alone and never hold the session's keys)::

    peer = a.connect_routed(c_public_key)  # a and c each connected only to b

Sessions have lifetimes: the side that opened one runs a fresh handshake every
``rekey_interval`` seconds (streams carry on), and a session silent for
``session_timeout`` seconds is dropped (sends to that peer then raise
:class:`~net.errors.UnknownPeerError`).

A bus crosses the mesh through a :class:`BusLink`: a send link consumes a local
bus (a :class:`~net_sdk.NetNode`) and carries its events to a peer over a reliable
stream; a receive link on the peer emits them into its own bus, where ``poll`` and
``subscribe`` read them like local events. Delivery is at least once: an event
leaves the sending bus only once the peer acknowledged it::

    with a.send_bus(outbox, b_id) as out, b.receive_bus(inbox, a_id) as into:
        outbox.emit({"n": 1})  # ... and inbox.poll() returns it
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from types import MappingProxyType
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from net import _net
from net.errors import InvalidKeyError, InvalidMeshConfigError, MeshShutdownError

from ._mesh_stats import CapabilityStats, ChannelStats, MeshStats, PeerCipher
from ._time import config_ms, seconds_to_ms
from .capability import CapabilitySet, Predicate, SubnetId, SubnetPolicy, Visibility
from .channels import ChannelSubscription, MeshChannel
from .handler import Handler
from .identity import Identity
from .node import NetNode
from .token import PermissionToken, TokenCache

#: Bytes or their hex spelling (network keys, seeds, public keys).
BytesOrHex = Union[bytes, bytearray, str]
#: ``"ip:port"`` or an ``(host, port)`` tuple.
Address = Union[str, Tuple[str, int]]
#: A file path: a string or an :class:`os.PathLike` (such as :class:`pathlib.Path`).
StrPath = Union[str, "os.PathLike[str]"]

#: How recently a peer was heard from: ``"alive"``; ``"suspect"`` after three silent
#: beacon intervals; ``"failed"`` after six (routes through it are no longer used).
PeerHealth = Literal["alive", "suspect", "failed"]
#: Which way a :class:`BusLink` carries events: from the local bus to the peer
#: (``"send"``) or from the peer into the local bus (``"receive"``).
LinkDirection = Literal["send", "receive"]
#: A bus to link: a :class:`~net_sdk.NetNode`, or the low-level ``net.Bus``.
BusLike = Union[NetNode, _net.Bus]

_T = TypeVar("_T")


def _from_json(cls: Type[_T], data: Mapping[str, Any]) -> _T:
    """``cls`` from the engine's JSON object, ignoring fields it does not know yet (a
    newer engine may count more than this SDK names)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Message:
    """A message received from a peer: who sent it (``from_``, a node id: ``from`` in
    every other language, with PEP 8's trailing underscore for a keyword), on which
    stream, and the bytes."""

    from_: int
    stream_id: int
    payload: bytes


@dataclass(frozen=True)
class PeerInfo:
    """A peer this node holds a session with. ``confirmed`` is True once the peer
    has proven it holds the network key; ``routed`` when its packets come through
    relays (:meth:`Mesh.connect_routed`) rather than directly. ``health`` is how
    recently it was heard from (always ``"alive"`` for a routed peer, whose liveness
    is its relays'). ``cipher`` is the packet cipher the handshake agreed."""

    node_id: int
    public_key: bytes
    addr: str
    confirmed: bool
    cipher: PeerCipher
    routed: bool = False
    health: PeerHealth = "alive"


@dataclass(frozen=True)
class Route:
    """The best route this node knows to ``dest``: packets go to the neighbour
    ``next_hop`` and take ``hops`` hops in all (1: ``dest`` is the neighbour)."""

    dest: int
    next_hop: int
    hops: int


@dataclass(frozen=True)
class StreamStats:
    """One stream's counters with one peer. ``reliability`` is ``"reliable"`` or
    ``"fire_and_forget"``; ``window`` is 0 for fire-and-forget."""

    peer: int
    stream_id: int
    reliability: str
    sent: int
    received: int
    in_flight: int
    window: int
    backpressure_events: int
    retransmits: int
    duplicates: int

    @property
    def reliable(self) -> bool:
        return self.reliability == "reliable"


@dataclass(frozen=True)
class BusLinkStats:
    """A :class:`BusLink`'s counters. ``events`` and ``bytes`` (payload bytes) count
    the events carried: acknowledged by the peer (send) or emitted into the local bus
    (receive); ``messages`` the stream messages that carried them. ``rejected``
    (receive) counts events the local bus refused for good (bigger than its
    ``max_event_size``), ``malformed`` (receive) messages that were not link
    messages, ``stalls`` the times the link had to wait (the peer's session was gone,
    or the local bus was full). ``running`` is False once the link stopped: closed,
    or on its own when the bus or the node shut down under it — then ``error`` says
    why (``"mesh:shutdown: ..."``)."""

    direction: LinkDirection
    peer: int
    stream_id: int
    events: int
    bytes: int
    messages: int
    rejected: int
    malformed: int
    stalls: int
    running: bool
    error: Optional[str] = None


def _link_stats(text: str) -> BusLinkStats:
    data = json.loads(text)
    return _from_json(BusLinkStats, dict(data, peer=int(data["peer"]), stream_id=int(data["stream_id"])))


def _bus_handle(bus: BusLike) -> _net.Bus:
    if isinstance(bus, NetNode):
        return bus._bus
    if isinstance(bus, _net.Bus):
        return bus
    raise TypeError(f"bus must be a NetNode, not {type(bus).__name__}")


class BusLink:
    """A running link between a local bus and a peer (see :meth:`Mesh.link_bus`).
    A context manager that closes the link. Closing the mesh or the bus stops the
    link (its :meth:`stats` then say why) but does not close it."""

    def __init__(self, native: _net.BusLink) -> None:
        self._native = native
        stats = self.stats()
        self._direction, self._peer, self._stream_id = stats.direction, stats.peer, stats.stream_id

    @classmethod
    def from_config(
        cls, mesh: Mesh, bus: BusLike, peer: int, options: Union[str, Mapping[str, Any]]
    ) -> BusLink:
        """A link from the engine's JSON options, given as text or a mapping:
        ``{"direction": "send" | "receive", "stream_id", "max_batch",
        "message_bytes"}`` (only ``direction`` required)."""
        text = options if isinstance(options, str) else json.dumps(dict(options))
        return cls(mesh._native.link_bus(_bus_handle(bus), peer, text))

    @property
    def direction(self) -> LinkDirection:
        """``"send"`` or ``"receive"``."""
        return self._direction

    @property
    def peer(self) -> int:
        """The peer's node id."""
        return self._peer

    @property
    def stream_id(self) -> int:
        """The stream the link uses."""
        return self._stream_id

    def stats(self) -> BusLinkStats:
        """The link's counters now."""
        return _link_stats(self._native.stats_json())

    def close(self) -> None:
        """Stops the link and waits for its thread (a few tens of milliseconds at
        most); idempotent. A receive link first hands what it already received to
        its bus; a send link leaves unacknowledged events in its bus for the next
        link (which may send some of them again)."""
        self._native.close()

    def __enter__(self) -> BusLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BusLink(direction={self._direction!r}, peer={self._peer}, stream_id={self._stream_id})"


@dataclass(frozen=True)
class KnownPeer:
    """A peer remembered in the node's :class:`PeerStore`: where it was reached, who it
    was, when a handshake with it last succeeded (Unix time in ms) and how many
    attempts failed since."""

    addr: str
    node_id: int
    public_key: bytes
    last_success_ms: int
    failures: int

    @property
    def last_success(self) -> datetime:
        """:attr:`last_success_ms` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.last_success_ms / 1000, tz=timezone.utc)


def _known_peer(entry: Mapping[str, Any]) -> KnownPeer:
    fixed = dict(entry, node_id=int(entry["node_id"]), public_key=bytes.fromhex(entry["public_key"]))
    return _from_json(KnownPeer, fixed)


def _peer(entry: Mapping[str, Any]) -> PeerInfo:
    fixed = dict(entry, node_id=int(entry["node_id"]), public_key=bytes.fromhex(entry["public_key"]))
    return _from_json(PeerInfo, fixed)


def _route(entry: Mapping[str, Any]) -> Route:
    return Route(int(entry["dest"]), int(entry["next_hop"]), entry["hops"])


def _hex(value: Union[BytesOrHex, Identity]) -> Any:
    """Bytes as hex for the engine's JSON config; strings pass through unchanged (the
    engine validates them), and so does anything else (it then fails as invalid)."""
    if isinstance(value, Identity):
        return value.seed.hex()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return value


def _key_bytes(public_key: BytesOrHex) -> bytes:
    if isinstance(public_key, str):
        try:
            return bytes.fromhex(public_key)
        except ValueError:
            raise InvalidKeyError(f"identity:invalid_key: not hex: {public_key!r}") from None
    if isinstance(public_key, (bytes, bytearray)):
        return bytes(public_key)
    raise TypeError(f"public_key must be bytes or a hex string, not {type(public_key).__name__}")


def _addr(addr: Address) -> str:
    if isinstance(addr, tuple):
        host, port = addr
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return addr


def _message(raw: Optional[Tuple[int, int, bytes]]) -> Optional[Message]:
    return None if raw is None else Message(*raw)


def _stream_stats(text: Optional[str]) -> Optional[StreamStats]:
    return None if text is None else _stream_stats_of(text)


def _stream_stats_of(text: str) -> StreamStats:
    data = json.loads(text)
    return _from_json(StreamStats, dict(data, peer=int(data["peer"]), stream_id=int(data["stream_id"])))


@dataclass(frozen=True, init=False, repr=False)
class Trust:
    """Which peers' keys a node accepts, on both sides of the handshake.

    ``policy``: ``"open"`` (the default) accepts any key that completes the
    handshake; ``"tofu"`` pins the first key seen at an address and refuses another
    one there later; ``"allowlist"`` accepts only the keys in ``allow``. ``pinned``
    maps addresses (``"ip:port"`` or ``(host, port)``) to the only key accepted there,
    under every policy. Keys are 32 bytes or their hex spelling; they are kept as
    bytes (a string that is not hex raises :class:`~net.errors.InvalidKeyError` at
    once). The rest — the policy's name, key lengths, addresses — is checked when the
    node is bound: :class:`~net.errors.InvalidMeshConfigError` for an unknown policy
    or a bad address, :class:`~net.errors.InvalidKeyError` for a bad key.

    A refused peer gets no answer when it connects (it sees
    :class:`~net.errors.MeshTimeoutError`); connecting to one fails at once with
    :class:`~net.errors.UntrustedPeerError`.
    """

    policy: str
    allow: Tuple[bytes, ...]
    pinned: Mapping[str, bytes] = field(hash=False)

    def __init__(
        self,
        policy: str = "open",
        allow: Iterable[BytesOrHex] = (),
        pinned: Union[Mapping[str, BytesOrHex], Mapping[Tuple[str, int], BytesOrHex], None] = None,
    ) -> None:
        if isinstance(allow, (str, bytes, bytearray)):
            raise TypeError("allow must be a collection of keys, not a single key")
        pins = {_addr(addr): _key_bytes(key) for addr, key in (pinned or {}).items()}
        object.__setattr__(self, "policy", policy)
        object.__setattr__(self, "allow", tuple(_key_bytes(key) for key in allow))
        object.__setattr__(self, "pinned", MappingProxyType(pins))

    def __reduce__(self) -> Tuple[Any, ...]:
        return (Trust, (self.policy, self.allow, dict(self.pinned)))

    def __repr__(self) -> str:
        allow = [key.hex() for key in self.allow]
        pinned = {addr: key.hex() for addr, key in self.pinned.items()}
        return f"Trust(policy={self.policy!r}, allow={allow!r}, pinned={pinned!r})"

    def _config(self) -> Dict[str, Any]:
        return {
            "policy": self.policy,
            "allow": [key.hex() for key in self.allow],
            "pinned": {addr: key.hex() for addr, key in self.pinned.items()},
        }


@dataclass(frozen=True)
class PeerStore:
    """Where a node remembers its peers across restarts: a JSON file at ``path``,
    written every ``flush_interval`` seconds and on close. Under TOFU its keys are the
    pins, so a restarted node still refuses an impostor. Entries with no successful
    handshake for ``ttl`` seconds are dropped, and at most ``max_entries`` are kept.
    None leaves the engine's default (7 days, 1024 entries, 30 s). A damaged file
    fails the bind with :class:`~net.errors.CorruptError`."""

    path: StrPath
    ttl: Optional[float] = None
    max_entries: Optional[int] = None
    flush_interval: Optional[float] = None

    def _config(self) -> Dict[str, Any]:
        return _present(
            path=os.fsdecode(self.path),
            ttl_ms=config_ms(self.ttl),
            max_entries=self.max_entries,
            flush_interval_ms=config_ms(self.flush_interval),
        )


@dataclass(frozen=True)
class AuditLog:
    """Where a node writes its trust decisions: one hash-chained JSON line each
    (``side``, ``addr``, ``node_id``, ``public_key``, ``policy``, ``decision``,
    ``reason``, ``kind``, ``ts_ms``, ``prev``) appended to ``path``, rotated to
    ``path.1``, ``path.2`` … before it would pass ``max_bytes``, keeping ``keep`` old
    files. None leaves the engine's default (10 MiB, 5 files)."""

    path: StrPath
    max_bytes: Optional[int] = None
    keep: Optional[int] = None

    def _config(self) -> Dict[str, Any]:
        return _present(path=os.fsdecode(self.path), max_bytes=self.max_bytes, keep=self.keep)


@dataclass(frozen=True)
class CapabilityConfig:
    """How a node announces and indexes capabilities: its own ``subnet``, the
    ``subnet_policy`` that derives peers' subnets from their tags, how long its
    announcement lives elsewhere without a refresh (``ttl``, seconds; refreshed
    at half of it) and the shortest time between two announcements it sends
    (``min_announce_interval``, seconds). None leaves the engine's default
    (root subnet, no policy, 300 s, 10 s)."""

    subnet: Optional[SubnetId] = None
    subnet_policy: Optional[SubnetPolicy] = None
    ttl: Optional[float] = None
    min_announce_interval: Optional[float] = None

    def _config(self) -> Dict[str, Any]:
        return _present(
            subnet=None if self.subnet is None else str(self.subnet),
            subnet_policy=None if self.subnet_policy is None else json.loads(self.subnet_policy.to_json()),
            ttl_ms=config_ms(self.ttl),
            min_announce_interval_ms=config_ms(self.min_announce_interval),
        )


@dataclass(frozen=True)
class ChannelConfig:
    """A channel this node publishes on, and its rules: which subnets may subscribe
    (``visibility``), what this node's own announced capabilities must satisfy to
    publish (``publish_caps``) and what a subscriber's must (``subscribe_caps``),
    whether subscribers present a token chain granting ``subscribe``
    (``require_token``), and reliable or fire-and-forget delivery.

    ``congestion`` is what a publish on a reliable channel does when a
    subscriber's window is full: ``"block"`` (the engine's default) waits for room
    up to ``block_timeout`` seconds (default 1), ``"drop"`` skips it for that
    publish (``backpressure`` in the report). ``priority`` is 0 (the default) to
    7: each priority has its own data stream to each subscriber, so a backlog on a
    lower one never holds up a higher one, and packed messages of higher
    priorities leave first (order holds within a channel, not across
    priorities). ``None`` keeps the engine's default."""

    name: str
    visibility: Visibility = Visibility.GLOBAL
    publish_caps: Optional[Predicate] = None
    subscribe_caps: Optional[Predicate] = None
    require_token: bool = False
    reliable: bool = True
    congestion: Optional[Literal["block", "drop"]] = None
    block_timeout: Optional[float] = None
    priority: Optional[int] = None

    def _json(self) -> str:
        return json.dumps(
            _present(
                name=self.name,
                visibility=Visibility(self.visibility).value,
                publish_caps=None if self.publish_caps is None else self.publish_caps.to_dict(),
                subscribe_caps=None if self.subscribe_caps is None else self.subscribe_caps.to_dict(),
                require_token=self.require_token,
                reliable=self.reliable,
                congestion=self.congestion,
                block_timeout_ms=config_ms(self.block_timeout),
                priority=self.priority,
            )
        )

    def normalized(self) -> Dict[str, Any]:
        """This config as the engine enforces it: every default filled in."""
        return normalize_channel_config(self._json())


def normalize_channel_config(config: Union[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """A channel config in the engine's JSON form (text or a mapping) with every
    default filled in, as a node registering it enforces it.
    ``InvalidChannelConfigError`` (or ``InvalidChannelNameError``,
    ``InvalidPredicateError``) for a bad one."""
    text = config if isinstance(config, str) else json.dumps(dict(config))
    result: Dict[str, Any] = json.loads(_net.channel_config_normalize(text))
    return result


@dataclass(frozen=True)
class PublishReport:
    """What a publish did: members considered, messages sent, and who was skipped
    (``(node_id, reason)``, reason one of ``expired``, ``revoked``,
    ``backpressure``, ``no_session``)."""

    attempted: int
    delivered: int
    skipped: Tuple[Tuple[int, str], ...]


def _present(**values: Any) -> Dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _section(what: str, cls: Type[_T], value: Any, *, shorthand: Union[type, Tuple[type, ...]]) -> _T:
    """A config section from its class, a mapping of its fields, or a shorthand for
    its first field (a policy name, a path)."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise InvalidMeshConfigError(
                f"mesh:invalid_config: {what} has no option {unknown[0]!r} (options: {', '.join(names)})"
            )
        return cls(**value)
    if isinstance(value, shorthand):
        return cls(value)  # type: ignore[call-arg]
    raise TypeError(f"{what} must be a {cls.__name__} or a mapping, not {type(value).__name__}")


class Stream:
    """One stream to one peer, as returned by :meth:`Mesh.open_stream`."""

    def __init__(self, mesh: Mesh, peer: int, stream_id: int) -> None:
        self._native, self._peer, self._id = mesh._native, peer, stream_id

    @property
    def peer(self) -> int:
        """The peer's node id."""
        return self._peer

    @property
    def id(self) -> int:
        """The stream id."""
        return self._id

    def send(self, payload: bytes) -> None:
        """Sends at once. On a reliable stream with a full window raises
        :class:`~net.errors.StreamBackpressureError`: drop, retry or wait — the
        transport never buffers on your behalf."""
        self._native.send(self._peer, self._id, payload)

    def send_with_retry(self, payload: bytes, max_retries: int = 8) -> None:
        """Sends, retrying while the window is full up to ``max_retries`` times
        (waits of 1 ms, 2 ms, 4 ms … each cut short when an ack opens the window)."""
        self._native.send_with_retry(self._peer, self._id, payload, max_retries)

    def send_blocking(
        self, payload: bytes, timeout: Optional[float] = None, cancel: Optional[_net.CancelToken] = None
    ) -> None:
        """Sends, waiting up to ``timeout`` seconds (None: as long as it takes) for
        room in the window; :class:`~net.errors.MeshTimeoutError` if it stays full,
        :class:`~net.errors.CancelledError` once ``cancel`` is cancelled (nothing
        sent)."""
        self._native.send_blocking(self._peer, self._id, payload, seconds_to_ms(timeout), cancel)

    def stats(self) -> StreamStats:
        """The stream's counters now (zero ones if the node holds no state for it, as
        in every language)."""
        return _stream_stats_of(self._native.opened_stream_stats_json(self._peer, self._id))

    def __repr__(self) -> str:
        return f"Stream(peer={self._peer}, id={self._id})"


class Mesh:
    """A mesh node bound to a UDP address. Nodes connect only when they share the
    32-byte ``network_key`` (bytes or hex). A context manager that closes the node.

    ``bind`` is ``"ip:port"`` (the engine's default: ``0.0.0.0:0``); ``seed`` fixes
    the identity (32 bytes, hex, or an :class:`Identity`; default: a fresh one).
    Durations are in seconds. ``beacon_interval`` (default 1 s) is how
    often neighbours are sent beacons: the routes this node knows, and a sign of life
    (a neighbour silent for three intervals is ``"suspect"``, for six ``"failed"``);
    ``max_hops`` (1 to 255, default 8) is the longest route learned from them.
    ``rekey_interval`` (default 120 s) is how often the side that opened a session
    replaces it with a fresh handshake; ``session_timeout`` (default 30 s, at least
    three beacon intervals) how long a silent session is kept.

    ``trust`` is a :class:`Trust` (or a mapping of its fields, or just a policy name);
    ``peer_store`` a :class:`PeerStore` and ``audit_log`` an :class:`AuditLog` (or a
    mapping of their fields, or just a path).
    """

    def __init__(
        self,
        network_key: BytesOrHex,
        *,
        bind: Optional[str] = None,
        seed: Union[BytesOrHex, Identity, None] = None,
        handshake_timeout: Optional[float] = None,
        handshake_retry: Optional[float] = None,
        inbox_capacity: Optional[int] = None,
        retransmit_timeout: Optional[float] = None,
        beacon_interval: Optional[float] = None,
        max_hops: Optional[int] = None,
        rekey_interval: Optional[float] = None,
        session_timeout: Optional[float] = None,
        trust: Union[Trust, Mapping[str, Any], str, None] = None,
        peer_store: Union[PeerStore, Mapping[str, Any], StrPath, None] = None,
        audit_log: Union[AuditLog, Mapping[str, Any], StrPath, None] = None,
        capabilities: Union[CapabilityConfig, Mapping[str, Any], None] = None,
    ) -> None:
        config: Dict[str, Any] = {
            "network_key": _hex(network_key),
            "bind": bind,
            "seed": None if seed is None else _hex(seed),
            "handshake_timeout_ms": config_ms(handshake_timeout),
            "handshake_retry_ms": config_ms(handshake_retry),
            "inbox_capacity": inbox_capacity,
            "retransmit_timeout_ms": config_ms(retransmit_timeout),
            "beacon_interval_ms": config_ms(beacon_interval),
            "max_hops": max_hops,
            "rekey_interval_ms": config_ms(rekey_interval),
            "session_timeout_ms": config_ms(session_timeout),
        }
        if trust is not None:
            config["trust"] = _section("trust", Trust, trust, shorthand=str)._config()
        if peer_store is not None:
            store = _section("peer_store", PeerStore, peer_store, shorthand=(str, os.PathLike))
            config["peer_store"] = store._config()
        if audit_log is not None:
            log = _section("audit_log", AuditLog, audit_log, shorthand=(str, os.PathLike))
            config["audit_log"] = log._config()
        if capabilities is not None:
            caps = _section("capabilities", CapabilityConfig, capabilities, shorthand=())
            config["capabilities"] = caps._config()
        self._native = _net.Mesh(json.dumps({k: v for k, v in config.items() if v is not None}))

    @classmethod
    def from_config(cls, config: Union[str, Mapping[str, Any]]) -> Mesh:
        """A node from the engine's JSON configuration, given as text or a mapping:
        ``{"network_key": "<64 hex>", "bind", "seed", "handshake_timeout_ms",
        "handshake_retry_ms", "inbox_capacity", "retransmit_timeout_ms",
        "beacon_interval_ms", "max_hops", "rekey_interval_ms",
        "session_timeout_ms", "trust": {"policy", "allow":
        [hex keys], "pinned": {"ip:port": hex key}}, "peer_store": {"path", "ttl_ms",
        "max_entries", "flush_interval_ms"}, "audit_log": {"path", "max_bytes", "keep"}}``."""
        mesh = cls.__new__(cls)
        mesh._native = _net.Mesh(config if isinstance(config, str) else json.dumps(dict(config)))
        return mesh

    @property
    def local_addr(self) -> str:
        """The bound address, ``"ip:port"`` (the real port when 0 was asked for);
        :class:`~net.errors.MeshShutdownError` once the node is closed."""
        return self._native.local_addr()

    @property
    def public_key(self) -> bytes:
        """This node's 32-byte ed25519 public key: what peers pass to ``connect``."""
        return self._native.public_key()

    @property
    def node_id(self) -> int:
        """This node's 64-bit id."""
        return self._native.node_id()

    def connect(self, addr: Address, public_key: BytesOrHex) -> int:
        """Opens an encrypted session with the node at ``addr`` whose public key is
        ``public_key`` (bytes or hex); returns its node id. Waits up to the handshake
        timeout: :class:`~net.errors.HandshakeFailedError` when the peer holds another
        network key, :class:`~net.errors.MeshTimeoutError` when nobody answers (a node
        that is not ``public_key`` cannot read the handshake, so it does not answer;
        nor does one whose trust policy refuses this node), and at once
        :class:`~net.errors.UntrustedPeerError` when this node's own :class:`Trust`
        refuses ``public_key`` (not allowed, or another key is pinned at ``addr``)."""
        return self._native.connect(_addr(addr), _key_bytes(public_key))

    def connect_routed(self, public_key: BytesOrHex) -> int:
        """Opens an encrypted session, through relays, with the node whose public key
        is ``public_key`` (bytes or hex) — one this node has no address for but a
        route to (see :meth:`routes`); returns its node id. The relays forward the
        handshake and every later packet without holding the session's keys.
        :class:`~net.errors.UnknownPeerError` when there is no route (yet: routes
        arrive with neighbours' beacons), :class:`~net.errors.InvalidKeyError` for a
        key that is not 32 bytes, and otherwise as :meth:`connect`. Waits up to the
        handshake timeout (Ctrl-C honoured)."""
        return self._native.connect_routed(_key_bytes(public_key))

    def routes(self) -> List[Route]:
        """The best route to every node this one can reach through relays, as learned
        from neighbours' beacons."""
        return [_route(r) for r in json.loads(self._native.routes_json())]

    def open_stream(
        self, peer: int, stream_id: int, *, reliable: Optional[bool] = None, window: Optional[int] = None
    ) -> Stream:
        """Opens stream ``stream_id`` to a connected peer: reliable (at most ``window``
        messages unacknowledged; default 256) or fire-and-forget (the default, as in
        every language). Opening it again with the same settings is fine; with others
        raises :class:`~net.errors.InvalidMeshConfigError`."""
        self._native.open_stream(peer, stream_id, reliable, 0 if window is None else window)
        return Stream(self, peer, stream_id)

    def send(self, peer: int, stream_id: int, payload: bytes) -> None:
        """Sends on a stream by ids (a stream never opened is fire-and-forget)."""
        self._native.send(peer, stream_id, payload)

    def send_with_retry(self, peer: int, stream_id: int, payload: bytes, max_retries: int = 8) -> None:
        """:meth:`Stream.send_with_retry` by peer and stream id."""
        self._native.send_with_retry(peer, stream_id, payload, max_retries)

    def send_blocking(
        self,
        peer: int,
        stream_id: int,
        payload: bytes,
        timeout: Optional[float] = None,
        cancel: Optional[_net.CancelToken] = None,
    ) -> None:
        """:meth:`Stream.send_blocking` by peer and stream id."""
        self._native.send_blocking(peer, stream_id, payload, seconds_to_ms(timeout), cancel)

    def recv(
        self, timeout: Optional[float] = None, cancel: Optional[_net.CancelToken] = None
    ) -> Optional[Message]:
        """The next message, waiting up to ``timeout`` seconds (None: until one
        comes); None on timeout. Once the node is closed, messages already received
        are still returned, then :class:`~net.errors.MeshShutdownError` is raised.
        ``cancel.cancel()`` from another thread ends the wait at once with
        :class:`~net.errors.CancelledError`."""
        return _message(self._native.recv(seconds_to_ms(timeout), cancel))

    def on_message(self, handler: Callable[[Message], Any]) -> Handler:
        """Calls ``handler(message)`` for every message the node receives (each
        taken from the inbox, as :meth:`recv` takes it) on the ``net-callbacks``
        thread; see :mod:`net_sdk.handler`. Raises
        :class:`~net.errors.MeshShutdownError` on a closed node."""

        def deliver(raw: Any) -> None:
            handler(Message(*raw))

        return Handler(self._native.on_message(deliver))

    def messages(self, timeout: Optional[float] = None) -> Iterator[Message]:
        """Yields messages as they come. Ends when the node is closed (after the ones
        already received), or when none arrives for ``timeout`` seconds."""
        while True:
            try:
                message = self.recv(timeout)
            except MeshShutdownError:
                return
            if message is None:
                return
            yield message

    def peers(self) -> List[PeerInfo]:
        """The peers this node holds sessions with, by node id."""
        return [_peer(p) for p in json.loads(self._native.peers_json())]

    def known_peers(self) -> List[KnownPeer]:
        """The peers remembered in the :class:`PeerStore`, most recently successful
        first (empty without a store)."""
        return [_known_peer(p) for p in json.loads(self._native.known_peers_json())]

    def stats(self) -> MeshStats:
        """The node's counters now."""
        return _from_json(MeshStats, json.loads(self._native.stats_json()))

    def announce_capabilities(self, caps: CapabilitySet) -> None:
        """Tells the mesh what this node can do: ``caps`` is signed, indexed as this
        node's own at once and sent to every peer, which passes it on (up to 16
        hops). Within ``min_announce_interval`` of the last one, the latest set
        goes out when the interval is up."""
        self._native.announce_capabilities(caps.to_json())

    def find_nodes(self, predicate: Predicate, *, scope: Optional[str] = None) -> List[int]:
        """The ids of the nodes whose announced sets satisfy ``predicate`` (this
        node's own included), ascending. ``scope`` (``"global"``,
        ``"same_subnet"``, ``"tenant:<id>"``, ``"region:<name>"``) filters by the
        providers' scope tags; None ignores them."""
        return self._native.find_nodes(predicate.to_json(), scope)

    def capabilities_of(self, node_id: int) -> Optional[CapabilitySet]:
        """The set a node announced (this node's own included); None when it is
        not known or has expired."""
        text = self._native.capabilities_of(node_id)
        return None if text is None else CapabilitySet.from_json(text)

    def subnet_of(self, node_id: int) -> Optional[SubnetId]:
        """A node's subnet: this node's configured one for itself, the one the
        subnet policy derives from a peer's announced tags (None before it
        announced)."""
        value = self._native.subnet_of(node_id)
        return None if value is None else SubnetId(value)

    def capability_stats(self) -> CapabilityStats:
        """The capability announcement counters now."""
        return CapabilityStats(**json.loads(self._native.capability_stats_json()))

    def register_channel(self, config: Union[ChannelConfig, str]) -> None:
        """Registers a channel this node publishes on (a name registers a global,
        reliable channel with no rules). ``InvalidChannelConfigError`` when it is
        registered already."""
        cfg = ChannelConfig(config) if isinstance(config, str) else config
        self._native.register_channel(cfg._json())

    def unregister_channel(self, name: str) -> bool:
        """Drops a channel and its roster; False when it was not registered."""
        return self._native.unregister_channel(name)

    def channel_subscribers(self, name: str) -> List[int]:
        """The node ids subscribed to a registered channel, ascending."""
        return self._native.channel_subscribers(name)

    @property
    def token_cache(self) -> TokenCache:
        """The token cache subscribers' chains are checked against: trust roots and
        revoke tokens there (the next publish drops members whose chains rest on a
        revoked one)."""
        return TokenCache._wrap(self._native.token_cache())

    def publish(self, channel: str, payload: Union[bytes, bytearray, memoryview, str]) -> PublishReport:
        """Sends ``payload`` on a registered channel to every subscriber the auth guard
        admits. ``UnknownChannelError`` for a channel not registered here,
        ``ChannelUnauthorizedError`` when this node misses its ``publish_caps``."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        raw = json.loads(self._native.publish(channel, data))
        skipped = tuple((int(s["node_id"]), s["reason"]) for s in raw["skipped"])
        return PublishReport(raw["attempted"], raw["delivered"], skipped)

    def channel(self, name: str, model: Optional[Type[_T]] = None) -> MeshChannel[_T]:
        """A typed channel over the mesh: ``publish(value)`` (on a channel this node
        registered) and ``subscribe(publisher, tokens=...)`` with values of ``model``
        (a Pydantic model, a dataclass, or None for plain JSON); see
        :mod:`net_sdk.channels`."""
        return MeshChannel(self, name, model)

    def subscribe(
        self,
        publisher: int,
        pattern: str,
        *,
        tokens: Sequence[PermissionToken] = (),
        timeout: float = 10.0,
    ) -> ChannelSubscription:
        """Asks ``publisher`` for ``pattern`` (a channel name, ``prefix/*`` or
        ``prefix/**``), presenting ``tokens`` (root grant first), and waits up to
        ``timeout`` seconds for the answer (GIL released). A refusal raises its
        reason: ``UnknownChannelError``, ``ChannelUnauthorizedError``,
        ``ChannelRateLimitedError``, ``ChannelSubnetError``; no answer
        ``MeshTimeoutError``."""
        chain = b"".join(bytes(t) for t in tokens)
        ms = seconds_to_ms(timeout)
        return ChannelSubscription(self._native.subscribe(publisher, pattern, chain, int(ms or 0)))

    def channel_stats(self) -> ChannelStats:
        """The channel counters now."""
        return ChannelStats(**json.loads(self._native.channel_stats_json()))

    def stream_stats(self, peer: int, stream_id: int) -> Optional[StreamStats]:
        """One stream's counters, or None if nothing was ever sent or received on it."""
        return _stream_stats(self._native.stream_stats_json(peer, stream_id))

    def link_bus(
        self,
        bus: BusLike,
        peer: int,
        direction: LinkDirection,
        *,
        stream_id: Optional[int] = None,
        max_batch: Optional[int] = None,
        message_bytes: Optional[int] = None,
    ) -> BusLink:
        """Starts a link between ``bus`` (a :class:`~net_sdk.NetNode`) and ``peer``.

        ``"send"``: the link becomes the consumer of ``bus`` — it polls up to
        ``max_batch`` events at a time (default 1024, 1 to 65536), packs them into
        stream messages of at most ``message_bytes`` (default 16384, 6 to 65423;
        bigger events travel in pieces) and sends them on the reliable stream
        ``stream_id`` (default 6452595), freeing a batch only once the peer
        acknowledged it. It needs a session with ``peer``
        (:class:`~net.errors.UnknownPeerError`).

        ``"receive"``: the link takes stream ``stream_id`` from ``peer`` (link
        streams are the bus link protocol's own, so they never reach
        :meth:`recv`) and emits every event into ``bus``. The session need not
        exist yet.

        Bad options, a receive link already open on the stream, or a send link's
        stream open another way raise :class:`~net.errors.InvalidMeshConfigError`; a shut-down bus
        :class:`~net.errors.ShutdownError`, a closed node
        :class:`~net.errors.MeshShutdownError`. For two-way traffic use two links on
        two stream ids, and on each node one bus to send from and one to receive
        into."""
        options = _present(
            direction=direction, stream_id=stream_id, max_batch=max_batch, message_bytes=message_bytes
        )
        return BusLink.from_config(self, bus, peer, options)

    def send_bus(
        self,
        bus: BusLike,
        peer: int,
        *,
        stream_id: Optional[int] = None,
        max_batch: Optional[int] = None,
        message_bytes: Optional[int] = None,
    ) -> BusLink:
        """Carries the events emitted on ``bus`` to ``peer``:
        :meth:`link_bus` with ``direction="send"``."""
        return self.link_bus(
            bus, peer, "send", stream_id=stream_id, max_batch=max_batch, message_bytes=message_bytes
        )

    def receive_bus(
        self,
        bus: BusLike,
        peer: int,
        *,
        stream_id: Optional[int] = None,
        max_batch: Optional[int] = None,
        message_bytes: Optional[int] = None,
    ) -> BusLink:
        """Emits the events ``peer`` sends on ``stream_id`` into ``bus``:
        :meth:`link_bus` with ``direction="receive"``."""
        return self.link_bus(
            bus, peer, "receive", stream_id=stream_id, max_batch=max_batch, message_bytes=message_bytes
        )

    def close(self) -> None:
        """Shuts the node down (idempotent): blocked calls wake with
        :class:`~net.errors.MeshShutdownError`, and so do later sends. The peer store
        is written and the UDP port released at once; what arrived before the close
        can still be received."""
        self._native.shutdown()

    shutdown = close

    def __enter__(self) -> Mesh:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Mesh(node_id={self.node_id}, public_key={self.public_key.hex()})"
