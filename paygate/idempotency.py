"""The `Idempotency-Key` header (CONTRACT.md, "HTTP surface"), as an ASGI layer over every POST.

A POST that carries the header runs at most once per key and caller: its first response is stored
and replayed, marked `Idempotent-Replayed: true`; the same key with a different request answers 422,
and one racing a request still in flight with the key answers 409. Where the contract is silent we
follow Stripe's idempotent requests:

- keys are 1 to 255 characters; a longer one answers 400;
- a key is scoped to its caller: `user:<sub>` of a verified bearer token, else `anon:<client host>`;
  a token that can't be trusted passes through untouched, for the app to answer 401, and nothing
  is stored, since the endpoint never ran;
- the request is the method, path, query string and body (their sha256 is the fingerprint);
- a 5xx, a 429, an exception or a GraphQL answer carrying an internal error is not stored: the key
  is released and a retry runs again. A use case that got as far as the provider remembers the
  key on its attempt, so the retry resumes that attempt rather than start another;
- a key left in flight by a process that died is taken over by a retry after `STALE_AFTER`;
- keys are purged by the worker after `KEY_TTL`.

What is kept never holds a card number a client typed (CONTRACT: card fields only). The key is
stored as its HMAC-SHA256 under a key derived from SECRET_KEY, never as sent: a client's key is
its own text and may hold anything, and refusing keys that look like card numbers would refuse
one 16-digit numeric key in ten by chance. (Rotating SECRET_KEY forgets the keys of the last day:
a retry sent across the rotation runs again.) A response that quotes a card number back (an
error message naming the client's own input) is kept with the number masked, so its replay
differs from the first answer only there.

The response is buffered and stored before the client sees it, so a client that got an answer
always gets the replay of that answer next, never a 409. A request without the header costs
nothing here: no database access at all.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.engine import Database
from db.idempotency import STALE_AFTER, Claimed, Headers, IdempotencyStore, InFlight, Mismatch, Replay
from domain.text import looks_like_card_number, redact_card_numbers
from paygate.auth import AuthError, TokenCodec, bearer_token

log = logging.getLogger("paygate.idempotency")

MAX_KEY_LENGTH = 255
KEY_TTL = timedelta(hours=24)
GRAPHQL_PATH = "/graphql"

_HEADER = b"idempotency-key"
_AUTHORIZATION = b"authorization"


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests "the same request". NUL separators keep the parts apart."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def key_secret(secret_key: str) -> bytes:
    """The HMAC key of Idempotency-Keys: derived, so the token-signing key signs nothing else."""
    return hmac.new(secret_key.encode(), b"paygate idempotency keys", hashlib.sha256).digest()


def key_digest(secret: bytes, key: str) -> str:
    """What is stored for a client's Idempotency-Key: its keyed hash, 64 hex digits."""
    return hmac.new(secret, key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def client_key(caller: str, key: str) -> str:
    """The key as use cases see it: scoped to its caller, and hashed (a client's key is free text).
    Given the stored key (`key_digest`), so that it too derives from a keyed hash of the text."""
    return hashlib.sha256(f"{caller}\0{key}".encode()).hexdigest()


def _stored(status: int) -> bool:
    # 5xx: the request failed and wrote nothing, so a retry must run it again.
    # 429: the rate limit refused it before it ran.
    return status < 500 and status != 429


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, db: Database, tokens: TokenCodec,
                 stale_after: timedelta = STALE_AFTER) -> None:
        self.app = app
        self.store = IdempotencyStore(db, stale_after)
        self.tokens = tokens
        self.key_secret = key_secret(tokens.secret_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = next((v.decode("latin-1") for k, v in scope["headers"] if k == _HEADER), None)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            await _refuse(scope, send, 400, "IDEMPOTENCY_KEY_INVALID",
                          f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
            return
        caller = self._caller(scope)
        body = await _read_body(receive)
        if body is None:  # the client left before it finished sending: nobody to answer
            return
        if caller is None:  # an untrusted token: the app answers 401; nothing ran, nothing to keep
            await self.app(scope, _replaying(body, receive), send)
            return
        request = fingerprint(scope["method"], scope["path"], scope.get("query_string", b""), body)
        key = key_digest(self.key_secret, key)

        claim = await self.store.claim(caller, key, request, datetime.now(UTC))
        match claim:
            case Replay(status, headers, stored_body):
                await _send(send, status, [*headers, ("idempotent-replayed", "true")], stored_body)
            case Mismatch():
                await _refuse(scope, send, 422, "IDEMPOTENCY_KEY_REUSED",
                              "Idempotency-Key was already used for a different request")
            case InFlight():
                await _refuse(scope, send, 409, "IDEMPOTENCY_KEY_IN_USE",
                              "a request with this Idempotency-Key is still in progress; retry later",
                              [("retry-after", "1")])
            case Claimed():
                if claim.taken_over:
                    log.warning("stale idempotency key taken over", extra={"path": scope["path"]})
                # The use cases see the key too (never the raw one: it is the client's text): a
                # request that failed after the provider acted (a 5xx, not stored here) is run
                # again, and must resume the attempt it started rather than start another.
                scope.setdefault("state", {})["client_key"] = client_key(caller, key)
                await self._run(scope, _replaying(body, receive), send, caller, key, claim)

    async def _run(self, scope: Scope, receive: Receive, send: Send, caller: str, key: str,
                   claim: Claimed) -> None:
        # A cancelled request (server shutdown) keeps its claim: whether its work committed is
        # unknown, so a retry waits for STALE_AFTER rather than risk running it twice at once.
        response = _Captured()
        try:
            await self.app(scope, receive, response.send)
        except Exception:
            await self._release(caller, key, claim)
            raise
        if response.status is None:  # the app returned without answering: nothing to keep
            await self._release(caller, key, claim)
            return
        # GraphQL answers an internal error with 200 and a masked error; it says so in the state.
        if _stored(response.status) and not scope.get("state", {}).get("internal_error"):
            await self._keep(scope, caller, key, claim, response.status, response)
        else:
            await self._release(caller, key, claim)
        await _send(send, response.status, response.headers, response.body)

    async def _keep(self, scope: Scope, caller: str, key: str, claim: Claimed, status: int,
                    response: _Captured) -> None:
        headers, body = without_card_numbers(response.headers, response.body)
        try:
            kept = await self.store.complete(caller, key, status, headers, body, datetime.now(UTC),
                                             claim=claim)
        except Exception:
            # The work is committed, so the client still gets its answer; the key stays in flight
            # (409) until STALE_AFTER, and a retry after that runs the request again.
            log.exception("could not store the response of an idempotent request")
            return
        if not kept:
            log.warning("idempotency key was taken over before its request finished",
                        extra={"path": scope["path"]})

    async def _release(self, caller: str, key: str, claim: Claimed) -> None:
        try:
            await self.store.release(caller, key, claim=claim)
        except Exception:
            # Left in flight, the key answers 409 until STALE_AFTER and is then taken over.
            log.exception("could not release an idempotency key")

    def _caller(self, scope: Scope) -> str | None:
        """The key's scope; None when the bearer token can't be trusted."""
        authorization = next((v.decode("latin-1") for k, v in scope["headers"] if k == _AUTHORIZATION), None)
        try:
            state = scope.get("state", {})
            if state.get("auth_error"):
                return None  # the app answers 401 itself
            actor = state.get("actor")
            if actor is None and (token := bearer_token(authorization)):
                actor = self.tokens.verify(token)
            if actor is not None:
                return f"user:{actor.user_id}"
        except AuthError:
            return None
        client = scope.get("client")
        return f"anon:{client[0] if client else 'unknown'}"[:80]  # the column's width


def without_card_numbers(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
    """The response as kept for replays: card numbers in its text masked. JSON is masked value by
    value (a masked number literal would no longer parse) and written again, compact."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return headers, body  # not text: nobody typed it
    if not looks_like_card_number(text):
        return headers, body
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if "json" in content_type:
        try:
            masked = json.dumps(_masked(json.loads(text)), ensure_ascii=False, separators=(",", ":")).encode()
        except ValueError:
            masked = redact_card_numbers(text).encode()
    else:
        masked = redact_card_numbers(text).encode()
    headers = [(k, str(len(masked)) if k.lower() == "content-length" else v) for k, v in headers]
    return headers, masked


def _masked(value: object) -> object:
    if isinstance(value, str):
        return redact_card_numbers(value)
    if isinstance(value, dict):
        return {redact_card_numbers(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


class _Captured:
    """The app's response, held back until it is stored (a streamed body is accumulated)."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: Headers = []
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())]
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body we already read, then the client's own messages
    (a disconnect, when it comes)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send(send: Send, status: int, headers: Headers, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]})
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str,
                  extra_headers: Headers | None = None) -> None:
    # /graphql clients read GraphQL errors; REST clients read the seeds' {"error": …}.
    payload: dict[str, object]
    if scope["path"] == GRAPHQL_PATH:
        payload = {"errors": [{"message": message, "extensions": {"code": code}}]}
    else:
        payload = {"error": message}
    body = json.dumps(payload).encode()
    await _send(send, status, [("content-type", "application/json"), ("content-length", str(len(body))),
                               *(extra_headers or [])], body)
