"""Read queries for the API surfaces (GraphQL loaders, REST lists): plain reads, short sessions.

Each function opens its own session, so data loaders can run them concurrently.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.util import await_, greenlet_spawn
from sqlmodel import col, select

from db import reads
from db.engine import Database
from db.mapping import product_from_row, user_from_row
from db.read_rows import USERS, among, user_from_tuple, users_where
from db.repositories import SqlCarts
from db.stock import products_with_reserved
from db.tables import ProductRow, UserRow, utcnow
from domain.catalog.model import Cart, Product
from domain.users import User


async def users_by_ids(db: Database, ids: Sequence[int]) -> dict[int, User]:
    return {user.id: user for user in map(user_from_tuple, await reads.rows(db, users_where(
        among(USERS.c.id, ids, db.is_sqlite))))}


# Built once: a statement made per call is built and cache-keyed again each time (≈ a tenth of
# `me`'s CPU, measured); one object keeps its cache key, and SQLAlchemy its compiled form.
_USER_BY_ID = users_where(USERS.c.id == bindparam("user_id"))


async def user_by_id(db: Database, user_id: int) -> User | None:
    """One primary-key read on a pooled connection (`me`): no ORM session, no loader batch; on
    PostgreSQL straight on the pooled asyncpg connection where the app allows it (`read_directly`),
    else through SQLAlchemy Core."""
    found: Sequence[Any]
    direct = _DIRECT.get(id(db.engine))
    if direct is not None and direct.engine() is db.engine and direct.applies(db):
        found = await greenlet_spawn(direct.fetch, user_id)
    else:
        found = await reads.rows(db, _USER_BY_ID, {"user_id": user_id})
    return _user_of(tuple(found[0])) if found else None


def _user_of(row: tuple) -> User:
    """`user_from_tuple(row)`, remembered for the same values: User is frozen, and parsing its
    roles (an enum's members listed per call) cost as much as the rest of the read's Python. The
    row is read every time; only its mapping is kept."""
    user = _USERS_BY_ROW.get(row)
    if user is None:
        if len(_USERS_BY_ROW) >= _MAX_USERS_BY_ROW:
            _USERS_BY_ROW.clear()
        user = _USERS_BY_ROW[row] = user_from_tuple(row)
    return user


_USERS_BY_ROW: dict[tuple, User] = {}
_MAX_USERS_BY_ROW = 4096


def read_directly(db: Database, count: Callable[[], None] | None) -> None:
    """Let `user_by_id` read on PostgreSQL without SQLAlchemy's execution, from now on: the
    statement is the one SQLAlchemy sends (compiled from `_USER_BY_ID` once), on a connection of
    the same pool, with asyncpg's `fetch`. Measured, that is ≈ 55 µs of CPU against ≈ 220 µs
    through an AsyncConnection (a greenlet per step, the AUTOCOMMIT characteristic set and reset at
    every checkout, a root transaction, execution context and events), most of `me`'s database
    cost.

    What SQLAlchemy's events would have seen, no listener sees: `count` is called for the
    statement instead (the app's statement counter, paygate/metrics.py), and the direct read is
    used only while the engine's cursor listeners are those present now. Any listener added later
    (a tracer's spans, a test counting statements) sends the read back through SQLAlchemy, where
    it sees it: the app enables this only when it records no traces (paygate/app.py)."""
    if count is None:  # off again
        _DIRECT.pop(id(db.engine), None)
    elif not db.is_sqlite:
        _DIRECT[id(db.engine)] = _DirectRead(db, count)


class _DirectRead:
    def __init__(self, db: Database, count: Callable[[], None]) -> None:
        # Held weakly, and checked at every read: an id is reused once its engine is gone.
        self.engine = weakref.ref(db.engine)
        self.pool = db.engine.sync_engine.pool
        self.count = count
        self.sql = str(_USER_BY_ID.compile(dialect=db.engine.dialect))
        self.listeners = _cursor_listeners(db)

    def applies(self, db: Database) -> bool:
        return _cursor_listeners(db) == self.listeners

    def fetch(self, user_id: int) -> list[Any]:
        """In a greenlet (`greenlet_spawn`), as the pool's checkout and checkin may connect or
        close a connection. No transaction is begun: asyncpg runs the statement in autocommit, as
        the read engine does (db/engine.py)."""
        connection = self.pool.connect()
        try:
            self.count()
            rows = await_(connection.driver_connection.fetch(self.sql, user_id))
        except BaseException as exc:
            # Its state is unknown (a broken socket, a cancelled query half-read): never reuse it.
            connection.invalidate(exc)
            raise
        finally:
            connection.close()
        return rows


def _cursor_listeners(db: Database) -> tuple:
    """The statement listeners a read on the read engine meets: the engine's own, and any of the
    read engine's (db/engine.py's AUTOCOMMIT copy) on top (its `local`: iterating the joined
    collection costs four times as much)."""
    engine, read = db.engine.sync_engine.dispatch, db.read_engine.sync_engine.dispatch
    return (*engine.before_cursor_execute, *engine.after_cursor_execute,
            *read.before_cursor_execute.local, *read.after_cursor_execute.local)


_DIRECT: dict[int, _DirectRead] = {}  # by id(engine): a WeakKeyDictionary costs a weakref a lookup


async def user_by_email(db: Database, email: str) -> User | None:
    async with db.read_sessions() as session:
        row = (await session.exec(select(UserRow).where(UserRow.email == email.lower()))).first()
        return user_from_row(row) if row else None


async def products_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Product]:
    async with db.read_sessions() as session:
        rows = await session.exec(products_with_reserved(utcnow()).where(ProductRow.id.in_(list(ids))))
        return {row.id: product_from_row(row, held) for row, held in rows}


async def products_page(
    db: Database, *, after_id: int | None, limit: int, seller_id: int | None = None,
    currency: str | None = None, in_stock: bool | None = None,
) -> tuple[list[Product], int]:
    """One page by ascending id (keyset), plus the total count of the filtered list."""
    filters = [ProductRow.active == True]  # noqa: E712 (SQL expression)
    if seller_id is not None:
        filters.append(ProductRow.seller_id == seller_id)
    if currency is not None:
        filters.append(ProductRow.currency == currency.upper())
    if in_stock:
        filters.append(ProductRow.stock > 0)
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(ProductRow).where(*filters))).one()
        page = products_with_reserved(utcnow()).where(*filters)
        if after_id is not None:
            page = page.where(col(ProductRow.id) > after_id)
        rows = await session.exec(page.order_by(ProductRow.id).limit(limit))
        return [product_from_row(row, held) for row, held in rows], total


async def cart_of(db: Database, user_id: int) -> Cart:
    async with db.read_sessions() as session:
        return await SqlCarts(session).get(user_id)
