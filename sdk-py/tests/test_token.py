"""Permission tokens, the token cache and channel names through the Python SDK."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from net_sdk import (
    Identity,
    InvalidChannelNameError,
    InvalidKeyError,
    InvalidTokenArgumentError,
    PermissionToken,
    TokenBrokenChainError,
    TokenCache,
    TokenDeniedError,
    TokenExpiredError,
    TokenMalformedError,
    TokenRevokedError,
    TokenScope,
    TokenUntrustedError,
    TokenWidenedError,
    TokenZeroTtlError,
    channel_hash,
    channel_matches,
    check_channel_name,
)
from net_sdk.token import TOKEN_LEN

NOW = 1_800_000_000


def test_issue_delegate_and_check_a_chain() -> None:
    root, alice, bob = Identity.generate(), Identity.generate(), Identity.generate()
    grant = root.issue_token(
        alice.public_key, TokenScope.SUBSCRIBE | TokenScope.DELEGATE, "sensors/**", ttl=3600, depth=1, now=NOW
    )
    assert len(bytes(grant)) == TOKEN_LEN
    grant.verify(NOW)
    with pytest.raises(TokenExpiredError):
        grant.verify(NOW + 3600)
    child = alice.delegate_token(
        grant, bob.public_key, ["subscribe"], "sensors/lidar", dt.timedelta(minutes=5), now=NOW
    )
    info = child.info
    assert info.scope == TokenScope.SUBSCRIBE and info.parent == grant.id.hex() and info.expires == NOW + 300
    assert info.issuer == alice.public_key and info.subject == bob.public_key
    with pytest.raises(TokenWidenedError):
        alice.delegate_token(grant, bob.public_key, TokenScope.PUBLISH, "sensors/lidar", 60, now=NOW)
    with pytest.raises(TokenBrokenChainError):
        bob.delegate_token(grant, bob.public_key, TokenScope.SUBSCRIBE, "sensors/lidar", 60, now=NOW)
    cache = TokenCache()
    with pytest.raises(TokenUntrustedError):
        cache.install([grant, child], bob.public_key, TokenScope.SUBSCRIBE, "sensors/lidar", now=NOW)
    cache.trust(root.public_key)
    leaf = cache.install([grant, child], bob.public_key, "subscribe", "sensors/lidar", now=NOW)
    assert leaf == child.id and len(cache) == 1
    assert cache.check(bob.public_key, TokenScope.SUBSCRIBE, "sensors/lidar", now=NOW + 1) == leaf
    with pytest.raises(TokenDeniedError):
        cache.check(bob.public_key, TokenScope.PUBLISH, "sensors/lidar", now=NOW + 1)
    with pytest.raises(TokenExpiredError):
        cache.check(bob.public_key, TokenScope.SUBSCRIBE, "sensors/lidar", now=NOW + 300)
    cache.revoke(grant.id.hex())
    assert cache.is_revoked(grant.id)
    with pytest.raises(TokenDeniedError):
        cache.check(bob.public_key, TokenScope.SUBSCRIBE, "sensors/lidar", now=NOW + 1)
    with pytest.raises(TokenRevokedError):
        cache.verify([grant, child], bob.public_key, TokenScope.SUBSCRIBE, "sensors/lidar", now=NOW)
    assert cache.sweep(NOW) == 0 and len(cache) == 0


def test_bad_input_is_a_typed_error() -> None:
    root, alice = Identity.generate(), Identity.generate()
    with pytest.raises(TokenZeroTtlError):
        root.try_issue_token(alice.public_key, TokenScope.ADMIN, "a", 0)
    assert root.issue_token(alice.public_key, TokenScope.ADMIN, "a", 0, now=NOW).info.expires == NOW + 1
    with pytest.raises(InvalidTokenArgumentError):
        root.issue_token(alice.public_key, ["write"], "a", 10)
    with pytest.raises(InvalidTokenArgumentError):
        root.issue_token(alice.public_key, [], "a", 10)
    with pytest.raises(InvalidKeyError):
        root.issue_token(b"\x01\x02", TokenScope.ADMIN, "a", 10)
    with pytest.raises(InvalidChannelNameError):
        root.issue_token(alice.public_key, TokenScope.ADMIN, "a//b", 10)
    with pytest.raises(ValueError):
        root.issue_token(alice.public_key, TokenScope.ADMIN, "a", -1)
    with pytest.raises(TokenMalformedError):
        PermissionToken.from_bytes(b"not a token")
    with pytest.raises(TokenMalformedError):
        PermissionToken(b"\x00" * TOKEN_LEN).verify()
    cache = TokenCache()
    with pytest.raises(InvalidTokenArgumentError):
        cache.revoke(b"short")
    with pytest.raises(InvalidKeyError):
        cache.trust(b"short")
    # An aware datetime and seconds are the same time.
    at = dt.datetime.fromtimestamp(NOW, tz=dt.timezone.utc)
    token = root.issue_token(alice.public_key, TokenScope.ADMIN, "a", 10, now=at)
    assert token.info.not_before == NOW
    assert token == PermissionToken.from_bytes(bytes(token)) and hash(token) == hash(
        PermissionToken(bytes(token))
    )


def test_one_cache_from_many_threads() -> None:
    root = Identity.generate()
    cache = TokenCache()
    cache.trust(root.public_key)
    errors: list[BaseException] = []

    def worker() -> None:
        me = Identity.generate().public_key
        try:
            for _ in range(100):
                token = root.issue_token(me, TokenScope.PUBLISH, "t/*", 60)
                leaf = cache.install(token, me, TokenScope.PUBLISH, "t/x")
                assert cache.check(me, TokenScope.PUBLISH, "t/x") == leaf
                cache.revoke(leaf)
                with pytest.raises(TokenDeniedError):
                    cache.check(me, TokenScope.PUBLISH, "t/x")
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(cache) == 0


def test_channel_names() -> None:
    check_channel_name("sensors/lidar")
    with pytest.raises(InvalidChannelNameError):
        check_channel_name("/sensors")
    assert channel_matches("sensors/*", "sensors/lidar")
    assert not channel_matches("sensors/*", "sensors/lidar/front")
    assert channel_hash("a") != channel_hash("b")
