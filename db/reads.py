"""Running the API's Core reads: one pooled connection per statement group, no ORM session.

On PostgreSQL the read engine is in autocommit (db/engine.py): a statement is one round trip,
and independent reads may run at once, each on its own connection (`concurrently`). SQLite
runs them one after the other: its connections share one file and one writer queue, and
nothing is gained by interleaving them in one process.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Row
from sqlalchemy.sql import Executable

from db.engine import Database

T = TypeVar("T")


async def rows(db: Database, statement: Executable) -> Sequence[Row[Any]]:
    async with db.read_engine.connect() as conn:
        return (await conn.execute(statement)).all()


async def scalar(db: Database, statement: Executable) -> Any:
    async with db.read_engine.connect() as conn:
        return (await conn.execute(statement)).scalar_one()


async def concurrently(db: Database, *reads: Awaitable[Any]) -> list[Any]:
    """Await independent reads, at once where the backend allows (each opens its own connection)."""
    if db.is_sqlite or len(reads) < 2:
        return [await read for read in reads]
    return list(await asyncio.gather(*reads))


async def pg_row(db: Database, sql: str, *args: Any) -> asyncpg.Record | None:
    """One row by asyncpg itself on a connection of the engine's pool (PostgreSQL only): for the
    hottest primary-key read (`me`), SQLAlchemy's statement path costs ≈ 0.3 ms of CPU where
    asyncpg's `fetchrow` costs ≈ 0.1 (measured with process_time). The pool still checks the
    connection out and in (recycling, overflow, the reset on return).

    A connection found broken is invalidated, with every other one opened before it, as SQLAlchemy
    does for its own statements (tests/test_engine.py): the read fails once, the next reconnects.
    """
    conn = await db.read_engine.raw_connection()
    try:
        return await conn.driver_connection.fetchrow(sql, *args)
    except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as exc:
        db.read_engine.sync_engine.pool._invalidate(conn, exc)  # what Connection does on a disconnect
        raise
    finally:
        conn.close()
