"""Background jobs as staff see them (GraphQL `backgroundJobs`): newest first, with state, tries
and last error, from whichever queue this database keeps (db/jobs.py).

On PostgreSQL a job's history is pgqueuer's log (one row per change: queued, picked, retried with
its traceback, successful / failed / exception): its state is the latest row, its tries are its
`picked` rows, its last error the latest traceback. A successful job leaves pgqueuer's queue table
but stays in the log, so the list shows it too. Two statements a page, whatever its size.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from db.engine import Database
from db.jobs import PGQUEUER, job_queue
from db.mapping import aware
from domain.text import redact_card_numbers

ERROR_CHARS = 500  # a traceback's last line is what staff need; the log has the rest


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    name: str
    state: str  # queued, picked, successful, failed (pgqueuer also: exception, canceled, deleted)
    attempts: int
    last_error: str | None
    run_after: datetime | None  # when a queued job may run next; None once it has ended
    created_at: datetime
    updated_at: datetime


def _error(text: str | None) -> str | None:
    # An error's message may quote what a provider or a customer sent: no card number leaves.
    return redact_card_numbers(text)[:ERROR_CHARS] if text else None


async def jobs_page(db: Database, *, states: tuple[str, ...] = (), name: str | None = None,
                    before_id: int | None = None, limit: int) -> tuple[list[JobRecord], int]:
    if db.is_sqlite:
        return await _sqlite_page(db, states, name, before_id, limit)
    return await _pg_page(db, states, name, before_id, limit)


async def _sqlite_page(db: Database, states: tuple[str, ...], name: str | None, before_id: int | None,
                       limit: int) -> tuple[list[JobRecord], int]:
    where = []
    if states:
        where.append(job_queue.c.status.in_(states))
    if name is not None:
        where.append(job_queue.c.name == name)
    page = select(job_queue).where(*where).order_by(job_queue.c.id.desc()).limit(limit)
    if before_id is not None:
        page = page.where(job_queue.c.id < before_id)
    async with db.read_sessions() as session:
        rows = (await (await session.connection()).execute(page)).mappings().all()
        total = (await (await session.connection()).execute(select(func.count()).select_from(job_queue).where(*where))).scalar_one()
    return [JobRecord(r["id"], r["name"], r["status"], r["attempts"], _error(r["last_error"]),
                      aware(r["run_after"]) if r["status"] == "queued" else None, aware(r["created_at"]),
                      aware(r["updated_at"])) for r in rows], total


def _pg_history() -> str:
    log, queue = PGQUEUER.qualified.queue_table_log, PGQUEUER.qualified.queue_table
    return f"""
        SELECT l.job_id AS id,
               (array_agg(l.entrypoint ORDER BY l.id DESC))[1] AS name,
               (array_agg(l.status::text ORDER BY l.id DESC))[1] AS state,
               count(*) FILTER (WHERE l.status = 'picked') AS attempts,
               (array_agg(l.traceback ORDER BY l.id DESC) FILTER (WHERE l.traceback IS NOT NULL))[1] AS traceback,
               min(l.created) AS created_at, max(l.created) AS updated_at,
               (SELECT q.execute_after FROM {queue} q WHERE q.id = l.job_id AND q.status = 'queued') AS run_after
        FROM {log} l
        WHERE ($1::text IS NULL OR l.entrypoint = $1)
        GROUP BY l.job_id"""


async def _pg_page(db: Database, states: tuple[str, ...], name: str | None, before_id: int | None,
                   limit: int) -> tuple[list[JobRecord], int]:
    history = _pg_history()
    wanted = "($2::text[] = '{}' OR h.state = ANY($2))"
    async with db.read_sessions() as session:
        conn = await session.connection()
        rows = (await conn.exec_driver_sql(
            f"SELECT * FROM ({history}) h WHERE {wanted} AND ($3::bigint IS NULL OR h.id < $3) "
            "ORDER BY h.id DESC LIMIT $4", (name, list(states), before_id, limit))).mappings().all()
        total = (await conn.exec_driver_sql(f"SELECT count(*) FROM ({history}) h WHERE {wanted}",
                                            (name, list(states)))).scalar_one()
    return [JobRecord(r["id"], r["name"], r["state"], r["attempts"], _error(_pg_error(r["traceback"])),
                      r["run_after"], r["created_at"], r["updated_at"]) for r in rows], total


def _pg_error(traceback: object) -> str | None:
    """pgqueuer's TracebackRecord (JSON): the exception's type and message."""
    if traceback is None:
        return None
    record = json.loads(traceback) if isinstance(traceback, str) else traceback
    reason = (record.get("additional_context") or {}).get("reason")  # a retry: the error that caused it
    return reason or f"{record.get('exception_type', 'Error')}: {record.get('exception_message', '')}"


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """One job's waiting, running or failed runs, for /metrics."""
    name: str
    state: str  # due (waiting past its time), scheduled (waiting for its time), picked, failed
    depth: int
    oldest_age_s: float  # due: how late the oldest is; picked: how long the oldest has run; else 0


_PG_DEPTHS = f"""
    SELECT entrypoint AS name,
           CASE WHEN status = 'queued' AND execute_after <= now() THEN 'due'
                WHEN status = 'queued' THEN 'scheduled' ELSE status::text END AS state,
           count(*) AS depth,
           greatest(0, extract(epoch FROM now() - min(CASE WHEN status = 'queued' THEN execute_after
                                                         WHEN status = 'picked' THEN updated END))) AS age
    FROM {PGQUEUER.qualified.queue_table}
    WHERE status IN ('queued', 'picked', 'failed')
    GROUP BY 1, 2"""


async def queue_depths(db: Database, now: datetime) -> list[QueueDepth]:
    """The queue as it stands, by job and state: one statement (read at every scrape)."""
    async with db.read_sessions() as session:
        conn = await session.connection()
        if not db.is_sqlite:
            rows = (await conn.exec_driver_sql(_PG_DEPTHS)).mappings().all()
            return [QueueDepth(r["name"], r["state"], r["depth"], float(r["age"] or 0)) for r in rows]
        # The embedded queue is one process's, small: its open rows, grouped here.
        open_rows = (await conn.execute(
            select(job_queue.c.name, job_queue.c.status, job_queue.c.run_after, job_queue.c.updated_at)
            .where(job_queue.c.status.in_(("queued", "picked", "failed"))))).all()
    since: dict[tuple[str, str], list[datetime | None]] = {}
    for name, status, run_after, updated_at in open_rows:
        run_after = aware(run_after)
        state = ("due" if run_after <= now else "scheduled") if status == "queued" else status
        started = run_after if state == "due" else aware(updated_at) if state == "picked" else None
        since.setdefault((name, state), []).append(started)
    return [QueueDepth(name, state, len(times),
                       max(0.0, (now - min(t for t in times if t is not None)).total_seconds())
                       if any(t is not None for t in times) else 0.0)
            for (name, state), times in sorted(since.items())]


async def queue_reachable(db: Database) -> None:
    """Raises unless the job queue's table answers (readiness: migrated, and reachable)."""
    table = "job_queue" if db.is_sqlite else PGQUEUER.qualified.queue_table
    async with db.read_sessions() as session:
        await (await session.connection()).exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1")
