"""Verified bearer tokens are remembered until their expiry, and no longer; the memory is bounded."""
from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest

from paygate.auth import AuthError, TokenCodec

SECRET = "unit-test-secret-of-at-least-32-bytes"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class CountingDecode:
    """PyJWT's decode, remembering every token it was asked to verify."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def __call__(self, token, *args, **kwargs):
        self.tokens.append(token)
        return jwt.decode(token, *args, **kwargs)


def test_a_token_sent_again_is_not_verified_again():
    decodes = CountingDecode()
    codec = TokenCodec(SECRET, decode=decodes)
    token = codec.issue(7, "a@example.com", ["customer"])

    first, second = codec.verify(token), codec.verify(token)

    assert first == second and first.user_id == 7
    assert decodes.tokens == [token]


def test_an_expired_token_is_refused_even_when_cached():
    clock, decodes = Clock(), CountingDecode()
    codec = TokenCodec(SECRET, clock=clock, decode=decodes)
    token = codec.issue(7, "a@example.com", ["customer"], ttl=timedelta(seconds=60))
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    codec.verify(token)

    clock.now = exp - 0.5
    assert codec.verify(token).user_id == 7  # still valid: from the cache
    clock.now = exp  # PyJWT's rule: expired once exp <= now
    with pytest.raises(AuthError, match="expired"):
        codec.verify(token)
    assert decodes.tokens == [token]  # refused by the cache's own expiry check, PyJWT never asked again
    assert token not in codec._verified


def test_the_cache_is_bounded_and_forgets_the_least_recently_used():
    codec = TokenCodec(SECRET, cache_size=3)
    tokens = [codec.issue(i, f"u{i}@example.com", ["customer"]) for i in range(1, 6)]

    codec.verify(tokens[0])
    codec.verify(tokens[1])
    codec.verify(tokens[2])
    codec.verify(tokens[0])  # used again: now the most recent
    codec.verify(tokens[3])  # evicts tokens[1]
    codec.verify(tokens[4])  # evicts tokens[2]

    assert list(codec._verified) == [tokens[0], tokens[3], tokens[4]]
    assert len(codec._verified) == 3


def test_many_tokens_never_grow_the_cache_past_its_size():
    codec = TokenCodec(SECRET, cache_size=10)
    for i in range(1, 101):
        codec.verify(codec.issue(i, None, ["customer"]))
    assert len(codec._verified) == 10


@pytest.mark.parametrize("make_token", [
    lambda c: c.issue(1, "a@example.com", ["customer"])[:-3] + "abc",
    lambda c: TokenCodec("another-secret-" + SECRET).issue(1, "a@example.com", ["admin"]),
    lambda c: c.issue(1, "a@example.com", ["customer"], ttl=timedelta(seconds=-1)),
    lambda c: jwt.encode({"sub": "x", "exp": 9999999999}, SECRET, algorithm="HS256"),
], ids=["tampered", "wrong-key", "expired", "non-integer-subject"])
def test_a_refused_token_is_not_remembered(make_token):
    decodes = CountingDecode()
    codec = TokenCodec(SECRET, decode=decodes)
    token = make_token(codec)

    for _ in range(2):
        with pytest.raises(AuthError):
            codec.verify(token)

    assert codec._verified == {}
    assert decodes.tokens.count(token) == 2


def test_cache_size_zero_turns_the_cache_off():
    decodes = CountingDecode()
    codec = TokenCodec(SECRET, cache_size=0, decode=decodes)
    token = codec.issue(7, None, ["customer"])

    codec.verify(token)
    codec.verify(token)

    assert decodes.tokens == [token, token] and codec._verified == {}
