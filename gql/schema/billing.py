"""Billing in GraphQL: customers and subscriptions (Stripe Billing), the mutations customerCreate,
billingSubscriptionCreate and billingSubscriptionCancel, and the billingSubscriptions list.

Each mutation returns a union of its result and the typed errors a client should handle. Stripe
not answering is `Conflict` with code "provider_unavailable": send the same mutation again (its
record and idempotency key are reused, so nothing is created twice). Stripe not configured is a
`ValidationError` on field "provider".
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from domain.billing.model import Customer as DomainCustomer
from domain.billing.model import Subscription as DomainSubscription
from domain.billing.model import SubscriptionStatus
from domain.errors import NotFoundError, PaymentsError, ProviderUnavailableError
from gql.resolvers import billing as resolvers
from gql.schema.errors import Conflict, ValidationError, expected_error, result
from gql.schema.relay import Connection, Node, connection, global_id_of, page_request, to_global_id

SubscriptionStatusEnum = strawberry.enum(
    Enum("BillingSubscriptionStatus", {m.name: m.value for m in SubscriptionStatus}),
    description="Stripe's word for a subscription's state; CANCELED and INCOMPLETE_EXPIRED are final.")


@strawberry.type
class MetadataEntry:
    key: str
    value: str


@strawberry.input
class MetadataEntryInput:
    key: str
    value: str


def _entries(metadata: dict[str, str]) -> list[MetadataEntry]:
    return [MetadataEntry(key=k, value=v) for k, v in sorted(metadata.items())]


def _metadata(entries: list[MetadataEntryInput] | None) -> dict[str, str]:
    return {e.key: e.value for e in entries or ()}


@strawberry.type(description="A payer at the billing provider (Stripe's Customer), owned by one user.")
class BillingCustomer(Node):
    legacy_id: int
    uuid: str
    provider: str
    provider_ref: str | None = strawberry.field(description="Stripe's id (cus_…); null until Stripe confirms it.")
    email: str | None
    name: str | None
    metadata: list[MetadataEntry]
    created_at: datetime

    @classmethod
    def from_domain(cls, c: DomainCustomer) -> BillingCustomer:
        return cls(id=strawberry.ID(to_global_id("BillingCustomer", c.id)), legacy_id=c.id, uuid=str(c.uuid),
                   provider=c.provider, provider_ref=c.provider_ref, email=c.email, name=c.name,
                   metadata=_entries(c.metadata), created_at=c.created_at)


@strawberry.type(description="A customer's subscription to a recurring price at the billing provider.")
class BillingSubscription(Node):
    legacy_id: int
    uuid: str
    provider: str
    provider_ref: str | None = strawberry.field(description="Stripe's id (sub_…); null until Stripe confirms it.")
    customer_id: strawberry.ID
    price_id: str
    status: SubscriptionStatusEnum
    current_period_start: datetime | None
    current_period_end: datetime | None
    latest_invoice: str | None
    canceled_at: datetime | None
    metadata: list[MetadataEntry]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, s: DomainSubscription) -> BillingSubscription:
        return cls(id=strawberry.ID(to_global_id("BillingSubscription", s.id)), legacy_id=s.id, uuid=str(s.uuid),
                   provider=s.provider, provider_ref=s.provider_ref,
                   customer_id=strawberry.ID(to_global_id("BillingCustomer", s.customer_id)), price_id=s.price_ref,
                   status=SubscriptionStatusEnum(s.status.value), current_period_start=s.current_period_start,
                   current_period_end=s.current_period_end, latest_invoice=s.latest_invoice,
                   canceled_at=s.canceled_at, metadata=_entries(s.metadata), created_at=s.created_at,
                   updated_at=s.updated_at)


@strawberry.input
class CustomerCreateInput:
    email: str | None = strawberry.field(default=None, description="The caller's own when null.")
    name: str | None = None
    metadata: list[MetadataEntryInput] | None = None


@strawberry.input
class BillingSubscriptionCreateInput:
    customer_id: strawberry.ID = strawberry.field(description="One of the caller's BillingCustomers.")
    price_id: str = strawberry.field(description="Stripe's recurring price (price_…).")
    metadata: list[MetadataEntryInput] | None = None


@strawberry.input
class BillingSubscriptionCancelInput:
    subscription_id: strawberry.ID


CustomerCreateResult = result("CustomerCreateResult", BillingCustomer)
BillingSubscriptionCreateResult = result("BillingSubscriptionCreateResult", BillingSubscription)
BillingSubscriptionCancelResult = result("BillingSubscriptionCancelResult", BillingSubscription)


def _id(kind: str, global_id: strawberry.ID) -> int:
    legacy_id = global_id_of(kind, global_id)
    if legacy_id is None:
        raise NotFoundError(kind, global_id)
    return legacy_id


def _unavailable(exc: ProviderUnavailableError) -> Conflict:
    return Conflict(code="provider_unavailable", message=f"{exc}; send the same mutation again")


async def customer_create(info: strawberry.Info, input: CustomerCreateInput) -> CustomerCreateResult:
    """Create a Stripe customer for the caller, for subscriptions."""
    try:
        customer = await resolvers.customer_create(info.context, input.email, input.name, _metadata(input.metadata))
    except PaymentsError as exc:
        return expected_error(exc)
    except ProviderUnavailableError as exc:
        return _unavailable(exc)
    return BillingCustomer.from_domain(customer)


async def billing_subscription_create(info: strawberry.Info, input: BillingSubscriptionCreateInput
                                      ) -> BillingSubscriptionCreateResult:
    """Subscribe one of the caller's customers to a recurring price."""
    try:
        subscription = await resolvers.subscription_create(info.context, _id("BillingCustomer", input.customer_id),
                                                           input.price_id, _metadata(input.metadata))
    except PaymentsError as exc:
        return expected_error(exc)
    except ProviderUnavailableError as exc:
        return _unavailable(exc)
    return BillingSubscription.from_domain(subscription)


async def billing_subscription_cancel(info: strawberry.Info, input: BillingSubscriptionCancelInput
                                      ) -> BillingSubscriptionCancelResult:
    """Cancel a subscription at once: its owner, or staff."""
    try:
        subscription = await resolvers.subscription_cancel(info.context,
                                                           _id("BillingSubscription", input.subscription_id))
    except PaymentsError as exc:
        return expected_error(exc)
    except ProviderUnavailableError as exc:
        return _unavailable(exc)
    return BillingSubscription.from_domain(subscription)


async def resolve_billing_subscriptions(info: strawberry.Info, first: int | None = None, after: str | None = None,
                                        status: list[SubscriptionStatusEnum] | None = None
                                        ) -> Connection[BillingSubscription]:
    req = page_request(first, after)
    rows, total = await resolvers.subscriptions_page(
        info.context, tuple(SubscriptionStatus(s.value) for s in status or ()), before_id=req.after_id,
        limit=req.limit)
    return connection([BillingSubscription.from_domain(s) for s in rows], [s.id for s in rows], req, total)


async def subscription_node(context, legacy_id: int) -> BillingSubscription | None:
    found = await resolvers.subscription(context, legacy_id)
    return BillingSubscription.from_domain(found) if found else None


async def customer_node(context, legacy_id: int) -> BillingCustomer | None:
    found = await resolvers.customer(context, legacy_id)
    return BillingCustomer.from_domain(found) if found else None
