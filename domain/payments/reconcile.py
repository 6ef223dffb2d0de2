"""Reconciliation: attempts whose answer never came back are settled by asking the provider again.

An attempt stays open (pending, or unknown) when the process died between recording it and
applying the answer, or when the call failed without one (ProviderUnavailableError). Once it is
older than a grace period (its own call has had time to finish), the worker asks again:

    authorize with a provider ref   fetch(ref): the provider had answered Pending or RequiresAction,
                                    and has decided since (or the customer finished 3-D Secure)
    capture, void                   the same request with the same idempotency key: the provider
                                    replays its first answer, or acts now if it never got the call
    refund                          fetch(ref) when the provider had named the refund (Pending);
                                    otherwise the same request with the same key
    authorize without a ref         find_authorization, where the provider can (Capability.FIND):
                                    it finds what our request made by the payment's uuid, or
                                    tells that it never got the request; else see below

The answer goes through `service.settle`, under the payment's and the order's row locks, so stock,
order and ledger follow exactly once however many workers reconcile one payment at the same time:
the second settle finds the attempt settled and changes nothing, and the ledger appends by
(kind, ref). No answer again leaves the attempt open: a pending one is marked unknown (once), and a
later pass asks again. Answers that tell nothing new (still Pending) are not applied, so a payment
waiting on the provider doesn't gather an audit record per pass.

At a provider without Capability.FIND, an authorize attempt without a provider ref is never
settled here. It is marked unknown and left open for the provider's webhook (the request's
metadata carries the payment's uuid) or for a person. We can't tell "the request never left this
process" from "the provider charged the card and the answer was lost", and nothing else in the
port can find out: `fetch` needs the ref; retrying with the same idempotency key would get the
provider's first answer, but an idempotent retry must resend the original parameters, and the
card number only passed through this process (it is never stored). Declaring it failed after
some timeout would be a guess, and a wrong one charges the customer for an order we then treat as
unpaid: they pay again. While it is open the order takes no other payment, so the customer checks
out again once its reservation expires (or cancels it: domain/orders/cancel.py). What settles it
is the port's `find_authorization`, which finds an authorization by our key or metadata (Stripe's
PaymentIntent search on metadata; PayPal's PayPal-Request-Id replay and Razorpay's order receipt
would serve the same way).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from domain.clock import Clock, utc_now
from domain.payments.consequences import Policy
from domain.payments.model import Attempt, Payment
from domain.payments.attempts import ask_provider, send, settle
from domain.payments.provider import (Capability, FindingProvider, FindRequest, Outcome, PaymentProvider, Pending,
                                      Providers, RequiresAction, is_final)
from domain.payments.status import AttemptKind, AttemptStatus, PaymentStatus
from domain.ports import UnitOfWork

# Longer than any provider call takes (adapters time out well before), so an attempt this old is
# not one whose own call is still running in another process.
RECONCILE_GRACE = timedelta(seconds=60)
# A payment waiting for the customer on the provider's page or element usually ends by webhook;
# asking about it every minute for as long as the page is open would cost a call per open
# checkout per minute. Asked less often, it is still settled if the webhook never comes.
PAGE_GRACE = timedelta(minutes=10)

Question = Callable[[], Awaitable[Outcome]]


async def claim_open_payments(now: datetime, uow: UnitOfWork, providers: Providers, *,
                              grace: timedelta = RECONCILE_GRACE, limit: int = 100) -> list[int]:
    """Payments with an attempt open for longer than `grace`, claimed for one grace period.

    A claimed attempt is not handed to this or any other worker again before `grace` has passed
    (see `PaymentRepository.claim_open_attempts`), so each provider is asked about it about once
    per grace period, and attempts that stay open go to the back of the queue. A payment
    waiting for the customer on the provider's page is asked about every PAGE_GRACE instead.
    """
    if not providers:
        return []
    async with uow:
        ids = await uow.payments.claim_open_attempts(now - grace, now, limit, tuple(providers),
                                                     pages_older_than=now - max(grace, PAGE_GRACE),
                                                     finding=providers.supporting(Capability.FIND))
        await uow.commit()
    return ids


async def reconcile_payment(payment_id: int, uow: UnitOfWork, providers: Providers, policy: Policy,
                            clock: Clock = utc_now, *, grace: timedelta = RECONCILE_GRACE) -> Payment | None:
    """Ask the provider about each attempt open for longer than `grace` and settle its answers.

    Returns the payment after the last settlement, or None when nothing was settled (no open
    attempt that old, no answer, nothing new, or a provider this process doesn't offer).
    """
    async with uow:  # a read: left without committing
        payment = await uow.payments.get(payment_id)
    provider = providers.get(payment.provider) if payment is not None else None
    if payment is None or provider is None:
        return None
    started_before = clock() - grace
    settled: Payment | None = None
    for seq in [a.seq for a in payment.in_flight() if a.created_at <= started_before]:
        attempt = payment.attempt(seq)  # as the last settlement left it
        if not attempt.in_flight:
            continue
        question = _question(provider, payment, attempt)
        if question is None and attempt.provider_ref:
            continue  # the provider has it and can't be asked: its webhook will tell
        outcome = await ask_provider(question()) if question is not None else None
        if outcome is None:
            if attempt.status is not AttemptStatus.PENDING:
                continue  # already unknown: ask again on a later pass
        elif not _tells_something(payment, attempt, outcome):
            continue
        payment = settled = await settle(payment.id, seq, outcome, None, uow, policy, clock)
    return settled


def _question(provider: PaymentProvider, payment: Payment, attempt: Attempt) -> Question | None:
    can_fetch = Capability.FETCH in provider.capabilities
    match attempt.kind:
        case AttemptKind.AUTHORIZE:
            ref = attempt.provider_ref
            if ref is None and Capability.FIND in provider.capabilities:
                finder: FindingProvider = provider  # type: ignore[assignment]
                lost = FindRequest(str(payment.uuid), attempt.idempotency_key, attempt.amount, attempt.created_at)
                return lambda: finder.find_authorization(lost)
            return (lambda: provider.fetch(ref)) if ref and can_fetch else None
        case AttemptKind.CAPTURE | AttemptKind.VOID:
            # Retry with the SAME key: the provider may have captured already, and a fresh key
            # could capture twice.
            return lambda: send(provider, payment, attempt)
        case AttemptKind.REFUND:
            ref = attempt.provider_ref
            if ref:  # the provider answered Pending and named the refund: its state, not a replay
                return (lambda: provider.fetch(ref)) if can_fetch else None
            return lambda: send(provider, payment, attempt)
    return None


def _tells_something(payment: Payment, attempt: Attempt, outcome: Outcome) -> bool:
    """False for an answer that leaves everything as it is (still pending, same reference)."""
    if is_final(outcome) or attempt.status is AttemptStatus.UNKNOWN:
        return True
    if outcome.provider_ref and outcome.provider_ref != attempt.provider_ref:
        return True
    if attempt.kind is AttemptKind.AUTHORIZE:
        waiting = {Pending: PaymentStatus.PROCESSING, RequiresAction: PaymentStatus.REQUIRES_ACTION}
        return payment.status is not waiting[type(outcome)]
    return False
