"""Seed 004 (shared/seeds/004_91ad59b0795031d8.txt): a shop's payment API under /api/payment/.

    GET  configurations/                    the gateways this deployment offers (public keys only)
    GET  transactions/                      the caller's own payments, newest first
    GET  transactions/{transaction_id}/     one of them (staff: anyone's), by its TXN- number
    POST create-intent/                     {order_id, gateway}: a payment, not yet sent to the gateway
    POST process/                           {transaction_id, payment_method, payment_data}: charge the card
    POST refund/                            {transaction_id, reason, amount?}: refund all or part

Every path needs a bearer token (401 without one) and answers 200 on success (the seed shows no
other code), or 202 when the gateway hasn't decided yet (3-D Secure, a lost answer, a pending
refund). Objects and status words are in rest_compat/seed_004_shapes.py.

Decisions where the seed is silent:
- `create-intent/` is `create_payment` and `process/` is `authorize_payment`, the two halves of
  GraphQL's `processPayment`. Creating again for an order whose payment was never processed
  answers that same payment; an order already paid (or being paid) is a 400. `gateway` defaults
  to "dummy". The dummy's `client_secret` is "dummy_secret_<TXN>", as the seed shows; for another
  gateway it is the provider's, or "" until the provider has issued one.
- `process/` takes cards only (`payment_method` credit_card, debit_card or card) and needs
  `payment_data`: the seed's curl example, which sends none, gets a 400 saying so. A decline
  answers the seed's failure body, {"error": "Payment processing failed"}, with 400 (the seed
  shows no code; 400 over 402 because that is what Django REST framework apps give such a body),
  and the payment stays `failed` with the gateway's message in `error_message`: paying again
  starts with a new intent.
  The card number is never stored or logged: it lives in a CardInput for this request only.
- `refund/`: the seed says only "authenticated". Staff and admins may refund any transaction; the
  buyer may refund their own, here only (the legacy app allowed it; elsewhere customers ask with
  a refund request that staff decide). That is `RefundPayment(on_behalf_of_buyer=True)`, checked
  in the domain, never a faked staff caller. `amount` omitted or null refunds all that is left.
  A refund the gateway refuses answers {"error": "Refund processing failed"}, 400.
- Anyone else's transaction answers exactly as a missing one: 404. A seller of the order sees it
  through GraphQL, not here: this API is the buyer's (and staff's).
- `order_id` is read as Django REST framework's IntegerField reads it (7, 7.0 and "7").

Errors, one table (ANSWERS): {"detail": …} for what Django REST framework itself would say
(401, 403, 404, 400 for malformed or invalid input), {"error": …} for the business refusals
the legacy views wrote themselves (order already paid, nothing left to refund, wrong state,
declines). A refused request writes nothing.
"""
from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.transaction_queries import PaymentWithParties, payment_by_number, payments_of_buyer
from domain import errors
from domain.cards import CardInput
from domain.identity import Actor
from domain.money import Money
from domain.payments.model import Payment
from domain.payments.provider import Providers
from domain.payments.service import (AuthorizePayment, CreatePayment, RefundPayment, authorize_payment,
                                     create_payment, refund_payment)
from domain.payments.status import AttemptStatus, PaymentStatus
from rest_compat import seed_004_shapes as shapes
from rest_compat.http import (Handler, RestError, Shape, caller, endpoint, error_response, json_object,
                               services)
from rest_compat.openapi import Api, Operation, path_param

BASE = "/api/payment"
TAG = "seed 004: /api/payment/"
FAILED_PAYMENT = "Payment processing failed"
FAILED_REFUND = "Refund processing failed"
CARD_METHODS = ("credit_card", "debit_card", "card")
MAX_REASON = 500
MAX_ID = 2**31 - 1  # ids are 32-bit columns: a larger one can't exist
_TXN = re.compile(r"^TXN-[0-9A-F]{12,}$")

# Domain error -> (status, shape); the first that matches answers. A missing object and one the
# caller may not see answer alike (the domain raises NotFoundError for both).
ANSWERS: tuple[tuple[type[errors.PaymentsError], int, Shape], ...] = (
    (errors.NotFoundError, 404, Shape.DETAIL),
    (errors.NotAllowedError, 403, Shape.DETAIL),
    (errors.ValidationError, 400, Shape.DETAIL),  # bad amounts, currencies, cards
    (errors.RefundExceedsCapturedError, 400, Shape.ERROR),
    (errors.InvalidStateError, 400, Shape.ERROR),
    (errors.ConflictError, 400, Shape.ERROR),
    (errors.PaymentsError, 400, Shape.ERROR),
)

# (id, gateway, settings that must all be set, the setting holding its public key or None). The
# ids are fixed so that clients may keep them; the dummy is always there (CONTRACT.md). PayPal's
# client id and Razorpay's key id are public: their browser SDKs are given them.
GATEWAYS: tuple[tuple[int, str, tuple[str, ...], str | None], ...] = (
    (1, "dummy", (), None),
    (2, "stripe", ("stripe_api_key",), "stripe_publishable_key"),
    (3, "paypal", ("paypal_client_id", "paypal_client_secret"), "paypal_client_id"),
    (4, "razorpay", ("razorpay_key_id", "razorpay_key_secret"), "razorpay_key_id"),
    (5, "flutterwave", ("flutterwave_secret_key",), None),  # its public key is not among our settings
)
assert tuple(gateway for _, gateway, _, _ in GATEWAYS) == shapes.GATEWAY_NAMES
DUMMY_MERCHANT, DUMMY_PUBLIC_KEY = "dummy_merchant", "dummy_public_key"


def _answer(exc: errors.PaymentsError) -> Response:
    status, shape = next((status, shape) for kind, status, shape in ANSWERS if isinstance(exc, kind))
    message = exc.message
    if isinstance(exc, errors.NotFoundError):
        # Django's words, and nothing about what exists: the id asked for may be someone else's.
        kind = "Transaction" if exc.kind == "payment" else str(exc.kind).title()
        message = f"No {kind} matches the given query."
    return error_response(shape, status, message)


def route(handler: Handler) -> Handler:
    @endpoint(Shape.DETAIL)
    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except errors.PaymentsError as exc:
            return _answer(exc)

    return run


# --- reading the seed's requests -----------------------------------------------------------------

def _text(body: dict[str, Any], name: str, *, required: bool = True, default: str = "",
          max_length: int = 255, within: str = "", stored: bool = False) -> str:
    value, label = body.get(name), within + name
    if value is None:
        if required:
            raise RestError(400, f"{label}: this field is required.")
        return default
    if not isinstance(value, str):
        raise RestError(400, f"{label}: must be a string.")
    if len(value) > max_length:
        raise RestError(400, f"{label}: must be at most {max_length} characters.")
    if stored:
        if "\x00" in value:  # no database stores NUL in text
            raise RestError(400, f"{label}: must not contain NUL characters.")
        # JSON may carry a lone surrogate ("\ud800"), which UTF-8 can't encode: kept as U+FFFD.
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _integer(value: object, label: str) -> int:
    """As Django REST framework's IntegerField reads one: 7, 7.0 and "7" are 7; 7.5, "seven" and
    true are refused. (json_object hands over JSON numbers with a fraction or exponent as text.)"""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise RestError(400, f"{label}: a valid integer is required.")
    if number.adjusted() > 18:  # past every id; not worth a million-digit int
        return MAX_ID + 1 if number > 0 else -1
    return int(number)


def _transaction_number(value: str) -> str | None:
    number = value.strip().upper()
    return number if _TXN.match(number) else None


async def _transaction(request: Request, number: str) -> PaymentWithParties:
    """The transaction if the caller may see it: their own, or anyone's for staff; else 404."""
    actor = caller(request)
    found = None
    if (canonical := _transaction_number(number)) is not None:
        found = await payment_by_number(services(request).db, canonical)
    if found is None or not _may_see(actor, found.payment):
        raise errors.NotFoundError("payment", number)
    return found


def _may_see(actor: Actor, payment: Payment) -> bool:
    return actor.is_staff or payment.buyer_id == actor.user_id


def _card(data: object) -> CardInput:
    if data is None:
        raise RestError(400, "payment_data: this field is required: the card to charge, as "
                             "{card_number, expiry_month, expiry_year, cvv}.")
    if not isinstance(data, dict):
        raise RestError(400, "payment_data: must be an object.")
    for name in ("card_number", "cvv"):
        _text(data, name, max_length=32, within="payment_data.")
    for name in ("expiry_month", "expiry_year"):
        value = data.get(name)
        if value is None:
            raise RestError(400, f"payment_data.{name}: this field is required.")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RestError(400, f"payment_data.{name}: must be a string or an integer.")
    return CardInput(data["card_number"], data["expiry_month"], data["expiry_year"], data["cvv"])


def _amount(body: dict[str, Any], payment: Payment) -> Money | None:
    raw = body.get("amount")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise RestError(400, 'amount: must be a decimal string such as "150.00".')
    amount = Money.parse_decimal(raw, payment.amount.code)  # InvalidAmountError: 400
    if amount.minor <= 0:
        raise errors.InvalidAmountError(f"amount: must be positive, not {amount.decimal}")
    return amount


# --- the routes ---------------------------------------------------------------------------------

def _configurations(settings: Any, providers: Providers, configured_at: datetime) -> list[dict[str, Any]]:
    # The registry says what is offered (the dummy gateway is off in production unless enabled);
    # a gateway this seed knows but nobody built is not listed, whatever keys are set.
    offered = []
    for ident, gateway, needed, public_key_setting in GATEWAYS:
        if gateway not in providers or not all(getattr(settings, name, None) for name in needed):
            continue
        public_key = getattr(settings, public_key_setting, None) if public_key_setting else None
        offered.append({
            "id": ident, "gateway": gateway, "is_active": True,
            "merchant_id": DUMMY_MERCHANT if gateway == "dummy" else "",
            "public_key": DUMMY_PUBLIC_KEY if gateway == "dummy" else public_key or "",
            "currency": settings.default_currency,
            "created_at": shapes.timestamp(configured_at), "updated_at": shapes.timestamp(configured_at),
        })
    return offered


def configurations_route(configured_at: datetime) -> Handler:
    @route
    async def configurations(request: Request) -> Response:
        caller(request)
        s = services(request)
        return JSONResponse(_configurations(s.settings, s.providers, configured_at))

    return configurations


@route
async def transactions(request: Request) -> Response:
    actor = caller(request)
    found = await payments_of_buyer(services(request).db, actor.user_id)
    return JSONResponse([shapes.transaction(t.payment, t.order_number, t.buyer_email) for t in found])


@route
async def transaction_detail(request: Request) -> Response:
    found = await _transaction(request, request.path_params["transaction_id"])
    return JSONResponse(shapes.transaction(found.payment, found.order_number, found.buyer_email))


@route
async def create_intent(request: Request) -> Response:
    actor = caller(request)
    body = await json_object(request)
    order_id = _integer(body.get("order_id"), "order_id")
    if order_id < 1:
        raise RestError(400, "order_id: must be a positive integer.")
    if order_id > MAX_ID:
        raise errors.NotFoundError("order", order_id)
    gateway = _text(body, "gateway", required=False, default="dummy", max_length=32)
    s = services(request)
    offered = {c["gateway"]: c for c in _configurations(s.settings, s.providers, datetime.now(UTC))}
    if gateway not in offered:
        raise RestError(400, f"gateway: {gateway!r} is not an active gateway; "
                             f"choose one of {sorted(offered)}.")
    payment = await create_payment(CreatePayment(actor, order_id, gateway), s.uow(request), s.providers,
                                   s.policy)
    secret = payment.client_secret or (f"dummy_secret_{payment.number}" if gateway == "dummy" else "")
    return JSONResponse({"transaction_id": payment.number, "amount": payment.amount.decimal,
                         "currency": payment.amount.code, "gateway": payment.provider,
                         "client_secret": secret, "publishable_key": offered[gateway]["public_key"]})


@route
async def process(request: Request) -> Response:
    actor = caller(request)
    body = await json_object(request)
    number = _text(body, "transaction_id", max_length=64)
    method = _text(body, "payment_method")
    if method not in CARD_METHODS:
        raise RestError(400, f"payment_method: {method!r} is not supported; use one of {list(CARD_METHODS)}.")
    card = _card(body.get("payment_data"))
    found = await _transaction(request, number)
    s = services(request)
    payment = await authorize_payment(AuthorizePayment(actor, found.payment.id, card), s.uow(request),
                                      s.providers, s.policy)
    if payment.status is PaymentStatus.FAILED:
        return error_response(Shape.ERROR, 400, FAILED_PAYMENT)
    status = shapes.transaction_status(payment)
    if payment.status is PaymentStatus.SUCCEEDED:
        return JSONResponse({"message": "Payment processed successfully", "transaction_id": payment.number,
                             "status": status})
    return JSONResponse({"message": "Payment is being processed", "transaction_id": payment.number,
                         "status": status}, status_code=202)


@route
async def refund(request: Request) -> Response:
    actor = caller(request)
    body = await json_object(request)
    number = _text(body, "transaction_id", max_length=64)
    reason = _text(body, "reason", required=False, max_length=MAX_REASON, stored=True)
    found = await _transaction(request, number)
    amount = _amount(body, found.payment)
    s = services(request)
    payment, attempt = await refund_payment(
        RefundPayment(actor, found.payment.id, amount, reason or None, on_behalf_of_buyer=True),
        s.uow(request), s.providers, s.policy)
    if attempt.status is AttemptStatus.FAILED:
        return error_response(Shape.ERROR, 400, FAILED_REFUND)
    return JSONResponse(shapes.refund(payment, attempt),
                        status_code=200 if attempt.status is AttemptStatus.SUCCEEDED else 202)


# --- the API and its OpenAPI operations ---------------------------------------------------------

def api() -> Api:
    configured_at = datetime.now(UTC)  # the gateways are read from the settings at start-up
    unauthenticated = shapes.detail("no valid bearer token")
    not_found = shapes.detail("no such transaction, or someone else's")
    routes = [
        Route(f"{BASE}/configurations/", configurations_route(configured_at), methods=["GET"]),
        Route(f"{BASE}/transactions/", transactions, methods=["GET"]),
        Route(f"{BASE}/transactions/{{transaction_id}}/", transaction_detail, methods=["GET"]),
        Route(f"{BASE}/create-intent/", create_intent, methods=["POST"]),
        Route(f"{BASE}/process/", process, methods=["POST"]),
        Route(f"{BASE}/refund/", refund, methods=["POST"]),
    ]
    replay = {409: shapes.error("the same Idempotency-Key is still being answered"),
              422: shapes.error("the Idempotency-Key was used for another request")}
    operations = [
        Operation("get", f"{BASE}/configurations/", "Get payment configurations", TAG,
                  {200: ("the active gateways", {"type": "array", "items": shapes.CONFIGURATION_SCHEMA}),
                   401: unauthenticated}),
        Operation("get", f"{BASE}/transactions/", "Get the caller's transactions, newest first", TAG,
                  {200: ("the caller's own transactions",
                         {"type": "array", "items": shapes.TRANSACTION_SCHEMA}),
                   401: unauthenticated}),
        Operation("get", f"{BASE}/transactions/{{transaction_id}}/", "Get a transaction's details", TAG,
                  {200: ("the transaction", shapes.TRANSACTION_SCHEMA), 401: unauthenticated, 404: not_found},
                  parameters=(path_param("transaction_id", {"type": "string"}, "its TXN- number"),)),
        Operation("post", f"{BASE}/create-intent/", "Create a payment intent for an order", TAG,
                  {200: ("the transaction, not yet processed", shapes.INTENT_SCHEMA),
                   400: shapes.detail_or_error("invalid input (detail), or the order can't be paid now "
                                               "(error)"),
                   401: unauthenticated, 404: shapes.detail("no such order, or someone else's"), **replay},
                  request=shapes.CREATE_INTENT_REQUEST),
        Operation("post", f"{BASE}/process/", "Charge a card for a transaction", TAG,
                  {200: ("processed", shapes.PROCESSED_SCHEMA),
                   202: ("the gateway hasn't decided yet (3-D Secure, or its answer was lost)",
                         shapes.PROCESSED_SCHEMA),
                   400: shapes.detail_or_error('invalid input (detail); declined: {"error": "Payment '
                                               'processing failed"}; already processed (error)'),
                   401: unauthenticated, 404: not_found, **replay},
                  request=shapes.PROCESS_REQUEST),
        Operation("post", f"{BASE}/refund/", "Refund all or part of a transaction", TAG,
                  {200: ("refunded", shapes.REFUND_SCHEMA),
                   202: ("the gateway hasn't answered yet", shapes.REFUND_SCHEMA),
                   400: shapes.detail_or_error("invalid input (detail); more than is left, not refundable, "
                                               'or {"error": "Refund processing failed"} (error)'),
                   401: unauthenticated, 404: not_found, **replay},
                  request=shapes.REFUND_REQUEST),
    ]
    return Api(routes, operations)
