"""Bearer tokens: HS256 with PAYGATE_SECRET_KEY, and RS256 from the host's identity provider
when PAYGATE_JWT_PUBLIC_KEY is set. Claims: `sub` (user id), `email`, `roles` (CONTRACT.md)."""
from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

import jwt

from domain.identity import Actor, Role, parse_roles


class AuthError(Exception):
    """A token was sent but can't be trusted: expired, tampered, malformed, or of a wrong key."""


class TokenCodec:
    """Issues and verifies bearer tokens.

    Verified tokens are remembered by their exact text (a bounded LRU of `cache_size` entries,
    0 turns it off) with their actor and expiry: a token sent again skips PyJWT (≈ 50 µs of a
    small request's CPU: bench/README.md) until its `exp`, after which it is refused as if it
    had never been seen. Only tokens that passed the full check enter the cache, so nothing a
    caller makes up can fill it. Tokens can't be revoked here (no deny list), so remembering one
    until its expiry grants nothing that verifying it again would not.
    """

    def __init__(self, secret_key: str, public_key: str | None = None, *, cache_size: int = 4096,
                 clock=time.time, decode=jwt.decode) -> None:
        self.secret_key = secret_key
        self.public_key = public_key
        # The algorithm is chosen by which key verifies, never by the token's own header
        # (the classic alg-confusion attack: an RS256 public key used as an HS256 secret).
        self._keys: list[tuple[str, str]] = [("HS256", secret_key)]
        if public_key:
            self._keys.append(("RS256", public_key))
        self._cache_size = cache_size
        self._clock = clock  # seconds since the epoch, like `exp`
        self._decode = decode  # PyJWT's full verification; injectable so tests can count its calls
        self._verified: OrderedDict[str, tuple[Actor, int]] = OrderedDict()

    def issue(self, user_id: int, email: str | None, roles: list[str] | tuple[str, ...],
              ttl: timedelta = timedelta(days=30)) -> str:
        now = datetime.now(UTC)
        claims = {"sub": str(user_id), "email": email, "roles": list(roles), "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self.secret_key, algorithm="HS256")

    def verify(self, token: str) -> Actor:
        cached = self._verified.get(token)
        if cached is not None:
            actor, expires = cached
            # PyJWT's rule with no leeway: a token is expired once `exp` <= now.
            if self._clock() < expires:
                self._verified.move_to_end(token)
                return actor
            del self._verified[token]
            raise AuthError("token expired")
        actor, expires = self._verify(token)
        if self._cache_size > 0:
            self._verified[token] = (actor, expires)
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return actor

    def _verify(self, token: str) -> tuple[Actor, int]:
        try:
            header_alg = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as exc:
            raise AuthError("malformed token") from exc
        for alg, key in self._keys:
            if alg != header_alg:
                continue
            try:
                claims = self._decode(token, key, algorithms=[alg], options={"require": ["sub", "exp"]})
            except jwt.ExpiredSignatureError as exc:
                raise AuthError("token expired") from exc
            except jwt.PyJWTError as exc:
                raise AuthError("invalid token") from exc
            return _actor_from_claims(claims), _expiry(claims)
        raise AuthError("token signed with an algorithm this server does not accept")


def _expiry(claims: dict) -> int:
    # As PyJWT reads it (it has just checked that it converts and is in the future).
    return int(claims["exp"])


def _actor_from_claims(claims: dict) -> Actor:
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise AuthError("token subject is not a user id") from None
    roles = parse_roles(claims.get("roles", ()))
    return Actor(user_id=user_id, email=claims.get("email"), roles=roles or frozenset({Role.CUSTOMER}))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; None when there is no such header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be 'Bearer <token>'")
    return token.strip()
