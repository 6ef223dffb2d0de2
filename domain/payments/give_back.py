"""Give the money back for orders that closed while their payment was being decided.

An order can expire (its reservation lapsed and the stock went to another buyer) or be
canceled while its provider was still deciding; when the provider then says yes, we hold money
for goods we won't deliver. This job voids such an authorization or refunds such a capture,
through the same two-phase use cases as everything else, so the ledger records both the
capture and its refund.

Payments still waiting for the customer at the provider (a 3-D Secure challenge, a Stripe.js
element, a Checkout page) when their order closed, or direct payments nobody completed within
ABANDONED_AFTER, are voided there too (`void_abandoned`): otherwise the customer could still pay
for a closed order, and the worker would ask the provider about them forever.
"""
from __future__ import annotations

from datetime import timedelta

from domain.clock import Clock, utc_now
from domain.errors import PaymentsError
from domain.orders.model import OrderStatus
from domain.payments.consequences import Policy
from domain.payments.provider import Capability, Providers
from domain.payments.attempts import NEEDS, run_attempt
from domain.payments.status import PaymentStatus
from domain.ports import UnitOfWork

CLOSED = (OrderStatus.EXPIRED, OrderStatus.CANCELED)
REASON = "order closed before its payment completed"
ABANDONED_AFTER = timedelta(hours=24)  # a direct payment's page or element left unpaid; Checkout's longest


async def give_back_orphaned(uow: UnitOfWork, providers: Providers, policy: Policy, *, limit: int,
                             clock: Clock = utc_now) -> int:
    async with uow:
        # Only providers that can give money back: the others' payments wait for staff.
        able = sorted(set(providers.supporting(Capability.REFUND)) & set(providers.supporting(Capability.VOID)))
        candidates = await uow.payments.orphaned(able, limit)
    given = 0
    for payment_id in candidates:
        async with uow:
            payment = await uow.payments.get(payment_id, for_update=True)
            order = await uow.orders.get(payment.order_id)
            if order.status not in CLOSED or payment.in_flight():
                continue  # settled meanwhile, or another worker is on it
            now = clock()
            if payment.status is PaymentStatus.REQUIRES_CAPTURE:
                attempt = payment.start_void(now=now)
            elif payment.status is PaymentStatus.SUCCEEDED and payment.amount_refundable.minor > 0:
                attempt = payment.start_refund(None, now=now, reason=REASON)
            else:
                continue
            providers.require(payment.provider, NEEDS[attempt.kind])
            await uow.payments.save(payment)
            await uow.audit.record(None, "payment.give_back", "payment", payment.uuid,
                                   {"order_status": order.status.value}, {"attempt": attempt.kind.value}, now)
            await uow.commit()
        await run_attempt(payment, attempt, None, uow, providers, policy, clock)
        given += 1
    return given


async def void_abandoned(uow: UnitOfWork, providers: Providers, policy: Policy, *, limit: int,
                         clock: Clock = utc_now) -> int:
    """Void payments waiting for the customer whose order closed, or which pay no order and were
    opened more than ABANDONED_AFTER ago."""
    async with uow:
        able = providers.supporting(Capability.VOID)
        candidates = await uow.payments.abandoned(able, clock() - ABANDONED_AFTER, limit)
    voided = 0
    for payment_id in candidates:
        async with uow:
            payment = await uow.payments.get(payment_id, for_update=True)
            if payment.status is not PaymentStatus.REQUIRES_ACTION:
                continue  # paid or ended meanwhile
            now = clock()
            try:
                attempt = payment.start_void(now=now)
            except PaymentsError:
                continue  # a void already in flight: reconciliation settles it
            await uow.payments.save(payment)
            await uow.audit.record(None, "payment.void_abandoned", "payment", payment.uuid, None,
                                   {"attempt": attempt.kind.value}, now)
            await uow.commit()
        await run_attempt(payment, attempt, None, uow, providers, policy, clock)
        voided += 1
    return voided
