"""Orders ready to pay, a provider registry with the dummy gateway, and the ledger's checks."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from db.ledger_queries import all_entries
from db.tables import CartItemRow, ProductRow
from db.uow import SqlUnitOfWork
from domain.cards import CardInput
from domain.identity import Actor, Role
from domain.ledger import trial_balance
from domain.orders.service import Checkout, checkout
from domain.payments.consequences import Policy
from domain.payments.provider import Providers
from providers.dummy import DummyGateway

POLICY = Policy(fee_bps=1000, hold_period=timedelta(days=7))
VISA = CardInput("4242 4242 4242 4242", 12, 2034, "123")
DECLINED = CardInput("4000 0000 0000 0002", 12, 2034, "123")
INSUFFICIENT = CardInput("4000000000009995", 12, 2034, "123")


def providers() -> Providers:
    return Providers([DummyGateway()])


def staff(shop) -> Actor:
    return Actor(shop.id_of("staff@example.com"), "staff@example.com", frozenset({Role.STAFF}))


def customer(shop, email: str = "customer@example.com") -> Actor:
    return Actor(shop.id_of(email), email, frozenset({Role.CUSTOMER}))


async def order_for(db, shop, items: dict[str, int], email: str = "customer@example.com"):
    async with db.write_sessions() as session, session.begin():
        for sku, quantity in items.items():
            product = (await session.exec(select(ProductRow).where(ProductRow.sku == sku))).one()
            session.add(CartItemRow(user_id=shop.id_of(email), product_id=product.id, quantity=quantity))
    return await checkout(Checkout(customer(shop, email), None, datetime.now(UTC), timedelta(minutes=30)),
                          SqlUnitOfWork(db))


async def assert_ledger_balances(db) -> list:
    entries = await all_entries(db)
    assert all(total.minor == 0 for total in trial_balance(entries).values())
    return entries
