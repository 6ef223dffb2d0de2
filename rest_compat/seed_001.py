"""Seed 001 (shared/seeds/001_4c8e771298832198.txt) under /orders/api/: a shop paid by cash on
delivery, Stripe or a generic online gateway, answering like Django REST framework.

    GET  payments/                 the caller's payments, newest first, PageNumberPagination
    GET  payments/{id}/            one of them; 404 {"detail": "Not found."} for a missing id or
                                   another user's
    POST create-stripe-order/      the cart, shipped to one of the caller's addresses, as an order
                                   holding its stock, paid on Stripe Checkout's hosted page:
                                   {"id": "cs_…", "url": "https://checkout.stripe.com/…"}
    POST stripe-webhook/           Stripe's signed events (rest_compat/webhooks_stripe.py), the
                                   seed's checkout.session.completed among them
    POST payment-webhook/          the generic online gateway (rest_compat/webhooks_gateway.py)

Pages: `?page=N` (or `last`) and `?page_size=` up to 100 (10 by default; a bad or zero size means
the default, a larger one 100), `next`/`previous` absolute links that keep the other query
parameters, and 404 {"detail": "Invalid page."} for a page past the end or not a number, as DRF's
PageNumberPagination answers.

How our payments read in the seed's words:

    provider                              method      payment status (refunds)      status
    dummy, online, paypal, razorpay,      ONLINE      requires_payment_method,      pending
      flutterwave (any other provider)                requires_action
    stripe                                stripe      processing, requires_capture  processing
    cod (cash on delivery, none yet)      COD         succeeded (none or partial)   completed
                                                      succeeded (refunded in full)  refunded
                                                      failed, canceled              failed

`transaction_id` is the provider's reference (the online gateway's `txn_…` payment id), null
before the provider named one (as cash on delivery never does).
"""
from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.seed001_queries import buyer_payment, buyer_payments_page, count_buyer_payments
from domain.payments import Payment, PaymentStatus, RefundStatus
from domain.payments.provider import CheckoutKind
from rest_compat import stripe_checkout, webhooks_gateway, webhooks_stripe
from rest_compat.errors import ErrorTable
from rest_compat.http import RestError, Shape, caller, database, json_object
from rest_compat.openapi import JSON, Api, Operation, error_schema, path_param, query_param

BASE = "/orders/api"
# This API's one error table (rest_compat/errors.py), registered on its mount.
ERRORS = ErrorTable(Shape.DETAIL)

TAG = "seed 001 (/orders/api/)"
PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database

METHODS = {"cod": "COD", "stripe": "stripe", "dummy": "ONLINE", "online": "ONLINE", "paypal": "ONLINE",
           "razorpay": "ONLINE", "flutterwave": "ONLINE"}
DEFAULT_METHOD = "ONLINE"
STATUSES = {
    PaymentStatus.REQUIRES_PAYMENT_METHOD: "pending",
    PaymentStatus.REQUIRES_ACTION: "pending",
    PaymentStatus.PROCESSING: "processing",
    PaymentStatus.REQUIRES_CAPTURE: "processing",
    PaymentStatus.SUCCEEDED: "completed",  # "refunded" once refunded in full
    PaymentStatus.FAILED: "failed",
    PaymentStatus.CANCELED: "failed",
}
assert set(STATUSES) == set(PaymentStatus)

NOT_FOUND = "Not found."
INVALID_PAGE = "Invalid page."


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_status(payment: Payment) -> str:
    if payment.status is PaymentStatus.SUCCEEDED and payment.refund_status is RefundStatus.REFUNDED:
        return "refunded"
    return STATUSES[payment.status]


def payment_json(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order": payment.order_id,
        "user": payment.buyer_id,
        "amount": payment.amount.decimal,
        "method": METHODS.get(payment.provider, DEFAULT_METHOD),
        "status": seed_status(payment),
        "transaction_id": payment.provider_ref,
        "created_at": timestamp(payment.created_at),
        "updated_at": timestamp(payment.updated_at),
    }


def _positive(text: str | None) -> int | None:
    """A positive integer written in ASCII digits, else None (long ones too: no id has 19 digits)."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text) or None


async def list_payments(request: Request) -> JSONResponse:
    actor = caller(request)
    db = database(request)
    size = min(_positive(request.query_params.get("page_size")) or PAGE_SIZE, MAX_PAGE_SIZE)
    count = await count_buyer_payments(db, actor.user_id)
    pages = max(1, math.ceil(count / size))
    asked = request.query_params.get("page") or "1"
    page = pages if asked == "last" else _positive(asked)
    if page is None or page > pages:
        raise RestError(404, INVALID_PAGE)
    payments = await buyer_payments_page(db, actor.user_id, offset=(page - 1) * size, limit=size)
    url = request.url
    previous = None
    if page > 1:  # as DRF: the first page's link has no `page`
        previous = url.remove_query_params("page") if page == 2 else url.include_query_params(page=page - 1)
    return JSONResponse({
        "count": count,
        "next": str(url.include_query_params(page=page + 1)) if page < pages else None,
        "previous": str(previous) if previous else None,
        "results": [payment_json(p) for p in payments],
    })


async def payment_detail(request: Request) -> JSONResponse:
    actor = caller(request)
    payment_id = _positive(request.path_params["id"])
    if payment_id is None or payment_id > MAX_ID:
        raise RestError(404, NOT_FOUND)
    payment = await buyer_payment(database(request), actor.user_id, payment_id)
    if payment is None:
        raise RestError(404, NOT_FOUND)
    return JSONResponse(payment_json(payment))


async def create_stripe_order(request: Request) -> JSONResponse:
    actor = caller(request)  # the use case decides who may
    body = await json_object(request)
    address = body.get("shipping_address")
    if type(address) is not int or not 0 < address <= MAX_ID:
        raise RestError(400, "shipping_address must be the id of one of your addresses")
    return_url, cancel_url = stripe_checkout.return_urls(request, body)
    stripe_checkout.require_stripe(request)  # after the input's checks: bad input is 400 either way
    payment = await stripe_checkout.cart_to_checkout_page(request, actor, CheckoutKind.HOSTED,
                                                          shipping_address_id=address, return_url=return_url,
                                                          cancel_url=cancel_url)
    return JSONResponse({"id": payment.provider_ref, "url": payment.redirect_url})


async def stripe_webhook(request: Request) -> JSONResponse:
    return await webhooks_stripe.handle(request)


DATE_TIME: JSON = {"type": "string", "format": "date-time"}
PAYMENT: JSON = {
    "type": "object",
    "required": ["id", "order", "user", "amount", "method", "status", "transaction_id", "created_at",
                 "updated_at"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "order": {"type": "integer"},
        "user": {"type": "integer"},
        "amount": {"type": "string", "pattern": r"^\d+(\.\d+)?$", "examples": ["1598.00"]},
        "method": {"enum": ["COD", "stripe", "ONLINE"]},
        "status": {"enum": ["pending", "processing", "completed", "failed", "refunded"]},
        "transaction_id": {"type": ["string", "null"]},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
    },
}
LINK: JSON = {"type": ["string", "null"], "format": "uri"}
PAGE: JSON = {
    "type": "object",
    "required": ["count", "next", "previous", "results"],
    "additionalProperties": False,
    "properties": {"count": {"type": "integer", "minimum": 0}, "next": LINK, "previous": LINK,
                   "results": {"type": "array", "items": PAYMENT}},
}
PAGE_NUMBER: JSON = {"anyOf": [{"type": "integer", "minimum": 1}, {"enum": ["last", ""]}]}
DETAIL = error_schema("detail")
UNAUTHENTICATED = ("Missing or invalid bearer token", DETAIL)
STRIPE_ORDER: JSON = {
    "type": "object", "required": ["id", "url"], "additionalProperties": False,
    "properties": {"id": {"type": "string", "examples": ["cs_test_123456"]},
                   "url": {"type": "string", "format": "uri",
                           "examples": ["https://checkout.stripe.com/c/pay/cs_test_123456"]}}}


def operations() -> list[Operation]:
    return [
        Operation("get", f"{BASE}/payments/", "The caller's payments, newest first, page by page", TAG,
                  {200: ("A page of payments", PAGE), 401: UNAUTHENTICATED,
                   404: ("Invalid page: past the last one, or not a number", DETAIL)},
                  parameters=(
                      query_param("page", PAGE_NUMBER, "1-based page number, or `last` (empty: the first)"),
                      # Any value, as DRF reads it: a larger size is read as the largest, a value
                      # that is not a positive integer as the default.
                      query_param("page_size", {"type": "string", "examples": ["10", str(MAX_PAGE_SIZE)]},
                                  f"payments per page: {PAGE_SIZE} by default, {MAX_PAGE_SIZE} at most"))),
        Operation("get", f"{BASE}/payments/{{id}}/", "One of the caller's payments", TAG,
                  {200: ("The payment", PAYMENT), 401: UNAUTHENTICATED,
                   404: ("No such payment, or another user's", DETAIL)},
                  parameters=(path_param("id", {"type": "integer", "minimum": 1}, "the payment's id"),)),
        Operation("post", f"{BASE}/create-stripe-order/", "Stripe Checkout (hosted page) for the caller's cart",
                  TAG,
                  {200: ("The Checkout Session: redirect the customer to `url`", STRIPE_ORDER),
                   400: ("Empty cart, bad shipping_address or URL", DETAIL), 401: UNAUTHENTICATED,
                   403: ("Only customers check out", DETAIL),
                   404: ("No such address of the caller's, or a product no longer sold", DETAIL),
                   409: ("Not enough stock for a line of the cart", DETAIL),
                   502: ("Stripe refused to open the page", DETAIL),
                   503: ("Stripe is not configured, or did not answer", DETAIL)},
                  request={"type": "object", "required": ["shipping_address"],
                           "properties": {"shipping_address": {"type": "integer", "minimum": 1},
                                          "return_url": {"type": "string", "format": "uri"},
                                          "cancel_url": {"type": "string", "format": "uri"}}}),
        webhooks_stripe.operation(f"{BASE}/stripe-webhook/", TAG, Shape.DETAIL),
    ]


def api() -> Api:
    routes = [
        Route(f"{BASE}/payments/", list_payments, methods=["GET"]),
        Route(f"{BASE}/payments/{{id}}/", payment_detail, methods=["GET"]),
        Route(f"{BASE}/create-stripe-order/", create_stripe_order, methods=["POST"]),
        Route(f"{BASE}/stripe-webhook/", stripe_webhook, methods=["POST"]),
        *webhooks_gateway.routes(BASE),
    ]
    return Api(routes, operations() + webhooks_gateway.operations(BASE, TAG), BASE, ERRORS)
