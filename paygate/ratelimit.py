"""Per-client rate limits on the REST and GraphQL surfaces (CONTRACT.md, `PAYGATE_RATE_LIMIT`), as an ASGI
layer after authentication (which names the caller) and before idempotency (a refused request
must not claim a key).

- The client is the verified user (`user:<id>`), else the client address (`addr:<host>`). A token
  that can't be trusted counts against its address, so forging tokens buys no fresh budget.
- Webhooks carry no token: they count against the sending address, in a budget of their own,
  `WEBHOOK_FACTOR` times `PAYGATE_RATE_LIMIT`. A provider delivers bursts from a few addresses and retries
  a 429 later, so a tight budget would only delay its news; a flood of forged webhooks is still
  bounded, and it never eats into the budget of customers behind the same address.
- Not counted: `EXEMPT` (probes, metrics, the OpenAPI document), the static files of the dashboard and
  GraphiQL (`STATIC`: one page load fetches about a dozen, and they hold no data), and WebSockets (a
  subscription is one long request whose token arrives after the upgrade).
- Refused: 429, `Retry-After` in whole seconds, and the body in the surface's error shape (GraphQL's, or the seed's: rest_compat.shape_for).

The window moves, like the Django REST framework throttles the seeds come from: a client has made
at most `PAYGATE_RATE_LIMIT` requests in any period of its length, and Retry-After is when the oldest of
them leaves it. With `PAYGATE_REDIS_URL` set, every app process counts in Redis (the `limits` library's
moving window: one atomic Lua call per request), so a client has one budget however many processes
serve it; else each process counts in its own memory. Redis failing lets requests through
(`FAIL_OPEN_S` at a time, logged): a limit is not worth refusing payments for.
"""
from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rest_compat import shape_for

log = logging.getLogger("paygate.ratelimit")

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
STATIC = ("/admin/assets/", "/graphiql/")  # paygate/dashboard.py, paygate/graphiql.py
WEBHOOK_FACTOR = 10
FAIL_OPEN_S = 5.0
REDIS_TIMEOUT_S = 0.5
KEY_PREFIX = "paygate:ratelimit"


def parse_rate(text: str) -> RateLimitItem | None:
    """`PAYGATE_RATE_LIMIT` as a limit (`120/minute`, `10 per second`, `1000/2 hours`); None for `off`."""
    if text.strip().lower() == "off":
        return None
    try:
        [limit] = parse_many(text)
    except ValueError:
        limit = None
    if limit is None or limit.amount < 1:
        raise ValueError(f"PAYGATE_RATE_LIMIT must be a rate like 120/minute, or off; not {text!r}")
    return limit


def throttled_body(path: str, retry_after_s: int) -> bytes:
    # Django REST framework's words (exceptions.Throttled), which seeds 001 and 004 answer.
    unit = "second" if retry_after_s == 1 else "seconds"
    message = f"Request was throttled. Expected available in {retry_after_s} {unit}."
    if path.startswith("/graphql"):
        payload: dict = {"errors": [{"message": message,
                                     "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after_s}}]}
    else:
        payload = {shape_for(path).value: message}
    return json.dumps(payload).encode()


def _seconds_until(epoch_s: float) -> int:
    return max(1, math.ceil(epoch_s - time.time()))


class LocalCounter:
    """Counts in this process: per client, the times of its admitted requests still in the window,
    oldest first (never more than the limit), and idle clients forgotten once a window.

    Not limits' memory storages: they expire entries by sweeping every client, from a new thread
    every 10 ms (the synchronous one) or through `asyncio.to_thread` after every hit (the asyncio
    one), which cost 0.1 to 0.7 ms of CPU a request at 800 requests a second (measured); this
    costs a few microseconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.hits: dict[str, deque[float]] = {}
        self.sweep_at = 0.0

    async def hit(self, limit: RateLimitItem, client: str) -> int | None:
        """None when admitted; else the seconds until the client may try again."""
        now = self.clock()
        window_s = limit.get_expiry()
        hits = self.hits.get(client)
        if hits is None:
            hits = self.hits[client] = deque()
        while hits and hits[0] <= now - window_s:
            hits.popleft()
        if len(hits) >= limit.amount:
            return max(1, math.ceil(hits[0] + window_s - now))
        hits.append(now)
        if now >= self.sweep_at:
            self.hits = {c: h for c, h in self.hits.items() if h[-1] > now - window_s}
            self.sweep_at = now + window_s
        return None

    async def close(self) -> None:
        pass


class SharedCounter:
    """Counts in Redis, shared by every app process: limits' Redis storage over redis-py (one Lua
    call per request), with a pool of our own so shutdown can close it."""

    def __init__(self, redis_url: str) -> None:
        self.pool = ConnectionPool.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_S,
                                            socket_connect_timeout=REDIS_TIMEOUT_S)
        scheme = "async+redis+unix://" if redis_url.startswith("unix://") else "async+"
        storage = RedisStorage(scheme + redis_url.removeprefix("unix://"), implementation="redispy",
                               key_prefix=KEY_PREFIX, wrap_exceptions=True,
                               # limits types **options as scalars; this one is handed to redis-py.
                               connection_pool=self.pool)  # type: ignore[arg-type]
        self.window = MovingWindowRateLimiter(storage)
        self.failing_until = 0.0

    async def hit(self, limit: RateLimitItem, client: str) -> int | None:
        if time.monotonic() < self.failing_until:
            return None
        try:
            if await self.window.hit(limit, client):
                return None
            stats = await self.window.get_window_stats(limit, client)
        except StorageError:
            self.failing_until = time.monotonic() + FAIL_OPEN_S
            log.warning("rate limit storage failed: requests pass uncounted for %s s", FAIL_OPEN_S,
                        exc_info=True)
            return None
        return _seconds_until(stats.reset_time)

    async def close(self) -> None:
        await self.pool.aclose()


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: RateLimitItem | None, redis_url: str | None = None) -> None:
        self.app = app
        self.limit = limit
        self.counter: LocalCounter | SharedCounter | None = None
        if limit is not None:
            self.webhook_limit = type(limit)(limit.amount * WEBHOOK_FACTOR, limit.multiples)
            self.counter = SharedCounter(redis_url) if redis_url else LocalCounter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.counter is not None and self.limit is not None:
            if scope["type"] == "http" and not _exempt(scope):
                limit, client = self._client(scope, self.limit)
                retry_after_s = await self.counter.hit(limit, client)
                if retry_after_s is not None:
                    await _refuse(send, scope["path"], retry_after_s)
                    return
            elif scope["type"] == "lifespan":
                send = _closing_at_shutdown(self.counter, send)
        await self.app(scope, receive, send)

    def _client(self, scope: Scope, limit: RateLimitItem) -> tuple[RateLimitItem, str]:
        path = scope["path"]
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if "webhook" in path:  # every seed's webhook path says so
            return self.webhook_limit, f"webhook:{address}"
        actor = scope.get("state", {}).get("actor")
        if actor is not None:
            return limit, f"user:{actor.user_id}"
        return limit, f"addr:{address}"


def _exempt(scope: Scope) -> bool:
    path = scope["path"]
    return path in EXEMPT or (scope["method"] in ("GET", "HEAD") and path.startswith(STATIC))


def _closing_at_shutdown(counter: LocalCounter | SharedCounter, send: Send) -> Send:
    async def send_closing(message: Message) -> None:
        if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            await counter.close()
        await send(message)

    return send_closing


async def _refuse(send: Send, path: str, retry_after_s: int) -> None:
    body = throttled_body(path, retry_after_s)
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after_s).encode())]})
    await send({"type": "http.response.body", "body": body})
