"""Seed 003 (shared/seeds/003_8e337c14e28de225.txt): the multi-provider payments API that was a
FastAPI router, under /payments/, with FastAPI's conventions (rest_compat/fastapi_errors.py).

    POST /process?order_id=            pay one of the caller's orders: {payment_method, payment_details}
    GET  /methods                      the methods offered, with each one's frontend configuration
    GET  /order/{order_id}             the order's whole payment history, attempts included
    GET  /{payment_id}                 one payment (its buyer's, or staff's to see)
    POST /{payment_id}/refund          the buyer asks for a refund {amount?, reason}: admins are told
    GET  /admin/all                    every payment (?status=, ?skip=, ?limit= ≤ 100), with buyer and order
    POST /admin/{payment_id}/refund    a refund through the original provider {amount?, reason}
    GET  /admin/statistics             volumes, success rates, revenue over time, per currency
    POST /webhooks/{provider}          a provider's signed events: the same handling as its other path

Decisions where the seed is silent:
- `order_id` is a query parameter, as FastAPI reads a scalar beside a body model (`?order_id=7`);
  the body's `order_id` is taken too when the query has none. An `amount` in the body, if sent,
  must equal the order's total (400 otherwise): the payment is always for the whole order.
- Methods: `card` pays through the built-in test gateway with {card_number, exp_month, exp_year,
  cvc} (or {token: "pm_card_visa"}); `stripe` with {payment_method_id: "pm_…"} from Stripe.js
  (card numbers never reach paygate with Stripe). Each is offered when its provider is.
  `paypal`, `razorpay` and `flutterwave` complete later, at the provider: the first `process`
  answers 202 with what the frontend needs next, a second one carrying the provider checkout's
  answer completes it (rest_compat/seed_003_checkout.py).
- `process` answers 200 with the payment when paid (or authorized), 202 when it waits for the
  customer or the provider (`next_action` says what the frontend does next), and 402 with the
  decline in `detail` when declined (paying again starts a new payment).
- Admin routes take staff or admin tokens (403 "Not enough permissions" otherwise).
- A buyer's refund request is checked now (what is left, the window after capture:
  PAYGATE_REFUND_WINDOW_DAYS) and answered 201; staff decide it (GraphQL
  refundRequestApprove/Reject), or refund here: an admin refund with no amount, or the amount
  of the payment's oldest pending request, approves that request (`request_id` says which);
  any other amount is a refund of its own.
- Anyone else's order or payment answers exactly as a missing one: 404.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.payment_queries import refund_requests_page
from db.seed003_queries import PaymentInContext, order_history, payment_in_context, payments_for_admin
from db.statistics_queries import payment_statistics
from domain import errors
from domain.cards import CardInput
from domain.money import Money, currency
from domain.payments.access import RefundRequestFilter, buyer_or_staff
from domain.payments.provider import Capability, currencies_of
from domain.payments.refund_requests import (
    AskRefund,
    DecideRefund,
    RefundRequest,
    RequestStatus,
    decide_refund,
    request_refund,
)
from domain.payments.service import PayOrder, RefundPayment, pay_order, refund_payment
from domain.payments.statistics import Bucket, StatisticsFilter
from domain.payments.status import AttemptStatus, PaymentStatus
from rest_compat import (
    seed_003_checkout,
    seed_003_operations,
    webhooks_gateway,
    webhooks_paypal,
    webhooks_regional,
    webhooks_stripe,
)
from rest_compat import seed_003_shapes as shapes
from rest_compat.fastapi_errors import (
    ERRORS,
    MAX_INT,
    Loc,
    body_object,
    bounded,
    choice,
    current_admin,
    current_user,
    integer,
    invalid,
    missing,
    text,
)
from rest_compat.http import Handler, RestError, client_key, database, services, settings
from rest_compat.openapi import Api

BASE = "/payments"
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MAX_REASON = 500
PAGE_LIMIT = 100


# --- payment methods ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Method:
    provider: str
    name: str
    kind: str
    requirements: Mapping[str, Any]
    read: Callable[[dict[str, Any]], tuple[CardInput | None, str | None]]  # payment_details -> card or token
    redirect: bool = False


def _card_details(details: dict[str, Any]) -> tuple[CardInput | None, str | None]:
    if "token" in details:
        return None, text(details, "token", max_length=255, where=("body", "payment_details"))
    for name in ("card_number", "cvc"):
        text(details, name, max_length=32, where=("body", "payment_details"))
    for name in ("exp_month", "exp_year"):
        value = details.get(name)
        if value is None:
            raise missing(("body", "payment_details", name))
        integer(value, ("body", "payment_details", name))
    return CardInput(details["card_number"], details["exp_month"], details["exp_year"], details["cvc"]), None


def _stripe_details(details: dict[str, Any]) -> tuple[CardInput | None, str | None]:
    found = text(details, "payment_method_id", max_length=255, where=("body", "payment_details"))
    assert found is not None
    if not found.startswith("pm_"):
        raise invalid(("body", "payment_details", "payment_method_id"),
                      "String should start with 'pm_' (a PaymentMethod made by Stripe.js)", "string_pattern_mismatch")
    return None, found


METHODS: Mapping[str, Method] = {
    "card": Method("dummy", "Card (test gateway)", "card",
                   {"payment_details": ["card_number", "exp_month", "exp_year", "cvc"], "or": ["token"]},
                   _card_details),
    "stripe": Method("stripe", "Card (Stripe)", "card", {"payment_details": ["payment_method_id"]}, _stripe_details),
}

# provider -> the function taking the Starlette request that its other webhook path calls.
WEBHOOKS: Mapping[str, Handler] = {
    "stripe": webhooks_stripe.handle,
    "gateway": webhooks_gateway.payment_webhook,
    "paypal": webhooks_paypal.handle,
    "razorpay": webhooks_regional.razorpay_webhook,
    "flutterwave": webhooks_regional.flutterwave_webhook,
}


def _offered(request: Request) -> dict[str, Method]:
    providers = services(request).providers
    return {name: m for name, m in METHODS.items()
            if m.provider in providers and Capability.AUTHORIZE in providers[m.provider].capabilities}


# --- reading the request ---------------------------------------------------------------------------

def _path_id(request: Request, name: str, kind: str) -> int:
    found = integer(request.path_params[name], ("path", name))
    if found < 1 or found > MAX_INT:
        raise errors.NotFoundError(kind, found)
    return found


def _decimal(body: dict[str, Any]) -> str | None:
    """pydantic's Decimal: a JSON number or a numeric string (json_body keeps fractions as text)."""
    raw = body.get("amount")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise invalid(("body", "amount"), "Decimal input should be an integer, float, string or Decimal object",
                      "decimal_type")
    if not _DECIMAL.fullmatch(str(raw)):  # the places allowed are the payment's currency's to say
        raise invalid(("body", "amount"), "Input should be a valid decimal", "decimal_parsing")
    return str(raw)


def _amount(raw: str | None, code: str) -> Money | None:
    if raw is None:
        return None
    amount = Money.parse_decimal(raw, code)  # more decimals than the currency takes: 400
    if amount.minor <= 0:
        raise invalid(("body", "amount"), "Input should be greater than 0", "greater_than")
    return amount


async def _refund_input(request: Request) -> tuple[str | None, str]:
    body = await body_object(request)
    amount = _decimal(body)
    reason = text(body, "reason", max_length=MAX_REASON)
    assert reason is not None
    return amount, reason


async def _visible_payment(request: Request, payment_id: int) -> PaymentInContext:
    actor = current_user(request)
    found = await payment_in_context(database(request), payment_id)
    if found is None or not buyer_or_staff(actor, found.payment):
        raise errors.NotFoundError("payment", payment_id)
    return found


def _date(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else date.fromisoformat("invalid")
    except ValueError:
        raise invalid(("query", name), "Input should be a valid date in the format YYYY-MM-DD",
                      "date_from_datetime_parsing") from None


def _query_int(request: Request, name: str, default: int, *, ge: int, le: int | None = None) -> int:
    raw = request.query_params.get(name)
    loc: Loc = ("query", name)
    return default if raw is None else bounded(integer(raw, loc), loc, ge=ge, le=le)


# --- the routes -----------------------------------------------------------------------------------

async def process(request: Request) -> Response:
    actor = current_user(request)
    body = await body_object(request)
    raw_order = request.query_params.get("order_id", body.get("order_id"))
    if raw_order is None:
        raise missing(("query", "order_id"))
    order_id = integer(raw_order, ("query", "order_id") if "order_id" in request.query_params else ("body", "order_id"))
    method_name = text(body, "payment_method", max_length=64)
    assert method_name is not None
    details = body.get("payment_details")
    if details is None:
        raise missing(("body", "payment_details"))
    if not isinstance(details, dict):
        raise invalid(("body", "payment_details"), "Input should be a valid dictionary", "dict_type")
    amount_asked = _decimal(body)
    offered = _offered(request)
    later = seed_003_checkout.offered(services(request).providers)
    if method_name not in offered and method_name not in later:
        raise RestError(400, f"Payment method {method_name!r} is not available; "
                             f"choose one of {sorted([*offered, *later])}")
    method = offered.get(method_name)
    card, token = method.read(details) if method else (None, None)
    if order_id < 1 or order_id > MAX_INT:
        raise errors.NotFoundError("order", order_id)
    if amount_asked is not None:
        order, _ = await order_history(database(request), order_id)
        if order is None or order.buyer_id != actor.user_id:
            raise errors.NotFoundError("order", order_id)
        if Money.parse_decimal(amount_asked, order.total.code) != order.total:
            raise RestError(400, f"Payment amount {amount_asked} does not match the order total "
                                 f"{order.total.decimal} {order.total.code}")
    if method is None:
        return await seed_003_checkout.process(request, actor, order_id, later[method_name], details)
    s = services(request)
    paid = await pay_order(PayOrder(actor, order_id, method.provider, card=card, payment_method=token),
                           s.uow(), s.providers, s.policy, s.clock)
    if paid.status is PaymentStatus.FAILED:
        return JSONResponse({"detail": f"Payment {paid.number} was declined ({paid.decline_code}): "
                                       f"{paid.decline_message or 'the card was declined'}"}, status_code=402)
    done = paid.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE)
    return JSONResponse(shapes.payment(paid, with_action=True), status_code=200 if done else 202)


async def methods(request: Request) -> Response:
    current_user(request)
    s = services(request)
    default = settings(request).default_currency
    listed: list[tuple[str, str, str, str, bool, Mapping[str, Any]]] = [
        (name, m.provider, m.name, m.kind, m.redirect, m.requirements) for name, m in _offered(request).items()]
    listed += [(name, m.provider, m.name, "checkout", m.redirect, m.requirements)
               for name, m in seed_003_checkout.offered(s.providers).items()]
    found = []
    for name, provider_name, title, kind, redirect, requirements in listed:
        provider = s.providers[provider_name]
        takes = currencies_of(provider)  # None: any (the shop's own currency is what it offers)
        found.append({
            "method": name, "provider": provider_name, "name": title, "type": kind,
            "currencies": sorted(takes) if takes is not None else [default], "redirect": redirect,
            "requirements": dict(requirements),
            "capabilities": sorted(c.value for c in provider.capabilities),
            "config": dict(s.providers.public_config(provider_name)),  # public keys only
        })
    return JSONResponse({"methods": found, "default_currency": settings(request).default_currency})


async def order_payments(request: Request) -> Response:
    actor = current_user(request)
    order_id = _path_id(request, "order_id", "order")
    order, payments = await order_history(database(request), order_id)
    if order is None or not (actor.is_staff or order.buyer_id == actor.user_id):
        raise errors.NotFoundError("order", order_id)
    return JSONResponse(shapes.order_history(order, payments))


async def payment_detail(request: Request) -> Response:
    found = await _visible_payment(request, _path_id(request, "payment_id", "payment"))
    return JSONResponse(shapes.payment(found.payment))


async def refund_request(request: Request) -> Response:
    actor = current_user(request)
    payment_id = _path_id(request, "payment_id", "payment")
    raw_amount, reason = await _refund_input(request)
    found = await _visible_payment(request, payment_id)
    amount = _amount(raw_amount, found.payment.amount.code)
    s = services(request)
    asked = await request_refund(AskRefund(actor, payment_id, amount, reason, window=s.policy.refund_window),
                                 s.uow(), s.clock, providers=s.providers)
    return JSONResponse(shapes.refund_request(asked, found.payment), status_code=201)


async def admin_all(request: Request) -> Response:
    current_admin(request)
    status = request.query_params.get("status")
    if status is not None:
        choice(status, [s.value for s in PaymentStatus], ("query", "status"))
    skip = _query_int(request, "skip", 0, ge=0, le=MAX_INT)
    limit = _query_int(request, "limit", 20, ge=1, le=PAGE_LIMIT)
    found, total = await payments_for_admin(database(request), statuses=[status] if status else [],
                                            offset=skip, limit=limit)
    items = [{**shapes.payment(f.payment), "user": {"id": f.payment.buyer_id, "email": f.buyer_email},
              "order": {"id": f.order.id, "number": f.order.number, "status": f.order.status,
                        "total": f.order.total.decimal} if f.order else None} for f in found]
    return JSONResponse({"total": total, "skip": skip, "limit": limit, "items": items})


async def _pending_request(request: Request, payment_id: int, amount: Money | None) -> RefundRequest | None:
    """The customer's pending request this refund answers: the oldest one for the payment, when
    the amount is left out or is the one asked for."""
    pending, _ = await refund_requests_page(
        database(request), None, RefundRequestFilter(statuses=(RequestStatus.PENDING,), payment_id=payment_id),
        before_id=None, limit=PAGE_LIMIT)
    oldest = min(pending, key=lambda r: r.pk, default=None)
    return oldest if oldest is not None and amount in (None, oldest.amount) else None


async def admin_refund(request: Request) -> Response:
    actor = current_admin(request)
    payment_id = _path_id(request, "payment_id", "payment")
    raw_amount, reason = await _refund_input(request)
    found = await _visible_payment(request, payment_id)
    amount = _amount(raw_amount, found.payment.amount.code)
    s = services(request)
    # A customer asked for this refund (POST /{payment_id}/refund): approving their request refunds
    # it, so it is never left pending to be approved, and refunded, a second time.
    asked = await _pending_request(request, payment_id, amount)
    if asked is not None:
        _, decided, attempt = await decide_refund(DecideRefund(actor, asked.pk, approve=True, note=reason),
                                                  s.uow(), s.providers, s.policy, s.clock)
        assert decided is not None and attempt is not None  # an approval always refunds
        payment = decided
    else:
        payment, attempt = await refund_payment(
            RefundPayment(actor, payment_id, amount, reason, client_key=client_key(request)),
            s.uow(), s.providers, s.policy, s.clock)
    if attempt.status is AttemptStatus.FAILED:
        raise RestError(400, f"Refund {attempt.decline_code or 'failed'} at the provider: nothing was refunded")
    after = await payment_in_context(database(request), payment_id)
    order_status = after.order.status if after and after.order else None
    return JSONResponse({**shapes.refund(payment, attempt, order_status), "request_id": asked.id if asked else None},
                        status_code=200 if attempt.status is AttemptStatus.SUCCEEDED else 202)


async def admin_statistics(request: Request) -> Response:
    current_admin(request)
    date_from, date_to = _date(request, "date_from"), _date(request, "date_to")
    bucket = choice(request.query_params.get("bucket", "day"), [b.value for b in Bucket], ("query", "bucket"))
    code = request.query_params.get("currency")
    if code is not None:
        try:
            code = currency(code.upper()).code
        except errors.ValidationError:
            raise invalid(("query", "currency"), "Input should be an ISO 4217 currency code",
                          "currency_code") from None
    start = datetime.combine(date_from, datetime.min.time(), UTC) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), UTC) if date_to else None
    found = await payment_statistics(database(request), StatisticsFilter(start, end, code), Bucket(bucket))
    return JSONResponse(shapes.statistics(found, bucket, date_from, date_to))


async def webhook(request: Request) -> Response:
    handler = WEBHOOKS.get(request.path_params["provider"])
    if handler is None:
        raise RestError(404, "Unknown payment provider")
    return await handler(request)


def api() -> Api:
    # The order matters: /methods and /admin/… before /{payment_id}.
    routes = [
        Route(f"{BASE}/process", process, methods=["POST"]),
        Route(f"{BASE}/methods", methods, methods=["GET"]),
        Route(f"{BASE}/order/{{order_id}}", order_payments, methods=["GET"]),
        Route(f"{BASE}/admin/all", admin_all, methods=["GET"]),
        Route(f"{BASE}/admin/statistics", admin_statistics, methods=["GET"]),
        Route(f"{BASE}/admin/{{payment_id}}/refund", admin_refund, methods=["POST"]),
        Route(f"{BASE}/webhooks/{{provider}}", webhook, methods=["POST"]),
        Route(f"{BASE}/{{payment_id}}", payment_detail, methods=["GET"]),
        Route(f"{BASE}/{{payment_id}}/refund", refund_request, methods=["POST"]),
    ]
    return Api(routes, seed_003_operations.operations(BASE, sorted(WEBHOOKS)), BASE, ERRORS)
