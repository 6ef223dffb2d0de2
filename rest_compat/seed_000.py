"""Seed 000 (shared/seeds/000_07d15f5ad7ee1a01.txt), the marketplace on Stripe, under /api/payments/:
its checkout and order paths and its Stripe webhook. Errors are {"error": "…"}.

    POST checkout_session/                    the cart as an order holding its stock, paid on Stripe's
                                              Embedded Checkout: 200 {clientSecret}
    GET  checkout_session/retry/{order_id}/   the pending order's page again: 200 {clientSecret}
    POST orders/{order_id}/cancel/            buyer, seller or staff: refunds through Stripe when paid,
                                              releases the stock otherwise
    POST stripe_webhook/                      Stripe's signed events (rest_compat/webhooks_stripe.py)

Orders are named by their UUID, as this seed shows them. Errors: an empty cart 400, missing stock
409, an order that isn't pending (retry) or can't be canceled 409, Stripe unset 503, Stripe's
refusal to open a page 502, no answer from Stripe 503; after these two the cart is as it was.
A cart's prices are read when it is checked out (carts keep no price of their own), so the price
charged is always the catalogue's current one.

Connect accounts, holds, transfers and payouts: rest_compat/seed_000_market.py, in this API's mount.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.order_queries import order_id_by_key
from domain.errors import NotFoundError
from domain.orders.cancel import CancelOrder, cancel_order
from domain.payments.provider import CheckoutKind
from rest_compat import stripe_checkout, webhooks_stripe
from rest_compat.errors import ErrorTable
from rest_compat.http import RestError, Shape, caller, client_key, database, json_object, services
from rest_compat.openapi import JSON, Api, Operation, error_schema, path_param

BASE = "/api/payments"
# This API's one error table (rest_compat/errors.py), registered on its mount.
ERRORS = ErrorTable(Shape.ERROR)

TAG = "seed 000 (/api/payments/)"
ORDER_NOT_FOUND = "Order not found."
DUMMY = "dummy"


@contextlib.contextmanager
def _order_kept_private() -> Iterator[None]:
    """The domain refuses another user's order as a missing one, naming its integer id: answer
    exactly as for an unknown UUID instead, so neither its existence nor that id shows."""
    try:
        yield
    except NotFoundError as exc:
        if exc.kind != "order":
            raise
        raise RestError(404, ORDER_NOT_FOUND) from None


async def _order_id(request: Request) -> int:
    try:
        key = str(UUID(request.path_params["order_id"]))
    except ValueError:
        raise RestError(404, ORDER_NOT_FOUND) from None
    order_id = await order_id_by_key(database(request), key)
    if order_id is None:
        raise RestError(404, ORDER_NOT_FOUND)
    return order_id


def _page_provider(request: Request) -> str:
    """Stripe's Embedded Checkout when Stripe is configured; else the dummy gateway's own page
    (POST /dummy/checkout/<ref>), so a seed 000 client runs whole on `make run`; else 503."""
    offered = services(request).providers
    if "stripe" not in offered and DUMMY in offered:
        return DUMMY
    stripe_checkout.require_stripe(request)
    return stripe_checkout.PROVIDER


async def checkout_session(request: Request) -> JSONResponse:
    actor = caller(request)  # the use case decides who may
    body = await json_object(request) if await request.body() else {}
    return_url, cancel_url = stripe_checkout.return_urls(request, body)
    provider = _page_provider(request)  # after the input's checks: bad input is 400 either way
    payment = await stripe_checkout.cart_to_checkout_page(request, actor, CheckoutKind.EMBEDDED,
                                                          shipping_address_id=None, return_url=return_url,
                                                          cancel_url=cancel_url, provider=provider)
    return JSONResponse({"clientSecret": payment.client_secret})


async def retry_checkout_session(request: Request) -> JSONResponse:
    actor = caller(request)  # the use case decides who may
    order_id = await _order_id(request)  # an unknown order is 404 whether or not Stripe is configured
    return_url, cancel_url = stripe_checkout.return_urls(request, {})
    provider = _page_provider(request)
    with _order_kept_private():
        payment = await stripe_checkout.resume_checkout_page(request, actor, order_id, CheckoutKind.EMBEDDED,
                                                             return_url=return_url, cancel_url=cancel_url,
                                                             provider=provider)
    return JSONResponse({"clientSecret": payment.client_secret})


async def cancel(request: Request) -> JSONResponse:
    actor = caller(request)
    order_id = await _order_id(request)
    body = await json_object(request) if await request.body() else {}
    reason = body.get("cancellation_reason", "")
    if not isinstance(reason, str):
        raise RestError(400, "cancellation_reason must be a string")
    svc = services(request)
    with _order_kept_private():
        done = await cancel_order(CancelOrder(actor, order_id, reason, client_key=client_key(request)),
                                  svc.uow(), svc.providers, svc.policy)
    refund: dict[str, Any] | None = None
    if done.refund is not None:
        refund = {"refund_id": done.refund.provider_ref, "amount": done.refund.amount.minor,
                  "currency": done.refund.amount.code.lower(), "status": done.refund.status.value}
    return JSONResponse({
        "success": True,
        "order_id": str(done.order.uuid),
        "status": done.order.status.value,
        "cancellation_reason": done.order.cancellation_reason,
        "canceled_at": done.order.updated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "refunded": refund is not None,
        "refund": refund,
    })


async def stripe_webhook(request: Request) -> JSONResponse:
    return await webhooks_stripe.handle(request)


ERROR = error_schema(Shape.ERROR.value)
CLIENT_SECRET: JSON = {"type": "object", "required": ["clientSecret"], "additionalProperties": False,
                       "properties": {"clientSecret": {"type": "string", "examples": ["cs_test_a1b2_secret_c3d4"]}}}
URLS: JSON = {"type": "object", "properties": {
    "return_url": {"type": "string", "format": "uri", "maxLength": 2048,
                   "description": "Where Stripe sends the customer afterwards; {CHECKOUT_SESSION_ID} is filled in"},
    "cancel_url": {"type": "string", "format": "uri", "maxLength": 2048}}}
CANCEL_BODY: JSON = {"type": "object", "properties": {"cancellation_reason": {"type": "string", "maxLength": 500}}}
REFUND: JSON = {"type": "object", "required": ["refund_id", "amount", "currency", "status"],
                "additionalProperties": False, "properties": {
                    "refund_id": {"type": ["string", "null"]}, "amount": {"type": "integer"},
                    "currency": {"type": "string"}, "status": {"type": "string"}}}
CANCELED: JSON = {
    "type": "object",
    "required": ["success", "order_id", "status", "cancellation_reason", "canceled_at", "refunded", "refund"],
    "additionalProperties": False,
    "properties": {"success": {"const": True}, "order_id": {"type": "string", "format": "uuid"},
                   "status": {"const": "canceled"}, "cancellation_reason": {"type": "string"},
                   "canceled_at": {"type": "string", "format": "date-time"}, "refunded": {"type": "boolean"},
                   "refund": {"oneOf": [REFUND, {"type": "null"}]}},
}
ORDER_ID = path_param("order_id", {"type": "string", "format": "uuid"})
UNAUTHENTICATED = ("No valid bearer token", ERROR)
FORBIDDEN = ("Only customers check out", ERROR)
UNAVAILABLE = ("Stripe is not configured, or did not answer", ERROR)
REFUSED = ("Stripe refused to open the page", ERROR)


def api() -> Api:
    operations = [
        Operation("post", f"{BASE}/checkout_session/", "Embedded Checkout for the caller's cart", TAG,
                  {200: ("The session's client secret, for Stripe.js initEmbeddedCheckout", CLIENT_SECRET),
                   400: ("The cart is empty, or a URL is not absolute", ERROR), 401: UNAUTHENTICATED,
                   403: FORBIDDEN, 404: ("A product in the cart is no longer sold", ERROR),
                   409: ("Not enough stock for a line of the cart", ERROR), 502: REFUSED, 503: UNAVAILABLE},
                  request=URLS),
        Operation("get", f"{BASE}/checkout_session/retry/{{order_id}}/", "The pending order's checkout again", TAG,
                  {200: ("The open session's client secret, or a new session's", CLIENT_SECRET),
                   401: UNAUTHENTICATED, 403: FORBIDDEN, 404: ("No such order of the caller's", ERROR),
                   409: ("The order is paid, expired or canceled", ERROR), 502: REFUSED, 503: UNAVAILABLE},
                  parameters=(ORDER_ID,)),
        Operation("post", f"{BASE}/orders/{{order_id}}/cancel/", "Cancel an order, refunding it when paid", TAG,
                  {200: ("Canceled; with the refund when money went back", CANCELED), 401: UNAUTHENTICATED,
                   404: ("No such order the caller may act on", ERROR),
                   409: ("The order can't be canceled now, or the provider did not give the money back", ERROR)},
                  request=CANCEL_BODY, parameters=(ORDER_ID,)),
        webhooks_stripe.operation(f"{BASE}/stripe_webhook/", TAG, Shape.ERROR),
    ]
    routes = [
        Route(f"{BASE}/checkout_session/", checkout_session, methods=["POST"]),
        Route(f"{BASE}/checkout_session/retry/{{order_id}}/", retry_checkout_session, methods=["GET"]),
        Route(f"{BASE}/orders/{{order_id}}/cancel/", cancel, methods=["POST"]),
        Route(f"{BASE}/stripe_webhook/", stripe_webhook, methods=["POST"]),
    ]
    from rest_compat import seed_000_market_api  # its routes import this module's order lookup

    return Api(routes + seed_000_market_api.routes(), operations + seed_000_market_api.operations(), BASE, ERRORS)
