"""GET /readyz: is each dependency this process needs answering? One check a dependency, run
concurrently with a deadline each; 200 when all answer, 503 naming each one down:

    {"status": "ok", "database": "up", "redis": "up"}
    {"status": "unavailable", "database": "up", "redis": "down"}

Redis is checked only when PAYGATE_REDIS_URL is set. The job engine adds its own check: a
`Check("jobs", probe)` in the list `readiness_checks` returns (probe: an async function that
raises or times out when the engine can't take work).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from db.engine import Database

log = logging.getLogger("paygate.readiness")

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    probe: Callable[[], Awaitable[object]]
    close: Callable[[], Awaitable[object]] | None = None  # at shutdown: what the probe holds open


def redis_check(url: str) -> Check:
    import redis.asyncio as redis

    client = redis.from_url(url, socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S)

    async def ping() -> object:
        return await client.ping()

    return Check("redis", ping, client.aclose)


def readiness_checks(db: Database, redis_url: str | None) -> list[Check]:
    checks = [Check("database", db.ping)]
    if redis_url:
        checks.append(redis_check(redis_url))
    return checks


async def close_checks(checks: list[Check]) -> None:
    for check in checks:
        if check.close is not None:
            await check.close()


async def _state(check: Check) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await check.probe()
    except Exception:
        log.exception("readiness check: %s did not answer", check.name, extra={"dependency": check.name})
        return "down"
    return "up"


def readyz_endpoint(checks: list[Check]) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def readyz(_: Request) -> JSONResponse:
        states = await asyncio.gather(*(_state(check) for check in checks))
        body = {"status": "ok"} | {check.name: state for check, state in zip(checks, states, strict=True)}
        if "down" in states:
            return JSONResponse(body | {"status": "unavailable"}, status_code=503)
        return JSONResponse(body)

    return readyz
