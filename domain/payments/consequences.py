"""What a settled attempt means for the order, the stock, the ledger and the customer's emails.

Applied after every change to a payment (the call's own answer, a webhook, a reconciliation),
always inside the transaction that holds the payment and its order locked. Every step checks
what is already done, so applying it twice changes nothing. The customer's emails
(domain/notifications.py) are written with the ledger entry that makes them true: once per
capture, once per refund, in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.errors import InsufficientStockError
from domain.ledger import (
    Capture,
    EntryKind,
    SellerShare,
    allocate,
    capture_entry,
    capture_ref,
    capture_view,
    direct_capture_entry,
    refund_entry,
    refund_ref,
)
from domain.marketplace.holds import record_holds
from domain.marketplace.transfers import note_clawbacks
from domain.money import Money
from domain.notifications import payment_confirmation, refund_confirmation
from domain.orders.model import Order, OrderStatus
from domain.payments.model import EXPIRED_DECLINE_CODE, Payment
from domain.payments.status import AttemptKind, AttemptStatus, PaymentStatus, RefundStatus
from domain.ports import UnitOfWork

if TYPE_CHECKING:
    from domain.risk.service import RiskScreen


@dataclass(frozen=True, slots=True)
class Policy:
    fee_bps: int            # PLATFORM_FEE_BPS
    hold_period: timedelta  # HOLD_DAYS
    reservation: timedelta = timedelta(minutes=30)  # RESERVATION_MINUTES: how long checkout holds stock
    risk: RiskScreen | None = None  # the risk checks before an authorization is sent (domain/risk)
    refund_window: timedelta | None = None  # REFUND_WINDOW_DAYS: how long after capture a customer may ask


def seller_shares(order: Order, captured: Money) -> tuple[SellerShare, ...]:
    """Each seller's part of what was captured, in proportion to their lines (exactly)."""
    gross: dict[int, int] = {}
    for line in order.lines:
        gross[line.seller_id] = gross.get(line.seller_id, 0) + line.total.minor
    sellers = sorted(gross)
    parts = allocate(captured.minor, [gross[s] for s in sellers])
    return tuple(SellerShare(s, Money(part, captured.currency)) for s, part in zip(sellers, parts, strict=True)
                 if part > 0)


async def apply(payment: Payment, order: Order | None, uow: UnitOfWork, policy: Policy, now: datetime) -> None:
    """What the payment's state means for its order, the stock and the ledger (order None: a
    direct payment, which has only the ledger)."""
    if order is not None:
        await _stock_and_order(payment, order, uow, now)
    if payment.status is PaymentStatus.SUCCEEDED:
        await _post_capture_and_refunds(payment, order, uow, policy, now)
    if order is not None:
        await uow.orders.save(order)


async def _stock_and_order(payment: Payment, order: Order, uow: UnitOfWork, now: datetime) -> None:
    if (order.status is OrderStatus.PENDING_PAYMENT and payment.checkout is not None
            and payment.status is PaymentStatus.FAILED and payment.decline_code == EXPIRED_DECLINE_CODE):
        # The provider's checkout page for the order expired unpaid: nobody can pay on it any
        # more, so the reservation ends now rather than at its own time, and the stock is free.
        order.move_to(OrderStatus.EXPIRED, now)
        await uow.stock.release(order)
        return
    # Goods are sold once the money is authorized: the reservation becomes a sale.
    if order.status is OrderStatus.PENDING_PAYMENT and payment.status in (PaymentStatus.REQUIRES_CAPTURE,
                                                                           PaymentStatus.SUCCEEDED):
        if not order.is_reservation_live(now) and await shortfall(order, uow, now) is not None:
            # The reservation lapsed while the provider was deciding, and the goods went to
            # another buyer: this order can't be sold. It expires, and the worker gives the
            # money back (domain/payments/give_back.py). Never sell stock we no longer hold.
            order.move_to(OrderStatus.EXPIRED, now)
            await uow.stock.release(order)
            return
        await uow.stock.commit(order)
        order.move_to(OrderStatus.AUTHORIZED, now)
    if order.status is OrderStatus.AUTHORIZED and payment.status is PaymentStatus.SUCCEEDED:
        order.move_to(OrderStatus.PAID, now)
    if payment.status is PaymentStatus.SUCCEEDED and order.status in (OrderStatus.PAID,
                                                                       OrderStatus.PARTIALLY_REFUNDED):
        match payment.refund_status:
            case RefundStatus.REFUNDED:
                order.move_to(OrderStatus.REFUNDED, now)
            case RefundStatus.PARTIALLY_REFUNDED:
                order.move_to(OrderStatus.PARTIALLY_REFUNDED, now)


async def shortfall(order: Order, uow: UnitOfWork, now: datetime) -> InsufficientStockError | None:
    """What the order can't have now, its products locked; None when everything is available.
    The order's own reservation counts only while it lives."""
    wanted: dict[int, int] = {}
    for line in order.lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    products = await uow.stock.lock(sorted(wanted), now)
    for product_id, quantity in wanted.items():
        available = products[product_id].available if product_id in products else 0
        if quantity > available:
            return InsufficientStockError(product_id, quantity, available)
    return None


async def _post_capture_and_refunds(payment: Payment, order: Order | None, uow: UnitOfWork, policy: Policy,
                                    now: datetime) -> None:
    refunded = any(a.kind is AttemptKind.REFUND and a.status is AttemptStatus.SUCCEEDED for a in payment.attempts)
    # Without a refund to post, the capture's entry is all there is: appending it says whether it
    # was there (the ledger's (kind, ref) is unique), so its family needs no read first.
    family = await uow.ledger.family(capture_ref(str(payment.uuid))) if refunded else []
    capture = next((e for e in family if e.kind is EntryKind.CAPTURE), None)
    if capture is None:
        if order is None:
            capture = direct_capture_entry(str(payment.uuid), payment.amount_captured, now)
        else:
            capture = capture_entry(Capture(payment_id=str(payment.uuid),
                                            shares=seller_shares(order, payment.amount_captured),
                                            fee_bps=policy.fee_bps, captured_at=now))
        if not await uow.ledger.append(capture) and not refunded:
            return  # posted before, and no refund to post
        if order is not None:  # each seller's share gets its own hold, released after delivery
            await record_holds(str(payment.uuid), order, capture, uow, policy.hold_period)
        family = [capture]
        await uow.emails.add(payment_confirmation(str(payment.uuid), payment.number or "", order.number if order else None,
                                                  payment.amount_captured, payment.buyer_id), now)
    posted = {e.ref for e in family}
    for attempt in payment.attempts:
        if attempt.kind is not AttemptKind.REFUND or attempt.status is not AttemptStatus.SUCCEEDED:
            continue
        if refund_ref(attempt.idempotency_key) in posted:
            continue
        view = capture_view(capture, [e for e in family if e is not capture])
        entry = refund_entry(view, attempt.idempotency_key, attempt.amount, payment.buyer_id, now)
        await uow.ledger.append(entry)
        # Sellers' parts taken from money already transferred to them are asked back.
        await note_clawbacks(uow, str(payment.uuid), entry, now)
        family.append(entry)
        await uow.emails.add(refund_confirmation(attempt.idempotency_key, payment.number or "", attempt.amount,
                                                 payment.buyer_id), now)
        posted.add(entry.ref)


def snapshot(payment: Payment) -> dict[str, object]:
    """What the audit trail keeps of a payment: amounts and states, never card data beyond last 4."""
    return {"status": payment.status.value, "amount": payment.amount.decimal, "currency": payment.amount.code,
            "captured": payment.amount_captured.decimal, "refunded": payment.amount_refunded.decimal,
            "provider": payment.provider, "provider_ref": payment.provider_ref,
            "card_last4": payment.card.last4 if payment.card else None, "decline_code": payment.decline_code}
