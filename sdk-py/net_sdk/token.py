"""Permission tokens: ed25519-signed grants of what a subject may do on which
channels, delegation chains, and the cache that checks them; channel names.

>>> root, alice = Identity.generate(), Identity.generate()
>>> grant = root.issue_token(alice.public_key, TokenScope.SUBSCRIBE, "sensors/*", ttl=300)
>>> grant.covers("sensors/lidar")
True
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence, Union

from net import _net

if TYPE_CHECKING:
    from .identity import Identity

#: The length of a token in bytes.
TOKEN_LEN: int = _net.TOKEN_LEN
#: The most delegations a token may allow below it.
MAX_DELEGATION_DEPTH: int = _net.MAX_DELEGATION_DEPTH


class TokenScope(enum.IntFlag):
    """What a token lets its subject do (combine with ``|``)."""

    PUBLISH = _net.TOKEN_SCOPE_PUBLISH
    SUBSCRIBE = _net.TOKEN_SCOPE_SUBSCRIBE
    ADMIN = _net.TOKEN_SCOPE_ADMIN
    DELEGATE = _net.TOKEN_SCOPE_DELEGATE


#: A scope: flags, or names (``["publish", "subscribe"]``) the engine checks.
ScopeLike = Union[TokenScope, int, Iterable[str]]
#: A time: an aware or naive (UTC) datetime, or seconds since the epoch.
TimeLike = Union[_dt.datetime, int, float]
#: A duration: a timedelta or seconds.
DurationLike = Union[_dt.timedelta, int, float]


def _scope(scope: ScopeLike) -> Union[int, List[str]]:
    if isinstance(scope, int):
        return int(scope)
    if isinstance(scope, str):
        return [scope]
    return list(scope)


def _seconds(at: Optional[TimeLike]) -> Optional[int]:
    if at is None:
        return None
    if isinstance(at, _dt.datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=_dt.timezone.utc)
        return int(at.timestamp())
    return int(at)


def _ttl_ms(ttl: DurationLike) -> int:
    # The engine checks the value (a negative one is InvalidTokenArgumentError).
    seconds = ttl.total_seconds() if isinstance(ttl, _dt.timedelta) else float(ttl)
    return math.ceil(seconds * 1000)


def token_request(
    subject: bytes,
    scope: ScopeLike,
    channel: str,
    ttl: DurationLike,
    *,
    depth: int = 0,
    not_before: Optional[TimeLike] = None,
    now: Optional[TimeLike] = None,
    nonce: Optional[bytes] = None,
) -> str:
    """The JSON request the engine takes (see :meth:`Identity.issue_token`)."""
    request: dict[str, Any] = {
        "subject": bytes(subject).hex(),
        "scope": _scope(scope),
        "channel": channel,
        "ttl_ms": _ttl_ms(ttl),
        "depth": depth,
    }
    for key, value in (("not_before", _seconds(not_before)), ("now", _seconds(now))):
        if value is not None:
            request[key] = value
    if nonce is not None:
        request["nonce"] = bytes(nonce).hex()
    return json.dumps(request)


@dataclass(frozen=True)
class TokenInfo:
    """A token's fields."""

    id: str
    version: int
    scope: TokenScope
    depth: int
    channel_kind: str
    channel_digest: str
    not_before: int
    expires: int
    nonce: str
    issuer: bytes
    subject: bytes
    #: The parent token's id (hex); None for a root grant.
    parent: Optional[str]


class PermissionToken:
    """A permission token: its :data:`TOKEN_LEN` bytes (``bytes(token)``)."""

    __slots__ = ("_bytes",)

    def __init__(self, data: bytes) -> None:
        self._bytes = bytes(data)

    @classmethod
    def from_bytes(cls, data: bytes) -> PermissionToken:
        """Parses token bytes (TokenMalformedError if they are not one)."""
        token = cls(data)
        _net.token_json(token._bytes)
        return token

    def __bytes__(self) -> bytes:
        return self._bytes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PermissionToken) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    @property
    def id(self) -> bytes:
        """The token's 32-byte id (revocation is by id)."""
        return _net.token_id(self._bytes)

    def verify(self, now: Optional[TimeLike] = None) -> None:
        """Raises TokenBadSignatureError, TokenExpiredError or TokenNotYetValidError
        unless the token is signed by its issuer and valid at ``now`` (default: now)."""
        _net.token_verify(self._bytes, _seconds(now))

    def covers(self, channel: str) -> bool:
        """Whether the token's channel pattern matches ``channel``."""
        return _net.token_covers(self._bytes, channel)

    @property
    def info(self) -> TokenInfo:
        """The token's fields."""
        raw = json.loads(_net.token_json(self._bytes))
        return TokenInfo(
            id=raw["id"],
            version=raw["version"],
            scope=TokenScope(raw["scope_bits"]),
            depth=raw["depth"],
            channel_kind=raw["channel_kind"],
            channel_digest=raw["channel_digest"],
            not_before=raw["not_before"],
            expires=raw["expires"],
            nonce=raw["nonce"],
            issuer=bytes.fromhex(raw["issuer"]),
            subject=bytes.fromhex(raw["subject"]),
            parent=raw["parent"],
        )

    def __repr__(self) -> str:
        info = self.info
        return f"PermissionToken(id={info.id[:16]}…, scope={info.scope!r}, expires={info.expires})"


def _id(token_id: Union[bytes, str]) -> bytes:
    return bytes.fromhex(token_id) if isinstance(token_id, str) else bytes(token_id)


def _chain(chain: Union[PermissionToken, Sequence[PermissionToken]]) -> bytes:
    if isinstance(chain, PermissionToken):
        return bytes(chain)
    return b"".join(bytes(t) for t in chain)


class TokenCache:
    """The roots a node trusts, the chains it verified and the token ids it revoked.
    Thread-safe; a revocation takes effect at the next check."""

    def __init__(self) -> None:
        self._native = _net.TokenCache()

    @classmethod
    def _wrap(cls, native: _net.TokenCache) -> TokenCache:
        cache = cls.__new__(cls)
        cache._native = native
        return cache

    def trust(self, public_key: bytes) -> None:
        """Trusts a root key to issue root grants."""
        self._native.trust(bytes(public_key))

    def revoke(self, token_id: Union[bytes, str]) -> None:
        """Revokes a token id (bytes or hex), and every chain resting on it."""
        self._native.revoke(_id(token_id))

    def is_revoked(self, token_id: Union[bytes, str]) -> bool:
        return self._native.is_revoked(_id(token_id))

    def install(
        self,
        chain: Union[PermissionToken, Sequence[PermissionToken]],
        subject: bytes,
        scope: ScopeLike,
        channel: str,
        now: Optional[TimeLike] = None,
    ) -> bytes:
        """Verifies ``chain`` (the root grant first) for ``subject`` doing ``scope`` on
        ``channel`` at ``now``, keeps it, and returns the leaf's id. Raises the
        ``Token*Error`` classes (untrusted root, broken chain, widened, denied, revoked,
        expired...)."""
        return self._native.install(_chain(chain), bytes(subject), _bits(scope), channel, _seconds(now))

    def verify(
        self,
        chain: Union[PermissionToken, Sequence[PermissionToken]],
        subject: bytes,
        scope: ScopeLike,
        channel: str,
        now: Optional[TimeLike] = None,
    ) -> bytes:
        """:meth:`install` without keeping the chain."""
        return self._native.verify(_chain(chain), bytes(subject), _bits(scope), channel, _seconds(now))

    def check(self, subject: bytes, scope: ScopeLike, channel: str, now: Optional[TimeLike] = None) -> bytes:
        """The id of a held chain that lets the access happen; TokenDeniedError (none
        does) or TokenExpiredError otherwise."""
        return self._native.check(bytes(subject), _bits(scope), channel, _seconds(now))

    def sweep(self, now: Optional[TimeLike] = None) -> int:
        """Drops the chains expired at ``now``; how many went."""
        return self._native.sweep(_seconds(now))

    def __len__(self) -> int:
        return len(self._native)


def _bits(scope: ScopeLike) -> int:
    if isinstance(scope, int):
        return int(scope)
    return _net.token_scope_bits([scope] if isinstance(scope, str) else list(scope))


def issue(identity: Identity, request_json: str, strict: bool) -> PermissionToken:
    return PermissionToken(_net.token_issue(identity._native, request_json, strict))


def delegate(identity: Identity, parent: PermissionToken, request_json: str) -> PermissionToken:
    return PermissionToken(_net.token_delegate(identity._native, bytes(parent), request_json))


def check_channel_name(name: str) -> None:
    """Raises InvalidChannelNameError unless ``name`` is a valid channel name."""
    _net.channel_check_name(name)


def channel_hash(name: str) -> int:
    """A channel name's stable 64-bit hash."""
    return _net.channel_hash(name)


def channel_matches(pattern: str, name: str) -> bool:
    """Whether ``pattern`` (``a/b``, ``a/*``, ``a/**``, ``*``, ``**``) matches ``name``."""
    return _net.channel_matches(pattern, name)
