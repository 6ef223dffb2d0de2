"""A payment that succeeds after its order's reservation lapsed never sells stock we no longer
hold: the order expires and the worker gives the money back."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from db.tables import CartItemRow, ProductRow
from db.uow import SqlUnitOfWork
from domain.money import Money
from domain.orders.model import OrderStatus
from domain.orders.service import Checkout, checkout
from domain.payments.give_back import give_back_orphaned
from domain.payments.provider import Providers
from domain.payments.service import PayOrder, pay_order
from domain.payments.status import PaymentStatus
from providers.dummy import DummyGateway
from tests.payments_fixtures import POLICY, VISA, assert_ledger_balances, customer


class Clock:
    """Stands still until the test moves it on."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class WhileDeciding:
    """The dummy gateway, with something else happening while it decides an authorization."""

    def __init__(self, gateway: DummyGateway, meanwhile) -> None:
        self.gateway, self.meanwhile = gateway, meanwhile

    name = property(lambda self: self.gateway.name)
    capabilities = property(lambda self: self.gateway.capabilities)

    async def authorize(self, req):
        outcome = await self.gateway.authorize(req)
        await self.meanwhile()
        return outcome

    async def capture(self, req):
        return await self.gateway.capture(req)

    async def void(self, req):
        return await self.gateway.void(req)

    async def refund(self, req):
        return await self.gateway.refund(req)

    async def fetch(self, ref):
        return await self.gateway.fetch(ref)


async def _cart(db, user_id: int, sku: str) -> int:
    async with db.write_sessions() as session, session.begin():
        product = (await session.exec(select(ProductRow).where(ProductRow.sku == sku))).one()
        session.add(CartItemRow(user_id=user_id, product_id=product.id, quantity=1))
        return product.id


async def _order_status(db, order_id):
    async with SqlUnitOfWork(db) as uow:
        return (await uow.orders.get(order_id)).status


async def test_a_payment_that_lands_after_the_last_unit_was_resold_expires_the_order_and_is_refunded(db, shop):
    now = datetime.now(UTC)
    first, second = customer(shop), customer(shop, "customer2@example.com")
    await _cart(db, first.user_id, "SORA-LAST-01")
    order = await checkout(Checkout(first, None, now - timedelta(minutes=29), timedelta(minutes=30)),
                           SqlUnitOfWork(db))
    await _cart(db, second.user_id, "SORA-LAST-01")

    clock = Clock(now)

    async def second_buyer_checks_out():  # after the first buyer's reservation lapsed
        await checkout(Checkout(second, None, now + timedelta(minutes=2), timedelta(minutes=30)), SqlUnitOfWork(db))
        clock.advance(timedelta(minutes=3))

    providers = Providers([WhileDeciding(DummyGateway(), second_buyer_checks_out)])
    payment = await pay_order(PayOrder(first, order.id, "dummy", card=VISA), SqlUnitOfWork(db), providers, POLICY,
                              clock=clock)
    status_before_give_back = await _order_status(db, order.id)
    given = await give_back_orphaned(SqlUnitOfWork(db), providers, POLICY, limit=10)
    again = await give_back_orphaned(SqlUnitOfWork(db), providers, POLICY, limit=10)

    async with SqlUnitOfWork(db) as uow:
        refunded = await uow.payments.get(payment.id)
    async with db.read_sessions() as session:
        stock = (await session.exec(select(ProductRow.stock).where(ProductRow.sku == "SORA-LAST-01"))).one()
    assert payment.status is PaymentStatus.SUCCEEDED
    assert status_before_give_back is OrderStatus.EXPIRED
    assert (given, again) == (1, 0)
    assert refunded.amount_refunded == refunded.amount_captured == Money.of(4200, "USD")
    assert stock == 1  # never sold twice: the second buyer's reservation still holds it
    entries = await assert_ledger_balances(db)
    assert [e.kind.value for e in entries] == ["capture", "refund"]


async def test_a_payment_that_lands_after_its_reservation_lapsed_still_sells_when_stock_remains(db, shop):
    now = datetime.now(UTC)
    buyer = customer(shop)
    await _cart(db, buyer.user_id, "SAM-MUG-01")
    order = await checkout(Checkout(buyer, None, now - timedelta(minutes=29), timedelta(minutes=30)),
                           SqlUnitOfWork(db))

    clock = Clock(now)

    async def time_passes():
        clock.advance(timedelta(minutes=3))

    providers = Providers([WhileDeciding(DummyGateway(), time_passes)])
    await pay_order(PayOrder(buyer, order.id, "dummy", card=VISA), SqlUnitOfWork(db), providers, POLICY,
                    clock=clock)

    assert await _order_status(db, order.id) is OrderStatus.PAID
    assert await give_back_orphaned(SqlUnitOfWork(db), providers, POLICY, limit=10) == 0
