"""Who may see a payment, its refunds and refund requests, and sellers' holds.

A payment is seen by its buyer, by a seller with a line in its order, and by staff and admins,
exactly as its order is (domain/orders/access.py). Anyone else gets what a missing payment gets:
a payment's existence is itself private.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from domain.identity import Actor, Role
from domain.orders.model import Order
from domain.payments.model import Payment
from domain.payments.status import AttemptStatus, PaymentStatus

if TYPE_CHECKING:  # refund_requests' use cases import the payment use cases, which import this module
    from domain.payments.refund_requests import RefundRequest, RequestStatus


def needs_order(actor: Actor | None, payment: Payment) -> bool:
    """Whether `can_see` must look at the payment's order: only for a seller who didn't buy it."""
    return (actor is not None and not actor.is_staff and payment.buyer_id != actor.user_id
            and actor.has(Role.SELLER) and payment.order_id is not None)


def can_see(actor: Actor | None, payment: Payment, order: Order | None = None) -> bool:
    if actor is None:
        return False
    if actor.is_staff or payment.buyer_id == actor.user_id:
        return True
    return (actor.has(Role.SELLER) and order is not None and order.id == payment.order_id
            and actor.user_id in order.seller_ids)


def buyer_or_staff(actor: Actor | None, payment: Payment) -> bool:
    """Who may act on a payment as its payer: its buyer, or staff and admins (sellers see it, but
    don't pay, confirm or refund it for the buyer)."""
    return actor is not None and (actor.is_staff or payment.buyer_id == actor.user_id)


@dataclass(frozen=True, slots=True)
class PaymentScope:
    """What part of all payments (and their refunds) a list shows, decided from the actor alone."""
    buyer_id: int | None = None     # only this buyer's payments
    seller_id: int | None = None    # only payments of orders with a line of this seller
    everything: bool = False


def scope_for(actor: Actor, *, as_seller: bool = False) -> PaymentScope:
    """The orders' rule: a seller who also buys lists purchases unless asking for sales."""
    if actor.is_staff:
        return PaymentScope(everything=True)
    if as_seller or (actor.has(Role.SELLER) and not actor.has(Role.CUSTOMER)):
        if actor.has(Role.SELLER):
            return PaymentScope(seller_id=actor.user_id)
    return PaymentScope(buyer_id=actor.user_id)


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    statuses: tuple[PaymentStatus, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    buyer_id: int | None = None      # staff only; ignored for others (their scope decides)
    seller_id: int | None = None
    provider: str | None = None
    order_id: int | None = None


@dataclass(frozen=True, slots=True)
class RefundFilter:
    statuses: tuple[AttemptStatus, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    buyer_id: int | None = None      # staff only, as above
    seller_id: int | None = None
    provider: str | None = None
    payment_id: int | None = None


def holds_seller(actor: Actor) -> int | None:
    """Whose holds a list may show: a seller's own, or everyone's (None) for staff."""
    return None if actor.is_staff else actor.user_id


@dataclass(frozen=True, slots=True)
class HoldFilter:
    seller_id: int | None = None     # staff: one seller's; a seller naming another sees nothing
    created_from: datetime | None = None  # on the capture's time
    created_to: datetime | None = None


def can_see_request(actor: Actor | None, request: RefundRequest) -> bool:
    return actor is not None and (actor.is_staff or request.requested_by == actor.user_id)


def requests_scope(actor: Actor) -> int | None:
    """Whose refund requests a list shows: the caller's own, or everyone's (None) for staff."""
    return None if actor.is_staff else actor.user_id


@dataclass(frozen=True, slots=True)
class RefundRequestFilter:
    statuses: tuple[RequestStatus, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    payment_id: int | None = None
