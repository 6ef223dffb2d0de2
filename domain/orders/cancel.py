"""Cancel an order, giving back what was paid (CONTRACT.md: `cancel`).

Unpaid: the reservation is released and any payment not yet decided is canceled; one waiting for
the customer at the provider (3-D Secure, a Checkout page) is voided there first, so nobody can
pay on it afterwards. One whose request got no answer (no provider reference: nothing to void)
doesn't hold the order: the order closes, and the worker settles the attempt by asking the
provider (reconcile); money it took anyway is given back (give_back, orphaned payments).
Authorized: the authorization is voided at the provider. Paid: what is left of the capture is
refunded through the provider. The goods go back on the shelf once the money is back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.clock import Clock, utc_now
from domain.errors import ConflictError, InvalidStateError, NotFoundError
from domain.identity import Actor
from domain.orders.access import can_see
from domain.orders.model import Order, OrderStatus
from domain.payments.attempts import run_attempt
from domain.payments.consequences import Policy
from domain.payments.model import Attempt, Payment
from domain.payments.provider import Capability, Providers
from domain.payments.status import AttemptKind, AttemptStatus, PaymentStatus
from domain.ports import UnitOfWork
from domain.stored import existing
from domain.text import free_text

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class CancelOrder:
    actor: Actor
    order_id: int
    reason: str
    # The client's Idempotency-Key: sent again after an answer that never came, the cancel resumes
    # the void or refund it started (and closes the order if that already went through).
    client_key: str | None = None


@dataclass(frozen=True, slots=True)
class Cancellation:
    order: Order
    payment: Payment | None
    refund: Attempt | None  # the refund that gave the money back, when there was one


async def cancel_order(cmd: CancelOrder, uow: UnitOfWork, providers: Providers, policy: Policy,
                       clock: Clock = utc_now) -> Cancellation:
    reason = free_text(cmd.reason, "reason", max_length=MAX_REASON, required=False) or "canceled"
    async with uow:
        order = await uow.orders.get(cmd.order_id)
        if order is None or not can_see(cmd.actor, order):
            raise NotFoundError("order", cmd.order_id)
        live = [p for p in await uow.payments.for_order(order.pk)
                if p.status not in (PaymentStatus.FAILED, PaymentStatus.CANCELED)]
        # Locked payment first, then order, as settling a provider's answer locks them: the other
        # order could deadlock with a webhook for the same payment.
        payment = await uow.payments.get(live[0].pk, for_update=True) if live else None
        order = existing(await uow.orders.get(cmd.order_id, for_update=True), "order", cmd.order_id)
        if payment is not None and payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
            payment = None  # ended while we looked
        now = clock()
        resumed = payment.started_by(cmd.client_key, None, None) if payment is not None else None
        if payment is not None and resumed is not None:
            attempt = resumed  # the same key again: that attempt, never another
        else:
            match order.status:
                case OrderStatus.PENDING_PAYMENT if payment is not None and payment.status is PaymentStatus.REQUIRES_ACTION:
                    providers.require(payment.provider, Capability.VOID)
                    attempt = payment.start_void(now=now, client_key=cmd.client_key)
                case OrderStatus.PENDING_PAYMENT if payment is not None and answer_lost(payment):
                    await _close(order, reason, uow, cmd.actor, now, restock=False)
                    await uow.commit()
                    return Cancellation(order, payment, None)
                case OrderStatus.PENDING_PAYMENT:
                    if payment is not None and payment.status is not PaymentStatus.REQUIRES_PAYMENT_METHOD:
                        raise ConflictError(f"order {order.number} has a payment being decided; try again shortly")
                    if payment is not None:
                        payment.cancel(now=now)
                        await uow.payments.save(payment)
                    await _close(order, reason, uow, cmd.actor, now, restock=False)
                    await uow.commit()
                    return Cancellation(order, payment, None)
                # The provider's ability is asked before anything is recorded: an attempt it can't
                # make would sit pending until a worker settled it as failed.
                case OrderStatus.AUTHORIZED:
                    payment = _still_live(payment, order)
                    providers.require(payment.provider, Capability.VOID)
                    attempt = payment.start_void(now=now, client_key=cmd.client_key)
                case OrderStatus.PAID | OrderStatus.PARTIALLY_REFUNDED:
                    payment = _still_live(payment, order)
                    providers.require(payment.provider, Capability.REFUND)
                    why = f"order canceled: {reason}"[:MAX_REASON]
                    attempt = payment.start_refund(None, now=now, reason=why, client_key=cmd.client_key)
                case _:
                    raise InvalidStateError(f"order {order.number} is {order.status.value}; it can't be canceled")
            await uow.payments.save(payment)
            await uow.commit()

    if attempt.in_flight:
        payment = await run_attempt(payment, attempt, cmd.actor, uow, providers, policy, clock)
    settled = payment.attempt(attempt.seq)
    if settled.status is not AttemptStatus.SUCCEEDED:
        raise ConflictError(f"the provider did not give the money back ({settled.status.value}"
                            f"{': ' + settled.decline_code if settled.decline_code else ''}); the order stays open")
    async with uow:
        order = existing(await uow.orders.get(cmd.order_id, for_update=True), "order", cmd.order_id)
        await _close(order, reason, uow, cmd.actor, clock(), restock=True)
        await uow.commit()
    return Cancellation(order, payment, settled if settled.kind is AttemptKind.REFUND else None)


def answer_lost(payment: Payment) -> bool:
    """An authorization sent whose answer never came: the provider named nothing we could void."""
    return payment.provider_ref is None and bool(payment.in_flight(AttemptKind.AUTHORIZE))


def _still_live(payment: Payment | None, order: Order) -> Payment:
    if payment is None:  # it ended between the two reads: the order's state is about to follow
        raise ConflictError(f"order {order.number}'s payment changed meanwhile; try again")
    return payment


async def _close(order: Order, reason: str, uow: UnitOfWork, actor: Actor, now: datetime, *,
                 restock: bool) -> None:
    before = {"status": order.status.value}
    if order.status is OrderStatus.CANCELED:
        return
    order.cancellation_reason = reason
    order.move_to(OrderStatus.CANCELED, now)
    if restock:
        await uow.stock.restock(order)
    await uow.stock.release(order)
    await uow.orders.save(order)
    await uow.audit.record(actor, "order.cancel", "order", order.uuid, before,
                           {"status": order.status.value, "reason": reason}, now)
