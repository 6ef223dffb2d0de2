"""Screening a payment before its authorization is recorded and sent, and staff's review.

    screen          before `authorize_payment` records its attempt: the payment's latest
                    assessment approved by staff lets it through; one pending stays pending
                    (RiskReviewError); otherwise the rules run (counters in the shared store,
                    no transaction open), and the assessment is stored with the payment and in
                    the audit trail in one transaction, then allow, RiskReviewError or
                    RiskBlockedError. Nothing reaches the provider unless allowed
    assess, refuse_unless_allowed
                    the same for a payment created in the caller's transaction (pay_order): the
                    assessment stored in it, and the verdict raised once it committed
    noted_decline   after the provider's answer: a small decline counts toward card testing
    approve_review, reject_review
                    staff's decision on a pending assessment, audited; rejecting cancels the
                    payment (nothing was sent), approving lets the buyer's next try through
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidStateError, NotAllowedError, NotFoundError, RiskBlockedError, RiskReviewError
from domain.identity import Actor
from domain.payments.model import Payment
from domain.ports import UnitOfWork
from domain.risk.model import (
    Assessment,
    Decision,
    ReviewState,
    RiskCounters,
    Signals,
    Thresholds,
    decide,
)
from domain.risk.rules import evaluate, note_decline


@dataclass(frozen=True, slots=True)
class RiskScreen:
    counters: RiskCounters
    thresholds: Thresholds
    fingerprint_key: bytes  # keys the card fingerprints (domain.risk.model.card_fingerprint)


async def screen(payment: Payment, signals: Signals, actor: Actor, uow: UnitOfWork, risk: RiskScreen,
                 now: datetime, *, fresh: bool = False) -> Assessment:
    """`fresh`: the payment was created by this very request, so it has no assessment to read."""
    latest = None
    if not fresh:
        async with uow:  # a read
            latest = await uow.risk.latest(payment.pk)
    if latest is not None and latest.review is ReviewState.APPROVED:
        return latest
    if latest is not None and latest.review is ReviewState.PENDING:
        raise RiskReviewError(f"payment {payment.number} is waiting for staff's review")
    assessment = await _assessed(payment, signals, risk, now)

    async def record() -> Assessment:
        async with uow:
            stored = await _stored(assessment, payment, actor, uow, now)
            await uow.commit()
        return stored

    stored = await uow.transaction(record)
    refuse_unless_allowed(stored, payment)
    return stored


async def assess(payment: Payment, signals: Signals, actor: Actor, uow: UnitOfWork, risk: RiskScreen,
                 now: datetime) -> Assessment:
    """`screen` for a payment created in the caller's open transaction (so it has no assessment
    yet): the rules run and the assessment is stored in that transaction, which the caller
    commits before `refuse_unless_allowed`. The velocity counters name the attempt by the
    payment's uuid and `now`: a transaction run again with both the same counts it once."""
    return await _stored(await _assessed(payment, signals, risk, now), payment, actor, uow, now)


def refuse_unless_allowed(assessment: Assessment, payment: Payment) -> None:
    if assessment.decision is Decision.BLOCK:
        raise RiskBlockedError(f"payment {payment.number} was refused by the risk checks",
                               reasons=assessment.reasons)
    if assessment.decision is Decision.REVIEW:
        raise RiskReviewError(f"payment {payment.number} is held for staff's review before it is sent")


async def _assessed(payment: Payment, signals: Signals, risk: RiskScreen, now: datetime) -> Assessment:
    verdicts = await evaluate(signals, f"{payment.uuid}:{now.timestamp()}", risk.counters, risk.thresholds, now)
    decision, score = decide(verdicts, risk.thresholds)
    return Assessment(payment_id=payment.pk, decision=decision, score=score, verdicts=verdicts,
                      review=ReviewState.PENDING if decision is Decision.REVIEW else ReviewState.NONE,
                      created_at=now)


async def _stored(assessment: Assessment, payment: Payment, actor: Actor, uow: UnitOfWork,
                  now: datetime) -> Assessment:
    await uow.risk.add(assessment)
    await uow.audit.record(actor, f"risk.{assessment.decision.value}", "payment", payment.uuid, None,
                           assessment.snapshot(), now)
    return assessment


async def noted_decline(signals: Signals, risk: RiskScreen, now: datetime) -> None:
    await note_decline(signals, risk.counters, risk.thresholds, now)


async def approve_review(actor: Actor, payment_id: int, uow: UnitOfWork, now: datetime) -> Payment:
    return await _decide(actor, payment_id, ReviewState.APPROVED, uow, now)


async def reject_review(actor: Actor, payment_id: int, uow: UnitOfWork, now: datetime) -> Payment:
    return await _decide(actor, payment_id, ReviewState.REJECTED, uow, now)


async def _decide(actor: Actor, payment_id: int, to: ReviewState, uow: UnitOfWork, now: datetime) -> Payment:
    if not actor.is_staff:
        raise NotAllowedError("only staff may review payments held by the risk checks")

    async def apply() -> Payment:
        async with uow:
            payment = await uow.payments.get(payment_id, for_update=True)
            if payment is None:
                raise NotFoundError("payment", payment_id)
            assessment = await uow.risk.latest(payment.pk)
            if assessment is None or assessment.review is not ReviewState.PENDING:
                raise InvalidStateError(f"payment {payment.number} has no risk review waiting")
            before = assessment.snapshot()
            assessment.review, assessment.reviewed_by, assessment.reviewed_at = to, actor.user_id, now
            if to is ReviewState.REJECTED:
                payment.cancel(now=now)  # nothing was sent: the payment ends here
                await uow.payments.save(payment)
            await uow.risk.save(assessment)
            await uow.audit.record(actor, f"risk.review.{to.value}", "payment", payment.uuid, before,
                                   assessment.snapshot(), now)
            await uow.commit()
        return payment

    return await uow.transaction(apply)
