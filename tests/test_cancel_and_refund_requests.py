"""Cancelling orders in each state, and customers' refund requests decided by staff."""
from __future__ import annotations

import pytest
from sqlmodel import select

from db.tables import ProductRow
from db.uow import SqlUnitOfWork
from domain.errors import (
    InvalidStateError,
    NotAllowedError,
    NotFoundError,
    RefundExceedsCapturedError,
    ValidationError,
)
from domain.identity import Actor, Role
from domain.ledger import balance_of
from domain.ledger.accounts import customer_refunds
from domain.money import Money
from domain.orders.cancel import CancelOrder, cancel_order
from domain.orders.model import OrderStatus
from domain.payments.provider import Capability, CaptureMethod, Providers
from domain.payments.refund_requests import (
    AskRefund,
    DecideRefund,
    RequestStatus,
    decide_refund,
    request_refund,
)
from domain.payments.service import PayOrder, RefundPayment, pay_order, refund_payment
from domain.payments.status import PaymentStatus
from providers.dummy import DummyGateway
from tests.payments_fixtures import (
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


async def _available(db, sku: str) -> int:
    async with SqlUnitOfWork(db) as uow:
        product = await uow.products.get(await _product_id(db, sku))
    return product.available


async def _product_id(db, sku: str) -> int:
    async with db.read_sessions() as session:
        return (await session.exec(select(ProductRow.id).where(ProductRow.sku == sku))).one()


async def test_cancelling_an_unpaid_order_releases_its_reservation(db, shop):
    order = await order_for(db, shop, {"SAM-TENT-01": 2})

    result = await cancel_order(CancelOrder(customer(shop), order.id, "changed my mind"), SqlUnitOfWork(db),
                                providers(), POLICY)

    assert result.order.status is OrderStatus.CANCELED and result.refund is None
    assert await _available(db, "SAM-TENT-01") == 3


async def test_cancelling_a_paid_order_refunds_it_restocks_and_posts_the_refund(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    gateway = providers()
    await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), gateway, POLICY)

    result = await cancel_order(CancelOrder(staff(shop), order.id, "out of stock at the warehouse"), SqlUnitOfWork(db),
                                gateway, POLICY)

    assert result.order.status is OrderStatus.CANCELED
    assert result.refund.amount == Money.of(2998, "USD")
    assert result.payment.amount_refunded == Money.of(2998, "USD")
    assert await _stock(db, "SAM-MUG-01") == 40
    entries = await assert_ledger_balances(db)
    assert balance_of(entries, customer_refunds(shop.id_of("customer@example.com"), "USD")).minor == 2998


async def test_cancelling_an_authorized_order_voids_the_authorization(db, shop):
    order = await order_for(db, shop, {"SAM-KNIFE-01": 1})
    gateway = providers()
    await pay_order(PayOrder(customer(shop), order.id, "dummy", CaptureMethod.MANUAL, card=VISA), SqlUnitOfWork(db),
                    gateway, POLICY)

    result = await cancel_order(CancelOrder(customer(shop), order.id, "too slow"), SqlUnitOfWork(db), gateway, POLICY)

    assert result.payment.status is PaymentStatus.CANCELED
    assert result.order.status is OrderStatus.CANCELED
    assert await _stock(db, "SAM-KNIFE-01") == 12
    assert await assert_ledger_balances(db) == []  # nothing was captured, nothing posted


async def test_a_seller_of_the_order_may_cancel_it_and_a_stranger_gets_not_found(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    stranger = Actor(shop.id_of("seller2@example.com"), None, frozenset({Role.SELLER}))
    seller = Actor(shop.id_of("seller@example.com"), None, frozenset({Role.SELLER}))

    with pytest.raises(NotFoundError):
        await cancel_order(CancelOrder(stranger, order.id, "no"), SqlUnitOfWork(db), providers(), POLICY)
    result = await cancel_order(CancelOrder(seller, order.id, "can't ship"), SqlUnitOfWork(db), providers(), POLICY)

    assert result.order.status is OrderStatus.CANCELED


async def test_a_cancelled_order_cannot_be_cancelled_again(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    await cancel_order(CancelOrder(customer(shop), order.id, "once"), SqlUnitOfWork(db), providers(), POLICY)

    with pytest.raises(InvalidStateError):
        await cancel_order(CancelOrder(customer(shop), order.id, "twice"), SqlUnitOfWork(db), providers(), POLICY)


async def test_a_refund_request_waits_for_staff_and_approval_refunds_through_the_provider(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    gateway = providers()
    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), gateway,
                              POLICY)

    asked = await request_refund(AskRefund(customer(shop), payment.id, Money.of(1499, "USD"), "one mug chipped"),
                                 SqlUnitOfWork(db))
    request, refunded, refund = await decide_refund(DecideRefund(staff(shop), asked.id, approve=True), SqlUnitOfWork(db),
                                                    gateway, POLICY)

    assert asked.status is RequestStatus.PENDING
    assert request.status is RequestStatus.APPROVED and request.refund_attempt_id == refund.id
    assert refund.amount == Money.of(1499, "USD") and refunded.amount_refunded == Money.of(1499, "USD")
    await assert_ledger_balances(db)


async def test_a_rejected_refund_request_moves_no_money_and_cannot_be_decided_again(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    gateway = providers()
    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), gateway,
                              POLICY)
    asked = await request_refund(AskRefund(customer(shop), payment.id, None, "changed my mind"), SqlUnitOfWork(db))

    rejected, _, _ = await decide_refund(DecideRefund(staff(shop), asked.id, approve=False, note="used"),
                                         SqlUnitOfWork(db), gateway, POLICY)

    assert rejected.status is RequestStatus.REJECTED
    with pytest.raises(InvalidStateError):
        await decide_refund(DecideRefund(staff(shop), asked.id, approve=True), SqlUnitOfWork(db), gateway, POLICY)
    assert [e.kind.value for e in await assert_ledger_balances(db)] == ["capture"]


async def test_refund_requests_are_checked_for_owner_amount_and_decider(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    gateway = providers()
    payment = await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db), gateway,
                              POLICY)

    with pytest.raises(NotFoundError):
        await request_refund(AskRefund(customer(shop, "customer2@example.com"), payment.id, None, "mine?"),
                             SqlUnitOfWork(db))
    with pytest.raises(RefundExceedsCapturedError):
        await request_refund(AskRefund(customer(shop), payment.id, Money.of(1500, "USD"), "too much"),
                             SqlUnitOfWork(db))
    asked = await request_refund(AskRefund(customer(shop), payment.id, None, "ok"), SqlUnitOfWork(db))
    with pytest.raises(NotAllowedError):
        await decide_refund(DecideRefund(customer(shop), asked.id, approve=True), SqlUnitOfWork(db), gateway, POLICY)


class CannotGiveBack(DummyGateway):
    """A provider that takes payments but can't refund or void them (as a pay-by-link gateway)."""

    @property
    def name(self) -> str:
        return "one_way"

    @property
    def capabilities(self) -> frozenset[Capability]:
        return super().capabilities - {Capability.REFUND, Capability.VOID}


async def test_a_refund_or_cancel_the_provider_cannot_make_is_refused_before_anything_is_recorded(db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    one_way = Providers([CannotGiveBack()])
    payment = await pay_order(PayOrder(customer(shop), order.id, "one_way", card=VISA), SqlUnitOfWork(db), one_way,
                              POLICY)

    with pytest.raises(ValidationError):
        await refund_payment(RefundPayment(staff(shop), payment.id), SqlUnitOfWork(db), one_way, POLICY)
    with pytest.raises(ValidationError):
        await cancel_order(CancelOrder(staff(shop), order.id, "no"), SqlUnitOfWork(db), one_way, POLICY)

    async with SqlUnitOfWork(db) as uow:
        stored = await uow.payments.get(payment.id)
        stored_order = await uow.orders.get(order.id)
    assert [a.kind.value for a in stored.attempts] == ["authorize"]
    assert stored_order.status is OrderStatus.PAID
