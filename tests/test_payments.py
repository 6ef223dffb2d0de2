"""Paying, capturing and refunding through the real unit of work and the dummy gateway."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from db.tables import ProductRow
from db.uow import SqlUnitOfWork
from domain.errors import (
    ConflictError,
    InvalidStateError,
    NotAllowedError,
    NotFoundError,
    RefundExceedsCapturedError,
)
from domain.ledger import EntryKind, balance_of
from domain.ledger.accounts import customer_refunds, platform_fees, seller_held
from domain.money import Money
from domain.orders.model import OrderStatus
from domain.payments.model import Payment
from domain.payments.provider import CaptureMethod
from domain.payments.service import (
    AuthorizePayment,
    CapturePayment,
    PayOrder,
    RefundPayment,
    authorize_payment,
    capture_payment,
    pay_order,
    refund_payment,
)
from domain.payments.status import PaymentStatus, RefundStatus
from tests.payments_fixtures import (
    DECLINED,
    INSUFFICIENT,
    POLICY,
    VISA,
    assert_ledger_balances,
    customer,
    order_for,
    providers,
    staff,
)


async def _stock(db, sku: str) -> int:
    async with db.read_sessions() as session:
        return (await session.exec(select(ProductRow.stock).where(ProductRow.sku == sku))).one()


async def _order(db, order_id):
    async with SqlUnitOfWork(db) as uow:
        return await uow.orders.get(order_id)


async def test_paying_with_a_good_card_captures_commits_stock_and_posts_the_capture(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})

    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                              providers(), POLICY)

    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.amount_captured == Money.of(2998, "USD")
    assert payment.number.startswith("TXN-") and (payment.card.brand, payment.card.last4) == ("visa", "4242")
    assert (await _order(db, order.id)).status is OrderStatus.PAID
    assert await _stock(db, "SAM-MUG-01") == 38
    entries = await assert_ledger_balances(db)
    seller = shop.id_of("seller@example.com")
    assert [e.kind for e in entries] == [EntryKind.CAPTURE]
    assert balance_of(entries, seller_held(seller, "USD")) == Money.of(2698, "USD")
    assert balance_of(entries, platform_fees("USD")) == Money.of(300, "USD")


@pytest.mark.parametrize(("card", "code"), [(DECLINED, "card_declined"), (INSUFFICIENT, "insufficient_funds")])
async def test_a_declined_card_fails_the_payment_and_leaves_the_order_payable(db, shop, card, code):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    failed = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=card), SqlUnitOfWork(db),
                             providers(), POLICY)
    retried = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                              providers(), POLICY)

    assert (failed.status, failed.decline_code) == (PaymentStatus.FAILED, code)
    assert retried.status is PaymentStatus.SUCCEEDED
    assert (await _order(db, order.id)).status is OrderStatus.PAID


async def test_an_order_is_paid_once(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), providers(), POLICY)

    with pytest.raises(ConflictError):
        await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), providers(),
                        POLICY)


async def test_another_customers_order_cannot_be_paid(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    with pytest.raises(NotFoundError):
        await pay_order(PayOrder(customer(shop, "customer2@example.com"), order.id, "dummy", card=VISA),
                        SqlUnitOfWork(db), providers(), POLICY)


async def test_manual_capture_authorizes_then_captures_part_and_releases_the_rest(db, shop):
    order = await order_for(db, shop, {"SAM-KNIFE-01": 1})
    gateway = providers()  # the dummy keeps authorizations per instance, as a provider keeps them
    authorized = await pay_order(PayOrder(customer(shop), order.id, "dummy", CaptureMethod.MANUAL, card=VISA),
                                 SqlUnitOfWork(db), gateway, POLICY)
    gateway_order = await _order(db, order.id)

    captured = await capture_payment(CapturePayment(staff(shop), authorized.id, Money.of(3000, "USD")),
                                     SqlUnitOfWork(db), gateway, POLICY)

    assert authorized.status is PaymentStatus.REQUIRES_CAPTURE
    assert gateway_order.status is OrderStatus.AUTHORIZED
    assert captured.status is PaymentStatus.SUCCEEDED and captured.amount_captured == Money.of(3000, "USD")
    assert (await _order(db, order.id)).status is OrderStatus.PAID
    entries = await assert_ledger_balances(db)
    assert sum(p.amount.minor for e in entries for p in e.postings if p.side.value == "debit") == 3000


async def test_refunds_partial_then_full_move_the_order_and_post_reversals(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    gateway = providers()
    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), gateway,
                              POLICY)

    partly, first = await refund_payment(RefundPayment(staff(shop), payment.id, Money.of(1000, "USD"), "damaged"),
                                         SqlUnitOfWork(db), gateway, POLICY)
    status_after_first = (await _order(db, order.id)).status
    fully, _ = await refund_payment(RefundPayment(staff(shop), payment.id), SqlUnitOfWork(db), gateway, POLICY)

    assert first.amount == Money.of(1000, "USD") and first.reason == "damaged"
    assert partly.refund_status is RefundStatus.PARTIALLY_REFUNDED
    assert status_after_first is OrderStatus.PARTIALLY_REFUNDED
    assert fully.amount_refunded == Money.of(2998, "USD") and fully.refund_status is RefundStatus.REFUNDED
    assert (await _order(db, order.id)).status is OrderStatus.REFUNDED
    entries = await assert_ledger_balances(db)
    buyer = shop.id_of("customer@example.com")
    assert balance_of(entries, customer_refunds(buyer, "USD")) == Money.of(2998, "USD")
    assert balance_of(entries, seller_held(shop.id_of("seller@example.com"), "USD")).minor == 0


async def test_only_staff_refund_directly(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    gateway = providers()
    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), gateway,
                              POLICY)

    with pytest.raises(NotAllowedError):
        await refund_payment(RefundPayment(customer(shop), payment.id), SqlUnitOfWork(db), gateway, POLICY)


async def test_twenty_concurrent_refunds_never_exceed_the_capture(db, shop):
    order = await order_for(db, shop, {"SAM-KNIFE-01": 1})  # 39.99
    gateway = providers()
    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), gateway,
                              POLICY)

    results = await asyncio.gather(*(
        refund_payment(RefundPayment(staff(shop), payment.id, Money.of(300, "USD")), SqlUnitOfWork(db), gateway, POLICY)
        for _ in range(20)), return_exceptions=True)

    refused = [r for r in results if isinstance(r, BaseException)]
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(done) == 13 and all(isinstance(r, RefundExceedsCapturedError) for r in refused)
    async with SqlUnitOfWork(db) as uow:
        stored = await uow.payments.get(payment.id)
    assert stored.amount_refunded == Money.of(3900, "USD")
    entries = await assert_ledger_balances(db)
    assert balance_of(entries, customer_refunds(shop.id_of("customer@example.com"), "USD")) == Money.of(3900, "USD")



async def test_a_payment_that_pays_no_order_is_not_authorized_by_card_and_nothing_is_recorded(db, shop):
    buyer = customer(shop)
    async with SqlUnitOfWork(db) as uow:
        payment = await uow.payments.add(Payment.new(order_id=None, buyer_id=buyer.user_id, provider="dummy",
                                                     amount=Money.of(500, "USD"), now=datetime.now(UTC)))
        await uow.commit()

    with pytest.raises(InvalidStateError):
        await authorize_payment(AuthorizePayment(buyer, payment.pk, VISA), SqlUnitOfWork(db), providers(), POLICY)

    async with SqlUnitOfWork(db) as uow:
        after = await uow.payments.get(payment.pk)
    assert after is not None
    assert (after.status, after.attempts) == (PaymentStatus.REQUIRES_PAYMENT_METHOD, [])
