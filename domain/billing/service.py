"""Billing use cases: create a customer for the caller, subscribe one of the caller's customers to
a price, cancel a subscription, and who sees which subscriptions.

Each reads top to bottom in the two phases of STYLE.md section 5: the record is written and
committed first, the provider is called with no transaction open, and its answer is applied in a
second transaction. The idempotency key is the record's own (its uuid), so:
- a lost answer (ProviderUnavailableError, raised to the caller) leaves the record unconfirmed,
  and the same request made again reuses that record and its key: the provider answers the first
  outcome instead of creating a second customer or subscription;
- a refusal (an unknown price, an invalid email) means nothing exists at the provider, so the
  unconfirmed record is removed and the refusal raised.

Who may do what: a customer is created for the caller, and only its owner subscribes it (anyone
else's customer is a NotFoundError, as a missing one). A subscription is cancelled by its owner or
by staff; staff and admins see every subscription, everyone else their own.
"""
from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal, TypeVar, overload

from domain.billing.model import SUBSCRIPTION_KEY, Customer, Subscription, checked_metadata
from domain.billing.provider import (
    BillingProvider,
    CancelSubscriptionRequest,
    CreateCustomerRequest,
    CreateSubscriptionRequest,
)
from domain.clock import Clock, utc_now
from domain.errors import ConflictError, NotFoundError, PaymentDeclinedError, ValidationError
from domain.identity import Actor
from domain.ports import UnitOfWork
from domain.stored import existing
from domain.text import refuse_card_numbers

MAX_EMAIL = 512   # Stripe's limits
MAX_NAME = 256
T = TypeVar("T")


class BillingNotOfferedError(ValidationError):
    """No billing provider is configured (STRIPE_API_KEY unset)."""
    code = "billing_not_offered"

    def __init__(self) -> None:
        super().__init__("subscriptions are not offered by this server (Stripe is not configured)", "provider")


@dataclass(frozen=True, slots=True)
class CreateCustomer:
    actor: Actor
    email: str | None = None  # the caller's own (the token's) when not given
    name: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


async def create_customer(cmd: CreateCustomer, uow: UnitOfWork, billing: BillingProvider | None,
                          clock: Clock = utc_now) -> Customer:
    provider = _offered(billing)
    email = cmd.email if cmd.email is not None else cmd.actor.email
    _text(email, MAX_EMAIL, "email")
    _text(cmd.name, MAX_NAME, "name")
    metadata = checked_metadata(cmd.metadata)
    async with uow:  # 1. recorded first; an unconfirmed one of the same request is sent again
        same = (provider.name, email, cmd.name, metadata)
        customer = next((c for c in await uow.customers.unsent(cmd.actor.user_id)
                         if (c.provider, c.email, c.name, c.metadata) == same), None)
        if customer is None:
            customer = await uow.customers.add(Customer(
                user_id=cmd.actor.user_id, provider=provider.name, email=email, name=cmd.name,
                metadata=metadata, created_at=clock()))
            await uow.commit()
    request = CreateCustomerRequest(customer.idempotency_key, email, cmd.name, metadata)
    answer = await _or_forget(provider.create_customer(request), uow, customer)
    async with uow:  # 2. the provider's reference applied
        customer = existing(await uow.customers.get(customer.pk, for_update=True), "customer", customer.uuid)
        first = customer.provider_ref is None  # else a concurrent same request applied it
        customer.created(answer.provider_ref)  # ConflictError if that was another answer
        if first:
            await uow.customers.save(customer)
            await uow.audit.record(cmd.actor, "customer.create", "customer", customer.uuid, None,
                                   _snapshot(customer), clock())
            await uow.commit()
    return customer


@dataclass(frozen=True, slots=True)
class CreateSubscription:
    actor: Actor
    price_ref: str                  # the provider's price (`price_…`; Stripe takes a plan's id too)
    customer_id: int | None = None  # ours (GraphQL), or
    customer_ref: str | None = None  # the provider's (`cus_…`, seed 002)
    metadata: Mapping[str, str] = field(default_factory=dict)


async def create_subscription(cmd: CreateSubscription, uow: UnitOfWork, billing: BillingProvider | None,
                              clock: Clock = utc_now) -> Subscription:
    provider = _offered(billing)
    price = _text(cmd.price_ref, 255, "price_id", required=True)
    metadata = checked_metadata(cmd.metadata)
    async with uow:  # 1. recorded first, unconfirmed; the same request unconfirmed is sent again
        customer, customer_ref = await _own_customer(cmd, uow, provider.name)
        subscription = next((s for s in await uow.subscriptions.unsent(customer.pk)
                             if (s.price_ref, s.metadata) == (price, metadata)), None)
        if subscription is None:
            now = clock()
            subscription = await uow.subscriptions.add(Subscription(
                user_id=cmd.actor.user_id, customer_id=customer.pk, provider=provider.name, price_ref=price,
                metadata=metadata, created_at=now, updated_at=now))
            await uow.commit()
    request = CreateSubscriptionRequest(customer_ref, price, subscription.create_key,
                                        {**metadata, SUBSCRIPTION_KEY: str(subscription.uuid)})
    state = await _or_forget(provider.create_subscription(request), uow, subscription)
    async with uow:  # 2. the answer applied (unless a webhook already brought newer news)
        subscription = existing(await uow.subscriptions.get(subscription.pk, for_update=True), "subscription",
                                subscription.uuid)
        first = not subscription.sent
        subscription.apply(state, clock())
        await uow.subscriptions.save(subscription)
        if first:
            await uow.audit.record(cmd.actor, "subscription.create", "subscription", subscription.uuid, None,
                                   _snapshot(subscription), clock())
        await uow.commit()
    return subscription


@dataclass(frozen=True, slots=True)
class CancelSubscription:
    actor: Actor
    subscription_id: int | None = None   # ours (GraphQL), or
    subscription_ref: str | None = None  # the provider's (`sub_…`, seed 002)


async def cancel_subscription(cmd: CancelSubscription, uow: UnitOfWork, billing: BillingProvider | None,
                              clock: Clock = utc_now) -> Subscription:
    """Cancel at once at the provider. Cancelling a cancelled subscription answers it unchanged."""
    provider = _offered(billing)
    async with uow:  # 1. who may; nothing to record: the cancel's key is the subscription's own
        subscription = await _visible_subscription(cmd, uow, provider.name)
    if subscription.terminal:
        return subscription
    if subscription.provider_ref is None:  # not sent yet
        raise ConflictError(f"subscription {subscription.uuid} is not confirmed by {provider.name} yet; "
                            "try again shortly")
    state = await provider.cancel_subscription(
        CancelSubscriptionRequest(subscription.provider_ref, subscription.cancel_key))
    async with uow:  # 2. the answer applied, never backwards
        subscription = existing(await uow.subscriptions.get(subscription.pk, for_update=True), "subscription",
                                subscription.uuid)
        before = _snapshot(subscription)
        if subscription.apply(state, clock()) is None:
            await uow.subscriptions.save(subscription)
            await uow.audit.record(cmd.actor, "subscription.cancel", "subscription", subscription.uuid, before,
                                   _snapshot(subscription), clock())
            await uow.commit()
    return subscription


def visible_owner(actor: Actor) -> int | None:
    """Whose subscriptions a list shows: the caller's own, or everyone's (None) for staff."""
    return None if actor.is_staff else actor.user_id


def may_see(actor: Actor, subscription: Subscription) -> bool:
    return actor.is_staff or subscription.user_id == actor.user_id


# --- internals -------------------------------------------------------------------------------

def _offered(billing: BillingProvider | None) -> BillingProvider:
    if billing is None:
        raise BillingNotOfferedError()
    return billing


@overload
def _text(value: str | None, max_length: int, name: str, *, required: Literal[True]) -> str: ...


@overload
def _text(value: str | None, max_length: int, name: str, *, required: bool = False) -> str | None: ...


def _text(value: str | None, max_length: int, name: str, *, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise ValidationError(f"{name} is required", name)
        return value
    if len(value) > max_length or "\x00" in value:
        raise ValidationError(f"{name} must be at most {max_length} characters, without NUL", name)
    refuse_card_numbers(value, field=name)  # stored, sent to Stripe and audited: never a card number
    return value.strip() if required else value


async def _own_customer(cmd: CreateSubscription, uow: UnitOfWork, provider: str) -> tuple[Customer, str]:
    """The caller's customer, and its reference at the provider (a subscription needs it)."""
    if cmd.customer_id is not None and cmd.customer_ref is None:
        customer = await uow.customers.get(cmd.customer_id)
    elif cmd.customer_ref is not None and cmd.customer_id is None:
        customer = await uow.customers.get_by_ref(provider, cmd.customer_ref)
    else:
        raise ValidationError("name the customer once: ours or the provider's id", "customer_id")
    if customer is None or customer.user_id != cmd.actor.user_id or customer.provider != provider:
        raise NotFoundError("customer", cmd.customer_id if cmd.customer_ref is None else cmd.customer_ref)
    if customer.provider_ref is None:
        raise ConflictError(f"customer {customer.uuid} is not confirmed by {provider} yet; create it again")
    return customer, customer.provider_ref


async def _visible_subscription(cmd: CancelSubscription, uow: UnitOfWork, provider: str) -> Subscription:
    if (cmd.subscription_id is None) == (cmd.subscription_ref is None):
        raise ValidationError("name the subscription once: ours or the provider's id", "subscription_id")
    if cmd.subscription_id is not None:
        found = await uow.subscriptions.get(cmd.subscription_id)
    elif cmd.subscription_ref is not None:
        found = await uow.subscriptions.get_by_ref(provider, cmd.subscription_ref)
    if found is None or found.provider != provider or not may_see(cmd.actor, found):
        raise NotFoundError("subscription", cmd.subscription_id if cmd.subscription_ref is None
                            else cmd.subscription_ref)
    return found


async def _or_forget(call: Awaitable[T], uow: UnitOfWork, record: Customer | Subscription) -> T:
    """The provider's answer; on a refusal (nothing exists there) the unconfirmed record is removed
    and the refusal raised. ProviderUnavailableError and ConflictError (an answer we can't accept:
    something may exist there) pass untouched: the record stays, to be sent again with its key."""
    try:
        return await call
    except (ValidationError, NotFoundError, PaymentDeclinedError):
        async with uow:
            repository = uow.customers if isinstance(record, Customer) else uow.subscriptions
            await repository.forget_unsent(record.pk)
            await uow.commit()
        raise


def _snapshot(record: Customer | Subscription) -> dict[str, object]:
    shown = {k: v for k, v in asdict(record).items() if k not in ("id", "uuid", "metadata")}
    return {k: v.isoformat() if hasattr(v, "isoformat") else str(v) if v is not None else None
            for k, v in shown.items()}
