"""Read queries for the API surfaces (GraphQL loaders, REST lists): plain reads, short sessions.

Each function opens its own session, so data loaders can run them concurrently.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, func
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
    """One primary-key read on a pooled connection (`me`): no ORM session, no loader batch. Through
    SQLAlchemy Core, not asyncpg alone (≈ 0.3 ms faster): its statements are the ones traced
    (paygate/tracing.py, tests/test_tracing.py)."""
    found = await reads.rows(db, _USER_BY_ID, {"user_id": user_id})
    return user_from_tuple(found[0]) if found else None


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
