"""The dummy gateway's records in SQL: the store providers/dummy_records.py describes.

One write transaction per gateway call, never inside one of ours: the gateway stands for a
provider across the network, and use cases call it with no transaction open.

`lock(key)` is a transaction-scoped advisory lock on PostgreSQL: it serializes two transactions
about the same key even when no row exists yet (two requests with one new idempotency key), and
ends with the transaction. On SQLite the one write transaction (BEGIN IMMEDIATE, and the
in-process writers' lock) already serializes every writer.

`put` keeps its record until the transaction ends, and all the records of one transaction are
written in one multi-row upsert then (a capture writes its intent and its answer: one statement,
not two). `get` sees a record put in the same transaction; a transaction that raises writes none.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from db.engine import Database
from db.payment_tables import DummyGatewayRecordRow
from db.transaction import WriteTransaction

RECORDS = DummyGatewayRecordRow.__table__
# Built once; the key comes with each execution.
_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("b_key", type_=String), 0)))
_BODY = select(RECORDS.c.body).where(RECORDS.c.key == bindparam("b_key"))


def _upsert(dialect):
    """The upsert of records, built once. Given a list of rows, SQLAlchemy sends ONE multi-row
    INSERT derived from the statement compiled once ("insertmanyvalues", applied to statements with
    RETURNING); `.values([...])` has no cache key and was compiled at every call."""
    insert = dialect.insert(RECORDS)
    return insert.on_conflict_do_update(
        index_elements=["key"], set_={"body": insert.excluded.body, "updated_at": insert.excluded.updated_at},
    ).returning(RECORDS.c.key)


_UPSERT_SQLITE, _UPSERT_POSTGRESQL = _upsert(sqlite), _upsert(postgresql)


class SqlDummyRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return "records in the database"

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqlBook]:
        lock = self.db.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            # A transaction on a plain connection (db/transaction.py): no ORM here.
            tx = WriteTransaction(self.db.write_engine)
            await tx.begin()
            try:
                book = _SqlBook(tx, self.db.is_sqlite)
                yield book
                await book.flush()
                await tx.commit()
            finally:
                await tx.close()
        finally:
            if lock is not None:
                lock.release()


class _SqlBook:
    def __init__(self, tx: WriteTransaction, is_sqlite: bool) -> None:
        self.tx = tx
        self.is_sqlite = is_sqlite
        self._puts: dict[str, str] = {}  # key -> body, written by flush()

    async def lock(self, key: str) -> None:
        if not self.is_sqlite:
            await self.tx.execute(_LOCK, {"b_key": key})

    async def get(self, key: str) -> dict[str, Any] | None:
        body = self._puts.get(key)
        if body is None:
            body = (await self.tx.execute(_BODY, {"b_key": key})).scalar()
        return None if body is None else json.loads(body)

    async def put(self, key: str, record: dict[str, Any]) -> None:
        self._puts[key] = json.dumps(record)

    async def flush(self) -> None:
        """Write the records put in this transaction, in one statement (keys are unique in it)."""
        if not self._puts:
            return
        now = datetime.now(UTC)
        rows = [{"key": key, "body": body, "updated_at": now} for key, body in self._puts.items()]
        self._puts = {}
        await self.tx.execute(_UPSERT_SQLITE if self.is_sqlite else _UPSERT_POSTGRESQL, rows)
