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
