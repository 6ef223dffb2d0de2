"""Alembic is the only way the schema is made: it builds from empty, tears down, and matches the models."""
from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from db import jobs
from db.engine import make_engine
from db.migrate import downgrade, upgrade


async def _tables(url: str) -> set[str]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def _drift(url: str) -> list:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            # The job queue's own table exists on SQLite only (on PostgreSQL pgqueuer's, in their
            # own schema, hold the jobs): db/jobs.py.
            metadata = [SQLModel.metadata, jobs.METADATA] if conn.dialect.name == "sqlite" else SQLModel.metadata
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              metadata))
    finally:
        await engine.dispose()


async def test_migrations_build_every_table_from_empty_and_tear_them_down(database_url, shared_db):
    await shared_db.engine.dispose()  # release pooled connections while tables are dropped

    await asyncio.to_thread(downgrade, database_url, "base")
    emptied = await _tables(database_url)
    await asyncio.to_thread(upgrade, database_url, "head")
    built = await _tables(database_url)

    model_tables = set(SQLModel.metadata.tables)
    assert emptied & model_tables == set()
    assert model_tables <= built
    assert "alembic_version" in built


async def test_the_migrated_schema_matches_the_models_exactly(database_url, shared_db):
    drift = await _drift(database_url)

    assert drift == []


def _model_predicates(dialect: str) -> dict[str, tuple[str, list[str], str | None]]:
    """Each index of the models: its table, columns, and its predicate on `dialect` (None: whole)."""
    found = {}
    for table in SQLModel.metadata.tables.values():
        for index in table.indexes:
            where = index.dialect_options[dialect]["where"]
            found[index.name] = (table.name, [c.name for c in index.columns], None if where is None else str(where))
    return found


def _database_predicates(sync) -> dict[str, tuple[str | None, str | None]]:
    """Each index's predicate as the database holds it, and the models' as the same database
    makes of it (PostgreSQL rewrites it: `status IN (…)` is stored as `= ANY (ARRAY[…])`, so
    the model's is built on a scratch copy of its table and read back the same way)."""
    if sync.dialect.name == "sqlite":
        stored = {name: sql for name, sql in sync.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
        # SQLite keeps the statement as it was sent: the predicate is what follows WHERE.
        held = {name: (sql.split(" WHERE ", 1)[1].strip() if " WHERE " in sql else None) for name, sql in stored.items()}
        return {name: (held.get(name), where) for name, (_, _, where) in _model_predicates("sqlite").items()}
    read = ("SELECT c.relname, pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = current_schema()::regnamespace")
    held = dict(sync.exec_driver_sql(read).all())
    expected = {}
    for name, (table, columns, where) in _model_predicates("postgresql").items():
        if where is None:
            expected[name] = None
            continue
        sync.exec_driver_sql(f"CREATE TEMP TABLE probe (LIKE {table})")
        sync.exec_driver_sql(f"CREATE INDEX probe_ix ON probe ({', '.join(columns)}) WHERE {where}")
        expected[name] = sync.exec_driver_sql(
            "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "WHERE i.indexrelid = 'probe_ix'::regclass").scalar_one()
        sync.exec_driver_sql("DROP TABLE probe")
    return {name: (held.get(name), expected[name]) for name in expected}


async def test_partial_indexes_hold_the_models_predicates(database_url, shared_db):
    # Alembic's comparison (above) leaves predicates out: a partial index built whole, or on
    # another predicate, would pass it, and its readers' plans would change unseen.
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(_database_predicates)
            await conn.rollback()
    finally:
        await engine.dispose()

    assert {name: held for name, (held, _) in found.items()} == {name: want for name, (_, want) in found.items()}
    assert found["ix_payment_attempts_open"][0] is not None
