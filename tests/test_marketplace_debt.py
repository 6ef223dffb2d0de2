"""A seller's debt through the real unit of work: a lost dispute after their money left the hold
(the entry point the disputes work calls) is booked once, kept in the ledger, and netted."""
from __future__ import annotations

from datetime import UTC, datetime

from db.uow import SqlUnitOfWork
from domain.marketplace.debt import record_lost_dispute_debt, seller_debt
from domain.money import Money
from tests.marketplace_fixtures import seller_books
from tests.payments_fixtures import assert_ledger_balances


async def test_a_lost_dispute_becomes_the_sellers_debt_once(db, shop):
    seller = shop.id_of("seller@example.com")
    now = datetime.now(UTC)

    async with SqlUnitOfWork(db) as uow:
        first = await record_lost_dispute_debt(uow, seller_id=seller, amount=Money.of(500, "USD"),
                                               dispute_id="dp_1", now=now)
        again = await record_lost_dispute_debt(uow, seller_id=seller, amount=Money.of(500, "USD"),
                                               dispute_id="dp_1", now=now)
        await uow.commit()
    async with SqlUnitOfWork(db) as uow:
        owed = await seller_debt(uow, seller, "USD")

    await assert_ledger_balances(db)
    assert (first, again) == (True, False)
    assert owed == Money.of(500, "USD")
    assert (await seller_books(db, seller))["available"] == -500
