"""The outermost ASGI layer: a request id per request, one access log line, and the last resort
for errors: a client never sees a stack trace, the log always has it."""
from __future__ import annotations

import json
import logging
import os
import time

from domain.text import looks_like_card_number
from paygate.auth import AuthError, bearer_token
from paygate.logs import log_masked, request_id_var
from paygate.metrics import observe, route_template
from paygate.tracing import name_request_span
from paygate.webhook_metrics import observe_webhook

log = logging.getLogger("paygate.http")

MAX_REQUEST_ID = 64  # audit_log.request_id
_INTERNAL = json.dumps({"error": "Internal server error"}).encode()


class RequestContextMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = {"code": 0, "sent": False}

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                name_request_span(scope, route_template(scope))
                status["code"] = message["status"]
                status["sent"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path"), "method": scope.get("method")})
            if scope["type"] == "http" and not status["sent"]:
                status["code"] = 500
                await send({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"application/json"), (b"x-request-id", request_id.encode())]})
                await send({"type": "http.response.body", "body": _INTERNAL})
        finally:
            if scope["type"] == "http":
                elapsed_s = time.perf_counter() - started
                observe(scope, status["code"], elapsed_s)
                observe_webhook(scope, status["code"])
                peer = scope.get("client")
                log_masked(log, "request", {
                    "method": scope.get("method"), "path": scope.get("path"), "status": status["code"],
                    "duration_ms": round(elapsed_s * 1000, 2), "client": peer[0] if peer else None})
            request_id_var.reset(token)


def _request_id(scope) -> str:
    """The caller's X-Request-Id when it is short, plain and holds no card number, else a new one.
    The header is rewritten to the id decided here, so that whatever reads it further in (the
    audit trail's request id) reads this one: it is logged and stored, so it must never carry a
    card number, forge a log line or overflow its column."""
    headers = scope.get("headers") or []
    sent = next((value for name, value in headers if name == b"x-request-id"), None)
    incoming = sent.decode("latin-1") if sent is not None else ""
    fit = 0 < len(incoming) <= MAX_REQUEST_ID and incoming.isprintable()
    if fit and not looks_like_card_number(incoming):
        return incoming
    request_id = os.urandom(16).hex()  # a uuid4's randomness and length, at a fifth of its cost
    kept = headers if sent is None else [h for h in headers if h[0] != b"x-request-id"]
    scope["headers"] = [*kept, (b"x-request-id", request_id.encode())]
    return request_id


class AuthenticationMiddleware:
    """Verifies a bearer token once per request and leaves the result in the request's state:
    `actor` (None when no token was sent) or `auth_error` (why a sent token was refused).
    Each surface then answers a refused token in its own shape."""

    def __init__(self, app, tokens, users=None) -> None:
        self.app = app
        self.tokens = tokens
        self.users = users  # db.users.UserMirror: makes a token's user known to the database

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
            try:
                token = bearer_token(header)
                state["actor"] = self.tokens.verify(token) if token else None
            except AuthError as exc:
                state["actor"] = None
                state["auth_error"] = str(exc)
            if state["actor"] is not None and self.users is not None:
                await self.users.ensure(state["actor"])
        await self.app(scope, receive, send)
