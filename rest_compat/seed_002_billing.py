"""Seed 002 (shared/seeds/002_ccaab19aa7d62390.txt), its Stripe customer and subscription paths:

    POST /api/v1/payments/stripe/create-customer/       {email, name, metadata}
    POST /api/v1/payments/stripe/create-subscription/   {customer_id, price_id, metadata}
    POST /api/v1/payments/stripe/cancel-subscription/   {subscription_id}

Every path needs a bearer token (401 without one) and answers 200 with the seed's object, or
{"error": "…"} (rest_compat/http.py, Shape.ERROR) with: 400 for invalid input, among it a price
Stripe doesn't know (`price_id`); 404 for a customer or subscription that is missing or someone
else's (the two look the same); 409 for one Stripe hasn't confirmed yet; 503 when Stripe isn't
configured (STRIPE_API_KEY) or didn't answer (the same request made again is sent with the same
idempotency key, so it can't create twice).

Decisions where the seed is silent:
- The ids are Stripe's (`cus_…`, `sub_…`), as the seed shows; paygate keeps its own records of
  them (domain/billing), and GraphQL shows both.
- `email` defaults to the caller's own (the token's); `name` is optional and answered "" when
  not given. `metadata` values are strings (numbers are taken as their text), Stripe's limits.
- A customer is the caller's: only they subscribe it. A subscription is cancelled by its owner or
  by staff; cancelling a cancelled one answers it again.
- Times are unix seconds, as Stripe's and the seed's; `latest_invoice` is the invoice's id.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain.billing.model import Customer, Subscription
from domain.billing.service import (CancelSubscription, CreateCustomer, CreateSubscription, cancel_subscription,
                                    create_customer, create_subscription)
from domain.errors import ProviderUnavailableError
from domain.services import Services
from rest_compat.http import RestError, Shape, caller, json_object, services
from rest_compat.openapi import JSON, Api, Operation, error_schema
from rest_compat.seed_002 import ERRORS, SEED_002_BASE

BASE = "/api/v1/payments/stripe"

TAG = "seed 002 (/api/v1/payments/)"
NOT_CONFIGURED = "Stripe is not configured on this server (STRIPE_API_KEY)"


# --- reading the seed's requests -----------------------------------------------------------------

def _string(body: dict[str, Any], name: str, *, required: bool = True, max_length: int = 255) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise RestError(400, f"{name}: this field is required.")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise RestError(400, f"{name}: must be a non-empty string." if required else f"{name}: must be a string.")
    if len(value) > max_length or "\x00" in value:
        raise RestError(400, f"{name}: must be at most {max_length} characters, without NUL.")
    # JSON may carry a lone surrogate ("\ud800"), which UTF-8 (and Stripe) can't take.
    return value.encode("utf-8", "replace").decode("utf-8")


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("metadata")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RestError(400, "metadata: must be an object of strings.")
    metadata = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RestError(400, f"metadata.{key}: must be a string.")
        metadata[key.encode("utf-8", "replace").decode("utf-8")] = str(value).encode("utf-8", "replace").decode()
    return metadata  # Stripe's limits (keys, lengths) are the domain's: ValidationError, 400


def _email(value: str | None) -> str | None:
    if value is not None:
        local, at, domain = value.partition("@")
        if not (at and local and "." in domain and not any(c.isspace() for c in value)):
            raise RestError(400, "email: enter a valid email address.")
    return value


def _billing(svc: Services) -> Any:
    if svc.billing is None:
        raise RestError(503, NOT_CONFIGURED)
    return svc.billing


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


async def _unavailable_is_503(call):
    try:
        return await call
    except ProviderUnavailableError as exc:
        raise RestError(503, f"Stripe did not answer ({exc}); send the same request again") from None


# --- the routes ---------------------------------------------------------------------------------

async def create_customer_route(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await json_object(request)
    email = _email(_string(body, "email", required=False, max_length=512) or actor.email)
    if email is None:
        raise RestError(400, "email: this field is required.")
    name = _string(body, "name", required=False, max_length=256) or None
    metadata = _metadata(body)
    svc = services(request)
    customer = await _unavailable_is_503(create_customer(
        CreateCustomer(actor, email, name, metadata), svc.uow(), _billing(svc)))
    return JSONResponse(_customer(customer))


async def create_subscription_route(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await json_object(request)
    customer_ref = _string(body, "customer_id")
    price_ref = _string(body, "price_id")
    metadata = _metadata(body)
    svc = services(request)
    subscription = await _unavailable_is_503(create_subscription(
        CreateSubscription(actor, price_ref, customer_ref=customer_ref, metadata=metadata), svc.uow(),
        _billing(svc)))
    return JSONResponse(_subscription(subscription))


async def cancel_subscription_route(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await json_object(request)
    subscription_ref = _string(body, "subscription_id")
    svc = services(request)
    subscription = await _unavailable_is_503(cancel_subscription(
        CancelSubscription(actor, subscription_ref=subscription_ref), svc.uow(), _billing(svc)))
    return JSONResponse({"subscription_id": subscription.provider_ref, "status": subscription.status.value,
                         "canceled_at": _unix(subscription.canceled_at)})


def _customer(customer: Customer) -> JSON:
    return {"customer_id": customer.provider_ref, "email": customer.email or "", "name": customer.name or ""}


def _subscription(s: Subscription) -> JSON:
    return {"subscription_id": s.provider_ref, "status": s.status.value,
            "current_period_start": _unix(s.current_period_start), "current_period_end": _unix(s.current_period_end),
            "latest_invoice": s.latest_invoice}


# --- the API and its OpenAPI operations ---------------------------------------------------------

def _object(properties: JSON, required: list[str] | None = None) -> JSON:
    return {"type": "object", "required": list(properties) if required is None else required,
            "properties": properties}


_STRING: JSON = {"type": "string"}
_ID: JSON = {"type": "string", "minLength": 1, "maxLength": 255}
_METADATA: JSON = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500},
                   "maxProperties": 50, "examples": [{"plan": "pro", "billing_cycle": "monthly"}]}
_STATUS: JSON = {"type": "string", "enum": ["incomplete", "incomplete_expired", "trialing", "active", "past_due",
                                           "unpaid", "paused", "canceled"]}
CUSTOMER_REQUEST = _object({"email": {"type": "string", "format": "email", "maxLength": 512},
                            "name": {"type": "string", "maxLength": 256}, "metadata": _METADATA}, required=[])
CUSTOMER = _object({"customer_id": _STRING, "email": _STRING, "name": _STRING})
SUBSCRIPTION_REQUEST = _object({"customer_id": {**_ID, "examples": ["cus_1234567890"]},
                                "price_id": {**_ID, "examples": ["price_1234567890"]}, "metadata": _METADATA},
                               required=["customer_id", "price_id"])
SUBSCRIPTION = _object({"subscription_id": _STRING, "status": _STATUS, "current_period_start": {"type": "integer"},
                        "current_period_end": {"type": "integer"}, "latest_invoice": _STRING})
CANCEL_REQUEST = _object({"subscription_id": {**_ID, "examples": ["sub_1234567890"]}})
CANCELED = _object({"subscription_id": _STRING, "status": _STATUS, "canceled_at": {"type": "integer"}})


def api() -> Api:
    error = error_schema(Shape.ERROR.value)
    common = {400: ("invalid input, or a price or customer Stripe doesn't know", error),
              401: ("no valid bearer token", error),
              409: ("not confirmed by Stripe yet, or the same Idempotency-Key is still being answered", error),
              422: ("the Idempotency-Key was used for another request", error),
              503: ("Stripe is not configured (STRIPE_API_KEY), or didn't answer", error)}
    routes = [
        Route(f"{BASE}/create-customer/", create_customer_route, methods=["POST"]),
        Route(f"{BASE}/create-subscription/", create_subscription_route, methods=["POST"]),
        Route(f"{BASE}/cancel-subscription/", cancel_subscription_route, methods=["POST"]),
    ]
    operations = [
        Operation("post", f"{BASE}/create-customer/", "Create a Stripe customer for subscriptions", TAG,
                  {200: ("the customer, the caller's", CUSTOMER), **common}, request=CUSTOMER_REQUEST),
        Operation("post", f"{BASE}/create-subscription/", "Subscribe one of the caller's customers to a price",
                  TAG, {200: ("the subscription", SUBSCRIPTION),
                        404: ("no such customer, or someone else's", error), **common},
                  request=SUBSCRIPTION_REQUEST),
        Operation("post", f"{BASE}/cancel-subscription/", "Cancel a subscription at once", TAG,
                  {200: ("the subscription, canceled", CANCELED),
                   404: ("no such subscription, or someone else's", error), **common},
                  request=CANCEL_REQUEST),
    ]
    return Api(routes, operations, SEED_002_BASE, ERRORS)
