"""Running an attempt: the one way anything is sent to a provider and its answer applied.

Every use case that moves money does the same three things (STYLE.md section 5): record the
attempt and commit, send it with no transaction open, settle the answer in a second transaction
with the payment and its order locked. The first is the use case's own (what it checks and
records differs); `run_attempt` is the other two, for every kind of attempt, so a new provider
or a new use case can't send a request some other way.

    authorize   the request the use case built (a card lives only in it, never stored), sent
                with `authorize`, or `open` for a page the customer completes at the provider
    capture, void, refund
                rebuilt from the attempt alone, with the attempt's own idempotency key: sending
                it again (a retry, reconciliation) is always safe, the provider replays its
                first answer

A crash between the phases leaves the attempt pending, and the worker settles it later by asking
the provider (reconcile.py), never by guessing.
"""
from __future__ import annotations

from collections.abc import Awaitable

from domain.clock import Clock, utc_now
from domain.errors import NotFoundError, ProviderUnavailableError
from domain.identity import Actor
from domain.payments import consequences
from domain.payments.consequences import Policy, snapshot
from domain.payments.model import Attempt, Payment
from domain.payments.provider import (
    AuthorizeRequest,
    Capability,
    CheckoutProvider,
    OpenRequest,
    Outcome,
    PaymentProvider,
    Providers,
)
from domain.payments.status import AttemptKind
from domain.ports import UnitOfWork

# What each replayable kind of attempt needs of its provider.
NEEDS = {AttemptKind.CAPTURE: Capability.CAPTURE, AttemptKind.VOID: Capability.VOID,
         AttemptKind.REFUND: Capability.REFUND}


def send(provider: PaymentProvider, payment: Payment, attempt: Attempt) -> Awaitable[Outcome]:
    """The provider call of a capture, void or refund attempt, rebuilt from the attempt (same key)."""
    match attempt.kind:
        case AttemptKind.CAPTURE:
            return provider.capture(payment.capture_request(attempt))
        case AttemptKind.VOID:
            return provider.void(payment.void_request(attempt))
        case AttemptKind.REFUND:
            return provider.refund(payment.refund_request(attempt))
    raise ValueError(f"an {attempt.kind.value} attempt is sent with the request that made it")


RECONCILE_PAYMENT_JOB = "reconcile-payment"  # paygate/worker.py TASKS
ASK_AGAIN_AFTER_S = 90  # past domain/payments/reconcile.py RECONCILE_GRACE (60 s)


async def run_attempt(payment: Payment, attempt: Attempt, actor: Actor | None, uow: UnitOfWork,
                      providers: Providers, policy: Policy, clock: Clock = utc_now, *,
                      request: AuthorizeRequest | OpenRequest | None = None) -> Payment:
    """Send `attempt` (recorded and committed by the caller) and settle the provider's answer;
    returns the payment as settled. An authorization passes the request it built."""
    provider = providers[payment.provider]
    call: Awaitable[Outcome]
    match request:
        case AuthorizeRequest():
            call = provider.authorize(request)
        case OpenRequest():
            checkout: CheckoutProvider = providers.require(payment.provider, Capability.CHECKOUT)  # type: ignore[assignment]
            call = checkout.open(request)
        case None:
            call = send(provider, payment, attempt)
    outcome = await ask_provider(call)
    return await settle(payment.pk, attempt.seq, outcome, actor, uow, policy, clock)


async def ask_provider(call: Awaitable[Outcome | None]) -> Outcome | None:
    try:
        return await call
    except ProviderUnavailableError:
        return None  # unknown: the worker asks again with the same key, never guesses


async def settle(payment_id: int, seq: int, outcome: Outcome | None, actor: Actor | None, uow: UnitOfWork,
                 policy: Policy, clock: Clock = utc_now) -> Payment:
    """Apply a provider's answer to attempt `seq` (None: no answer, the outcome is unknown). A
    deadlock or serialization failure runs the transaction again (`uow.transaction`): nothing in
    it calls the provider."""
    async def apply() -> Payment:
        async with uow:
            payment = await locked_payment(uow, payment_id, with_order=True)
            await settle_locked(payment, seq, outcome, actor, uow, policy, clock)
            await uow.commit()
        return payment

    return await uow.transaction(apply)


async def settle_locked(payment: Payment, seq: int, outcome: Outcome | None, actor: Actor | None,
                        uow: UnitOfWork, policy: Policy, clock: Clock = utc_now) -> Attempt:
    """`settle` inside a transaction the caller holds, `payment` read with its row locked; the
    caller commits. For a change that must commit together with something else (a provider's
    event marked processed in the same transaction as what it changed).

    Nothing here refuses input: everything a caller could get wrong was checked before the
    attempt was recorded, so applying the provider's answer can only fail on a bug."""
    order = await uow.orders.get(payment.order_id, for_update=True) if payment.order_id is not None else None
    before, attempts_before = snapshot(payment), _attempts(payment)
    now = clock()
    if outcome is None:
        attempt = payment.mark_unknown(seq, now=now)
        # Ask the provider again once the reconciliation's grace has passed: queued in this same
        # transaction, so an unknown attempt always has its question pending (the periodic
        # reconcile-attempts sweep asks again after that, as long as the answer stays unknown).
        await uow.jobs.defer(RECONCILE_PAYMENT_JOB, {"payment_id": payment.pk},
                             key=f"{RECONCILE_PAYMENT_JOB}:{payment.pk}", delay_s=ASK_AGAIN_AFTER_S)
    else:
        attempt = payment.finish_attempt(seq, outcome, now=now)
    await consequences.apply(payment, order, uow, policy, now)
    await uow.payments.save(payment)
    after = snapshot(payment)
    if after != before or _attempts(payment) != attempts_before:
        # (The same news again, a reconciliation asking about an open page, is not an event.)
        await uow.audit.record(actor, f"payment.{attempt.kind.value}.{attempt.status.value}", "payment",
                               payment.uuid, before, after, now)
    return attempt


def _attempts(payment: Payment) -> tuple[tuple[object, ...], ...]:
    return tuple((a.status, a.decline_code, a.provider_ref) for a in payment.attempts)


async def locked_payment(uow: UnitOfWork, payment_id: int, *, with_order: bool = False) -> Payment:
    """The payment, its row locked; `with_order`: its order's too (see PaymentRepository.get)."""
    payment = await uow.payments.get(payment_id, for_update=True, with_order=with_order)
    if payment is None:
        raise NotFoundError("payment", payment_id)
    return payment
