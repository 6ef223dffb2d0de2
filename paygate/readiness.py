"""GET /readyz: is each dependency this process needs answering? One check a dependency, run
concurrently with a deadline each; 200 when all answer, 503 naming each one down:

    {"status": "ok", "database": "up", "redis": "up"}
    {"status": "unavailable", "database": "up", "redis": "down"}

Redis is checked only when PAYGATE_REDIS_URL is set. `jobs` is the job engine as this process
depends on it: where the process runs the jobs itself (`paygate serve` on SQLite), that they are
still running; elsewhere, that the queue's table answers (jobs can be queued; the `paygate
worker` processes that run them are watched through paygate_job_queue_* in /metrics).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from db.engine import Database
from db.job_queries import queue_reachable

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


def readiness_checks(db: Database, redis_url: str | None, jobs: Check | None = None) -> list[Check]:
    checks = [Check("database", db.ping)]
    if redis_url:
        checks.append(redis_check(redis_url))
    checks.append(jobs or Check("jobs", lambda: queue_reachable(db)))
    return checks


class JobsRunning:
    """The check of a process that runs the jobs itself: down once its job task has ended (it
    stops only at shutdown; before that, its end is a crash)."""

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None

    async def __call__(self) -> None:
        if self.task is None or self.task.done():
            failure = self.task.exception() if self.task is not None and not self.task.cancelled() else None
            raise RuntimeError(f"the job engine of this process is not running ({failure!r})")


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
