"""Settling a provider's answer never fails on what the answer says: the money has moved by then.
A reference or a decline carrying a card number (the provider quoting what it was sent) is kept
masked in the audit trail and the payment, and the payment, its order and the ledger move on."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text
from sqlmodel import select

from db.tables import AuditRow
from db.uow import SqlUnitOfWork
from domain.orders.model import OrderStatus
from domain.payments.provider import Providers, Succeeded
from domain.payments.service import PayOrder, pay_order
from domain.payments.status import PaymentStatus
from providers.dummy import DummyGateway
from tests.payments_fixtures import POLICY, VISA, assert_ledger_balances, customer, order_for

QUOTED = "4111 1111 1111 1111"


class QuotingGateway(DummyGateway):
    """The dummy gateway, answering with references and decline codes that quote a card number."""

    async def authorize(self, req):
        outcome = await super().authorize(req)
        if isinstance(outcome, Succeeded):
            return replace(outcome, provider_ref=f"ch {QUOTED}")
        return replace(outcome, decline_code=f"bad card {QUOTED}", message=f"card {QUOTED} refused")


async def test_an_authorization_whose_reference_quotes_a_card_number_settles_and_books(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                              Providers([QuotingGateway()]), POLICY)

    assert payment.status is PaymentStatus.SUCCEEDED
    async with SqlUnitOfWork(db) as uow:
        assert (await uow.orders.get(order.id)).status is OrderStatus.PAID
    await assert_ledger_balances(db)
    assert QUOTED not in await audit_text(db) and "**** **** **** ****" in await audit_text(db)


async def test_a_decline_quoting_a_card_number_settles_as_a_decline(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    declining = VISA.__class__("4000 0000 0000 0002", 12, 2034, "123")

    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=declining), SqlUnitOfWork(db),
                              Providers([QuotingGateway()]), POLICY)

    assert payment.status is PaymentStatus.FAILED
    assert (payment.decline_code, payment.decline_message) == ("bad card **** **** **** ****",
                                                               "card **** **** **** **** refused")
    assert QUOTED not in await audit_text(db)
    async with db.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT p.decline_code, p.decline_message, a.decline_code FROM payments p "
                                        "JOIN payment_attempts a ON a.payment_id = p.id"))).all()
    assert QUOTED not in repr(kept) and kept


async def audit_text(db) -> str:
    async with db.read_sessions() as session:
        return repr((await session.exec(select(AuditRow.before, AuditRow.after))).all())


