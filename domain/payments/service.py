"""Payment use cases: create a payment and authorize it (or both at once: pay an order), capture,
refund (staff's, and a buyer's own where a seed promised it), confirm after 3-D Secure.

Each decides who may do it, checks everything that can refuse input, records its attempt and
commits; `attempts.run_attempt` then sends it and settles the answer (STYLE.md section 5).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from domain.cards import CardInput
from domain.clock import Clock, utc_now
from domain.errors import ConflictError, InvalidStateError, NotAllowedError, NotFoundError, ValidationError
from domain.identity import Actor, customers_only
from domain.money import Money
from domain.orders.model import Order, OrderStatus
from domain.payments.access import buyer_or_staff
from domain.payments.attempts import ask_provider, locked_payment, run_attempt, settle
from domain.payments.consequences import Policy, snapshot
from domain.payments.model import Attempt, Payment
from domain.payments.provider import Capability, CaptureMethod, Providers
from domain.payments.status import AttemptKind, PaymentStatus
from domain.ports import UnitOfWork
from domain.risk.model import Assessment, Decision, Signals, card_fingerprint
from domain.risk.service import assess, noted_decline, refuse_unless_allowed, screen
from domain.stored import existing, stored
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
    client_address: str | None = None   # for the risk checks (domain/risk): the caller's address
    billing_country: str | None = None  # ISO 3166 alpha-2, where the buyer gave one


async def pay_order(cmd: PayOrder, uow: UnitOfWork, providers: Providers, policy: Policy,
                    clock: Clock = utc_now) -> Payment:
    """Create the order's payment and authorize it at once (Stripe's create-and-confirm)."""
    _one_way_to_pay(cmd.card, cmd.payment_method)
    create = CreatePayment(cmd.actor, cmd.order_id, cmd.provider, cmd.capture_method)
    _may_create(create, providers)
    # A payment created now is screened in the transaction that creates it (one transaction, not
    # two): the same uuid and moment on every run of that transaction, so a run again after a
    # deadlock counts the attempt once in the risk counters.
    screening = _Screening(cmd, policy, uuid4()) if policy.risk is not None else None
    now = clock()
    # A payment created now has its authorization attempt recorded in that same transaction once
    # the risk checks allow it (one write transaction, not two): the order is locked there and
    # payable, the payment has no attempt yet and nobody else can see it, and its attempt is
    # committed before the provider is called (STYLE.md section 5). Blocked or held, the payment
    # and its assessment are stored without an attempt and the verdict raised, as before.
    created = await uow.transaction(lambda: _create_payment(create, uow, providers, now, screening, start=True))
    payment, signals = created.payment, None
    if created.assessment is not None and screening is not None:
        refuse_unless_allowed(created.assessment, payment)
        signals = screening.signals(payment)
    authorize = AuthorizePayment(cmd.actor, payment.pk, cmd.card, cmd.payment_method,
                                 cmd.client_address, cmd.billing_country)
    if created.attempt is None or created.order is None:
        # An unsent payment of the order's (created by an earlier request): the two-step path,
        # which reads it again under its lock and screens it (it may have an assessment).
        return await _authorize(authorize, uow, providers, policy, clock, seen=payment, fresh=created.fresh,
                                screened=signals)
    return await _send_authorization(authorize, payment, created.attempt, created.order, uow, providers,
                                     policy, clock, signals)


@dataclass(frozen=True, slots=True)
class _Screening:
    """What pay_order's risk checks need of the request, and the uuid its payment will have."""
    cmd: PayOrder
    policy: Policy
    payment_uuid: UUID

    def signals(self, payment: Payment) -> Signals:
        assert self.policy.risk is not None
        return Signals(buyer_id=payment.buyer_id, amount=payment.amount,
                       card_fingerprint=card_fingerprint(self.cmd.card, self.cmd.payment_method,
                                                         self.policy.risk.fingerprint_key),
                       client_address=self.cmd.client_address, billing_country=self.cmd.billing_country)


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
    _may_create(cmd, providers)
    created = await uow.transaction(lambda: _create_payment(cmd, uow, providers, clock()))
    return created.payment


def _may_create(cmd: CreatePayment, providers: Providers) -> None:
    customers_only(cmd.actor, "pay for orders")
    providers.require(cmd.provider, Capability.AUTHORIZE)


@dataclass(frozen=True, slots=True)
class _Created:
    """What `_create_payment` did: the payment, whether it was created now (False: an unsent one
    of the order's), with `screening` the risk assessment of a payment created now, and with
    `start` its authorization attempt, recorded with it when allowed, and its order."""
    payment: Payment
    fresh: bool
    assessment: Assessment | None = None
    attempt: Attempt | None = None
    order: Order | None = None


async def _create_payment(cmd: CreatePayment, uow: UnitOfWork, providers: Providers, now: datetime,
                          screening: _Screening | None = None, *, start: bool = False) -> _Created:
    """The order's payment, created (or an unsent one found); with `screening` screened in the
    same transaction, and with `start`, when created and allowed, its authorization recorded too."""
    async with uow:
        order = await uow.orders.get(cmd.order_id, for_update=True)
        if order is None or order.buyer_id != cmd.actor.user_id:
            raise NotFoundError("order", cmd.order_id)
        payable(order, now)
        providers.check_amount(cmd.provider, order.total)  # an amount the provider can't take: nothing written
        for earlier in await uow.payments.for_order(order.pk):
            if earlier.status in SETTLED:
                continue
            if (not earlier.attempts and earlier.status is PaymentStatus.REQUIRES_PAYMENT_METHOD
                    and (earlier.provider, earlier.capture_method) == (cmd.provider, cmd.capture_method)):
                return _Created(earlier, False)  # nothing written: leaving the block rolls back
            raise ConflictError(f"order {order.number} already has payment {earlier.number} "
                                f"({earlier.status.value})")
        payment = Payment.new(order_id=order.id, buyer_id=order.buyer_id, provider=cmd.provider,
                              amount=order.total, now=now, capture_method=cmd.capture_method,
                              uuid=screening.payment_uuid if screening is not None else None)
        payment = await uow.payments.add(payment)
        await uow.audit.record(cmd.actor, "payment.create", "payment", payment.uuid, None, snapshot(payment), now)
        assessment = None
        if screening is not None and screening.policy.risk is not None:
            assessment = await assess(payment, screening.signals(payment), cmd.actor, uow, screening.policy.risk, now)
        attempt = None
        if start and (assessment is None or assessment.decision is Decision.ALLOW):
            # The same `now` as the INSERT: the payment's row is unchanged (starting an
            # authorization moves no status, only updated_at), so saving writes the attempt alone.
            attempt = payment.start_authorization(now=now)  # InvalidStateError past requires_payment_method
            await uow.payments.save(payment)
        await uow.commit()
    return _Created(payment, True, assessment, attempt, order if attempt is not None else None)


@dataclass(frozen=True, slots=True)
class AuthorizePayment:
    actor: Actor
    payment_id: int
    card: CardInput | None = None
    payment_method: str | None = None
    client_address: str | None = None
    billing_country: str | None = None


async def authorize_payment(cmd: AuthorizePayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                            clock: Clock = utc_now) -> Payment:
    """Send the buyer's card (or saved payment method) to the provider for a created payment, and
    settle the answer. A decline is an outcome: the payment ends `failed`, no exception."""
    return await _authorize(cmd, uow, providers, policy, clock)


async def _authorize(cmd: AuthorizePayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                     clock: Clock, *, seen: Payment | None = None, fresh: bool = False,
                     screened: Signals | None = None) -> Payment:
    """`seen`: the payment as the caller read it a moment ago (the screening reads it otherwise);
    `fresh`: created by this very request, so no risk assessment of it can exist yet; `screened`:
    the signals it was screened with already, allowed (pay_order)."""
    _one_way_to_pay(cmd.card, cmd.payment_method)
    now = clock()
    signals = screened
    if signals is None and policy.risk is not None:
        signals = await _screened(cmd, uow, policy, now, seen, fresh)

    async def record() -> tuple[Payment, Attempt, Order]:
        async with uow:
            # The payment, then its order, as settle() locks them. The order too: cancel_order
            # changes an unsent payment under the order's lock alone.
            payment = await uow.payments.get(cmd.payment_id, for_update=True, with_order=True)
            if payment is None or payment.buyer_id != cmd.actor.user_id:
                raise NotFoundError("payment", cmd.payment_id)
            if payment.order_id is None:  # a direct payment (seed 002) is paid on the provider's page
                raise InvalidStateError(f"payment {payment.number} pays no order; it is paid where it was opened")
            providers.require(payment.provider, Capability.AUTHORIZE)
            providers.check_amount(payment.provider, payment.amount)
            attempt = payment.start_authorization(now=now)  # InvalidStateError once past requires_payment_method
            order = existing(await uow.orders.get(payment.order_id, for_update=True), "order", payment.order_id)
            payable(order, now)
            await uow.payments.save(payment)
            await uow.commit()
        return payment, attempt, order

    payment, attempt, order = await uow.transaction(record)
    return await _send_authorization(cmd, payment, attempt, order, uow, providers, policy, clock, signals)


async def _send_authorization(cmd: AuthorizePayment, payment: Payment, attempt: Attempt, order: Order,
                              uow: UnitOfWork, providers: Providers, policy: Policy, clock: Clock,
                              signals: Signals | None) -> Payment:
    """Send an authorization recorded and committed, settle the answer, and count a decline
    toward the risk checks (`signals`: what the payment was screened with)."""
    request = payment.authorize_request(attempt, card=cmd.card, payment_method=cmd.payment_method,
                                        metadata={"order": stored("order number", order.number),
                                                  "payment": stored("payment number", payment.number)})
    paid = await run_attempt(payment, attempt, cmd.actor, uow, providers, policy, clock, request=request)
    if signals is not None and policy.risk is not None and paid.attempt(attempt.seq).decline_code:
        await noted_decline(signals, policy.risk, clock())
    return paid


async def _screened(cmd: AuthorizePayment, uow: UnitOfWork, policy: Policy, now: datetime,
                    seen: Payment | None = None, fresh: bool = False) -> Signals | None:
    """The risk checks (domain/risk) before anything is recorded or sent; raises RiskBlockedError
    or RiskReviewError. A payment past requires_payment_method is not screened: recording its
    attempt refuses it anyway."""
    assert policy.risk is not None
    payment = seen
    if payment is None:
        async with uow:  # a read
            payment = await uow.payments.get(cmd.payment_id)
    if payment is None or payment.buyer_id != cmd.actor.user_id:
        raise NotFoundError("payment", cmd.payment_id)
    if payment.status is not PaymentStatus.REQUIRES_PAYMENT_METHOD:
        return None
    signals = Signals(buyer_id=payment.buyer_id, amount=payment.amount,
                      card_fingerprint=card_fingerprint(cmd.card, cmd.payment_method, policy.risk.fingerprint_key),
                      client_address=cmd.client_address, billing_country=cmd.billing_country)
    await screen(payment, signals, cmd.actor, uow, policy.risk, now, fresh=fresh)
    return signals


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
    client_key: str | None = None  # the client's Idempotency-Key: the same again resumes the capture


async def capture_payment(cmd: CapturePayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                          clock: Clock = utc_now) -> Payment:
    _staff_only(cmd.actor, "capture payments")
    async with uow:
        payment = await locked_payment(uow, cmd.payment_id)
        providers.require(payment.provider, Capability.CAPTURE)  # before an attempt it can't make is recorded
        asked = in_currency_of(payment, cmd.amount)
        attempt = payment.started_by(cmd.client_key, AttemptKind.CAPTURE, asked)
        if attempt is None:
            attempt = payment.start_capture(asked, now=clock(), client_key=cmd.client_key)
            providers.check_amount(payment.provider, attempt.amount)  # raised here: the block rolls back
            await uow.payments.save(payment)
            await uow.commit()
    if not attempt.in_flight:
        return payment  # the same request again, after it was settled: its answer stands
    return await run_attempt(payment, attempt, cmd.actor, uow, providers, policy, clock)


@dataclass(frozen=True, slots=True)
class RefundPayment:
    """Staff refund any payment (customers ask with a refund request that staff decide)."""
    actor: Actor
    payment_id: int
    amount: Amount = None  # None refunds everything still refundable
    reason: str | None = None
    # The client's Idempotency-Key, hashed with the caller (paygate/idempotency.py): sent again
    # after an answer that never came, it resumes the refund it started, never starts another.
    client_key: str | None = None


async def refund_payment(cmd: RefundPayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                         clock: Clock = utc_now) -> tuple[Payment, Attempt]:
    _staff_only(cmd.actor, "refund payments directly (customers ask with a refund request)")
    return await _refund(cmd.actor, cmd.payment_id, cmd.amount, cmd.reason, cmd.client_key,
                         uow, providers, policy, clock)


@dataclass(frozen=True, slots=True)
class RefundOwnPayment:
    """Seed 004's legacy rule: the buyer refunds their own payment directly (the app it replaces
    allowed it), as well as staff. Only that API offers it."""
    actor: Actor
    payment_id: int
    amount: Amount = None
    reason: str | None = None
    client_key: str | None = None


async def refund_own_payment(cmd: RefundOwnPayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                             clock: Clock = utc_now) -> tuple[Payment, Attempt]:
    async with uow:  # a read: whose payment it is
        payment = await uow.payments.get(cmd.payment_id)
    if payment is None or not buyer_or_staff(cmd.actor, payment):
        raise NotFoundError("payment", cmd.payment_id)
    return await _refund(cmd.actor, cmd.payment_id, cmd.amount, cmd.reason, cmd.client_key,
                         uow, providers, policy, clock)


async def _refund(actor: Actor, payment_id: int, amount: Amount, reason: str | None, client_key: str | None,
                  uow: UnitOfWork, providers: Providers, policy: Policy, clock: Clock) -> tuple[Payment, Attempt]:
    reason = optional_text(reason, "reason", max_length=MAX_REASON)  # before anything is written
    async with uow:
        payment = await locked_payment(uow, payment_id)
        # Asked before anything is recorded: a refund the provider can't make must not sit pending.
        providers.require(payment.provider, Capability.REFUND)
        asked = in_currency_of(payment, amount)
        attempt = payment.started_by(client_key, AttemptKind.REFUND, asked)
        if attempt is None:
            # Pending refunds reserve their amount here, under the row lock: concurrent refunds
            # together never exceed what was captured (RefundExceedsCapturedError otherwise).
            attempt = payment.start_refund(asked, now=clock(), reason=reason, client_key=client_key)
            providers.check_amount(payment.provider, attempt.amount)  # raised here: the block rolls back
            await uow.payments.save(payment)
            await uow.commit()
    return await send_refund(payment, attempt, actor, uow, providers, policy, clock)


async def send_refund(payment: Payment, attempt: Attempt, actor: Actor | None, uow: UnitOfWork,
                      providers: Providers, policy: Policy, clock: Clock = utc_now) -> tuple[Payment, Attempt]:
    """Send a recorded refund (again, with its own key, when it is still open) and settle it."""
    if attempt.in_flight:
        payment = await run_attempt(payment, attempt, actor, uow, providers, policy, clock)
    return payment, payment.attempt(attempt.seq)


def _staff_only(actor: Actor, what: str) -> None:
    if not actor.is_staff:
        raise NotAllowedError(f"only staff may {what}")


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
    if payment is None or not buyer_or_staff(cmd.actor, payment):
        raise NotFoundError("payment", cmd.payment_id)
    open_authorizations = payment.in_flight(AttemptKind.AUTHORIZE)
    if not open_authorizations or payment.provider_ref is None:
        raise InvalidStateError(f"payment {payment.number} is {payment.status.value}: nothing to confirm")
    attempt = open_authorizations[-1]
    provider = providers.require(payment.provider, Capability.FETCH)
    # A question, not an attempt: nothing is sent that could move money, so nothing is recorded first.
    outcome = await ask_provider(provider.fetch(attempt.provider_ref or payment.provider_ref))
    return await settle(payment.pk, attempt.seq, outcome, cmd.actor, uow, policy, clock)
