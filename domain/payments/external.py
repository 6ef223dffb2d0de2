"""Payments taken by an external gateway that we never call: its webhook tells us how they went.

The generic online gateway of seed 001 ("ONLINE") takes the customer's money on its own pages and
reports each payment by a signed webhook naming our order, its own payment id and the amount. It
has no API to authorize, ask or refund through, so such a payment is born and settled in one
transaction: the event is stored first (its id is the idempotency key), then a Payment with one
authorization is recorded for the order and settled with the gateway's news, and the
consequences are applied exactly as for a card payment (stock committed, order paid, capture
posted to the ledger), all with the order row locked, so concurrent deliveries queue behind it.

    event already processed or ignored   acknowledged again; nothing changes
    amount != the order's total          refused (InvalidAmountError)
    completed                            pays the order, once; refused when the order is closed,
                                         paid by another payment, or has one being decided
    failed                               a failed payment is recorded; the order stays payable.
                                         Stale news (the order is paid or closed, the gateway's
                                         payment already known) is ignored: nothing moves back

A refused event changes nothing, but is kept as `failed` with the reason for operators, and is
acted on again when it is delivered again: a gateway retries, and may retry after a fix.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from domain.clock import Clock, utc_now
from domain.errors import ConflictError, InvalidAmountError, InvalidStateError, NotFoundError, PaymentsError
from domain.money import Money
from domain.orders.model import Order, OrderStatus
from domain.payments import consequences
from domain.payments.consequences import Policy, snapshot
from domain.payments.model import Payment
from domain.payments.provider import Declined, Outcome, Succeeded
from domain.payments.status import PaymentStatus
from domain.ports import UnitOfWork
from domain.text import redact_card_numbers

MAX_DETAIL = 500
FAILED_DECLINE_CODE = "payment_failed"
# Payments that hold the order's money, or are still being decided: the order can't take another.
_HOLDING = (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE)
_SETTLED = (PaymentStatus.FAILED, PaymentStatus.CANCELED)


class EventState(StrEnum):
    RECEIVED = "received"    # stored, being acted on in this transaction
    PROCESSED = "processed"  # acted on
    IGNORED = "ignored"      # acknowledged without effect (stale news, a type we don't act on)
    FAILED = "failed"        # refused; acted on again if delivered again


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEvent:
    """A provider's event as stored: (provider, event_id) is unique, so a redelivery is known."""

    provider: str
    event_id: str
    event_type: str
    object_ref: str | None  # the provider's payment id
    received_at: datetime
    state: EventState = EventState.RECEIVED
    detail: str | None = None  # why ignored or failed, for operators
    processed_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", EventState(self.state))

    @property
    def settled(self) -> bool:
        """Acted on (or deliberately not): a redelivery changes nothing."""
        return self.state in (EventState.PROCESSED, EventState.IGNORED)

    def finished(self, state: EventState, detail: str | None, now: datetime) -> WebhookEvent:
        # Operators' text, often quoting what the provider sent: card numbers masked.
        detail = redact_card_numbers(detail)[:MAX_DETAIL] if detail else None
        return replace(self, state=state, detail=detail, processed_at=now)


class ExternalOutcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalPaymentEvent:
    provider: str               # our name for the gateway: "online"
    event_id: str
    event_type: str
    outcome: ExternalOutcome
    order_id: int
    provider_ref: str           # the gateway's payment id
    amount: str                 # major units as the gateway wrote them; the gateway names no
                                # currency, so they are read in the order's (its exponent too)


@dataclass(frozen=True, slots=True)
class EventReceipt:
    event: WebhookEvent          # as stored after handling: processed or ignored
    payment: Payment | None      # the payment the event is about, when there is one
    duplicate: bool              # delivered before and already handled


async def record_external_payment(cmd: ExternalPaymentEvent, uow: UnitOfWork, policy: Policy,
                                  clock: Clock = utc_now) -> EventReceipt:
    """Act on a gateway's payment event once; see the module's table. Raises the refusal."""
    now = clock()
    event = WebhookEvent(provider=cmd.provider, event_id=cmd.event_id, event_type=cmd.event_type,
                         object_ref=cmd.provider_ref, received_at=now)
    return await act_once(event, uow, now, act=lambda: _act(cmd, uow, policy, now),
                          on_duplicate=lambda: _payment_by_ref(uow, cmd))


async def act_once(event: WebhookEvent, uow: UnitOfWork, now: datetime,
                   act: Callable[[], Awaitable[tuple[Payment | None, str | None]]],
                   on_duplicate: Callable[[], Awaitable[Payment | None]]) -> EventReceipt:
    """Every provider event goes through here: stored, acted on and marked in ONE transaction,
    so a crash before the commit leaves nothing and a redelivery after it is a duplicate.

    `act` runs inside that transaction and answers the payment concerned and why nothing changed
    (None when it acted); `on_duplicate` answers the payment for an event already settled. A
    refusal (a domain error) rolls back whole and is kept as failed, to be acted on again when the
    provider delivers it again.
    """
    try:
        async with uow:
            stored = await uow.webhook_events.claim(event)
            if stored.settled:
                return EventReceipt(stored, await on_duplicate(), duplicate=True)
            payment, ignored_because = await act()
            stored = stored.finished(EventState.IGNORED if ignored_because else EventState.PROCESSED,
                                     ignored_because, now)
            await uow.webhook_events.save(stored)
            await uow.commit()
        return EventReceipt(stored, payment, duplicate=False)
    except PaymentsError as exc:
        await _keep_refused(event, exc.message, uow, now)
        raise


async def acknowledge_event(event: WebhookEvent, reason: str, uow: UnitOfWork) -> EventReceipt:
    """Store an event we don't act on (a type we don't handle) as ignored, once."""
    async with uow:
        stored = await uow.webhook_events.claim(event)
        if stored.settled:
            return EventReceipt(stored, None, duplicate=True)
        stored = stored.finished(EventState.IGNORED, reason, event.received_at)
        await uow.webhook_events.save(stored)
        await uow.commit()
    return EventReceipt(stored, None, duplicate=False)


async def _act(cmd: ExternalPaymentEvent, uow: UnitOfWork, policy: Policy,
               now: datetime) -> tuple[Payment | None, str | None]:
    """The payment the event made or is about, and why nothing changed (None when it acted)."""
    order = await uow.orders.get(cmd.order_id, for_update=True)
    if order is None:
        raise NotFoundError("order", cmd.order_id)
    amount = Money.parse_decimal(cmd.amount, order.currency)
    if amount != order.total:
        raise InvalidAmountError(f"the gateway reports {amount.decimal} but order {order.number} "
                                 f"totals {order.total.decimal} {order.currency}")
    payments = await uow.payments.for_order(order.pk)
    known = next((p for p in reversed(payments)
                  if p.provider == cmd.provider and p.provider_ref == cmd.provider_ref), None)
    holding = next((p for p in payments if p.status in _HOLDING), None)
    if cmd.outcome is ExternalOutcome.FAILED:
        if known is not None:
            return known, f"payment {known.number} is already {known.status.value}"
        if holding is not None or order.status is not OrderStatus.PENDING_PAYMENT:
            return None, f"order {order.number} is {order.status.value}"
        return await _record(cmd, order, amount, uow, policy, now), None

    if known is not None:
        if known.status is PaymentStatus.SUCCEEDED:
            return known, f"payment {known.number} is already confirmed"
        raise ConflictError(f"the gateway reported payment {cmd.provider_ref} as {known.status.value} "
                            f"({known.number}); it can't complete it now")
    if holding is not None:
        raise ConflictError(f"order {order.number} already has a completed payment ({holding.number}); "
                            f"the gateway's payment {cmd.provider_ref} must be refunded at the gateway")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise InvalidStateError(f"order {order.number} is {order.status.value}, not awaiting payment; "
                                f"the gateway's payment {cmd.provider_ref} must be refunded at the gateway")
    deciding = next((p for p in payments if p.status not in _SETTLED), None)
    if deciding is not None:
        raise ConflictError(f"order {order.number} has payment {deciding.number} being decided "
                            f"({deciding.status.value}); deliver the event again once it is settled")
    if not order.is_reservation_live(now):
        # The reservation lapsed while the customer paid at the gateway, and the expiry job hasn't
        # closed the order: the sale stands if nobody took the goods meanwhile. Checked before
        # anything is recorded: consequences.apply would expire the order and leave the money to
        # the give-back job, which can't refund through a gateway with no API; refused, the event
        # tells the gateway.
        if (missing := await consequences.shortfall(order, uow, now)) is not None:
            raise missing
    return await _record(cmd, order, amount, uow, policy, now), None


async def _record(cmd: ExternalPaymentEvent, order: Order, amount: Money, uow: UnitOfWork, policy: Policy,
                  now: datetime) -> Payment:
    """A payment for the order, its one authorization settled at once with the gateway's news."""
    payment = Payment.new(order_id=order.id, buyer_id=order.buyer_id, provider=cmd.provider, amount=amount,
                          now=now)
    attempt = payment.start_authorization(now=now)
    created = snapshot(payment)
    outcome: Outcome
    if cmd.outcome is ExternalOutcome.COMPLETED:
        outcome = Succeeded(cmd.provider_ref, amount)
    else:
        outcome = Declined(cmd.provider_ref, amount, FAILED_DECLINE_CODE,
                           "The payment gateway reported the payment as failed.")
    attempt = payment.finish_attempt(attempt.seq, outcome, now=now)
    payment = await uow.payments.add(payment)
    await consequences.apply(payment, order, uow, policy, now)
    await uow.audit.record(None, "payment.create", "payment", payment.uuid, None, created, now)
    await uow.audit.record(None, f"payment.{attempt.kind.value}.{attempt.status.value}", "payment",
                           payment.uuid, created, snapshot(payment), now)
    return payment


async def _payment_by_ref(uow: UnitOfWork, cmd: ExternalPaymentEvent) -> Payment | None:
    for payment in reversed(await uow.payments.for_order(cmd.order_id)):
        if payment.provider == cmd.provider and payment.provider_ref == cmd.provider_ref:
            return payment
    return None


async def _keep_refused(event: WebhookEvent, why: str, uow: UnitOfWork, now: datetime) -> None:
    # In its own transaction: the refused one rolled back whole. An event settled meanwhile (a
    # concurrent delivery that succeeded) keeps its state.
    async with uow:
        stored = await uow.webhook_events.claim(event)
        if stored.settled:
            return
        await uow.webhook_events.save(stored.finished(EventState.FAILED, why, now))
        await uow.commit()
