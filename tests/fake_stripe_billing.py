"""Customers, Prices and Subscriptions for tests/fake_stripe.py, following Stripe's API reference
(docs.stripe.com/api/customers, /prices, /subscriptions) for what paygate uses:

    POST   /v1/customers               email, name, metadata
    GET    /v1/customers/{id}
    POST   /v1/prices                  currency, unit_amount, recurring[interval], product_data[name]
    GET    /v1/prices/{id}
    POST   /v1/subscriptions           customer, items[0][price], metadata, trial_period_days
    GET    /v1/subscriptions/{id}
    DELETE /v1/subscriptions/{id}      cancel at once

Subscriptions are shaped as the pinned API version has them: the billing period on each item
(`items.data[].current_period_start`), not on the subscription. A new subscription is `active`
with its first invoice paid (as for a customer whose default payment method pays), `trialing`
with `trial_period_days`, or `first_status` when a test sets it (e.g. "incomplete"). Refusals
are Stripe's: an unknown customer or price is a 400 `resource_missing` naming the parameter, an
unknown subscription a 404, cancelling a cancelled subscription a 400.

Requests arrive parsed by tests/fake_stripe_wire.py's `form_params` (`items[0][price]` is a
list of dicts).
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Route

from tests.fake_stripe_wire import StripeRefusal

MONTH_S = 30 * 24 * 3600
DAY_S = 24 * 3600


def _refusal(status: int, message: str, **fields: Any) -> StripeRefusal:
    return StripeRefusal(status, "invalid_request_error", message, **fields)


def _ident(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


@dataclass
class FakeBilling:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_status: str | None = None  # a test's override of a new subscription's status
    now: Callable[[], int] = lambda: int(time.time())

    def reset(self) -> None:
        self.customers.clear(), self.prices.clear(), self.subscriptions.clear()
        self.first_status = None

    def routes(self, endpoint: Callable[[Any], Any]) -> list[Route]:
        """`endpoint(handler)` wraps a handler `(id, params) -> dict` with FakeStripe's HTTP edge."""
        return [
            Route("/v1/customers", endpoint(self._create_customer), methods=["POST"]),
            Route("/v1/customers/{id}", endpoint(self._retrieve_customer), methods=["GET"]),
            Route("/v1/prices", endpoint(self._create_price), methods=["POST"]),
            Route("/v1/prices/{id}", endpoint(self._retrieve_price), methods=["GET"]),
            Route("/v1/subscriptions", endpoint(self._create_subscription), methods=["POST"]),
            Route("/v1/subscriptions/{id}", endpoint(self._retrieve_subscription), methods=["GET"]),
            Route("/v1/subscriptions/{id}", endpoint(self._cancel_subscription), methods=["DELETE"]),
        ]

    def price(self, unit_amount: int = 15_00, currency: str = "usd", interval: str = "month") -> str:
        """A recurring price made directly, for tests that don't go through the SDK."""
        return self._create_price(None, {"currency": currency, "unit_amount": str(unit_amount),
                                         "recurring": {"interval": interval}})["id"]

    # --- Customers --------------------------------------------------------------------------------

    def _create_customer(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        email = p.get("email")
        if email is not None and "@" not in email:
            raise _refusal(400, "Invalid email address: " + email, code="email_invalid", param="email")
        customer = {"id": _ident("cus_"), "object": "customer", "email": email, "name": p.get("name"),
                    "metadata": p.get("metadata", {}), "created": self.now(), "livemode": False,
                    "invoice_settings": {"default_payment_method": None}}
        self.customers[customer["id"]] = customer
        return customer

    def _retrieve_customer(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        if ident not in self.customers:
            raise _refusal(404, f"No such customer: '{ident}'", code="resource_missing", param="id")
        return self.customers[ident]

    # --- Prices -----------------------------------------------------------------------------------

    def _create_price(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        amount = p.get("unit_amount", "")
        if not (isinstance(amount, str) and amount.isdigit()):
            raise _refusal(400, "Invalid integer: " + str(amount), code="parameter_invalid_integer",
                           param="unit_amount")
        recurring = p.get("recurring") or None
        price = {"id": _ident("price_"), "object": "price", "active": True, "currency": p.get("currency", "usd"),
                 "unit_amount": int(amount), "product": p.get("product") or _ident("prod_"),
                 "recurring": {"interval": recurring.get("interval", "month"), "interval_count": 1}
                 if recurring else None, "type": "recurring" if recurring else "one_time",
                 "created": self.now()}
        self.prices[price["id"]] = price
        return price

    def _retrieve_price(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        if ident not in self.prices:
            raise _refusal(404, f"No such price: '{ident}'", code="resource_missing", param="id")
        return self.prices[ident]

    # --- Subscriptions ----------------------------------------------------------------------------

    def _create_subscription(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        customer = p.get("customer")
        if customer not in self.customers:
            raise _refusal(400, f"No such customer: '{customer}'", code="resource_missing", param="customer")
        items = _items(p.get("items"))
        if not items:
            raise _refusal(400, "Missing required param: items.", code="parameter_missing", param="items")
        for i, item in enumerate(items):
            if item.get("price") not in self.prices:
                raise _refusal(400, f"No such price: '{item.get('price')}'", code="resource_missing",
                               param=f"items[{i}][price]")
            if self.prices[item["price"]]["recurring"] is None:
                raise _refusal(400, "The price specified is set to `type=one_time` but this field only accepts "
                               "prices with `type=recurring`.", param=f"items[{i}][price]")
        now, trial = self.now(), int(p.get("trial_period_days") or 0)
        end = now + (trial * DAY_S if trial else MONTH_S)
        ident = _ident("sub_")
        subscription = {
            "id": ident, "object": "subscription", "customer": customer, "created": now, "start_date": now,
            "status": self.first_status or ("trialing" if trial else "active"),
            "items": {"object": "list", "data": [
                {"id": _ident("si_"), "object": "subscription_item", "subscription": ident, "quantity": 1,
                 "price": self.prices[item["price"]], "current_period_start": now, "current_period_end": end}
                for item in items]},
            "latest_invoice": _ident("in_"), "metadata": p.get("metadata", {}), "cancel_at_period_end": False,
            "canceled_at": None, "ended_at": None, "trial_end": end if trial else None, "livemode": False}
        self.subscriptions[ident] = subscription
        return subscription

    def _retrieve_subscription(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        return self._subscription(ident)

    def _cancel_subscription(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        subscription = self._subscription(ident)
        if subscription["status"] == "canceled":
            raise _refusal(400, "A canceled subscription can only update its cancellation_details and metadata.")
        now = self.now()
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        return subscription

    def _subscription(self, ident: str) -> dict[str, Any]:
        if ident not in self.subscriptions:
            raise _refusal(404, f"No such subscription: '{ident}'", code="resource_missing", param="id")
        return self.subscriptions[ident]


def _items(raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    return [item for item in raw if isinstance(item, dict)]
