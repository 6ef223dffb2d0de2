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
- `process/` takes cards (`payment_method` credit_card, debit_card or card) and needs
  `payment_data`: the seed's curl example, which sends none, gets a 400 saying so. Every gateway
  `configurations/` lists is payable here: the dummy takes the card's details; Stripe takes
  `payment_data: {"payment_method": "pm_…"}` from Stripe.js (card numbers never reach paygate
  with Stripe, so raw details for it are a 400 before anything is recorded). A decline
  answers the seed's failure body, {"error": "Payment processing failed"}, with 400 (the seed
  shows no code; 400 over 402 because that is what Django REST framework apps give such a body),
  and the payment stays `failed` with the gateway's message in `error_message`: paying again
  starts with a new intent.
  The card number is never stored or logged: it lives in a CardInput for this request only.
- PayPal (`gateway: "paypal"`, when configured): the buyer approves on PayPal's side, so
  `create-intent/` opens the order's PayPal order at once (its `client_secret` is the PayPal order
  id, what PayPal's JS SDK buttons take in `createOrder`; creating again answers the same open
  order), and `process/` with `payment_method` "paypal" (no `payment_data`) captures it once the
  buyer approved: 200 captured, 202 while PayPal holds the capture or the buyer hasn't approved
  yet, 400 {"error": "Payment processing failed"} when PayPal refused it.
- `refund/`: the seed says only "authenticated". Staff and admins may refund any transaction; the
  buyer may refund their own, here only (the legacy app allowed it; elsewhere customers ask with
  a refund request that staff decide). That is the domain's own use case for this rule,
  `refund_own_payment`, never a faked staff caller. Sent again with the same Idempotency-Key
  after an answer that never came, it resumes the refund it started. `amount` omitted or null refunds all that is left.
  A refund the gateway refuses answers {"error": "Refund processing failed"}, 400.
- Anyone else's transaction answers exactly as a missing one: 404. A seller of the order sees it
  through GraphQL, not here: this API is the buyer's (and staff's).
- Razorpay and Flutterwave (offered when their keys are set) take payment in their own checkout:
  `create-intent/` opens it there (the same one again on a reload) and answers what the frontend
  needs besides the seed's fields: Razorpay's order (`gateway_order_id`, also the
  `client_secret`) with the key id as `publishable_key`; Flutterwave's hosted page as
  `redirect_url` (the request's `return_url` is where Flutterwave sends the customer back, the
  caller's origin + /payment/return by default). `process/` (`payment_method` the gateway's name,
  or a card word) completes it with what that checkout answered in `payment_data`, verified with
  the provider before anything is recorded (domain/payments/complete.py): a forged answer is a 400
  {"detail"} and changes nothing. A gateway that doesn't answer the opening is a 503 {"error"}.
- `order_id` is read as Django REST framework's IntegerField reads it (7, 7.0 and "7").

Errors, one table (ERRORS, registered on this API's mount): {"detail": …} for what Django REST framework itself would say
(401, 403, 404, 400 for malformed or invalid input), {"error": …} for the business refusals
the legacy views wrote themselves (order already paid, nothing left to refund, wrong state,
declines). A refused request writes nothing.
"""
from __future__ import annotations

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
from domain.payments.access import buyer_or_staff
from domain.payments.checkout import ResumePayment, resume_payment
from domain.payments.complete import CompletePayment, complete_payment
from domain.payments.model import Payment
from domain.payments.provider import Capability, CheckoutKind
from domain.payments.service import (
    AuthorizePayment,
    ConfirmPayment,
    CreatePayment,
    RefundOwnPayment,
    authorize_payment,
    confirm_payment,
    create_payment,
    refund_own_payment,
)
from domain.payments.status import AttemptKind, AttemptStatus, PaymentStatus
from rest_compat import seed_004_shapes as shapes
from rest_compat.errors import Answer, ErrorTable
from rest_compat.http import (
    Handler,
    RestError,
    Shape,
    caller,
    client_key,
    database,
    error_response,
    json_object,
    services,
    settings,
)
from rest_compat.openapi import Api, Operation, path_param

BASE = "/api/payment"
TAG = "seed 004: /api/payment/"
FAILED_PAYMENT = "Payment processing failed"
FAILED_REFUND = "Refund processing failed"
CARD_METHODS = ("credit_card", "debit_card", "card")
# Gateways whose customer pays in the provider's own checkout (its script, or its hosted page):
# create-intent/ opens it there, and process/ completes it with what that checkout answered.
CHECKOUT_GATEWAYS = {"razorpay": CheckoutKind.ELEMENTS, "flutterwave": CheckoutKind.HOSTED}
CHECKOUT_ANSWERS = {"razorpay": ("razorpay_payment_id", "razorpay_order_id", "razorpay_signature"),
                    "flutterwave": ("transaction_id", "tx_ref")}
# Gateways where the buyer approves at the provider, and process/ completes what they approved.
APPROVED_AT_PROVIDER = ("paypal",)
PAYPAL_METHOD = "paypal"
MAX_REASON = 500
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
MAX_ID = 2**31 - 1  # ids are 32-bit columns: a larger one can't exist
_TXN = re.compile(r"^TXN-[0-9A-F]{12,}$")

def _message(exc: errors.PaymentsError) -> str:
    if isinstance(exc, errors.NotFoundError):
        # Django's words, and nothing about what exists: the id asked for may be someone else's.
        kind = "Transaction" if exc.kind == "payment" else str(exc.kind).title()
        return f"No {kind} matches the given query."
    return exc.message


# The one error table of this API: what Django REST framework itself would say in {"detail": …},
# the business refusals the legacy views wrote themselves in {"error": …}, all 400 as the seed's
# views answered them.
ERRORS = ErrorTable(Shape.DETAIL, {
    errors.NotFoundError: 404,
    errors.NotAllowedError: 403,
    errors.ValidationError: 400,  # bad amounts, currencies, cards
    errors.RefundExceedsCapturedError: Answer(400, Shape.ERROR),
    errors.InvalidStateError: Answer(400, Shape.ERROR),
    errors.ConflictError: Answer(400, Shape.ERROR),
    errors.InsufficientStockError: Answer(400, Shape.ERROR),
    errors.PaymentDeclinedError: Answer(400, Shape.ERROR),
    errors.RiskBlockedError: Answer(400, Shape.ERROR),  # a refusal, as the seed's views wrote them
    errors.RiskReviewError: Answer(400, Shape.ERROR),
}, message=_message)

# The gateways' configuration ids, fixed so that clients may keep them. Which of them are offered
# is the provider registry's to say (paygate/providers.py), as everywhere else.
GATEWAY_IDS = {name: ident for ident, name in enumerate(shapes.GATEWAY_NAMES, start=1)}
DUMMY_MERCHANT, DUMMY_PUBLIC_KEY = "dummy_merchant", "dummy_public_key"


# --- reading the seed's requests -----------------------------------------------------------------

def _text(body: dict[str, Any], name: str, *, required: bool = True, default: str = "",
          max_length: int = 255, within: str = "") -> str:
    value, label = body.get(name), within + name
    if value is None:
        if required:
            raise RestError(400, f"{label}: this field is required.")
        return default
    if not isinstance(value, str):
        raise RestError(400, f"{label}: must be a string.")
    if len(value) > max_length:
        raise RestError(400, f"{label}: must be at most {max_length} characters.")
    return value  # NUL and lone surrogates never get here: json_object refuses them


def _integer(value: object, label: str) -> int:
    """As Django REST framework's IntegerField reads one: 7, 7.0 and "7" are 7; 7.5, "seven" and
    true are refused. (json_object hands over JSON numbers with a fraction or exponent as text.)"""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        # Decimal() alone would also read "７", "1_0" and " 7 "; a number is written in ASCII.
        number = Decimal(value) if isinstance(value, str) and _NUMBER.fullmatch(value) else None
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
    """The transaction if the caller may see it here (the domain's rule for this API); else 404."""
    actor = caller(request)
    found = None
    if (canonical := _transaction_number(number)) is not None:
        found = await payment_by_number(database(request), canonical)
    if found is None or not buyer_or_staff(actor, found.payment):
        raise errors.NotFoundError("payment", number)
    return found


def _payment_data(data: object, gateway: str) -> tuple[CardInput | None, str | None]:
    """The card (the dummy gateway) or the Stripe PaymentMethod id to charge."""
    if data is None:
        raise RestError(400, "payment_data: this field is required: the card to charge, as "
                             "{card_number, expiry_month, expiry_year, cvv}"
                             + (', or {"payment_method": "pm_…"} from Stripe.js.' if gateway != "dummy" else "."))
    if not isinstance(data, dict):
        raise RestError(400, "payment_data: must be an object.")
    if gateway != "dummy":
        method = _text(data, "payment_method", max_length=255, within="payment_data.")
        if not method.startswith("pm_"):
            raise RestError(400, f"payment_data.payment_method: {gateway} takes a PaymentMethod id (pm_…) "
                                 "made by Stripe.js; card details never reach this server.")
        return None, method
    for name in ("card_number", "cvv"):
        _text(data, name, max_length=32, within="payment_data.")
    for name in ("expiry_month", "expiry_year"):
        value = data.get(name)
        if value is None:
            raise RestError(400, f"payment_data.{name}: this field is required.")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RestError(400, f"payment_data.{name}: must be a string or an integer.")
    return CardInput(data["card_number"], data["expiry_month"], data["expiry_year"], data["cvv"]), None


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

def _configurations(request: Request, configured_at: datetime) -> list[dict[str, Any]]:
    """The gateways a client can pay with through this API: those the registry offers that take
    a payment (a webhook-only gateway isn't one), each payable through `process/`."""
    providers = services(request).providers
    offered = []
    approved_there = [g for g in providers.supporting(Capability.CHECKOUT) if g in APPROVED_AT_PROVIDER]
    payable = {*providers.supporting(Capability.AUTHORIZE), *(g for g in CHECKOUT_GATEWAYS if g in providers),
               *approved_there}
    for gateway in payable:
        if gateway not in GATEWAY_IDS:
            continue
        public = providers.public_config(gateway)
        offered.append({
            "id": GATEWAY_IDS[gateway], "gateway": gateway, "is_active": True,
            "merchant_id": DUMMY_MERCHANT if gateway == "dummy" else "",
            "public_key": DUMMY_PUBLIC_KEY if gateway == "dummy" else public.get("publishable_key",
                                                                                public.get("key_id", "")),
            "currency": settings(request).default_currency,
            "created_at": shapes.timestamp(configured_at), "updated_at": shapes.timestamp(configured_at),
        })
    return sorted(offered, key=lambda c: c["id"])


def configurations_route(configured_at: datetime) -> Handler:
    async def configurations(request: Request) -> Response:
        caller(request)
        return JSONResponse(_configurations(request, configured_at))

    return configurations


async def transactions(request: Request) -> Response:
    actor = caller(request)
    found = await payments_of_buyer(database(request), actor.user_id)
    return JSONResponse([shapes.transaction(t.payment, t.order_number, t.buyer_email) for t in found])


async def transaction_detail(request: Request) -> Response:
    found = await _transaction(request, request.path_params["transaction_id"])
    return JSONResponse(shapes.transaction(found.payment, found.order_number, found.buyer_email))


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
    offered = {c["gateway"]: c for c in _configurations(request, datetime.now(UTC))}
    if gateway not in offered:
        raise RestError(400, f"gateway: {gateway!r} is not an active gateway; "
                             f"choose one of {sorted(offered)}.")
    if gateway in CHECKOUT_GATEWAYS:
        return await _open_at_gateway(request, actor, order_id, gateway, body, offered[gateway]["public_key"])
    if gateway in APPROVED_AT_PROVIDER:
        payment = await resume_payment(ResumePayment(actor, order_id, gateway, CheckoutKind.ELEMENTS),
                                       s.uow(), s.providers, s.policy)
        if payment.status is PaymentStatus.FAILED:
            return error_response(Shape.ERROR, 400, FAILED_PAYMENT)
    else:
        payment = await create_payment(CreatePayment(actor, order_id, gateway), s.uow(), s.providers,
                                       s.policy)
    secret = payment.client_secret or (f"dummy_secret_{payment.number}" if gateway == "dummy" else "")
    return JSONResponse({"transaction_id": payment.number, "amount": payment.amount.decimal,
                         "currency": payment.amount.code, "gateway": payment.provider,
                         "client_secret": secret, "publishable_key": offered[gateway]["public_key"]})


async def _open_at_gateway(request: Request, actor: Actor, order_id: int, gateway: str, body: dict[str, Any],
                           public_key: str) -> Response:
    """The order's payment opened at the gateway's checkout (the same one again on a reload)."""
    kind = CHECKOUT_GATEWAYS[gateway]
    return_url = None
    if kind is CheckoutKind.HOSTED:
        origin = request.headers.get("origin") or str(request.base_url).rstrip("/")
        return_url = _text(body, "return_url", required=False, default=f"{origin}/payment/return", max_length=2048)
    s = services(request)
    payment = await resume_payment(ResumePayment(actor, order_id, gateway, kind, return_url=return_url),
                                   s.uow(), s.providers, s.policy)
    if payment.status is PaymentStatus.FAILED:
        return error_response(Shape.ERROR, 400, f"{FAILED_PAYMENT}: {payment.decline_message or payment.decline_code}")
    if payment.status is not PaymentStatus.REQUIRES_ACTION or not payment.provider_ref:
        return error_response(Shape.ERROR, 503, f"{gateway} did not answer; try again shortly")
    answer = {"transaction_id": payment.number, "amount": payment.amount.decimal, "currency": payment.amount.code,
              "gateway": gateway, "client_secret": payment.client_secret or "", "publishable_key": public_key}
    if gateway == "razorpay":
        answer["gateway_order_id"] = payment.provider_ref
    if payment.redirect_url:
        answer["redirect_url"] = payment.redirect_url
    return JSONResponse(answer)


def _checkout_answer(data: object, gateway: str) -> dict[str, str]:
    names = CHECKOUT_ANSWERS[gateway]
    if not isinstance(data, dict):
        raise RestError(400, f"payment_data: this field is required: {gateway}'s answer, as {{{', '.join(names)}}}.")
    answer = {}
    for name in names:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # Flutterwave's transaction id is a number in its redirect's JSON form
        if value is not None:
            answer[name] = _text({name: value}, name, max_length=255, within="payment_data.")
    return answer


async def process(request: Request) -> Response:
    actor = caller(request)
    body = await json_object(request)
    number = _text(body, "transaction_id", max_length=64)
    method = _text(body, "payment_method")
    if method == PAYPAL_METHOD:
        return await _process_approved(request, actor, number)
    if method not in CARD_METHODS and method not in CHECKOUT_GATEWAYS:
        raise RestError(400, f"payment_method: {method!r} is not supported; use one of {list(CARD_METHODS)}.")
    found = await _transaction(request, number)
    if found.payment.provider in CHECKOUT_GATEWAYS:
        s = services(request)
        answer = _checkout_answer(body.get("payment_data"), found.payment.provider)
        payment = await complete_payment(CompletePayment(actor, found.payment.pk, answer), s.uow(), s.providers,
                                         s.policy)
        return _processed(payment)
    if method not in CARD_METHODS:
        raise RestError(400, f"payment_method: {method!r} is not supported; use one of {list(CARD_METHODS)}.")
    if found.payment.provider in APPROVED_AT_PROVIDER:
        raise RestError(400, f"payment_method: the buyer pays a {found.payment.provider} transaction at "
                             f"{found.payment.provider}; send \"payment_method\": \"{PAYPAL_METHOD}\" once they approved.")
    card, payment_method = _payment_data(body.get("payment_data"), found.payment.provider)
    s = services(request)
    payment = await authorize_payment(AuthorizePayment(actor, found.payment.pk, card, payment_method,
                                                       request.client.host if request.client else None), s.uow(),
                                      s.providers, s.policy)
    return _processed(payment)


def _processed(payment: Payment) -> Response:
    if payment.status is PaymentStatus.FAILED:
        return error_response(Shape.ERROR, 400, FAILED_PAYMENT)
    status = shapes.transaction_status(payment)
    if payment.status is PaymentStatus.SUCCEEDED:
        return JSONResponse({"message": "Payment processed successfully", "transaction_id": payment.number,
                             "status": status})
    return JSONResponse({"message": "Payment is being processed", "transaction_id": payment.number,
                         "status": status}, status_code=202)


async def _process_approved(request: Request, actor: Actor, number: str) -> Response:
    """`process/` for a payment the buyer approved at the provider: ask it, and complete it."""
    found = await _transaction(request, number)
    if found.payment.provider not in APPROVED_AT_PROVIDER:
        raise RestError(400, f"payment_method: {PAYPAL_METHOD!r} pays only a transaction created with the "
                             f"paypal gateway; this one is {found.payment.provider}'s.")
    payment = found.payment
    if payment.in_flight(AttemptKind.AUTHORIZE):
        s = services(request)
        payment = await confirm_payment(ConfirmPayment(actor, payment.pk), s.uow(), s.providers, s.policy)
    if payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED) or payment.decline_code:
        return error_response(Shape.ERROR, 400, FAILED_PAYMENT)
    status = shapes.transaction_status(payment)
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE):
        return JSONResponse({"message": "Payment processed successfully", "transaction_id": payment.number,
                             "status": status})
    return JSONResponse({"message": "Payment is being processed", "transaction_id": payment.number,
                         "status": status}, status_code=202)


async def refund(request: Request) -> Response:
    actor = caller(request)
    body = await json_object(request)
    number = _text(body, "transaction_id", max_length=64)
    reason = _text(body, "reason", required=False, max_length=MAX_REASON)
    found = await _transaction(request, number)
    amount = _amount(body, found.payment)
    s = services(request)
    payment, attempt = await refund_own_payment(
        RefundOwnPayment(actor, found.payment.pk, amount, reason or None, client_key=client_key(request)),
        s.uow(), s.providers, s.policy)
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
                   401: unauthenticated, 404: shapes.detail("no such order, or someone else's"),
                   503: shapes.error("razorpay, flutterwave: the gateway did not answer the opening"), **replay},
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
    return Api(routes, operations, BASE, ERRORS)
