"""Seed 002 (shared/seeds/002_ccaab19aa7d62390.txt), direct Stripe PaymentIntents under
/api/v1/payments/stripe/, answering as the seed shows; errors are {"error": "…"}.

    POST create-payment-intent/   a payment for an amount (no order: a course, a top-up), opened at
                                  Stripe for Stripe.js to confirm: its id and client secret
    POST confirm-payment/         after Stripe.js confirmed it: Stripe is asked how it went and the
                                  answer booked; {"confirmed": true} once the money is authorized
    POST retrieve-payment/        the payment as paygate knows it, in Stripe's words

The payment is the caller's (another user's answers 404, staff see any). Amounts arrive as JSON
numbers in major units (29.99): read exactly from the JSON text (never through float), refused with
more decimals than the currency has, or above 99,999,999 minor units (Stripe's limit); answers give
the currency's minor units (2999), which are Stripe's for every currency but ISK. Customers and
subscriptions are rest_compat/seed_002_billing.py; the webhook is rest_compat/webhooks_stripe.py.

How our payment statuses read in Stripe's PaymentIntent words (a payment opened for Stripe.js
waits for the customer's card, which Stripe calls requires_payment_method):

    requires_payment_method, requires_action   requires_payment_method
    processing, requires_capture, succeeded    the same
    canceled, failed                           canceled
"""
from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.payment_queries import payment_by_provider_ref
from domain.money import Money
from domain.payments.checkout import OpenDirectPayment, open_direct_payment
from domain.payments.model import Payment
from domain.payments.provider import CheckoutKind
from domain.payments.service import ConfirmPayment, confirm_payment
from domain.payments.status import AttemptKind, PaymentStatus
from rest_compat import stripe_checkout
from rest_compat.errors import ErrorTable
from rest_compat.http import RestError, Shape, caller, database, json_object, services
from rest_compat.openapi import JSON, Api, Operation, error_schema

BASE = "/api/v1/payments/stripe"
SEED_002_BASE = "/api/v1/payments"  # the seed's base: one mount for its Stripe paths and webhooks
# This API's one error table (rest_compat/errors.py), registered on its mount.
ERRORS = ErrorTable(Shape.ERROR)
INTENT_ID_FORMAT = re.compile(r"pi_[A-Za-z0-9_]{1,252}")

TAG = "seed 002 (/api/v1/payments/)"
NOT_FOUND = "Payment intent not found."
S = PaymentStatus
STRIPE_STATUS = {S.REQUIRES_PAYMENT_METHOD: "requires_payment_method", S.REQUIRES_ACTION: "requires_payment_method",
                 S.PROCESSING: "processing", S.REQUIRES_CAPTURE: "requires_capture", S.SUCCEEDED: "succeeded",
                 S.CANCELED: "canceled", S.FAILED: "canceled"}
assert set(STRIPE_STATUS) == set(PaymentStatus)
CONFIRMED = (S.REQUIRES_CAPTURE, S.SUCCEEDED)


def _amount(body: dict[str, Any]) -> Money:
    code = body.get("currency")
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha()):
        raise RestError(400, "currency must be a three-letter ISO 4217 code, like \"usd\"")
    raw = body.get("amount")
    # json_object keeps a JSON number's own text (29.99 arrives as "29.99"); bool is an int in Python.
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise RestError(400, "amount must be a number in major units, like 29.99")
    amount = Money.parse_decimal(raw, code.upper())  # InvalidAmountError, UnknownCurrencyError: 400
    if amount.minor <= 0:
        raise RestError(400, "amount must be positive")
    return amount


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    metadata = body.get("metadata", {})
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in metadata.values()):
        raise RestError(400, "metadata must be an object of strings")
    return {str(k): str(v) for k, v in metadata.items()}


def _intent_id(body: dict[str, Any]) -> str:
    ref = body.get("payment_intent_id")
    # Stripe's ids are ASCII letters, digits and underscores: anything else is no id of ours (and
    # a NUL or a lone surrogate would fail in the database instead of here).
    if not (isinstance(ref, str) and INTENT_ID_FORMAT.fullmatch(ref)):
        raise RestError(400, "payment_intent_id must be a Stripe PaymentIntent id (pi_…)")
    return ref


async def _payment(request: Request, ref: str) -> Payment:
    actor = caller(request)
    payment = await payment_by_provider_ref(database(request), stripe_checkout.PROVIDER, ref)
    if payment is None or not (payment.buyer_id == actor.user_id or actor.is_staff):
        raise RestError(404, NOT_FOUND)
    return payment


async def create_payment_intent(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await json_object(request)
    cmd = OpenDirectPayment(actor, _amount(body), stripe_checkout.PROVIDER, CheckoutKind.ELEMENTS,
                            metadata=_metadata(body))
    stripe_checkout.require_stripe(request)  # after the input's checks: bad input is 400 either way
    svc = services(request)
    payment = await open_direct_payment(cmd, svc.uow(), svc.providers, svc.policy)
    if payment.status is S.FAILED:
        raise RestError(502, f"Stripe refused the payment intent: {payment.decline_message or payment.decline_code}")
    stripe_checkout.opened(payment)
    return JSONResponse({"payment_intent_id": payment.provider_ref, "client_secret": payment.client_secret,
                         "status": STRIPE_STATUS[payment.status], "amount": payment.amount.minor,
                         "currency": payment.amount.code.lower()})


async def confirm(request: Request) -> JSONResponse:
    actor = caller(request)
    ref = _intent_id(await json_object(request))
    stripe_checkout.require_stripe(request)  # after the input's checks: bad input is 400 either way
    payment = await _payment(request, ref)
    if payment.in_flight(AttemptKind.AUTHORIZE):
        svc = services(request)
        payment = await confirm_payment(ConfirmPayment(actor, payment.id), svc.uow(),
                                        svc.providers, svc.policy)
    if payment.status is S.FAILED or payment.status is S.CANCELED:
        raise RestError(400, payment.decline_message or f"The payment was {STRIPE_STATUS[payment.status]}.")
    return JSONResponse({"confirmed": payment.status in CONFIRMED, "payment_intent_id": payment.provider_ref})


async def retrieve(request: Request) -> JSONResponse:
    payment = await _payment(request, _intent_id(await json_object(request)))
    return JSONResponse({"payment_intent_id": payment.provider_ref, "status": STRIPE_STATUS[payment.status],
                         "amount": payment.amount.minor, "currency": payment.amount.code.lower(),
                         "created": int(payment.created_at.timestamp()), "metadata": payment.metadata})


ERROR = error_schema(Shape.ERROR.value)
INTENT_ID: JSON = {"type": "string", "pattern": "^pi_", "examples": ["pi_1234567890"]}
STATUS: JSON = {"enum": sorted(set(STRIPE_STATUS.values()))}
METADATA: JSON = {"type": "object", "additionalProperties": {"type": "string"}}
ASK: JSON = {"type": "object", "required": ["payment_intent_id"], "properties": {"payment_intent_id": INTENT_ID}}
CREATE: JSON = {"type": "object", "required": ["amount", "currency"], "properties": {
    "amount": {"type": "number", "exclusiveMinimum": 0, "examples": [29.99]},
    "currency": {"type": "string", "minLength": 3, "maxLength": 3, "examples": ["usd"]}, "metadata": METADATA}}
CREATED: JSON = {"type": "object", "required": ["payment_intent_id", "client_secret", "status", "amount", "currency"],
                 "additionalProperties": False, "properties": {
                     "payment_intent_id": INTENT_ID, "client_secret": {"type": "string"}, "status": STATUS,
                     "amount": {"type": "integer"}, "currency": {"type": "string"}}}
CONFIRMED_SCHEMA: JSON = {"type": "object", "required": ["confirmed", "payment_intent_id"],
                          "additionalProperties": False,
                          "properties": {"confirmed": {"type": "boolean"}, "payment_intent_id": INTENT_ID}}
RETRIEVED: JSON = {"type": "object",
                   "required": ["payment_intent_id", "status", "amount", "currency", "created", "metadata"],
                   "additionalProperties": False, "properties": {
                       "payment_intent_id": INTENT_ID, "status": STATUS, "amount": {"type": "integer"},
                       "currency": {"type": "string"}, "created": {"type": "integer"}, "metadata": METADATA}}
UNAUTHENTICATED = ("No valid bearer token", ERROR)
NOT_YOURS = ("No such payment intent of the caller's", ERROR)
UNAVAILABLE = ("Stripe is not configured, or did not answer", ERROR)


def api() -> Api:
    operations = [
        Operation("post", f"{BASE}/create-payment-intent/", "A PaymentIntent for an amount, for Stripe.js", TAG,
                  {200: ("Opened at Stripe; confirm it with the client secret", CREATED),
                   400: ("Bad amount, currency or metadata", ERROR), 401: UNAUTHENTICATED,
                   502: ("Stripe refused it", ERROR), 503: UNAVAILABLE}, request=CREATE),
        Operation("post", f"{BASE}/confirm-payment/", "Book how the customer's confirmation went", TAG,
                  {200: ("Confirmed once the money is authorized", CONFIRMED_SCHEMA),
                   400: ("Declined or canceled, or a bad id", ERROR), 401: UNAUTHENTICATED, 404: NOT_YOURS,
                   409: ("The payment can't be confirmed now", ERROR), 503: UNAVAILABLE}, request=ASK),
        Operation("post", f"{BASE}/retrieve-payment/", "A payment intent as paygate knows it", TAG,
                  {200: ("The payment intent", RETRIEVED), 400: ("A bad id", ERROR), 401: UNAUTHENTICATED,
                   404: NOT_YOURS}, request=ASK),
    ]
    routes = [
        Route(f"{BASE}/create-payment-intent/", create_payment_intent, methods=["POST"]),
        Route(f"{BASE}/confirm-payment/", confirm, methods=["POST"]),
        Route(f"{BASE}/retrieve-payment/", retrieve, methods=["POST"]),
    ]
    return Api(routes, operations, SEED_002_BASE, ERRORS)
