"""The demo shop loads once, however often `make run` starts."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from db.tables import ProductRow, UserRow
from paygate.demo import PRODUCTS, USERS, load_demo


async def _counts(db) -> tuple[int, int]:
    async with db.read_sessions() as session:
        users = (await session.exec(select(func.count()).select_from(UserRow))).one()
        products = (await session.exec(select(func.count()).select_from(ProductRow))).one()
    return users, products


async def test_loading_the_demo_twice_adds_nothing_the_second_time(db):
    _, first_added = await load_demo(db)
    after_first = await _counts(db)

    _, second_added = await load_demo(db)

    assert (first_added, second_added) == (True, False)
    assert await _counts(db) == after_first == (len(USERS), len(PRODUCTS))


async def test_the_demo_has_products_in_usd_eur_and_jpy_from_both_sellers(db):
    users, _ = await load_demo(db)

    async with db.read_sessions() as session:
        rows = (await session.exec(select(ProductRow))).all()

    assert {r.currency for r in rows} == {"USD", "EUR", "JPY"}
    assert {r.seller_id for r in rows} == {users["seller@example.com"].id, users["seller2@example.com"].id}
    assert all(r.stock > 0 for r in rows)
