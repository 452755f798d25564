"""Node identity: ed25519 keypairs from 32-byte seeds, node ids, signatures."""

from __future__ import annotations

from typing import Optional, Tuple

from net import _net

from . import token as _token
from .token import DurationLike, PermissionToken, ScopeLike, TimeLike


class Identity:
    """A node's keypair. ``Identity.from_seed(seed)`` is deterministic;
    ``Identity.generate()`` draws a fresh seed from the OS."""

    def __init__(self, native: _net.Identity) -> None:
        self._native = native

    @classmethod
    def from_seed(cls, seed: bytes) -> Identity:
        """The identity for a 32-byte seed (InvalidSeedError otherwise)."""
        return cls(_net.Identity.from_seed(seed))

    @classmethod
    def generate(cls) -> Identity:
        """A fresh random identity."""
        return cls(_net.Identity.generate())

    @property
    def seed(self) -> bytes:
        """The secret seed: treat it like a password."""
        return self._native.seed()

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key (the entity id)."""
        return self._native.public_key()

    @property
    def node_id(self) -> int:
        """The 64-bit node id."""
        return self._native.node_id()

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature of ``message``."""
        return self._native.sign(message)

    def issue_token(
        self,
        subject: bytes,
        scope: ScopeLike,
        channel: str,
        ttl: DurationLike,
        *,
        depth: int = 0,
        not_before: Optional[TimeLike] = None,
        now: Optional[TimeLike] = None,
        nonce: Optional[bytes] = None,
    ) -> PermissionToken:
        """Issues a token signed by this identity (a root grant): ``subject`` (a public
        key) may do ``scope`` on ``channel`` (a name, ``prefix/*`` or ``prefix/**``) for
        ``ttl`` (seconds or a timedelta; zero is rounded up to a second) from
        ``not_before``, and delegate it ``depth`` more times."""
        request = _token.token_request(
            subject, scope, channel, ttl, depth=depth, not_before=not_before, now=now, nonce=nonce
        )
        return _token.issue(self, request, strict=False)

    def try_issue_token(
        self,
        subject: bytes,
        scope: ScopeLike,
        channel: str,
        ttl: DurationLike,
        *,
        depth: int = 0,
        not_before: Optional[TimeLike] = None,
        now: Optional[TimeLike] = None,
        nonce: Optional[bytes] = None,
    ) -> PermissionToken:
        """:meth:`issue_token` that raises TokenZeroTtlError for a zero ``ttl``."""
        request = _token.token_request(
            subject, scope, channel, ttl, depth=depth, not_before=not_before, now=now, nonce=nonce
        )
        return _token.issue(self, request, strict=True)

    def delegate_token(
        self,
        parent: PermissionToken,
        subject: bytes,
        scope: ScopeLike,
        channel: str,
        ttl: DurationLike,
        *,
        depth: int = 0,
        not_before: Optional[TimeLike] = None,
        now: Optional[TimeLike] = None,
        nonce: Optional[bytes] = None,
    ) -> PermissionToken:
        """Passes part of ``parent`` (a token whose subject is this identity) on to
        ``subject``. Raises TokenBrokenChainError (not the parent's subject),
        TokenDepthExceededError, TokenWidenedError (a scope or channel the parent does
        not grant) or TokenExpiredError; the new token ends no later than its parent."""
        request = _token.token_request(
            subject, scope, channel, ttl, depth=depth, not_before=not_before, now=now, nonce=nonce
        )
        return _token.delegate(self, parent, request)

    def __repr__(self) -> str:  # never shows the seed
        return f"Identity(public_key={self.public_key.hex()})"


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raises BadSignatureError (or InvalidKeyError) unless the signature is valid."""
    _net.verify(public_key, message, signature)


def public_key_ids(public_key: bytes) -> Tuple[int, int]:
    """The ``(node_id, origin_hash)`` of a public key."""
    return _net.public_key_ids(public_key)
