"""The reset before each test (tests/reset.py) leaves what TRUNCATE … RESTART IDENTITY left: no
rows anywhere, and every id sequence at its start, also one only a rolled-back INSERT moved."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from db.tables import ProductRow, UserRow
from tests.reset import PGQUEUER_TABLES, truncate_all

LOG_A_JOB = "INSERT INTO jobs.pgqueuer_log (job_id, status, entrypoint, priority) VALUES (1, 'queued', 'x', 0)"


async def _counts(db) -> dict[str, int]:
    names = [f'"{t.name}"' for t in SQLModel.metadata.sorted_tables]
    names += [] if db.is_sqlite else list(PGQUEUER_TABLES)
    async with db.engine.connect() as conn:
        return {n: (await conn.execute(text(f"SELECT count(*) FROM {n}"))).scalar_one() for n in names}


async def test_the_reset_empties_every_table_and_restarts_every_id(db):
    async with db.write_sessions() as session, session.begin():
        seller = UserRow(email="s@example.com", name="s", roles="seller")
        session.add(seller)
        await session.flush()
        session.add(ProductRow(seller_id=seller.id, sku="SKU-1", name="p", price_minor=100, currency="USD",
                               stock=1))
    with pytest.raises(IntegrityError):  # the SKU is taken
        async with db.write_sessions() as session, session.begin():
            session.add(ProductRow(seller_id=seller.id, sku="SKU-1", name="again", price_minor=1, currency="USD",
                                   stock=1))
    async with db.write_sessions() as session, session.begin():
        session.add(UserRow(email="t@example.com", name="t", roles="customer"))
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(text(LOG_A_JOB))
    assert sum((await _counts(db)).values()) >= 3

    await truncate_all(db)

    assert {n: c for n, c in (await _counts(db)).items() if c} == {}
    async with db.write_sessions() as session, session.begin():
        seller = UserRow(email="s@example.com", name="s", roles="seller")
        session.add(seller)
        await session.flush()
        product = ProductRow(seller_id=seller.id, sku="SKU-1", name="p", price_minor=100, currency="USD", stock=1)
        session.add(product)
        await session.flush()
        ids = (seller.id, product.id)
    # SQLite hands out max(id) + 1 (no AUTOINCREMENT); on PostgreSQL the product's sequence was moved
    # twice, once by the rolled-back INSERT.
    assert ids == (1, 1)
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            logged = await conn.execute(text(LOG_A_JOB + " RETURNING id"))
            assert logged.scalar_one() == 1  # pgqueuer's identity columns restart too
