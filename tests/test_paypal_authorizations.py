"""PayPal with manual capture, through the domain's use cases and the real unit of work (SQLite and
PostgreSQL) against tests/fake_paypal.py: the approved order is authorized (intent AUTHORIZE),
then staff capture part of it (the rest released), or the order is canceled and the authorization
voided at PayPal."""
from __future__ import annotations

from db.uow import SqlUnitOfWork
from domain.money import Money
from domain.orders.cancel import CancelOrder, cancel_order
from domain.payments.checkout import OpenPayment, open_payment
from domain.payments.provider import CaptureMethod, CheckoutKind
from domain.payments.service import CapturePayment, ConfirmPayment, capture_payment, confirm_payment
from domain.payments.status import PaymentStatus
from tests.payments_fixtures import POLICY, assert_ledger_balances, customer, order_for, staff
from tests.paypal_fixtures import paypal_providers


async def authorized(db, shop, paypal, fake_paypal_server):
    providers = paypal_providers(fake_paypal_server[1], db)
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    payment = await open_payment(OpenPayment(customer(shop), order.id, "paypal", CheckoutKind.HOSTED,
                                             CaptureMethod.MANUAL, return_url="https://shop.example/back"),
                                 SqlUnitOfWork(db), providers, POLICY)
    assert paypal.orders[payment.provider_ref]["intent"] == "AUTHORIZE"
    paypal.approve(payment.provider_ref)
    payment = await confirm_payment(ConfirmPayment(customer(shop), payment.pk), SqlUnitOfWork(db), providers, POLICY)
    assert payment.status is PaymentStatus.REQUIRES_CAPTURE
    return order, payment, providers


async def test_staff_capture_part_of_a_paypal_authorization(db, shop, paypal, fake_paypal_server):
    _, payment, providers = await authorized(db, shop, paypal, fake_paypal_server)

    captured = await capture_payment(CapturePayment(staff(shop), payment.pk, Money.of(20_00, "USD")),
                                     SqlUnitOfWork(db), providers, POLICY)

    assert captured.status is PaymentStatus.SUCCEEDED and captured.amount_captured == Money.of(20_00, "USD")
    (capture,) = paypal.captures.values()
    assert capture["amount"] == {"currency_code": "USD", "value": "20.00"} and capture["final_capture"] is True
    assert next(iter(paypal.authorizations.values()))["status"] == "CAPTURED"
    await assert_ledger_balances(db)


async def test_canceling_an_order_voids_its_paypal_authorization(db, shop, paypal, fake_paypal_server):
    order, payment, providers = await authorized(db, shop, paypal, fake_paypal_server)

    await cancel_order(CancelOrder(customer(shop), order.id, "changed my mind"), SqlUnitOfWork(db), providers, POLICY)

    async with SqlUnitOfWork(db) as uow:
        voided = await uow.payments.get(payment.pk)
    assert voided.status is PaymentStatus.CANCELED
    assert next(iter(paypal.authorizations.values()))["status"] == "VOIDED"
    assert paypal.captures == {}
    await assert_ledger_balances(db)
