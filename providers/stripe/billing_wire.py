"""Stripe's Customer and Subscription objects -> our billing answers (domain/billing).

Where a subscription's period lives depends on the API version: since 2025-03-31 Stripe reports
`current_period_start`/`_end` on each subscription item, no longer on the subscription (our
pinned version is newer); older versions, and localstripe, report them on the subscription. Both
are read, the subscription's own first.

`as_of` (the time the state is true at, on Stripe's clock) is, for an object answered by a call,
the latest of its own timestamps (created, the period's start, canceled_at, ended_at); an event
gives its own `created` instead (billing_webhooks.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from domain.billing.model import SUBSCRIPTION_KEY, SubscriptionState, SubscriptionStatus
from domain.billing.provider import CustomerAnswer
from domain.errors import ConflictError

Wire = Mapping[str, Any]
_STATUSES = {s.value for s in SubscriptionStatus}


def customer_answer(customer: Wire) -> CustomerAnswer:
    if customer.get("object") not in (None, "customer") or not isinstance(customer.get("id"), str):
        raise ConflictError(f"Stripe answered something other than a customer: {customer.get('object')!r}")
    return CustomerAnswer(customer["id"], customer.get("email"), customer.get("name"))


def subscription_state(sub: Wire, as_of: datetime | None = None) -> SubscriptionState:
    """A subscription as our state; `as_of` from its own timestamps unless given (an event's)."""
    if sub.get("object") not in (None, "subscription") or not isinstance(sub.get("id"), str):
        raise ConflictError(f"Stripe answered something other than a subscription: {sub.get('object')!r}")
    status = sub.get("status")
    if status not in _STATUSES:
        raise ConflictError(f"Stripe reported subscription {sub['id']} as {status!r}, a status we don't know")
    item = _first_item(sub)
    start = _time(sub.get("current_period_start", item.get("current_period_start")))
    end = _time(sub.get("current_period_end", item.get("current_period_end")))
    canceled_at = _time(sub.get("canceled_at"))
    if as_of is None:
        stamps = [t for t in (_time(sub.get("created")), start, canceled_at, _time(sub.get("ended_at"))) if t]
        as_of = max(stamps) if stamps else datetime.fromtimestamp(0, UTC)
    raw_metadata = sub.get("metadata")
    metadata = raw_metadata if isinstance(raw_metadata, Mapping) else {}
    ours = metadata.get(SUBSCRIPTION_KEY)
    return SubscriptionState(
        provider_ref=sub["id"], customer_ref=_ref(sub.get("customer")), price_ref=_price(item),
        status=SubscriptionStatus(status), as_of=as_of, current_period_start=start, current_period_end=end,
        latest_invoice=_ref(sub.get("latest_invoice")), canceled_at=canceled_at,
        subscription_uuid=ours if isinstance(ours, str) else None)


def timestamp(value: object) -> datetime | None:
    """A Stripe unix time (seconds) as an aware datetime."""
    return _time(value)


def _first_item(sub: Wire) -> Wire:
    items = sub.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    return data[0] if isinstance(data, list) and data and isinstance(data[0], Mapping) else {}


def _price(item: Wire) -> str | None:
    # A plan's id is a price's id at Stripe (Plans are the older face of recurring Prices).
    for key in ("price", "plan"):
        ref = _ref(item.get(key))
        if ref:
            return ref
    return None


def _ref(value: object) -> str | None:
    """An id whether Stripe sent it bare or expanded into its object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _time(value: object) -> datetime | None:
    if type(value) is not int:
        return None
    return datetime.fromtimestamp(value, UTC)
