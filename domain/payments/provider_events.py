"""A card provider's signed news about a payment it holds for us (Stripe's `payment_intent.*` and
`charge.refunded`), acted on once, and never backwards.

The provider's adapter reads the event (providers/stripe/webhooks.py) into `PaymentNews`: which
payment it is about (the provider's reference, and the order and payment our request's metadata
named), and what the object's state means as the outcome of an open attempt of each kind, mapped
by the adapter's own wire module, so a webhook and a call's answer can't read one state two ways.

    event already processed or ignored    acknowledged again; nothing changes
    no payment of ours                    stored as ignored, with the reason
    no open attempt the news settles      ignored: the payment was settled by the call's own
                                          answer, or by earlier news (a payment_failed after
                                          succeeded, a succeeded after a refund). Nothing moves back
    an open attempt                       settled with the news's outcome for its kind, like the
                                          call's own answer (service.settle_locked)

Atomic: the event row is claimed (inserted and locked) and marked processed in the same
transaction as the payment's change, its order's, the stock's and the ledger's. A crash before
the commit leaves nothing, a crash after it a processed event, so a redelivery ends in exactly
one change either way; concurrent deliveries queue on the event row's lock.

News that can only be confirmed by asking the provider (`reconcile`: a refund reported before we
saw the capture, or whose own answer was lost) can't hold a transaction across the call (STYLE.md
section 5); with nothing of ours open it is stored as ignored (a refund made in the provider's
dashboard is not booked by paygate). The event is stored as received first, then the payment's open attempts are
reconciled (each settled under its own lock, idempotently), then the event is marked processed: a
crash in between leaves it received, and the redelivery reconciles again, which changes nothing
already settled.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.clock import Clock, utc_now
from domain.payments.attempts import settle_locked
from domain.payments.consequences import Policy
from domain.payments.external import EventReceipt, EventState, WebhookEvent, act_once
from domain.payments.model import Attempt, Payment
from domain.payments.provider import Outcome, Providers
from domain.payments.reconcile import reconcile_payment
from domain.payments.status import AttemptKind
from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentNews:
    provider: str                   # "stripe"
    event_id: str                   # the provider's event id: the idempotency key
    event_type: str
    provider_ref: str | None        # the provider's payment (a PaymentIntent's id)
    order_id: int | None = None     # from the metadata our authorize request sent (for operators)
    payment_uuid: str | None = None
    # The object's state as the outcome of an open attempt of each kind it can settle; empty
    # for news that settles nothing by itself.
    outcomes: Mapping[AttemptKind, Outcome] = field(default_factory=dict)
    reconcile: bool = False         # ask the provider about the payment's open attempts

    def event(self, now: datetime) -> WebhookEvent:
        return WebhookEvent(provider=self.provider, event_id=self.event_id, event_type=self.event_type,
                            object_ref=self.provider_ref, received_at=now)


async def record_payment_news(news: PaymentNews, uow: UnitOfWork, providers: Providers, policy: Policy,
                              clock: Clock = utc_now) -> EventReceipt:
    """Act on the news once; see the module's table. Raises what refused it (kept as failed)."""
    if news.reconcile:
        return await _reconcile(news, uow, providers, policy, clock)
    now = clock()
    async with uow:  # a read, left without committing: which payment never changes
        found = await _payment(news, uow)
    async def act() -> tuple[Payment | None, str | None]:
        # Locked in this transaction's own read, as settle() locks it (payment, then order).
        payment = await uow.payments.get(found.pk, for_update=True) if found is not None else None
        return payment, await _settle(news, payment, uow, policy, clock)

    async def already() -> Payment | None:
        return found

    return await act_once(news.event(now), uow, now, act=act, on_duplicate=already)


async def _settle(news: PaymentNews, payment: Payment | None, uow: UnitOfWork, policy: Policy,
                  clock: Clock) -> str | None:
    """Why nothing changed, or None once the open attempt is settled (in the caller's transaction)."""
    if payment is None:
        return f"no {news.provider} payment of ours is {news.provider_ref}"
    attempt = _open_attempt(payment, news.outcomes)
    if attempt is None:
        return f"payment {payment.number} is {payment.status.value}: nothing open for this news"
    await settle_locked(payment, attempt.seq, news.outcomes[attempt.kind], None, uow, policy, clock)
    return None


def _open_attempt(payment: Payment, outcomes: Mapping[AttemptKind, Outcome]) -> Attempt | None:
    open_ = payment.in_flight(*outcomes)
    return open_[-1] if open_ else None


async def _payment(news: PaymentNews, uow: UnitOfWork) -> Payment | None:
    """Our payment the news is about: the provider's and its reference, or, for an authorization
    whose answer (and so the reference) was lost, the payment our request's metadata named."""
    if news.provider_ref:
        payment = await uow.payments.by_provider_ref(news.provider, news.provider_ref)
        if payment is not None:
            return payment
    if news.payment_uuid:
        payment = await uow.payments.by_uuid(news.payment_uuid)
        if payment is not None and payment.provider == news.provider and payment.provider_ref is None:
            return payment
    return None


async def _reconcile(news: PaymentNews, uow: UnitOfWork, providers: Providers, policy: Policy,
                     clock: Clock) -> EventReceipt:
    now = clock()
    async with uow:  # 1. stored before anything is asked: a crash leaves it received, to redo
        stored = await uow.webhook_events.claim(news.event(now))
        payment = await _payment(news, uow)
        await uow.commit()
    if stored.settled:
        return EventReceipt(stored, payment, duplicate=True)
    ignored_because = None
    if payment is None:
        ignored_because = f"no {news.provider} payment of ours is {news.provider_ref}"
    elif not payment.in_flight():
        # Nothing of ours is open: the news is already booked, or it is about money moved outside
        # paygate (a refund made in Stripe's dashboard), which paygate doesn't book (yet).
        ignored_because = f"payment {payment.number} ({payment.status.value}) has nothing open to reconcile"
    else:  # 2. no transaction across the calls; each settlement is idempotent under its own locks
        payment = await reconcile_payment(payment.pk, uow, providers, policy, clock,
                                          grace=timedelta(0)) or payment
    async with uow:  # 3. acknowledged; a concurrent delivery may have finished it meanwhile
        stored = await uow.webhook_events.claim(news.event(now))
        if stored.settled:
            return EventReceipt(stored, payment, duplicate=True)
        stored = stored.finished(EventState.IGNORED if ignored_because else EventState.PROCESSED,
                                 ignored_because, clock())
        await uow.webhook_events.save(stored)
        await uow.commit()
    return EventReceipt(stored, payment, duplicate=False)
