"""PostgreSQL's row locks: the lock order's consequences, and the unit of work running a transaction
again when the database aborted it to break a deadlock (db/uow.py)."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from db.tables import ProductRow, UserRow
from db.uow import SqlUnitOfWork
from domain.catalog.service import SetCartItem, set_cart_item
from domain.errors import ValidationError
from domain.identity import Actor, Role

pytestmark = pytest.mark.usefixtures("shop")


def _postgres_only(db) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: no row locks, no deadlocks")


async def _products(db, n: int) -> list[int]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(ProductRow.id).where(ProductRow.active)
                                        .order_by(ProductRow.id).limit(n))).all())


async def _customer(db) -> Actor:
    async with db.write_sessions() as session, session.begin():
        user = UserRow(email="locks@example.com", name="Locks", roles="customer")
        session.add(user)
        await session.flush()
        return Actor(user.id, user.email, frozenset({Role.CUSTOMER}))


async def test_a_checkout_holding_a_products_lock_does_not_hold_up_adding_it_to_a_cart(db):
    _postgres_only(db)
    [product] = await _products(db, 1)
    customer = await _customer(db)

    async with SqlUnitOfWork(db) as checkout:
        await checkout.stock.lock([product], datetime.now(UTC))  # what checkout holds until it commits

        # The cart line's foreign-key check takes KEY SHARE on the product: it must not queue
        # behind the checkout (under FOR UPDATE it did, and the two could deadlock).
        cart = await asyncio.wait_for(set_cart_item(SetCartItem(customer, product, 1), SqlUnitOfWork(db)), 3)

    assert [line.product.id for line in cart.lines] == [product]


async def test_a_transaction_aborted_by_a_deadlock_is_run_again_and_both_commit(db):
    _postgres_only(db)
    first, second = await _products(db, 2)
    both_hold_one = asyncio.Barrier(2)
    runs: list[str] = []

    async def locking(name: str, order: tuple[int, int]) -> str:
        uow = SqlUnitOfWork(db)

        async def block() -> str:
            runs.append(name)
            async with uow:
                await uow.stock.lock([order[0]], datetime.now(UTC))
                if len(runs) <= 2:  # only the first run of each meets here
                    await both_hold_one.wait()
                await uow.stock.lock([order[1]], datetime.now(UTC))  # the other order: a deadlock
                await uow.commit()
            return name

        return await uow.transaction(block)

    done = await asyncio.wait_for(asyncio.gather(locking("a", (first, second)), locking("b", (second, first))), 20)

    assert done == ["a", "b"]
    assert sorted(runs) in (["a", "a", "b"], ["a", "b", "b"])  # PostgreSQL aborted one; it ran again


async def test_a_transaction_refused_for_its_input_is_not_run_again(db):
    uow = SqlUnitOfWork(db)
    runs = []

    async def block() -> None:
        runs.append(1)
        async with uow:
            raise ValidationError("refused", "field")

    with pytest.raises(ValidationError):
        await uow.transaction(block)

    assert runs == [1]
