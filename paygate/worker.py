"""`paygate worker`: the periodic jobs, safe to run in several processes at once.

On PostgreSQL each job claims its rows with FOR UPDATE SKIP LOCKED, so two workers never act on
the same row; on SQLite the one write lock serializes them. A job that fails is logged and tried
again on the next tick: each is idempotent.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from db.engine import Database
from db.idempotency import IdempotencyStore
from db.uow import SqlUnitOfWork
from domain.orders.service import expire_reservations
from paygate.idempotency import KEY_TTL

log = logging.getLogger("paygate.worker")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Database, datetime], Awaitable[int]]


async def _expire(db: Database, now: datetime) -> int:
    return await expire_reservations(now, SqlUnitOfWork(db))


async def _purge_idempotency_keys(db: Database, now: datetime) -> int:
    return await IdempotencyStore(db).purge(older_than=now - KEY_TTL)


JOBS: tuple[Job, ...] = (
    Job("expire-reservations", _expire),
    Job("purge-idempotency-keys", _purge_idempotency_keys),
)


async def run_once(db: Database, jobs: tuple[Job, ...] = JOBS) -> dict[str, int]:
    """One pass over every job; returns how many objects each one moved."""
    done: dict[str, int] = {}
    for job in jobs:
        try:
            done[job.name] = await job.run(db, datetime.now(UTC))
        except Exception:
            log.exception("job failed", extra={"job": job.name})
            done[job.name] = -1
        if done[job.name] > 0:
            log.info("job moved objects", extra={"job": job.name, "count": done[job.name]})
    return done


async def run_forever(db: Database, interval_s: float = 15.0, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    while not stop.is_set():
        await run_once(db)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        except TimeoutError:
            pass
