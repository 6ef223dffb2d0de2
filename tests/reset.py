"""Emptying the database before each test: every table of ours and pgqueuer's, ids from 1 again.

On PostgreSQL this is what `TRUNCATE <every table> RESTART IDENTITY CASCADE` leaves, got more
cheaply. TRUNCATE gives each table new files and costs about the same whether a table holds rows or
not: its 38 tables took 0.25–1.3 s a test on a loaded 2-core machine, most of the suite's
PostgreSQL time. A test writes to a few tables, so one statement first finds the tables holding
rows and the id sequences that moved (a rolled-back INSERT moves one and leaves no row), and only
those are emptied (DELETE, children first: every foreign key is NO ACTION) and set back to their
start: 20–90 ms there, and about 1 ms when nothing was written.

SQLite has no TRUNCATE: every table is emptied with DELETE, as before.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import SQLModel

from db.engine import Database

# pgqueuer's tables (db/jobs.py); on SQLite the job queue is our own table, `job_queue`.
PGQUEUER_TABLES = tuple(f"jobs.{name}" for name in ("pgqueuer", "pgqueuer_log", "pgqueuer_schedules",
                                                    "pgqueuer_statistics"))

# Each id sequence owned by a column (serial: 'a', identity: 'i'), with its table and start value.
_OWNED_SEQUENCES = """
SELECT d.refobjid::regclass::text, s.seqrelid::regclass::text, s.seqstart
FROM pg_sequence s
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
"""


@dataclass(frozen=True)
class _Plan:
    tables: tuple[str, ...]              # as regclass prints them, children before parents
    sequences: dict[str, tuple[str, int]]  # sequence -> (its table, its start)
    dirty_query: str                     # the names of the tables with rows and sequences that moved


_plans: dict[str, _Plan] = {}  # by database URL: the catalogue is read once per database per session


async def _plan(db: Database) -> _Plan:
    key = db.engine.url.render_as_string()
    plan = _plans.get(key)
    if plan is not None:
        return plan
    names = [f'"{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables)] + list(PGQUEUER_TABLES)
    async with db.engine.connect() as conn:
        # regclass spells each as the catalogue does (schema-qualified only outside the search path).
        tables = tuple((await conn.exec_driver_sql(
            "SELECT " + ", ".join(f"'{n}'::regclass::text" for n in names))).one())
        owned = (await conn.exec_driver_sql(_OWNED_SEQUENCES)).all()
    sequences = {seq: (table, start) for table, seq, start in owned if table in tables}
    probes = [f"SELECT '{t}' WHERE EXISTS (SELECT FROM {t})" for t in tables]
    probes += [f"SELECT '{s}' FROM {s} WHERE is_called OR last_value <> {start}"
               for s, (_, start) in sequences.items()]
    plan = _Plan(tables, sequences, " UNION ALL ".join(probes))
    _plans[key] = plan
    return plan


async def truncate_all(db: Database) -> None:
    if db.is_sqlite:
        tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
        async with db.engine.begin() as conn:
            for name in [*tables, "job_queue"]:
                await conn.execute(text(f'DELETE FROM "{name}"'))
        return
    plan = await _plan(db)
    async with db.engine.begin() as conn:
        dirty = {name for (name,) in (await conn.exec_driver_sql(plan.dirty_query)).all()}
        for table in plan.tables:
            if table in dirty:
                await conn.exec_driver_sql(f"DELETE FROM {table}")
        moved = [f"setval('{seq}', {start}, false)" for seq, (_, start) in plan.sequences.items() if seq in dirty]
        if moved:
            await conn.exec_driver_sql("SELECT " + ", ".join(moved))
