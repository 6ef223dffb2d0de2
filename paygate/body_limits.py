"""Limits on what a request body may be, for every route at once, before any route reads it.

- Size: at most `MAX_BODY_BYTES` (1 MiB); a larger body answers 413. Payment requests are small;
  providers' webhooks are far below it (Stripe's events are tens of kilobytes). The rest of a body
  that is too large is read and dropped, up to `DRAINED_BYTES`, so that a client still sending it
  reads the 413 instead of a reset connection; past that, the connection is closed.
- JSON: a body whose first byte opens an object or an array is read with rest_compat/json_body.py,
  whatever its Content-Type (legacy clients post JSON as form data), and refused with 400 when it
  nests deeper than that module allows or carries text no database keeps (NUL, lone surrogates).
  A signed webhook parses its raw body itself, and the Stripe SDK builds objects recursively:
  checking here keeps those from ever seeing a body 100,000 levels deep. Bodies that are not JSON
  pass through, for their route to answer.

The value read is left in the request's state (`json_body`: the body and its value), so that a
route reading the very same bytes need not parse them again (paygate/graphql_direct.py).

Refusals come in the surface's error shape: GraphQL's `{"errors": […]}`, or the seed's
(rest_compat.shape_for), as the rate limit answers.
"""
from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rest_compat import malformed_for, shape_for
from rest_compat.json_body import BadJson, read_json

MAX_BODY_BYTES = 1024 * 1024
DRAINED_BYTES = 16 * 1024 * 1024
_WITHOUT_BODY = frozenset({"GET", "HEAD", "OPTIONS"})
_JSON_OPENERS = (b"{", b"[")
JSON_BODY = "json_body"


class TooLarge(Exception):
    pass


class BodyLimitsMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _WITHOUT_BODY:
            await self.app(scope, receive, send)
            return
        try:
            body, disconnected = await self._read(scope, receive)
        except TooLarge:
            await _refuse(scope, send, 413, "PAYLOAD_TOO_LARGE",
                          f"request body is larger than {self.max_bytes} bytes")
            return
        if body.lstrip()[:1] in _JSON_OPENERS:
            try:
                value = read_json(body)
            except BadJson as exc:
                await _refuse(scope, send, 400, "BAD_REQUEST", str(exc))
                return
            scope.setdefault("state", {})[JSON_BODY] = (body, value)
        await self.app(scope, _replay(body, disconnected, receive), send)

    async def _read(self, scope: Scope, receive: Receive) -> tuple[bytes, bool]:
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            # A client that waits for "100 Continue" has sent nothing yet: answer without asking
            # for the body (uvicorn sends the 100 on the first receive).
            if headers.get(b"expect", b"").lower() != b"100-continue":
                await _drain(receive, int(declared) <= DRAINED_BYTES)
            raise TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), True
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _drain(receive, message.get("more_body", False))
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False


async def _drain(receive: Receive, more: bool) -> None:
    drained = 0
    while more and drained <= DRAINED_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        drained += len(message.get("body", b""))
        more = message.get("more_body", False)


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    """The body read here, once, to whoever reads it next; then the client's own messages."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            if disconnected:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    path = scope["path"]
    if path.startswith("/graphql"):
        payload: dict = {"errors": [{"message": message, "extensions": {"code": code}}]}
    elif status == 400:
        status, payload = malformed_for(path, message)
    else:
        payload = {shape_for(path).value: message}
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
