"""The job engine on SQLite: inside `paygate serve` (the embedded default, `make run`), with no
other process. The same registered jobs (paygate/worker.py) as pgqueuer runs on PostgreSQL, from
the same kind of outbox (db/jobs.py `job_queue`, written by `uow.jobs.defer` in the change's own
transaction), with the same backoff and the same states staff see.

One loop: queue each periodic job when its interval has passed (unless its last run still waits
or runs), then run every due job, one at a time, highest priority first. A job left `picked` by a
process that died is queued again after `ABANDONED`. SQLite serialises writers, so a
`paygate worker` started beside `paygate serve` on the same file never claims the same job.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from db import jobs as queue
from db.engine import Database
from domain.services import Services
from paygate.jobs_engine import execute, registry_of
from paygate.worker import JOBS, RETRY, TASKS, Backoff, Job, Task

log = logging.getLogger("paygate.jobs")

ABANDONED = timedelta(minutes=10)  # longer than any job runs


def _now() -> datetime:
    return datetime.now(UTC)  # the queue's own times: wall time, whatever clock the jobs get


async def run_embedded(db: Database, services: Services, stop: asyncio.Event, *, jobs: tuple[Job, ...] = JOBS,
                       tasks: tuple[Task, ...] = TASKS, retry: Backoff = RETRY, drain: bool = False,
                       poll_s: float = 1.0) -> None:
    """Work off the queue until `stop` is set; with `drain`, until nothing is due (periodic jobs
    are not queued then: `paygate worker --once` runs them itself)."""
    registry = registry_of(jobs, tasks)
    loop = asyncio.get_running_loop()
    due_at = {job.name: loop.time() for job in jobs}  # every periodic job runs once at start-up
    await queue.requeue_abandoned(db, _now() - ABANDONED)
    while not stop.is_set():
        if not drain:
            for job in jobs:
                if loop.time() >= due_at[job.name]:
                    await queue.enqueue_periodic(db, job.name, job.priority)
                    due_at[job.name] = loop.time() + job.every_s
        while not stop.is_set() and (claimed := await queue.claim_next(db, _now())) is not None:
            await _run(db, services, registry, claimed, retry)
        if drain:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_s)


async def _run(db: Database, services: Services, registry, claimed: queue.ClaimedJob, retry: Backoff) -> None:
    try:
        await execute(db, services, registry, claimed.name, claimed.args, claimed.id)
    except Exception as exc:
        wait = retry.after(claimed.attempts + 1)
        if wait is None:
            log.exception("job failed for good", extra={"job": claimed.name, "job_id": claimed.id})
        else:
            log.warning("job failed, retried later", extra={"job": claimed.name, "job_id": claimed.id,
                                                            "retry_in_s": wait.total_seconds()})
        await queue.fail(db, claimed.id, f"{type(exc).__name__}: {exc}", _now(), wait)
        return
    await queue.finish(db, claimed.id, _now())
