"""Seed 002's PayPal paths (shared/seeds/002_ccaab19aa7d62390.txt) under /api/v1/payments/paypal/,
answering as the seed shows; errors are {"error": "…"} (seed_002.ERRORS).

    POST create-order/     a payment for an amount, opened as a PayPal order (intent CAPTURE) for
                           the buyer to approve: its id, status and `approval_url`, and `links`
    POST capture-order/    after the buyer approved: PayPal is asked, the order captured and the
                           answer booked; {"captured": true} once the money is ours
    POST get-order/        the order as paygate knows it, in PayPal's words (and its captures' ids,
                           which refund-payment takes)
    POST refund-payment/   staff refund a capture, in full or in part

The payment is the caller's (another user's answers 404, staff see any); refunds are staff's (a
customer is answered 403, whoever's payment it is). Amounts arrive as JSON numbers in major units
(29.99), read exactly (never through float), refused with more decimals than the currency has;
PayPal's own rules (its currencies; HUF, JPY and TWD in whole units) are the provider's to say
(`PayPalProvider.check_amount`, asked by the use cases before anything is written), so an amount
PayPal can't take is a 400 here too. Answers give PayPal's `{"currency_code", "value"}`. The
webhook is rest_compat/webhooks_paypal.py.

How our payment statuses read as a PayPal order's:

    requires_payment_method, requires_action   CREATED (waiting for the buyer's approval)
    processing                                 APPROVED (a capture PayPal holds as pending)
    requires_capture, succeeded                COMPLETED
    canceled, failed                           VOIDED
"""
from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.payment_queries import payment_by_provider_ref
from db.paypal_queries import captures_of_order, order_of_capture
from domain.identity import Role
from domain.money import Money
from domain.payments.checkout import OpenDirectPayment, open_direct_payment
from domain.payments.model import Attempt, Payment
from domain.payments.provider import CaptureMethod, CheckoutKind
from domain.payments.service import ConfirmPayment, RefundPayment, confirm_payment, refund_payment
from domain.payments.status import AttemptKind, AttemptStatus, PaymentStatus
from domain.text import optional_text
from rest_compat.http import RestError, caller, client_key, database, json_object, services, settings
from rest_compat.openapi import JSON, Api, Operation
from rest_compat.seed_002 import ERROR, ERRORS, SEED_002_BASE, TAG, UNAUTHENTICATED

BASE = "/api/v1/payments/paypal"
PROVIDER = "paypal"
ID_FORMAT = re.compile(r"[A-Z0-9]{1,64}")  # PayPal's order, capture and refund ids
NOT_FOUND = "PayPal order not found."
MAX_TEXT = 127
S = PaymentStatus
ORDER_STATUS = {S.REQUIRES_PAYMENT_METHOD: "CREATED", S.REQUIRES_ACTION: "CREATED", S.PROCESSING: "APPROVED",
                S.REQUIRES_CAPTURE: "COMPLETED", S.SUCCEEDED: "COMPLETED", S.CANCELED: "VOIDED", S.FAILED: "VOIDED"}
assert set(ORDER_STATUS) == set(PaymentStatus)
REFUND_STATUS = {AttemptStatus.SUCCEEDED: "COMPLETED", AttemptStatus.PENDING: "PENDING",
                 AttemptStatus.UNKNOWN: "PENDING", AttemptStatus.FAILED: "FAILED"}


def _require_paypal(request: Request) -> None:
    if PROVIDER not in services(request).providers:
        raise RestError(503, "PayPal is not configured on this server.")


def _amount(body: dict[str, Any]) -> Money:
    code = body.get("currency")
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha()):
        raise RestError(400, "currency must be a three-letter ISO 4217 code, like \"USD\"")
    raw = body.get("amount")
    # json_object keeps a JSON number's own text (29.99 arrives as "29.99"); bool is an int in Python.
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise RestError(400, "amount must be a number in major units, like 29.99")
    amount = Money.parse_decimal(raw, code.upper())  # InvalidAmountError, UnknownCurrencyError: 400
    if amount.minor <= 0:
        raise RestError(400, "amount must be positive")
    return amount  # what PayPal itself can't take, the use case refuses (Providers.check_amount)


def _id(body: dict[str, Any], name: str) -> str:
    ref = body.get(name)
    if not (isinstance(ref, str) and ID_FORMAT.fullmatch(ref)):
        raise RestError(400, f"{name} must be a PayPal id (capital letters and digits)")
    return ref


async def _payment(request: Request, order_id: str) -> Payment:
    actor = caller(request)
    payment = await payment_by_provider_ref(database(request), PROVIDER, order_id)
    if payment is None or not (payment.buyer_id == actor.user_id or actor.is_staff):
        raise RestError(404, NOT_FOUND)
    return payment


# PayPal writes these currencies in whole units although ISO 4217 gives HUF and TWD two decimals
# (developer.paypal.com/api/rest/reference/currency-codes/). Only for showing amounts already
# taken: the provider refused any with a fraction before they were recorded.
WHOLE_UNITS = frozenset({"HUF", "JPY", "TWD"})


def _wire(amount: Money) -> dict[str, str]:
    """An amount as the seed shows PayPal's: `{"currency_code", "value"}`, value a decimal string."""
    whole, fraction = divmod(amount.minor, 10 ** amount.currency.exponent)
    if amount.code in WHOLE_UNITS and not fraction:
        return {"currency_code": amount.code, "value": str(whole)}
    return {"currency_code": amount.code, "value": amount.decimal}


def _time(payment: Payment, which: str) -> str:
    return getattr(payment, which).strftime("%Y-%m-%dT%H:%M:%SZ")


async def create_order(request: Request) -> JSONResponse:
    actor = caller(request)
    body = await json_object(request)
    amount = _amount(body)
    metadata = {name: text for name in ("description", "custom_id")
                if (text := optional_text(body.get(name), name, max_length=MAX_TEXT))}
    _require_paypal(request)  # after the input's checks: bad input is 400 either way
    svc = services(request)
    payment = await open_direct_payment(OpenDirectPayment(actor, amount, PROVIDER, CheckoutKind.ELEMENTS,
                                                          CaptureMethod.AUTOMATIC, metadata),
                                        svc.uow(), svc.providers, svc.policy)
    if payment.status is S.FAILED:
        raise RestError(502, f"PayPal refused the order: {payment.decline_message or payment.decline_code}")
    if payment.status is not S.REQUIRES_ACTION or not payment.provider_ref:
        raise RestError(503, "PayPal did not answer; send the same request again later.")
    api_base = getattr(settings(request), "paypal_api_base", "https://api-m.sandbox.paypal.com").rstrip("/")
    links = [{"href": f"{api_base}/v2/checkout/orders/{payment.provider_ref}", "rel": "self", "method": "GET"},
             {"href": payment.redirect_url, "rel": "approve", "method": "GET"}]
    return JSONResponse({"order_id": payment.provider_ref, "status": ORDER_STATUS[payment.status],
                         "approval_url": payment.redirect_url, "links": links})


async def capture_order(request: Request) -> JSONResponse:
    actor = caller(request)
    order_id = _id(await json_object(request), "order_id")
    _require_paypal(request)
    payment = await _payment(request, order_id)
    if payment.in_flight(AttemptKind.AUTHORIZE):
        svc = services(request)
        payment = await confirm_payment(ConfirmPayment(actor, payment.pk), svc.uow(), svc.providers, svc.policy)
    opened = payment.in_flight(AttemptKind.AUTHORIZE)
    if opened and opened[-1].status is AttemptStatus.UNKNOWN:
        raise RestError(503, "PayPal did not answer; send the same request again later.")
    if payment.status in (S.FAILED, S.CANCELED):
        raise RestError(400, payment.decline_message or "The PayPal order was voided.")
    if payment.status is S.REQUIRES_ACTION:
        if payment.decline_code:  # PayPal refused the buyer's funding source: they may choose another
            raise RestError(400, payment.decline_message or f"PayPal declined it ({payment.decline_code}).")
        raise RestError(400, "The buyer has not approved the PayPal order yet: send them to its approval_url.")
    return JSONResponse({"order_id": order_id, "captured": payment.status is S.SUCCEEDED})


async def get_order(request: Request) -> JSONResponse:
    payment = await _payment(request, _id(await json_object(request), "order_id"))
    unit: dict[str, Any] = {"amount": _wire(payment.amount)}
    captures = await captures_of_order(database(request), str(payment.provider_ref))
    if captures:
        unit["payments"] = {"captures": [{"id": capture_id} for capture_id in captures]}
    return JSONResponse({"order_id": payment.provider_ref, "status": ORDER_STATUS[payment.status],
                         "intent": "CAPTURE" if payment.capture_method is CaptureMethod.AUTOMATIC else "AUTHORIZE",
                         "purchase_units": [unit], "create_time": _time(payment, "created_at"),
                         "update_time": _time(payment, "updated_at")})


async def refund(request: Request) -> JSONResponse:
    # Staff's, refused before the capture is looked up: a customer's 403 says nothing of whether
    # the capture exists (the use case refuses them too).
    actor = caller(request, Role.STAFF, Role.ADMIN)
    body = await json_object(request)
    capture_id = _id(body, "capture_id")
    amount = None if body.get("amount") is None else _amount(body)  # none: all that is left
    note = optional_text(body.get("note_to_payer"), "note_to_payer", max_length=255)
    _require_paypal(request)
    order_id = await order_of_capture(database(request), capture_id)
    payment = await payment_by_provider_ref(database(request), PROVIDER, order_id) if order_id else None
    if payment is None:
        raise RestError(404, "PayPal capture not found.")
    svc = services(request)
    # The client's Idempotency-Key: sent again after an answer that never came, it resumes the
    # refund it started (with its own PayPal-Request-Id) instead of refunding again.
    payment, attempt = await refund_payment(RefundPayment(actor, payment.pk, amount, note, client_key(request)),
                                            svc.uow(), svc.providers, svc.policy)
    if attempt.status is AttemptStatus.FAILED:
        raise RestError(400, f"PayPal refused the refund ({attempt.decline_code}).")
    return JSONResponse(_refund(attempt), status_code=200 if attempt.status is AttemptStatus.SUCCEEDED else 202)


def _refund(attempt: Attempt) -> dict[str, Any]:
    return {"refund_id": attempt.provider_ref, "status": REFUND_STATUS[attempt.status],
            "amount": _wire(attempt.amount), "create_time": attempt.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")}


PAYPAL_ID: JSON = {"type": "string", "pattern": "^[A-Z0-9]+$", "examples": ["5O190127TN364715T"]}
AMOUNT: JSON = {"type": "object", "required": ["currency_code", "value"], "additionalProperties": False,
                "properties": {"currency_code": {"type": "string"}, "value": {"type": "string", "examples": ["29.99"]}}}
LINK: JSON = {"type": "object", "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                                               "method": {"type": "string"}}}
ORDER_ASK: JSON = {"type": "object", "required": ["order_id"], "properties": {"order_id": PAYPAL_ID}}
CREATE: JSON = {"type": "object", "required": ["amount", "currency"], "properties": {
    "amount": {"type": "number", "exclusiveMinimum": 0, "examples": [29.99]},
    "currency": {"type": "string", "minLength": 3, "maxLength": 3, "examples": ["USD"]},
    "description": {"type": "string", "maxLength": MAX_TEXT}, "custom_id": {"type": "string", "maxLength": MAX_TEXT}}}
CREATED: JSON = {"type": "object", "required": ["order_id", "status", "approval_url", "links"], "properties": {
    "order_id": PAYPAL_ID, "status": {"type": "string"}, "approval_url": {"type": "string"},
    "links": {"type": "array", "items": LINK}}}
CAPTURED: JSON = {"type": "object", "required": ["order_id", "captured"],
                  "properties": {"order_id": PAYPAL_ID, "captured": {"type": "boolean"}}}
ORDER: JSON = {"type": "object", "required": ["order_id", "status", "intent", "purchase_units", "create_time",
                                              "update_time"], "properties": {
    "order_id": PAYPAL_ID, "status": {"enum": sorted(set(ORDER_STATUS.values()))},
    "intent": {"enum": ["CAPTURE", "AUTHORIZE"]},
    "purchase_units": {"type": "array", "items": {"type": "object", "properties": {"amount": AMOUNT}}},
    "create_time": {"type": "string"}, "update_time": {"type": "string"}}}
REFUND: JSON = {"type": "object", "required": ["capture_id"], "properties": {
    "capture_id": PAYPAL_ID, "amount": {"type": "number", "exclusiveMinimum": 0, "examples": [29.99]},
    "currency": {"type": "string", "examples": ["USD"]}, "note_to_payer": {"type": "string", "maxLength": 255}}}
REFUNDED: JSON = {"type": "object", "required": ["refund_id", "status", "amount", "create_time"], "properties": {
    "refund_id": {"type": ["string", "null"]}, "status": {"enum": ["COMPLETED", "PENDING"]}, "amount": AMOUNT,
    "create_time": {"type": "string"}}}
UNAVAILABLE = ("PayPal is not configured, or did not answer", ERROR)
NOT_YOURS = ("No such PayPal order of the caller's", ERROR)


def api() -> Api:
    operations = [
        Operation("post", f"{BASE}/create-order/", "A PayPal order for an amount, for the buyer to approve", TAG,
                  {200: ("Opened at PayPal; send the buyer to approval_url", CREATED),
                   400: ("Bad amount, currency or text", ERROR), 401: UNAUTHENTICATED,
                   502: ("PayPal refused it", ERROR), 503: UNAVAILABLE}, request=CREATE),
        Operation("post", f"{BASE}/capture-order/", "Capture an order the buyer approved", TAG,
                  {200: ("Captured (false while PayPal holds the capture as pending)", CAPTURED),
                   400: ("Not approved yet, declined or voided, or a bad id", ERROR), 401: UNAUTHENTICATED,
                   404: NOT_YOURS, 409: ("The order can't be captured now", ERROR), 503: UNAVAILABLE},
                  request=ORDER_ASK),
        Operation("post", f"{BASE}/get-order/", "A PayPal order as paygate knows it", TAG,
                  {200: ("The order", ORDER), 400: ("A bad id", ERROR), 401: UNAUTHENTICATED, 404: NOT_YOURS},
                  request=ORDER_ASK),
        Operation("post", f"{BASE}/refund-payment/", "Refund a capture, in full or in part (staff)", TAG,
                  {200: ("Refunded", REFUNDED), 202: ("PayPal holds the refund as pending", REFUNDED),
                   400: ("Bad amount, more than is left, or PayPal refused it", ERROR), 401: UNAUTHENTICATED,
                   403: ("Only staff refund", ERROR), 404: ("No such capture", ERROR), 503: UNAVAILABLE},
                  request=REFUND),
    ]
    routes = [Route(f"{BASE}/create-order/", create_order, methods=["POST"]),
              Route(f"{BASE}/capture-order/", capture_order, methods=["POST"]),
              Route(f"{BASE}/get-order/", get_order, methods=["POST"]),
              Route(f"{BASE}/refund-payment/", refund, methods=["POST"])]
    return Api(routes, operations, SEED_002_BASE, ERRORS)
