"""Refund requests: a customer asks, staff approve (the refund goes to the provider) or reject.

A request never reserves money: what is refundable is checked when it is made (so the customer
hears at once) and again, under the payment's lock, when it is approved.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from domain.clock import Clock, utc_now
from domain.errors import (
    InvalidStateError,
    NotAllowedError,
    NotFoundError,
    RefundExceedsCapturedError,
    ValidationError,
)
from domain.identity import Actor, customers_only
from domain.money import Money
from domain.notifications import refund_requested
from domain.payments.consequences import Policy
from domain.payments.model import Attempt, Payment
from domain.payments.provider import Capability, Providers
from domain.payments.service import Amount, in_currency_of, send_refund
from domain.payments.status import AttemptKind, AttemptStatus, PaymentStatus
from domain.ports import UnitOfWork
from domain.stored import existing, stored
from domain.text import free_text, optional_text

MAX_TEXT = 500  # reasons and notes; the columns' width


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(slots=True)
class RefundRequest:
    id: int | None
    uuid: UUID
    payment_id: int
    requested_by: int
    amount: Money
    reason: str
    status: RequestStatus
    created_at: datetime
    decided_by: int | None = None
    decision_note: str | None = None
    decided_at: datetime | None = None
    refund_attempt_id: int | None = None

    @property
    def pk(self) -> int:
        """The id, once stored (domain.stored)."""
        return stored("refund request id", self.id)

    def decide(self, status: RequestStatus, actor: Actor, note: str | None, now: datetime) -> None:
        if self.status is not RequestStatus.PENDING:
            raise InvalidStateError(f"refund request {self.uuid} was already {self.status.value}")
        self.status, self.decided_by, self.decision_note, self.decided_at = status, actor.user_id, note, now


@dataclass(frozen=True, slots=True)
class AskRefund:
    actor: Actor
    payment_id: int
    amount: Amount  # None asks for everything still refundable
    reason: str
    # How long after the capture a customer may still ask (seed 003's "timing"); None: any time.
    window: timedelta | None = None


async def request_refund(cmd: AskRefund, uow: UnitOfWork, clock: Clock = utc_now, *,
                         providers: Providers | None = None) -> RefundRequest:
    """The buyer asks; staff decide (decide_refund). With `providers`, an amount the payment's
    provider could never refund (Providers.check_amount) is refused now rather than at approval."""
    customers_only(cmd.actor, "ask for refunds")
    reason = free_text(cmd.reason, "reason", max_length=MAX_TEXT)
    async with uow:
        payment = await uow.payments.get(cmd.payment_id)
        if payment is None or payment.buyer_id != cmd.actor.user_id:
            raise NotFoundError("payment", cmd.payment_id)
        amount = _checked(payment, in_currency_of(payment, cmd.amount))
        if providers is not None and payment.provider in providers:
            providers.check_amount(payment.provider, amount)
        now = clock()
        _within(payment, cmd.window, now)
        request = RefundRequest(None, uuid4(), payment.pk, cmd.actor.user_id, amount, reason,
                                RequestStatus.PENDING, now)
        request = await uow.refund_requests.add(request)
        await uow.audit.record(cmd.actor, "refund_request.create", "refund_request", request.uuid, None,
                               {"amount": amount.decimal, "currency": amount.code, "reason": reason}, request.created_at)
        await uow.emails.add(refund_requested(str(request.uuid), payment.number or "", amount, reason), request.created_at)
        await uow.commit()
    return request


@dataclass(frozen=True, slots=True)
class DecideRefund:
    actor: Actor
    request_id: int
    approve: bool
    note: str | None = None


async def decide_refund(cmd: DecideRefund, uow: UnitOfWork, providers: Providers, policy: Policy,
                        clock: Clock = utc_now) -> tuple[RefundRequest, Payment | None, Attempt | None]:
    note = optional_text(cmd.note, "note", max_length=MAX_TEXT)
    if not cmd.actor.is_staff:
        raise NotAllowedError("only staff decide refund requests")
    async with uow:
        request = await uow.refund_requests.get(cmd.request_id, for_update=True)
        if request is None:
            raise NotFoundError("refund request", cmd.request_id)
        now = clock()
        if not cmd.approve:
            request.decide(RequestStatus.REJECTED, cmd.actor, note, now)
            await uow.refund_requests.save(request)
            await uow.audit.record(cmd.actor, "refund_request.reject", "refund_request", request.uuid,
                                   {"status": "pending"}, {"status": "rejected", "note": note}, now)
            await uow.commit()
            return request, None, None
        payment = existing(await uow.payments.get(request.payment_id, for_update=True), "payment",
                           request.payment_id)
        providers.require(payment.provider, Capability.REFUND)  # before anything is recorded
        request.decide(RequestStatus.APPROVED, cmd.actor, note, now)
        attempt = payment.start_refund(request.amount, now=now, reason=request.reason)
        providers.check_amount(payment.provider, attempt.amount)  # raised here: the block rolls back
        await uow.payments.save(payment)
        request.refund_attempt_id = payment.attempt(attempt.seq).id
        await uow.refund_requests.save(request)
        await uow.audit.record(cmd.actor, "refund_request.approve", "refund_request", request.uuid,
                               {"status": "pending"}, {"status": "approved"}, now)
        await uow.commit()
    payment, refund = await send_refund(payment, attempt, cmd.actor, uow, providers, policy, clock)
    return request, payment, refund


def _checked(payment: Payment, amount: Money | None) -> Money:
    if payment.status is not PaymentStatus.SUCCEEDED:
        raise InvalidStateError(f"payment {payment.number} is {payment.status.value}: nothing to refund")
    refundable = payment.amount_refundable
    amount = refundable if amount is None else amount
    if amount.minor <= 0:
        raise ValidationError("a refund is for a positive amount", "amount")
    if amount > refundable:
        raise RefundExceedsCapturedError(f"at most {refundable} of payment {payment.number} can be refunded")
    return amount


def captured_at(payment: Payment) -> datetime | None:
    """When the money was taken: the last authorization (automatic capture) or capture that succeeded."""
    times = [a.updated_at for a in payment.attempts if a.status is AttemptStatus.SUCCEEDED
             and a.kind in (AttemptKind.AUTHORIZE, AttemptKind.CAPTURE)]
    return max(times) if times else None


def _within(payment: Payment, window: timedelta | None, now: datetime) -> None:
    taken = captured_at(payment)
    if window is not None and taken is not None and now - taken > window:
        raise InvalidStateError(f"payment {payment.number} was captured more than {window.days} days ago: "
                                "too late to ask for a refund")
