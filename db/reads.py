"""Running the API's Core reads: one pooled connection per statement group, no ORM session.

On PostgreSQL the read engine is in autocommit (db/engine.py): a statement is one round trip,
and independent reads may run at once, each on its own connection (`concurrently`). SQLite
runs them one after the other: its connections share one file and one writer queue, and
nothing is gained by interleaving them in one process.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy.sql import Executable

from db.engine import Database

T = TypeVar("T")


async def rows(db: Database, statement: Executable,
               parameters: Mapping[str, Any] | None = None) -> Sequence[Row[Any]]:
    async with db.read_engine.connect() as conn:
        return (await conn.execute(statement, parameters)).all()


async def scalar(db: Database, statement: Executable) -> Any:
    async with db.read_engine.connect() as conn:
        return (await conn.execute(statement)).scalar_one()


async def concurrently(db: Database, *reads: Awaitable[Any]) -> list[Any]:
    """Await independent reads, at once where the backend allows (each opens its own connection)."""
    if db.is_sqlite or len(reads) < 2:
        done: list[Any] = []
        try:
            for read in reads:
                done.append(await read)
        except BaseException:
            # The reads not begun are never awaited: close them, or each warns as it is freed
            # ("coroutine was never awaited"), inside whatever test or request runs then.
            for read in reads[len(done) + 1:]:
                close = getattr(read, "close", None)
                if close is not None:
                    close()
            raise
        return done
    return list(await asyncio.gather(*reads))

