"""Node identity: ed25519 keypairs from 32-byte seeds, node ids, signatures."""

from __future__ import annotations

from typing import Tuple

from net import _net


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

    def __repr__(self) -> str:  # never shows the seed
        return f"Identity(public_key={self.public_key.hex()})"


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raises BadSignatureError (or InvalidKeyError) unless the signature is valid."""
    _net.verify(public_key, message, signature)


def public_key_ids(public_key: bytes) -> Tuple[int, int]:
    """The ``(node_id, origin_hash)`` of a public key."""
    return _net.public_key_ids(public_key)
