"""Payment use cases: create a payment and authorize it (or both at once: pay an order), capture,
refund, settle an attempt.

Each reads top to bottom in the two phases of STYLE.md section 5: record the attempt and commit,
call the provider with no transaction open, then settle the outcome in a second transaction
with the payment and its order locked. A crash between the two leaves the attempt pending,
and the worker settles it later by asking the provider (reconcile), never by guessing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.cards import CardInput
from domain.clock import Clock, utc_now
from domain.errors import (ConflictError, InvalidStateError, NotAllowedError, NotFoundError,
                           ProviderUnavailableError, ValidationError)
from domain.identity import Actor
from domain.money import Money
from domain.orders.model import Order, OrderStatus
from domain.payments import consequences
from domain.payments.consequences import Policy, snapshot
from domain.payments.model import Attempt, Payment
from domain.payments.provider import Capability, CaptureMethod, Outcome, Providers
from domain.payments.status import AttemptKind, PaymentStatus
from domain.ports import UnitOfWork
from domain.text import optional_text

SETTLED = (PaymentStatus.FAILED, PaymentStatus.CANCELED)
MAX_REASON = 500  # payment_attempts.reason


@dataclass(frozen=True, slots=True)
class PayOrder:
    actor: Actor
    order_id: int
    provider: str
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    card: CardInput | None = None
    payment_method: str | None = None


async def pay_order(cmd: PayOrder, uow: UnitOfWork, providers: Providers, policy: Policy,
                    clock: Clock = utc_now) -> Payment:
    """Create the order's payment and authorize it at once (Stripe's create-and-confirm)."""
    _one_way_to_pay(cmd.card, cmd.payment_method)
    created = await create_payment(CreatePayment(cmd.actor, cmd.order_id, cmd.provider, cmd.capture_method),
                                   uow, providers, policy, clock)
    return await authorize_payment(AuthorizePayment(cmd.actor, created.id, cmd.card, cmd.payment_method),
                                   uow, providers, policy, clock)


@dataclass(frozen=True, slots=True)
class CreatePayment:
    actor: Actor
    order_id: int
    provider: str
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC


async def create_payment(cmd: CreatePayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                         clock: Clock = utc_now) -> Payment:
    """A payment for the buyer's order, in requires_payment_method: nothing is sent to the provider
    yet (Stripe's "create a PaymentIntent"); `authorize_payment` does that.

    A payment of the order that was never sent, for the same provider and capture method, is
    returned instead of a second one: a client that creates twice (a reload) must not lock itself
    out of its own order. Any other payment not failed or canceled makes this a ConflictError.
    """
    providers.require(cmd.provider, Capability.AUTHORIZE)
    now = clock()
    async with uow:
        order = await uow.orders.get(cmd.order_id, for_update=True)
        if order is None or order.buyer_id != cmd.actor.user_id:
            raise NotFoundError("order", cmd.order_id)
        payable(order, now)
        for earlier in await uow.payments.for_order(order.id):
            if earlier.status in SETTLED:
                continue
            if (not earlier.attempts and earlier.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
                    and (earlier.provider, earlier.capture_method) == (cmd.provider, cmd.capture_method)):
                return earlier  # nothing written: leaving the block rolls back
            raise ConflictError(f"order {order.number} already has payment {earlier.number} "
                                f"({earlier.status.value})")
        payment = Payment.new(order_id=order.id, buyer_id=order.buyer_id, provider=cmd.provider,
                              amount=order.total, now=now, capture_method=cmd.capture_method)
        payment = await uow.payments.add(payment)
        await uow.audit.record(cmd.actor, "payment.create", "payment", payment.uuid, None, snapshot(payment), now)
        await uow.commit()
    return payment


@dataclass(frozen=True, slots=True)
class AuthorizePayment:
    actor: Actor
    payment_id: int
    card: CardInput | None = None
    payment_method: str | None = None


async def authorize_payment(cmd: AuthorizePayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                            clock: Clock = utc_now) -> Payment:
    """Send the buyer's card (or saved payment method) to the provider for a created payment, and
    settle the answer. A decline is an outcome: the payment ends `failed`, no exception."""
    _one_way_to_pay(cmd.card, cmd.payment_method)
    now = clock()
    async with uow:
        # The payment, then its order, as settle() locks them. The order too: cancel_order changes
        # an unsent payment under the order's lock alone.
        payment = await uow.payments.get(cmd.payment_id, for_update=True)
        if payment is None or payment.buyer_id != cmd.actor.user_id:
            raise NotFoundError("payment", cmd.payment_id)
        provider = providers.require(payment.provider, Capability.AUTHORIZE)
        attempt = payment.start_authorization(now=now)  # InvalidStateError once past requires_payment_method
        order = await uow.orders.get(payment.order_id, for_update=True)
        payable(order, now)
        await uow.payments.save(payment)
        await uow.commit()
    request = payment.authorize_request(attempt, card=cmd.card, payment_method=cmd.payment_method,
                                        metadata={"order": order.number, "payment": payment.number})
    outcome = await ask_provider(provider.authorize(request))
    return await settle(payment.id, attempt.seq, outcome, cmd.actor, uow, policy, clock)


def _one_way_to_pay(card: CardInput | None, payment_method: str | None) -> None:
    # Checked before anything is written: the provider request would refuse it after the commit.
    if (card is None) == (payment_method is None):
        raise ValidationError("give either a card or a payment method, not both", "payment_method")
    # A provider's token (pm_…): a card number goes in `card`, where it is never kept.
    optional_text(payment_method, "payment_method", max_length=255)


def payable(order: Order, now: datetime) -> None:
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise ConflictError(f"order {order.number} is {order.status.value}, not awaiting payment")
    if not order.is_reservation_live(now):
        raise InvalidStateError(f"order {order.number}'s reservation expired; check out again")


# An amount given as bare minor units is in the payment's own currency (as Stripe's API takes it).
Amount = Money | int | None


def in_currency_of(payment: Payment, amount: Amount) -> Money | None:
    return Money(amount, payment.amount.currency) if isinstance(amount, int) else amount


@dataclass(frozen=True, slots=True)
class CapturePayment:
    actor: Actor
    payment_id: int
    amount: Amount = None  # None captures everything authorized


async def capture_payment(cmd: CapturePayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                          clock: Clock = utc_now) -> Payment:
    _staff_only(cmd.actor, "capture payments")
    async with uow:
        payment = await _payment(uow, cmd.payment_id)
        attempt = payment.start_capture(in_currency_of(payment, cmd.amount), now=clock())
        await uow.payments.save(payment)
        await uow.commit()
    provider = providers.require(payment.provider, Capability.CAPTURE)
    outcome = await ask_provider(provider.capture(payment.capture_request(attempt)))
    return await settle(payment.id, attempt.seq, outcome, cmd.actor, uow, policy, clock)


@dataclass(frozen=True, slots=True)
class RefundPayment:
    actor: Actor
    payment_id: int
    amount: Amount = None  # None refunds everything still refundable
    reason: str | None = None
    # Staff refund any payment. A buyer refunds their own payment directly only through a surface
    # that promised it to its clients (seed 004's legacy `refund/`); everywhere else customers ask
    # with a refund request that staff decide.
    on_behalf_of_buyer: bool = False


async def refund_payment(cmd: RefundPayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                         clock: Clock = utc_now) -> tuple[Payment, Attempt]:
    reason = optional_text(cmd.reason, "reason", max_length=MAX_REASON)
    if not cmd.on_behalf_of_buyer:
        _staff_only(cmd.actor, "refund payments directly (customers ask with a refund request)")
    async with uow:
        payment = await _payment(uow, cmd.payment_id)
        if not (cmd.actor.is_staff or (cmd.on_behalf_of_buyer and payment.buyer_id == cmd.actor.user_id)):
            raise NotFoundError("payment", cmd.payment_id)
        # Asked before anything is recorded: a refund the provider can't make must not sit pending.
        providers.require(payment.provider, Capability.REFUND)
        # Pending refunds reserve their amount here, under the row lock: concurrent refunds
        # together never exceed what was captured (RefundExceedsCapturedError otherwise).
        attempt = payment.start_refund(in_currency_of(payment, cmd.amount), now=clock(), reason=reason)
        await uow.payments.save(payment)
        await uow.commit()
    return await send_refund(payment, attempt, cmd.actor, uow, providers, policy, clock)


async def send_refund(payment: Payment, attempt: Attempt, actor: Actor | None, uow: UnitOfWork,
                      providers: Providers, policy: Policy, clock: Clock = utc_now) -> tuple[Payment, Attempt]:
    provider = providers.require(payment.provider, Capability.REFUND)
    outcome = await ask_provider(provider.refund(payment.refund_request(attempt)))
    payment = await settle(payment.id, attempt.seq, outcome, actor, uow, policy, clock)
    return payment, payment.attempt(attempt.seq)


async def settle(payment_id: int, seq: int, outcome: Outcome | None, actor: Actor | None, uow: UnitOfWork,
                 policy: Policy, clock: Clock = utc_now) -> Payment:
    """Apply a provider's answer to attempt `seq` (None: no answer, the outcome is unknown)."""
    async with uow:
        payment = await _payment(uow, payment_id)
        await settle_locked(payment, seq, outcome, actor, uow, policy, clock)
        await uow.commit()
    return payment


async def settle_locked(payment: Payment, seq: int, outcome: Outcome | None, actor: Actor | None,
                        uow: UnitOfWork, policy: Policy, clock: Clock = utc_now) -> Attempt:
    """`settle` inside a transaction the caller holds, `payment` read with its row locked; the
    caller commits. For a change that must commit together with something else (a provider's
    event marked processed in the same transaction as what it changed)."""
    order = await uow.orders.get(payment.order_id, for_update=True) if payment.order_id is not None else None
    before, attempts_before = snapshot(payment), _attempts(payment)
    now = clock()
    if outcome is None:
        attempt = payment.mark_unknown(seq, now=now)
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


def _attempts(payment: Payment) -> tuple:
    return tuple((a.status, a.decline_code, a.provider_ref) for a in payment.attempts)


def _staff_only(actor: Actor, what: str) -> None:
    if not actor.is_staff:
        raise NotAllowedError(f"only staff may {what}")


async def _payment(uow: UnitOfWork, payment_id: int) -> Payment:
    payment = await uow.payments.get(payment_id, for_update=True)
    if payment is None:
        raise NotFoundError("payment", payment_id)
    return payment


async def ask_provider(call) -> Outcome | None:
    try:
        return await call
    except ProviderUnavailableError:
        return None  # unknown: the worker asks again with the same key, never guesses


def refund_attempts(payment: Payment) -> list[Attempt]:
    return [a for a in payment.attempts if a.kind is AttemptKind.REFUND]


@dataclass(frozen=True, slots=True)
class ConfirmPayment:
    actor: Actor
    payment_id: int


async def confirm_payment(cmd: ConfirmPayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                          clock: Clock = utc_now) -> Payment:
    """After the customer finished an action at the provider (3-D Secure), ask the provider how
    it ended and settle the open authorization with that answer."""
    async with uow:
        payment = await uow.payments.get(cmd.payment_id)
    if payment is None or (payment.buyer_id != cmd.actor.user_id and not cmd.actor.is_staff):
        raise NotFoundError("payment", cmd.payment_id)
    open_authorizations = payment.in_flight(AttemptKind.AUTHORIZE)
    if not open_authorizations or payment.provider_ref is None:
        raise InvalidStateError(f"payment {payment.number} is {payment.status.value}: nothing to confirm")
    attempt = open_authorizations[-1]
    provider = providers.require(payment.provider, Capability.FETCH)
    outcome = await ask_provider(provider.fetch(attempt.provider_ref or payment.provider_ref))
    return await settle(payment.id, attempt.seq, outcome, cmd.actor, uow, policy, clock)
