"""Payments the customer completes at the provider: Stripe Elements in the shop's page, or Stripe
Checkout's hosted or embedded page (CheckoutKind). Card details never reach paygate.

    open_payment      the order's payment, opened at the provider: what the page needs
                      (a client secret, or the page's address) comes back on the payment
    resume_payment    the order's open page again, after a reload or a closed tab: the same
                      page while the provider still takes payment on it, else a new one
    open_direct_payment   a payment for an amount, not an order (seed 002's PaymentIntents)

Two phases, as every provider call (STYLE.md section 5): the payment and its authorization are
recorded and committed, the provider is asked with no transaction open, and its answer settled.
How it ends arrives later, by the provider's webhook or by asking (`fetch`): the worker's
reconciliation, `confirm_payment`, or `resume_payment`.

A page can't outlive the order's reservation by much: it is opened to expire with it (the
provider may round that up), and a Checkout page that expires unpaid ends the order's
reservation at once (consequences.apply), so the stock goes back on sale.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.clock import Clock, utc_now
from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.identity import Actor, customers_only
from domain.money import Money
from domain.orders.model import Order
from domain.payments.attempts import ask_provider, run_attempt, settle
from domain.payments.consequences import Policy, snapshot
from domain.payments.model import Attempt, Payment
from domain.payments.provider import (
    Capability,
    CaptureMethod,
    CheckoutKind,
    CheckoutProvider,
    Declined,
    LineItem,
    OpenRequest,
    Outcome,
    Providers,
    check_page_urls,
    checkout_kinds,
)
from domain.payments.service import SETTLED, payable
from domain.payments.status import AttemptKind, PaymentStatus
from domain.ports import UnitOfWork
from domain.stored import stored

NOT_REOPENED = "not_reopened"  # a lost opening the provider refused to answer again (other parameters)


@dataclass(frozen=True, slots=True)
class OpenPayment:
    actor: Actor
    order_id: int
    provider: str
    kind: CheckoutKind
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    return_url: str | None = None  # where a Checkout page sends the customer afterwards
    cancel_url: str | None = None  # hosted pages: where "back" goes


async def open_payment(cmd: OpenPayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                       clock: Clock = utc_now) -> Payment:
    """Open the order's payment at the provider. Any payment of the order not failed or canceled
    makes this a ConflictError: an order is paid once (resume_payment reopens its page)."""
    customers_only(cmd.actor, "pay for orders")
    check_page_urls(cmd.kind, cmd.return_url, cmd.cancel_url)  # before anything is written
    _checkout_provider(providers, cmd.provider, cmd.kind)  # refused before anything is recorded
    now = clock()
    async with uow:
        order = await _buyers_order(uow, cmd.actor, cmd.order_id)
        payable(order, now)
        providers.check_amount(cmd.provider, order.total)  # an amount the provider can't take: nothing written
        for earlier in await uow.payments.for_order(order.pk):
            if earlier.status not in SETTLED:
                raise ConflictError(f"order {order.number} already has payment {earlier.number} "
                                    f"({earlier.status.value})")
        payment = Payment.new(order_id=order.id, buyer_id=order.buyer_id, provider=cmd.provider,
                              amount=order.total, now=now, capture_method=cmd.capture_method, checkout=cmd.kind)
        payment, attempt, request = await _record(
            uow, cmd.actor, payment, now,
            lambda p, a: _request(p, a, order, cmd.actor, cmd.return_url, cmd.cancel_url))
    return await run_attempt(payment, attempt, cmd.actor, uow, providers, policy, clock, request=request)


@dataclass(frozen=True, slots=True)
class ResumePayment:
    actor: Actor
    order_id: int
    provider: str
    kind: CheckoutKind
    return_url: str | None = None
    cancel_url: str | None = None


async def resume_payment(cmd: ResumePayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                         clock: Clock = utc_now) -> Payment:
    """The order's page again. The open payment is asked about first (or, when the answer to its
    opening was lost, opened again with the same key): still taking payment, it is answered as it
    is (the same page); paid meanwhile, a ConflictError; ended unpaid, a new payment is opened
    while the order still waits for one."""
    customers_only(cmd.actor, "pay for orders")
    check_page_urls(cmd.kind, cmd.return_url, cmd.cancel_url)  # before anything is written
    provider = _checkout_provider(providers, cmd.provider, cmd.kind)
    async with uow:
        order = await _buyers_order(uow, cmd.actor, cmd.order_id)
        payable(order, clock())  # a closed order's page is never handed out, nor made again
        providers.check_amount(cmd.provider, order.total)  # refused before the provider is asked anything
        live = [p for p in await uow.payments.for_order(order.pk) if p.status not in SETTLED]
    for payment in live:
        opened = payment.in_flight(AttemptKind.AUTHORIZE)
        if (payment.provider, payment.checkout) == (cmd.provider, cmd.kind) and opened:
            if payment.provider_ref:
                outcome = await ask_provider(provider.fetch(payment.provider_ref))
            else:
                outcome = await _reopen(provider, payment, opened[-1], order, cmd)
            payment = await settle(payment.pk, opened[-1].seq, outcome, cmd.actor, uow, policy, clock)
            if outcome is None or (payment.status is PaymentStatus.REQUIRES_ACTION
                                   and payment.in_flight(AttemptKind.AUTHORIZE)):
                # Still taking payment (an element after a declined card too), or the provider
                # didn't answer: the caller tells the customer to wait or pay, never a second page.
                return payment
        if payment.status not in SETTLED:
            raise ConflictError(f"order {order.number} has payment {payment.number} ({payment.status.value})")
    return await open_payment(OpenPayment(cmd.actor, cmd.order_id, cmd.provider, cmd.kind,
                                          return_url=cmd.return_url, cancel_url=cmd.cancel_url),
                              uow, providers, policy, clock)


@dataclass(frozen=True, slots=True)
class OpenDirectPayment:
    actor: Actor
    amount: Money
    provider: str
    kind: CheckoutKind = CheckoutKind.ELEMENTS
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    metadata: Mapping[str, str] = field(default_factory=dict)


async def open_direct_payment(cmd: OpenDirectPayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                              clock: Clock = utc_now) -> Payment:
    """A payment for an amount the caller names (a course, a top-up): no order, no stock; once
    captured the platform keeps it all (consequences.apply)."""
    _checkout_provider(providers, cmd.provider, cmd.kind)  # refused before anything is recorded
    providers.check_amount(cmd.provider, cmd.amount)
    now = clock()
    async with uow:
        payment = Payment.new(order_id=None, buyer_id=cmd.actor.user_id, provider=cmd.provider, amount=cmd.amount,
                              now=now, capture_method=cmd.capture_method, checkout=cmd.kind, metadata=cmd.metadata)
        payment, attempt, request = await _record(
            uow, cmd.actor, payment, now, lambda p, a: p.open_request(a, customer_email=cmd.actor.email))
    return await run_attempt(payment, attempt, cmd.actor, uow, providers, policy, clock, request=request)


async def _record(uow: UnitOfWork, actor: Actor, payment: Payment, now: datetime,
                  build: Callable[[Payment, Attempt], OpenRequest]) -> tuple[Payment, Attempt, OpenRequest]:
    """The new payment and its authorization, recorded and committed in the caller's transaction.
    The request is built before the commit: one the provider port refuses (a page without a
    return URL) writes nothing."""
    payment = await uow.payments.add(payment)
    attempt = payment.start_authorization(now=now)
    request = build(payment, attempt)
    await uow.payments.save(payment)
    await uow.audit.record(actor, "payment.open", "payment", payment.uuid, None, snapshot(payment), now)
    await uow.commit()
    return payment, attempt, request


def _request(payment: Payment, attempt: Attempt, order: Order, actor: Actor, return_url: str | None,
             cancel_url: str | None) -> OpenRequest:
    return payment.open_request(attempt, lines=_lines(order), return_url=return_url, cancel_url=cancel_url,
                                expires_at=order.reserved_until, customer_email=actor.email,
                                metadata={"order": stored("order number", order.number)})


async def _reopen(provider: CheckoutProvider, payment: Payment, attempt: Attempt, order: Order,
                  cmd: ResumePayment) -> Outcome | None:
    """The opening whose answer was lost, sent again. Opening moves no money, so the same request
    with the same idempotency key is safe: the provider answers the page it made then, or makes it
    now. A request that differs (other URLs than the first time) is refused for that key: the
    attempt then ends as not reopened, and resume_payment opens a new payment. A page the first
    request may have made is unreachable (nobody has its secret) and expires unpaid."""
    request = _request(payment, attempt, order, cmd.actor, cmd.return_url, cmd.cancel_url)
    try:
        return await ask_provider(provider.open(request))
    except ConflictError as exc:
        return Declined(None, payment.amount, NOT_REOPENED, exc.message)


def _checkout_provider(providers: Providers, name: str, kind: CheckoutKind) -> CheckoutProvider:
    provider: CheckoutProvider = providers.require(name, Capability.CHECKOUT)  # type: ignore[assignment]
    offered = checkout_kinds(provider)
    if CheckoutKind(kind) not in offered:
        raise ValidationError(f"provider {name!r} takes payment as {', '.join(sorted(k.upper() for k in offered))}, "
                              f"not {CheckoutKind(kind).upper()}", "kind")
    return provider


async def _buyers_order(uow: UnitOfWork, actor: Actor, order_id: int) -> Order:
    order = await uow.orders.get(order_id, for_update=True)
    if order is None or order.buyer_id != actor.user_id:
        raise NotFoundError("order", order_id)
    return order


def _lines(order: Order) -> tuple[LineItem, ...]:
    return tuple(LineItem(line.name, line.unit_price, line.quantity) for line in order.lines)
