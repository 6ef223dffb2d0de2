"""PostgreSQL engine: no pre-ping (a broken connection fails once, then the pool reconnects) and
read sessions in autocommit (one round trip a read); SQLite keeps its own transactions."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.engine import RECYCLE_SECONDS, Database, make_engine


def _postgres_only(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL engine settings")


async def test_postgres_pool_recycles_instead_of_pinging(shared_db):
    _postgres_only(shared_db)
    engine = make_engine(shared_db.engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        assert engine.pool._pre_ping is False
        assert engine.pool._recycle == RECYCLE_SECONDS
    finally:
        await engine.dispose()


async def test_postgres_read_sessions_run_each_statement_in_its_own_transaction(shared_db):
    _postgres_only(shared_db)
    async with shared_db.read_sessions() as session:
        first = (await session.exec(text("SELECT txid_current()"))).scalar_one()
        second = (await session.exec(text("SELECT txid_current()"))).scalar_one()
    assert first != second  # autocommit: no BEGIN, no ROLLBACK

    async with shared_db.write_sessions() as session, session.begin():
        first = (await session.exec(text("SELECT txid_current()"))).scalar_one()
        second = (await session.exec(text("SELECT txid_current()"))).scalar_one()
    assert first == second  # writes: still one transaction


async def test_postgres_write_sessions_after_a_read_are_transactions_again(shared_db):
    """The pool hands the same connection to reads and writes: autocommit must not leak."""
    _postgres_only(shared_db)
    db = Database(make_engine(shared_db.engine.url.render_as_string(hide_password=False), pool_size=1))
    try:
        for _ in range(2):
            async with db.read_sessions() as session:
                await session.exec(text("SELECT 1"))
            async with db.write_sessions() as session, session.begin():
                a = (await session.exec(text("SELECT txid_current()"))).scalar_one()
                b = (await session.exec(text("SELECT txid_current()"))).scalar_one()
            assert a == b
    finally:
        await db.dispose()


async def test_a_killed_connection_fails_one_read_and_the_next_one_reconnects(shared_db):
    _postgres_only(shared_db)
    db = Database(make_engine(shared_db.engine.url.render_as_string(hide_password=False), pool_size=1))
    try:
        async with db.read_sessions() as session:
            pid = (await session.exec(text("SELECT pg_backend_pid()"))).scalar_one()
        async with shared_db.engine.connect() as other:
            assert (await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()

        with pytest.raises(DBAPIError) as failed:
            async with db.read_sessions() as session:
                await session.exec(text("SELECT 1"))
        assert failed.value.connection_invalidated

        async with db.read_sessions() as session:
            again = (await session.exec(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != pid
    finally:
        await db.dispose()


async def test_sqlite_read_sessions_keep_their_transaction(shared_db):
    if not shared_db.is_sqlite:
        pytest.skip("SQLite")
    async with shared_db.read_sessions() as session:
        await session.exec(text("SELECT 1"))
        assert (await session.connection()).in_transaction()


async def test_a_failed_write_names_its_statement_but_never_the_values_it_carried(db):
    # A row a foreign key refuses, on both backends: the error is what the last-resort handler
    # logs with its traceback, and the values are customers' text.
    statement = text("INSERT INTO addresses (user_id, name, line1, line2, city, postal_code, country) "
                     "VALUES (:user, 'Ada', '1 Main St', :line2, 'Springfield', '12345', 'US')")

    with pytest.raises(DBAPIError) as failed:
        async with db.write_sessions() as session, session.begin():
            await session.exec(statement.bindparams(user=999_999, line2="card 4242 4242 4242 4242"))

    assert "INSERT INTO addresses" in str(failed.value)
    assert "4242" not in str(failed.value) and "parameters hidden" in str(failed.value)
