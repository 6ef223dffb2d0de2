"""The job engine: runs the registered jobs (paygate/worker.py) off the queue that
`uow.jobs.defer` writes to (db/jobs.py), in a `paygate worker` process or inside `paygate serve`.

PostgreSQL: pgqueuer (README, "Background jobs: why pgqueuer"). Each process holds one asyncpg
connection of its own for pgqueuer (it LISTENs there for new jobs), dequeues with FOR UPDATE SKIP
LOCKED, so any number of workers never run one job twice, and turns a failure into a retry in the
database (`_Retrying`). pgqueuer's scheduler queues each periodic job on its cron tick; its
schedule table lets one process only take each tick, and the queued run carries the dedupe key
`periodic:<name>`, so a run still waiting or running is never doubled by the next tick.

SQLite: paygate/jobs_embedded.py, the same jobs, retries and backoff over our own table.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import timedelta

import asyncpg  # type: ignore[import-untyped]
from opentelemetry import trace
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.core.applications import PgQueuer
from pgqueuer.core.executors import EntrypointExecutor, EntrypointExecutorParameters
from pgqueuer.domain import models
from pgqueuer.domain.errors import RetryRequested
from pgqueuer.domain.types import QueueExecutionMode

from db.engine import Database
from db.jobs import PGQUEUER, decode_args, pgqueuer_queries
from domain.services import Services
from paygate.worker import JOBS, RETRY, TASKS, Backoff, Job, Task

log = logging.getLogger("paygate.jobs")
_tracer = trace.get_tracer("paygate.jobs")


def cron(every_s: int) -> str:
    """A cron expression (croniter's, seconds last) for a run every `every_s` seconds."""
    if 0 < every_s < 60 and 60 % every_s == 0:
        return f"* * * * * */{every_s}"
    if every_s == 3600:
        return "0 * * * *"
    if every_s % 60 == 0 and 3600 % every_s == 0:
        return f"*/{every_s // 60} * * * *"
    raise ValueError(f"a periodic job runs every divisor of 60 s or of 60 min, not every {every_s} s")


async def execute(db: Database, services: Services, registry: Mapping[str, Job | Task], name: str,
                  args: Mapping[str, object], job_id: int) -> None:
    """Run one queued job. An exception is the engine's to retry: it propagates."""
    entry = registry.get(name)
    if entry is None:
        raise LookupError(f"no job registered as {name!r} in this process")
    started = time.perf_counter()
    # One trace a job run: its SQL and provider calls (a no-op unless paygate/tracing.py exports).
    with _tracer.start_as_current_span(f"job {name}", attributes={"job.id": job_id}):
        if isinstance(entry, Task):
            await entry.run(db, services, args)
            moved = None
        else:
            moved = await entry.run(db, services, services.clock())
    log.info("job done", extra={"job": name, "job_id": job_id, "moved": moved,
                                "duration_ms": round((time.perf_counter() - started) * 1000, 1)})


def registry_of(jobs: tuple[Job, ...], tasks: tuple[Task, ...]) -> dict[str, Job | Task]:
    registry: dict[str, Job | Task] = {}
    entries: list[Job | Task] = [*jobs, *tasks]
    for entry in entries:
        if entry.name in registry:
            raise ValueError(f"two jobs named {entry.name!r}")
        registry[entry.name] = entry
    return registry


@dataclasses.dataclass
class _Retrying(EntrypointExecutor):
    """pgqueuer's executor, turning a failure into a retry in the database (the job goes back to
    `queued`, `execute_after` moved by our backoff, `attempts` + 1) until the backoff gives up;
    then pgqueuer holds the job as `failed` (on_failure="hold")."""

    backoff: Backoff = RETRY

    async def execute(self, job: models.Job, context: models.Context) -> None:
        try:
            await super().execute(job, context)
        except RetryRequested:
            raise
        except Exception as exc:
            wait = self.backoff.after(job.attempts + 1)
            if wait is None:
                log.exception("job failed for good", extra={"job": job.entrypoint, "job_id": job.id})
                raise
            log.warning("job failed, retried later", extra={"job": job.entrypoint, "job_id": job.id,
                                                            "retry_in_s": wait.total_seconds()})
            raise RetryRequested(delay=wait, reason=f"{type(exc).__name__}: {exc}") from exc


def _dsn(db: Database) -> str:
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def run_pgqueuer(db: Database, services: Services, stop: asyncio.Event, *, jobs: tuple[Job, ...] = JOBS,
                       tasks: tuple[Task, ...] = TASKS, retry: Backoff = RETRY, drain: bool = False) -> None:
    """Work off pgqueuer's queue until `stop` is set (or, with `drain`, until nothing is due)."""
    registry = registry_of(jobs, tasks)
    connection = await asyncpg.connect(_dsn(db))
    try:
        driver = AsyncpgDriver(connection)
        driver_queries = pgqueuer_queries(driver)
        pgq = PgQueuer(connection=driver, channel=PGQUEUER.channel, queries=driver_queries)

        def handler(name: str):
            async def handle(job: models.Job) -> None:
                await execute(db, services, registry, name, decode_args(job.payload), job.id)
            return handle

        def retrying(parameters: EntrypointExecutorParameters) -> _Retrying:
            return _Retrying(parameters, backoff=retry)

        for name in registry:
            pgq.qm.entrypoint(name, on_failure="hold", executor_factory=retrying)(handler(name))
        async def queue_run(job: Job) -> None:
            await driver_queries.enqueue(job.name, None, job.priority, None, f"periodic:{job.name}",
                                         on_conflict="skip")

        for job in jobs:
            async def tick(_schedule: models.Schedule, job: Job = job) -> None:
                await queue_run(job)
            pgq.sm.schedule(job.name, cron(job.every_s))(tick)
        if not drain:  # as on SQLite, every periodic job runs once at start-up
            for job in jobs:
                await queue_run(job)

        watcher = asyncio.create_task(_stop_when(stop, pgq.shutdown))
        try:
            if drain:
                await pgq.qm.run(mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=1))
            else:
                await pgq.run(dequeue_timeout=timedelta(seconds=5))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    finally:
        await connection.close()


async def _stop_when(stop: asyncio.Event, shutdown: asyncio.Event) -> None:
    await stop.wait()
    shutdown.set()


async def run_jobs(db: Database, services: Services, stop: asyncio.Event, *, jobs: tuple[Job, ...] = JOBS,
                   tasks: tuple[Task, ...] = TASKS, retry: Backoff = RETRY, drain: bool = False,
                   poll_s: float = 1.0) -> None:
    """The engine for this database: pgqueuer on PostgreSQL, the embedded queue on SQLite."""
    if db.is_sqlite:
        from paygate.jobs_embedded import run_embedded

        await run_embedded(db, services, stop, jobs=jobs, tasks=tasks, retry=retry, drain=drain, poll_s=poll_s)
    else:
        await run_pgqueuer(db, services, stop, jobs=jobs, tasks=tasks, retry=retry, drain=drain)
