"""The dummy gateway's records in SQL: the store providers/dummy_records.py describes.

Never inside one of our transactions: the gateway stands for a provider across the network, and
use cases call it with no transaction open.

`lock(key)` is a transaction-scoped advisory lock on PostgreSQL: it serializes two transactions
about the same key even when no row exists yet, and ends with the transaction. On SQLite the one
write transaction (BEGIN IMMEDIATE, and the in-process writers' lock) already serializes every
writer.

`put` keeps its record until the transaction ends, and all the records of one transaction are
written in one multi-row upsert then (a capture writes its intent and its answer: one statement,
not two). `get` sees a record put in the same transaction; a transaction that raises writes none.

`claim(key, record)` (a new payment's answer) needs no lock: on PostgreSQL, in a transaction that
has read nothing yet, it is ONE statement on its own, outside any transaction (no BEGIN, no
COMMIT): the answer inserted unless the key is there (ON CONFLICT DO NOTHING, the UNIQUE key
decides between racing requests), the records put so far inserted only with it, and the record
that was there answered. A PostgreSQL transaction (a write session) is opened only by the first
`lock` or `get` that needs one.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, bindparam, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from db.direct_statements import in_autocommit
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

# `claimed` is the key when this statement inserted it; `body` what was there before (NULL also
# when a racing request inserted it after this statement's snapshot: read again then).
# `lax`: this statement's own (implicit) transaction commits without waiting for its WAL flush
# (synchronous_commit off, for this transaction only). The gateway stands for a provider across
# the network, whose records our database need not make durable on its own: what we record of
# its answer commits later and synchronously, and flushing that commit's WAL flushes every record
# before it, this one included. A crash before then loses the claim and our record of it alike:
# the attempt stays open, and reconciliation's question (providers/dummy.py, find_authorization)
# finds a request that never arrived. One WAL flush less a payment.
_CLAIM_POSTGRESQL = text("""WITH lax AS (SELECT set_config('synchronous_commit', 'off', true)),
claimed AS (
  INSERT INTO dummy_gateway_records (key, body, updated_at) VALUES (:key, :body, :now)
  ON CONFLICT (key) DO NOTHING RETURNING key),
also AS (
  INSERT INTO dummy_gateway_records (key, body, updated_at)
  SELECT t.key, t.body, :now FROM claimed, unnest(CAST(:keys AS varchar[]), CAST(:bodies AS varchar[])) AS t(key, body)
  ON CONFLICT (key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at)
SELECT (SELECT key FROM claimed) AS claimed,
       (SELECT body FROM dummy_gateway_records WHERE key = :key) AS body FROM lax""").bindparams(
    bindparam("key", type_=String), bindparam("body", type_=String), bindparam("now", type_=DateTime(timezone=True)),
    bindparam("keys"), bindparam("bodies"))


class SqlDummyRecords:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.autocommit: AsyncEngine = db.engine.execution_options(isolation_level="AUTOCOMMIT")

    def __repr__(self) -> str:
        return "records in the database"

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqlBook]:
        lock = self.db.write_lock
        if lock is not None:
            await lock.acquire()
        book = _SqlBook(self)
        try:
            if self.db.is_sqlite:
                await book.begin()
            yield book
            await book.flush()
            await book.commit()
        finally:
            try:
                await book.close()
            finally:
                if lock is not None:
                    lock.release()


class _SqlBook:
    def __init__(self, records: SqlDummyRecords) -> None:
        self.records = records
        self.is_sqlite = records.db.is_sqlite
        self._session: WriteTransaction | None = None
        self._puts: dict[str, str] = {}  # key -> body, written by flush()

    async def begin(self) -> WriteTransaction:
        """The transaction, begun on first need: on a plain connection (db/transaction.py), no ORM."""
        if self._session is None:
            tx = WriteTransaction(self.records.db.write_engine)
            await tx.begin()
            self._session = tx
        return self._session

    async def commit(self) -> None:
        if self._session is not None:
            await self._session.commit()

    async def close(self) -> None:
        if self._session is not None:
            tx, self._session = self._session, None
            await tx.close()  # rolls back what wasn't committed

    async def lock(self, key: str) -> None:
        tx = await self.begin()
        if not self.is_sqlite:
            await tx.execute(_LOCK, {"b_key": key})

    async def get(self, key: str) -> dict[str, Any] | None:
        body = self._puts.get(key)
        if body is None:
            tx = await self.begin()
            body = (await tx.execute(_BODY, {"b_key": key})).scalar()
        return None if body is None else json.loads(body)

    async def put(self, key: str, record: dict[str, Any]) -> None:
        self._puts[key] = json.dumps(record)

    async def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        if self.is_sqlite or self._session is not None:
            first = await self.get(key)
            if first is not None:
                self._puts = {}
                return first
            await self.put(key, record)
            return None
        puts, self._puts = self._puts, {}
        # In autocommit, straight on asyncpg where nothing needs SQLAlchemy's path (db/direct_statements.py).
        autocommit = self.records.autocommit
        row = (await in_autocommit(autocommit, _CLAIM_POSTGRESQL, {
            "key": key, "body": json.dumps(record), "now": datetime.now(UTC),
            "keys": list(puts), "bodies": list(puts.values())})).one()
        if row.claimed is not None:
            return None
        body = row.body
        if body is None:  # inserted by a request that committed after this statement began
            body = (await in_autocommit(autocommit, _BODY, {"b_key": key})).scalar_one()
        return json.loads(body)

    async def flush(self) -> None:
        """Write the records put in this transaction, in one statement (keys are unique in it)."""
        if not self._puts:
            return
        tx = await self.begin()
        now = datetime.now(UTC)
        rows = [{"key": key, "body": body, "updated_at": now} for key, body in self._puts.items()]
        self._puts = {}
        await tx.execute(_UPSERT_SQLITE if self.is_sqlite else _UPSERT_POSTGRESQL, rows)
