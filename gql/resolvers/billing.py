"""Billing: thin calls into domain/billing's use cases, and db/'s read queries for lists and nodes.

Who may see or do what is decided in domain/billing/service.py (`visible_owner`, `may_see`, the
use cases' own checks); the billing provider is the request's service, None when Stripe isn't
configured (the use cases refuse with BillingNotOfferedError).
"""
from __future__ import annotations

from collections.abc import Mapping

from db import billing_queries
from domain.billing.model import Customer, Subscription, SubscriptionStatus
from domain.billing.service import (CancelSubscription, CreateCustomer, CreateSubscription, cancel_subscription,
                                    create_customer, create_subscription, may_see, visible_owner)
from gql.resolvers.auth import require_actor


def _billing(context):
    return context.services.billing


async def customer_create(context, email: str | None, name: str | None, metadata: Mapping[str, str]) -> Customer:
    actor = require_actor(context)
    return await create_customer(CreateCustomer(actor, email, name, metadata), context.new_uow(), _billing(context))


async def subscription_create(context, customer_id: int, price_ref: str,
                              metadata: Mapping[str, str]) -> Subscription:
    actor = require_actor(context)
    cmd = CreateSubscription(actor, price_ref, customer_id=customer_id, metadata=metadata)
    return await create_subscription(cmd, context.new_uow(), _billing(context))


async def subscription_cancel(context, subscription_id: int) -> Subscription:
    actor = require_actor(context)
    return await cancel_subscription(CancelSubscription(actor, subscription_id=subscription_id), context.new_uow(),
                                     _billing(context))


async def subscriptions_page(context, statuses: tuple[SubscriptionStatus, ...], *, before_id: int | None,
                             limit: int) -> tuple[list[Subscription], int]:
    actor = require_actor(context)
    return await billing_queries.subscriptions_page(context.db, visible_owner(actor), statuses,
                                                    before_id=before_id, limit=limit)


async def subscription(context, subscription_id: int) -> Subscription | None:
    """A subscription the caller may see; None for one they may not, exactly as for a missing one."""
    actor = require_actor(context)
    found = await billing_queries.subscription(context.db, subscription_id)
    return found if found is not None and may_see(actor, found) else None


async def customer(context, customer_id: int) -> Customer | None:
    actor = require_actor(context)
    found = await billing_queries.customer(context.db, customer_id)
    return found if found is not None and (actor.is_staff or found.user_id == actor.user_id) else None
