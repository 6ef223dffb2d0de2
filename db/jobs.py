"""The job queue's storage: where `uow.jobs.defer(...)` writes, in the unit of work's transaction.

PostgreSQL: pgqueuer's own tables, in the schema `jobs` (installed by migration 0010). The job is
inserted with pgqueuer's own enqueue query, run through the unit of work's connection
(`_SessionDriver`), so it commits or rolls back with the change that caused it.

SQLite (the embedded default, one process): our table `job_queue`, which `paygate serve` itself
works off (paygate/jobs_embedded.py). It is kept out of SQLModel's metadata: on PostgreSQL it does
not exist, pgqueuer's tables hold the jobs there.

Both keep, per job: its name, its JSON arguments, its state (queued, picked, successful, failed;
pgqueuer also logs exception, canceled, deleted), how many times it was tried, when it may run
next, and the last error (pgqueuer keeps errors in its log table).
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pgqueuer.adapters.persistence.qb import (
    QueryBuilderEnvironment,
    QueryQueueBuilder,
    QuerySchedulerBuilder,
)
from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.domain.settings import DBSettings
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
    update,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import Database
from domain.ports import JobArgs

# pgqueuer's objects live in a schema of their own: Alembic's comparison of our models with the
# database (tests/test_migrations.py) reads the default schema only, and a dump shows them apart.
PGQUEUER = DBSettings(db_schema="jobs")

METADATA = MetaData()  # not SQLModel's: this table exists on SQLite only
job_queue = Table(
    "job_queue", METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("args", Text, nullable=False),  # a JSON object
    Column("dedupe_key", String(200)),
    Column("priority", Integer, nullable=False, default=0),
    Column("status", String(20), nullable=False),  # queued, picked, successful, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("run_after", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_job_queue_due", "status", "run_after"),
    # One waiting or running job per key, as pgqueuer's own unique index on dedupe_key.
    Index("uq_job_queue_dedupe_key", "dedupe_key", unique=True,
          sqlite_where=text("status IN ('queued', 'picked')")),
)
WAITING = ("queued", "picked")


def pgqueuer_queries(driver) -> Queries:
    """pgqueuer's queries over `driver`, naming the objects in our schema."""
    return Queries(driver, qbe=QueryBuilderEnvironment(PGQUEUER), qbq=QueryQueueBuilder(PGQUEUER),
                   qbs=QuerySchedulerBuilder(PGQUEUER))


def encode_args(args: JobArgs | None) -> bytes:
    return json.dumps(dict(args or {}), sort_keys=True, separators=(",", ":")).encode()


def decode_args(payload: bytes | str | None) -> dict[str, object]:
    return json.loads(payload) if payload else {}


class _SessionDriver:
    """The part of pgqueuer's Driver port that enqueueing uses, over the unit of work's session:
    its statements run inside the open transaction (SQLAlchemy's asyncpg dialect takes `$n`
    parameters as they are)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fetch(self, query: str, *args: object) -> list[dict[str, object]]:
        conn = await self.session.connection()
        result = await conn.exec_driver_sql(query, args)
        return [dict(row) for row in result.mappings()]

    async def execute(self, query: str, *args: object) -> str:
        conn = await self.session.connection()
        await conn.exec_driver_sql(query, args)
        return ""


class SqlJobQueue:
    """`uow.jobs`: defers jobs in the unit of work's transaction (domain/ports.py JobQueue)."""

    def __init__(self, session: AsyncSession, sqlite: bool) -> None:
        self.session = session
        self.sqlite = sqlite

    async def defer(self, name: str, args: JobArgs | None = None, *, key: str | None = None,
                    delay_s: float = 0) -> None:
        if self.sqlite:
            await defer_sqlite(self.session, name, args, key=key, delay_s=delay_s)
            return
        await pgqueuer_queries(_SessionDriver(self.session)).enqueue(
            name, encode_args(args), 0, timedelta(seconds=delay_s), key, on_conflict="skip")


async def defer_sqlite(session: AsyncSession, name: str, args: JobArgs | None, *, key: str | None = None,
                       delay_s: float = 0, priority: int = 0) -> bool:
    """Insert a queued job unless one with the same key waits or runs; True when inserted."""
    if key is not None:
        waiting = await (await session.connection()).execute(select(job_queue.c.id).where(
            job_queue.c.dedupe_key == key, job_queue.c.status.in_(WAITING)))
        if waiting.first() is not None:
            return False
    now = datetime.now(UTC)
    await (await session.connection()).execute(insert(job_queue).values(
        name=name, args=encode_args(args).decode(), dedupe_key=key, priority=priority, status="queued",
        attempts=0, run_after=now + timedelta(seconds=delay_s), created_at=now, updated_at=now))
    return True


# --- the SQLite queue, worked off by paygate/jobs_embedded.py ------------------------------------
# Every write below is one short transaction of its own, behind the database's writers' lock:
# SQLite serialises writers, so two processes (`paygate serve` and a `paygate worker --once`)
# never claim the same job.

@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    name: str
    args: dict[str, object]
    attempts: int  # tries before this one


@asynccontextmanager
async def _writing(db: Database) -> AsyncIterator[AsyncSession]:
    lock = db.write_lock
    async with lock if lock is not None else nullcontext():
        session = db.write_sessions()
        try:
            async with session.begin():
                yield session
        finally:
            await session.close()


async def enqueue_periodic(db: Database, name: str, priority: int) -> bool:
    """Queue a run of the periodic job `name` unless one waits or runs already."""
    async with _writing(db) as session:
        return await defer_sqlite(session, name, None, key=f"periodic:{name}", priority=priority)


async def claim_next(db: Database, now: datetime) -> ClaimedJob | None:
    """The next due job (highest priority, then oldest), marked picked; None when nothing is due."""
    async with _writing(db) as session:
        row = (await (await session.connection()).execute(
            select(job_queue.c.id, job_queue.c.name, job_queue.c.args, job_queue.c.attempts)
            .where(job_queue.c.status == "queued", job_queue.c.run_after <= now)
            .order_by(job_queue.c.priority.desc(), job_queue.c.id).limit(1))).first()
        if row is None:
            return None
        await (await session.connection()).execute(update(job_queue).where(job_queue.c.id == row.id)
                              .values(status="picked", updated_at=now))
    return ClaimedJob(row.id, row.name, decode_args(row.args), row.attempts)


async def finish(db: Database, job_id: int, now: datetime) -> None:
    async with _writing(db) as session:
        await (await session.connection()).execute(update(job_queue).where(job_queue.c.id == job_id)
                              .values(status="successful", attempts=job_queue.c.attempts + 1, updated_at=now))


async def fail(db: Database, job_id: int, error: str, now: datetime, retry_in: timedelta | None) -> None:
    """Record a failed try: queued again after `retry_in`, or failed for good when it is None."""
    values: dict[str, object] = {"attempts": job_queue.c.attempts + 1, "last_error": error, "updated_at": now}
    if retry_in is None:
        values["status"] = "failed"
    else:
        values.update(status="queued", run_after=now + retry_in)
    async with _writing(db) as session:
        await (await session.connection()).execute(update(job_queue).where(job_queue.c.id == job_id).values(**values))


async def requeue_abandoned(db: Database, picked_before: datetime) -> int:
    """Jobs left picked by a process that died (picked before `picked_before`): queued again."""
    async with _writing(db) as session:
        result = await (await session.connection()).execute(update(job_queue).where(
            job_queue.c.status == "picked", job_queue.c.updated_at < picked_before).values(status="queued"))
    return result.rowcount or 0


async def purge_history(db: Database, older_than: datetime) -> int:
    """Forget jobs that ended successfully before `older_than` (on PostgreSQL, their rows in
    pgqueuer's log; the per-second statistics it folds them into too). Failed jobs stay until staff
    have dealt with them; so do jobs still waiting or running."""
    if db.is_sqlite:
        async with _writing(db) as session:
            result = await (await session.connection()).execute(job_queue.delete().where(
                job_queue.c.status == "successful", job_queue.c.updated_at < older_than))
        return result.rowcount or 0
    log, queue = PGQUEUER.qualified.queue_table_log, PGQUEUER.qualified.queue_table
    async with db.write_sessions() as session, session.begin():
        conn = await session.connection()
        # Whole histories only: a job all of whose rows are old and which left the queue.
        result = await conn.exec_driver_sql(
            f"""DELETE FROM {log} l WHERE l.job_id IN (
                    SELECT job_id FROM {log} GROUP BY job_id HAVING max(created) < $1)
                AND NOT EXISTS (SELECT 1 FROM {queue} q WHERE q.id = l.job_id)""", (older_than,))
        await conn.exec_driver_sql(f"DELETE FROM {PGQUEUER.qualified.statistics_table} WHERE created < $1",
                                   (older_than,))
    return result.rowcount or 0
