"""Seed 003's JSON (/payments/): its PaymentResponse, an order's history, a refund request's
answer, admin listings and statistics, and the JSON schemas /openapi.json shows for them. The
routes are in rest_compat/seed_003.py.

Amounts are decimal strings in the currency's own exponent ("149.90", "1500" for JPY), as
pydantic serializes a Decimal; rates too ("0.7500"). Timestamps are ISO 8601 in UTC. A payment's
`status` is the payment's own word, or `partially_refunded` / `refunded` once money went back.
Nothing of a card beyond brand, last 4 and expiry is ever kept, so nothing more can be shown;
client secrets appear only in the answer to the buyer's own `process`.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from db.seed003_queries import OrderSummary
from domain.numbers import refund_number
from domain.payments.model import Attempt, Payment
from domain.payments.refund_requests import RefundRequest
from domain.payments.statistics import CurrencyStatistics, SuccessRate
from domain.payments.status import AttemptKind, DisplayStatus, PaymentStatus

JSON = dict[str, Any]
REVIEW_DAYS = 2
TIMELINE = (f"An administrator reviews refund requests within {REVIEW_DAYS} business days; once approved, "
            "the money reaches the original payment method within 5 to 10 business days.")


def timestamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def method_of(payment: Payment) -> str:
    return "card" if payment.card is not None else payment.provider


def next_action(payment: Payment) -> JSON | None:
    """What the frontend does next for a payment waiting for the customer (3-D Secure, a
    provider's page), or None."""
    if payment.status is not PaymentStatus.REQUIRES_ACTION:
        return None
    if payment.redirect_url:
        return {"type": "redirect_to_url", "redirect_url": payment.redirect_url, "client_secret": payment.client_secret}
    return {"type": "use_sdk", "redirect_url": None, "client_secret": payment.client_secret}


def payment(p: Payment, *, with_action: bool = False) -> JSON:
    card = p.card
    return {
        "id": p.id, "reference": p.number, "order_id": p.order_id, "user_id": p.buyer_id,
        "payment_method": method_of(p), "provider": p.provider,
        "status": p.display_status.value,
        "amount": p.amount.decimal, "currency": p.amount.code,
        "amount_captured": p.amount_captured.decimal, "amount_refunded": p.amount_refunded.decimal,
        "card": {"brand": str(card.brand), "last4": card.last4, "exp_month": card.exp_month,
                 "exp_year": card.exp_year} if card else None,
        "failure_code": p.decline_code, "failure_message": p.decline_message,
        "next_action": next_action(p) if with_action else None,
        "created_at": timestamp(p.created_at), "updated_at": timestamp(p.updated_at),
    }


def attempt(p: Payment, a: Attempt) -> JSON:
    return {
        "id": a.id, "kind": a.kind.value, "status": a.status.value,
        "reference": refund_number(a.pk) if a.kind is AttemptKind.REFUND else None,
        "amount": a.amount.decimal, "currency": a.amount.code, "failure_code": a.decline_code,
        "reason": a.reason, "created_at": timestamp(a.created_at), "updated_at": timestamp(a.updated_at),
    }


def order_history(order: OrderSummary, payments: list[Payment]) -> JSON:
    return {
        "order_id": order.id, "order_number": order.number, "order_status": order.status,
        "total": order.total.decimal, "currency": order.total.code,
        "payments": [{**payment(p), "attempts": [attempt(p, a) for a in p.attempts]} for p in payments],
    }


def refund_request(request: RefundRequest, p: Payment) -> JSON:
    return {
        "request_id": request.id, "payment_id": p.id, "reference": p.number, "status": request.status.value,
        "amount": request.amount.decimal, "currency": request.amount.code, "reason": request.reason,
        "created_at": timestamp(request.created_at), "timeline": TIMELINE,
    }


def refund(p: Payment, a: Attempt, order_status: str | None) -> JSON:
    return {
        "refund_id": refund_number(a.pk), "payment_id": p.id, "reference": p.number, "status": a.status.value,
        "amount": a.amount.decimal, "currency": a.amount.code, "reason": a.reason,
        "payment_status": p.display_status.value, "order_status": order_status,
        "created_at": timestamp(a.created_at),
    }


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _success(r: SuccessRate) -> JSON:
    return {"succeeded": r.succeeded, "failed": r.failed, "success_rate": _rate(r.success_rate),
            "succeeded_volume": r.volume.decimal}


def statistics(found: list[CurrencyStatistics], bucket: str, date_from: date | None, date_to: date | None) -> JSON:
    return {
        "bucket": bucket, "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
        "currencies": {s.currency: {
            "payment_count": s.payment_count, "volume": s.volume.decimal, "by_status": s.by_status,
            "success_rate": _rate(s.success_rate),
            "by_method": {r.key: _success(r) for r in s.by_method},
            "by_provider": {r.key: _success(r) for r in s.by_provider},
            "captured": s.captured.decimal, "refunded": s.refunded.decimal, "revenue": s.revenue.decimal,
            "refund_rate": _rate(s.refund_rate),
            "revenue_series": [{"period_start": b.start.isoformat(), "captured": b.captured.decimal,
                                "refunded": b.refunded.decimal, "revenue": b.revenue.decimal} for b in s.series],
        } for s in found},
    }


# --- JSON schemas for /openapi.json -------------------------------------------------------------

def _obj(properties: JSON, required: list[str] | None = None) -> JSON:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required}


_STR: JSON = {"type": "string"}
_NSTR: JSON = {"type": ["string", "null"]}
_INT: JSON = {"type": "integer"}
_DECIMAL: JSON = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["149.90"]}
_TIME: JSON = {"type": "string", "format": "date-time"}
_RATE: JSON = {"type": ["string", "null"], "pattern": r"^\d\.\d{4}$", "examples": ["0.9500"]}
STATUS: JSON = {"type": "string", "enum": [s.value for s in DisplayStatus]}

PAYMENT_SCHEMA = _obj({
    "id": _INT, "reference": {"type": "string", "examples": ["TXN-0000000000A1"]},
    "order_id": {"type": ["integer", "null"]}, "user_id": _INT, "payment_method": _STR, "provider": _STR,
    "status": STATUS, "amount": _DECIMAL, "currency": _STR, "amount_captured": _DECIMAL,
    "amount_refunded": _DECIMAL,
    "card": {"type": ["object", "null"], "properties": {"brand": _STR, "last4": _STR, "exp_month": _INT,
                                                        "exp_year": _INT}},
    "failure_code": _NSTR, "failure_message": _NSTR,
    "next_action": {"type": ["object", "null"], "properties": {
        "type": {"type": "string", "examples": ["redirect_to_url", "use_sdk", "paypal_approval", "razorpay_checkout"]},
        "redirect_url": _NSTR, "client_secret": _NSTR,
        "complete_with": {"type": "array", "items": _STR,
                          "description": "what the provider's checkout answers: send it back in payment_details"},
        "paypal_order_id": _STR, "client_id": _NSTR, "razorpay_order_id": _STR, "key_id": _NSTR,
        "amount": {"type": "integer", "description": "razorpay: in the currency's subunit"}, "currency": _STR}},
    "created_at": _TIME, "updated_at": _TIME,
})
ATTEMPT_SCHEMA = _obj({
    "id": _INT, "kind": {"type": "string", "enum": [k.value for k in AttemptKind]},
    "status": {"type": "string", "enum": ["pending", "succeeded", "failed", "unknown"]},
    "reference": _NSTR, "amount": _DECIMAL, "currency": _STR, "failure_code": _NSTR, "reason": _NSTR,
    "created_at": _TIME, "updated_at": _TIME,
})
ORDER_HISTORY_SCHEMA = _obj({
    "order_id": _INT, "order_number": _STR, "order_status": _STR, "total": _DECIMAL, "currency": _STR,
    "payments": {"type": "array", "items": {**PAYMENT_SCHEMA, "properties": {
        **PAYMENT_SCHEMA["properties"], "attempts": {"type": "array", "items": ATTEMPT_SCHEMA}}}},
})
REFUND_REQUEST_SCHEMA = _obj({
    "request_id": _INT, "payment_id": _INT, "reference": _STR,
    "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
    "amount": _DECIMAL, "currency": _STR, "reason": _STR, "created_at": _TIME, "timeline": _STR,
})
REFUND_SCHEMA = _obj({
    "refund_id": _STR, "payment_id": _INT, "reference": _STR,
    "status": {"type": "string", "enum": ["pending", "succeeded", "failed", "unknown"]},
    "amount": _DECIMAL, "currency": _STR, "reason": _NSTR, "payment_status": STATUS,
    "order_status": _NSTR, "created_at": _TIME,
    "request_id": {"type": ["integer", "null"], "description": "the customer's refund request this approved"},
})
ADMIN_PAYMENT_SCHEMA = {**PAYMENT_SCHEMA, "properties": {
    **PAYMENT_SCHEMA["properties"],
    "user": _obj({"id": _INT, "email": _STR}),
    "order": {"type": ["object", "null"], "properties": {"id": _INT, "number": _STR, "status": _STR,
                                                          "total": _DECIMAL}}}}
ADMIN_LIST_SCHEMA = _obj({"total": _INT, "skip": _INT, "limit": _INT,
                          "items": {"type": "array", "items": ADMIN_PAYMENT_SCHEMA}})
METHOD_SCHEMA = _obj({
    "method": _STR, "provider": _STR, "name": _STR, "type": _STR, "currencies": {"type": "array", "items": _STR},
    "redirect": {"type": "boolean"}, "requirements": {"type": "object"},
    "capabilities": {"type": "array", "items": _STR}, "config": {"type": "object"},
})
METHODS_SCHEMA = _obj({"methods": {"type": "array", "items": METHOD_SCHEMA}, "default_currency": _STR})
_RATES = {"type": "object", "additionalProperties": _obj({"succeeded": _INT, "failed": _INT,
                                                          "success_rate": _RATE, "succeeded_volume": _DECIMAL})}
STATISTICS_SCHEMA = _obj({
    "bucket": {"type": "string", "enum": ["day", "week", "month"]},
    "date_from": {"type": ["string", "null"], "format": "date"}, "date_to": {"type": ["string", "null"], "format": "date"},
    "currencies": {"type": "object", "additionalProperties": _obj({
        "payment_count": _INT, "volume": _DECIMAL, "by_status": {"type": "object"}, "success_rate": _RATE,
        "by_method": _RATES, "by_provider": _RATES, "captured": _DECIMAL, "refunded": _DECIMAL,
        "revenue": _DECIMAL, "refund_rate": _RATE,
        "revenue_series": {"type": "array", "items": _obj({"period_start": {"type": "string", "format": "date"},
                                                           "captured": _DECIMAL, "refunded": _DECIMAL,
                                                           "revenue": _DECIMAL})}})},
})
PROCESS_REQUEST = _obj({
    "payment_method": {"type": "string", "examples": ["card"],
                       "description": "a method GET /payments/methods lists: card (the test gateway), stripe, "
                                      "paypal, razorpay, flutterwave"},
    "payment_details": {"type": "object", "description": "card: {card_number, exp_month, exp_year, cvc} or "
                                                         "{token: \"pm_card_visa\"}; stripe: {payment_method_id}; "
                                                         "paypal, razorpay, flutterwave: {} (flutterwave: "
                                                         "{return_url?}) to open it at the provider, then what "
                                                         "its checkout answered (next_action.complete_with)"},
    "order_id": {"type": "integer", "description": "or as the query parameter ?order_id="},
}, ["payment_method", "payment_details"])
REFUND_REQUEST = _obj({
    "amount": {"type": ["string", "number", "null"], "description": "decimal; omitted or null: all that is left"},
    "reason": {"type": "string", "maxLength": 500},
}, ["reason"])
VALIDATION_SCHEMA = _obj({"detail": {"type": "array", "items": _obj({
    "loc": {"type": "array", "items": {"type": ["string", "integer"]}}, "msg": _STR, "type": _STR})}})
DETAIL_SCHEMA = _obj({"detail": _STR})
