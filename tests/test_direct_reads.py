"""`me`'s read straight on the pooled asyncpg connection (db/queries.py `read_directly`): the same
user as SQLAlchemy reads, counted as a statement, and back through SQLAlchemy as soon as anyone
else listens to the engine's statements."""
from __future__ import annotations

import pytest

from db import queries
from tests.conftest import StatementCounter


@pytest.fixture
def direct(db):
    counted: list[int] = []
    queries.read_directly(db, lambda: counted.append(1))
    yield counted
    queries.read_directly(db, None)


async def test_the_direct_read_finds_what_sqlalchemy_finds_and_counts_one_statement(db, shop, direct):
    user_id = shop.id_of("customer@example.com")

    read = await queries.user_by_id(db, user_id)
    missing = await queries.user_by_id(db, 2**31 - 1)
    queries.read_directly(db, None)
    through_sqlalchemy = await queries.user_by_id(db, user_id)

    assert read == through_sqlalchemy and read is not None and read.email == "customer@example.com"
    assert missing is None
    assert len(direct) == (0 if db.is_sqlite else 2)  # SQLite always reads through SQLAlchemy


async def test_a_listener_added_later_sees_the_read_through_sqlalchemy(db, shop, direct):
    with StatementCounter(db) as statements:
        read = await queries.user_by_id(db, shop.id_of("customer@example.com"))

    assert read is not None and statements.count == 1 and direct == []


async def test_a_read_that_fails_throws_its_connection_away(db, shop, direct):
    if db.is_sqlite:
        pytest.skip("PostgreSQL only")
    pool = db.engine.sync_engine.pool
    direct_read = queries._DIRECT[id(db.engine)]
    direct_read.sql = "SELECT no_such_column FROM users WHERE id = $1::INTEGER"
    before = pool.checkedin() + pool.checkedout()

    with pytest.raises(Exception, match="no_such_column"):
        await queries.user_by_id(db, shop.id_of("customer@example.com"))

    assert pool.checkedout() == 0 and pool.checkedin() + pool.checkedout() <= before
