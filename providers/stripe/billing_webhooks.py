"""Stripe's subscription events read into our SubscriptionNews (domain/billing/news.py).

The signature is checked before this module sees anything (webhooks.verified_event, the SDK's
own verification); this only reads a verified event.

    customer.subscription.created   the subscription as Stripe made it
    customer.subscription.updated   its new state (status, period, latest invoice)
    customer.subscription.deleted   cancelled: `canceled`, which is final

`as_of` is the event's own `created` (Stripe's clock), which orders news about one subscription:
an older event than the state applied moves nothing back (domain/billing/model.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.billing.news import SubscriptionNews
from domain.errors import ValidationError
from providers.stripe import billing_wire as wire

HANDLED = frozenset({"customer.subscription.created", "customer.subscription.updated",
                     "customer.subscription.deleted"})


def handled(event: Mapping[str, Any]) -> bool:
    return event.get("type") in HANDLED


def subscription_news(event: Mapping[str, Any]) -> SubscriptionNews:
    """A handled event as our news. ValidationError for an event without its time or object;
    ConflictError (billing_wire) for a status we don't know."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    as_of = wire.timestamp(event.get("created"))
    if not isinstance(obj, Mapping) or as_of is None:
        raise ValidationError("a subscription event carries `created` and data.object", "body")
    return SubscriptionNews(provider="stripe", event_id=event["id"], event_type=event["type"],
                            state=wire.subscription_state(obj, as_of))
