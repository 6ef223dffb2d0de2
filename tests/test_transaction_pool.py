"""What a write transaction leaves behind: once `commit` returns, what it wrote is seen by every
other connection; and its connection goes back to the pool outside any transaction, whether it
committed, failed or failed to commit. (tests/conftest.py also checks, after every test, that no
PostgreSQL connection went back to the pool inside a transaction.)"""
from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import bindparam, event, insert, select, text

from bench.seed import asyncpg_dsn
from db.tables import UserRow
from db.transaction import WriteTransaction
from tests.conftest import LEFT_IN_TRANSACTION, PG_URL

USERS = UserRow.__table__
_ADD_USER = insert(USERS).returning(USERS.c.id)
_COUNT = select(USERS.c.id).where(USERS.c.email.like(bindparam("b_like")))
_STATE = text("SELECT txid_current_if_assigned() AS xid, now() AS began")


@pytest.fixture
def postgres(db):
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's pool holds one file, its transactions are ours (BEGIN IMMEDIATE)")
    return db


async def _seen_by_another_connection(like: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(PG_URL))
    try:
        return await connection.fetchval("SELECT count(*) FROM users WHERE email LIKE $1", like)
    finally:
        await connection.close()


async def _fresh_transaction_state(db) -> tuple[int | None, datetime]:
    tx = WriteTransaction(db.write_engine)
    await tx.begin()
    try:
        row = (await tx.execute(_STATE)).one()
        return row.xid, row.began
    finally:
        await tx.close()


async def test_what_a_committed_transaction_wrote_is_seen_at_once_and_its_connection_is_clean(postgres):
    for n in range(4):  # its statements go direct from their third run (db/direct_statements.py)
        tx = WriteTransaction(postgres.write_engine)
        await tx.begin()
        try:
            for m in range(3):
                await tx.execute(_ADD_USER, {"email": f"pool-{n}-{m}@example.com", "name": "P", "roles": "customer"})
            await tx.commit()
        finally:
            await tx.close()

        assert await _seen_by_another_connection(f"pool-{n}-%") == 3
    before = datetime.now(UTC)
    pool = postgres.engine.sync_engine.pool
    checked_in = pool.checkedin()

    # Every pooled connection, checked out again: no transaction of before goes on in it.
    states = [await _fresh_transaction_state(postgres) for _ in range(max(checked_in, 1))]

    assert all(xid is None and began >= before for xid, began in states)


async def test_a_commit_that_fails_before_the_database_leaves_nothing_open_and_nothing_written(postgres):
    """A `commit` listener raising (the write batch's last writes failing before they reach the
    database) used to leave SQLAlchemy's transaction inactive but attached: `close` sent no
    ROLLBACK and told the pool the connection was reset. It went back to the pool inside the
    transaction, and the next write transaction on it committed those writes too."""
    engine = postgres.engine.sync_engine
    fail = [True]

    def refuse_once(_connection) -> None:
        if fail[0]:
            fail[0] = False
            raise RuntimeError("a commit listener failed")

    left_before = len(LEFT_IN_TRANSACTION)
    event.listen(engine, "commit", refuse_once)
    try:
        tx = WriteTransaction(postgres.write_engine)
        await tx.begin()
        try:
            await tx.execute(_ADD_USER, {"email": "lost@example.com", "name": "L", "roles": "customer"})
            with pytest.raises(RuntimeError):
                await tx.commit()
        finally:
            await tx.close()
    finally:
        event.remove(engine, "commit", refuse_once)
    left_in_transaction = LEFT_IN_TRANSACTION[left_before:]

    for _ in range(engine.pool.checkedin()):  # the next write transactions on every pooled connection
        tx = WriteTransaction(postgres.write_engine)
        await tx.begin()
        try:
            await tx.execute(_COUNT, {"b_like": "nobody"})
            await tx.commit()
        finally:
            await tx.close()

    assert left_in_transaction == []
    assert await _seen_by_another_connection("lost@%") == 0
