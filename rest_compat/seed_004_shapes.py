"""Seed 004's JSON: its transaction, refund and configuration objects, its status words, and the
JSON schemas that /openapi.json shows for them. The routes are in rest_compat/seed_004.py.

Amounts are decimal strings in the currency's own exponent ("150.00", "1500" for JPY); ids are
integers; timestamps are ISO 8601 in UTC with a `Z` and whole seconds, as the seed shows them
("2025-12-03T10:00:00Z"): the same precision everywhere, microseconds dropped.

A transaction's status (one table, from the payment's status and how much of it was refunded):

    payment                                        seed 004
    requires_payment_method (nothing sent yet)     pending
    requires_payment_method (answer lost, open)    processing
    requires_action (3-D Secure), processing       processing
    requires_capture (manual capture)              authorized
    succeeded                                      success
    succeeded, refunded in part                    partially_refunded
    succeeded, refunded in full                    refunded
    failed (declined)                              failed
    canceled                                       canceled

A refund's status, from its attempt: succeeded -> refunded (the seed's word), pending and unknown
(the provider hasn't answered; the worker settles it) -> pending, failed -> failed.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from domain.numbers import refund_number
from domain.payments.model import Attempt, Payment
from domain.payments.status import AttemptKind, AttemptStatus, DisplayStatus, PaymentStatus

JSON = dict[str, Any]
GATEWAY_NAMES = ("dummy", "stripe", "paypal", "razorpay", "flutterwave")  # by configuration id, 1 to 5

TRANSACTION_STATUS: Mapping[DisplayStatus, str] = {
    DisplayStatus.REQUIRES_PAYMENT_METHOD: "pending",
    DisplayStatus.REQUIRES_ACTION: "processing",
    DisplayStatus.PROCESSING: "processing",
    DisplayStatus.REQUIRES_CAPTURE: "authorized",
    DisplayStatus.SUCCEEDED: "success",
    DisplayStatus.PARTIALLY_REFUNDED: "partially_refunded",
    DisplayStatus.REFUNDED: "refunded",
    DisplayStatus.FAILED: "failed",
    DisplayStatus.CANCELED: "canceled",
}
assert set(TRANSACTION_STATUS) == set(DisplayStatus)

REFUND_STATUS: Mapping[AttemptStatus, str] = {
    AttemptStatus.SUCCEEDED: "refunded",
    AttemptStatus.PENDING: "pending",
    AttemptStatus.UNKNOWN: "pending",
    AttemptStatus.FAILED: "failed",
}
assert set(REFUND_STATUS) == set(AttemptStatus)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def transaction_status(payment: Payment) -> str:
    if payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD and payment.in_flight(AttemptKind.AUTHORIZE):
        return "processing"  # sent, answer lost: the worker asks the provider again
    return TRANSACTION_STATUS[payment.display_status]


def transaction(payment: Payment, order_number: str, buyer_email: str) -> JSON:
    return {
        "id": payment.id,
        "transaction_id": payment.number,
        "order": payment.order_id,
        "order_number": order_number,
        "user": payment.buyer_id,
        "user_email": buyer_email,
        "gateway": payment.provider,
        "gateway_transaction_id": payment.provider_ref or "",
        "amount": payment.amount.decimal,
        "currency": payment.amount.code,
        "status": transaction_status(payment),
        "metadata": {"payment_method": payment.provider},
        "error_message": payment.decline_message or "",
        "created_at": timestamp(payment.created_at),
        "updated_at": timestamp(payment.updated_at),
    }


def refund(payment: Payment, attempt: Attempt) -> JSON:
    return {
        "id": attempt.id,
        "refund_id": refund_number(attempt.pk),
        "transaction": payment.id,
        "transaction_id": payment.number,
        "amount": attempt.amount.decimal,
        "currency": attempt.amount.code,
        "status": REFUND_STATUS[attempt.status],
        "reason": attempt.reason or "",
        "gateway_refund_id": attempt.provider_ref or "",
        "metadata": {},
        "created_at": timestamp(attempt.created_at),
        "updated_at": timestamp(attempt.updated_at),
    }


# --- JSON schemas for /openapi.json -------------------------------------------------------------

def _obj(properties: JSON, required: list[str] | None = None, *, closed: bool = True) -> JSON:
    schema: JSON = {"type": "object", "properties": properties,
                    "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    return schema


_STRING: JSON = {"type": "string"}
_INTEGER: JSON = {"type": "integer"}
_EXPIRY: JSON = {"type": ["string", "integer"], "maxLength": 8, "minimum": 0, "maximum": 99_999_999}
_TIME: JSON = {"type": "string", "format": "date-time", "examples": ["2025-12-03T10:00:00Z"]}
_DECIMAL: JSON = {"type": "string", "pattern": r"^\d+(\.\d+)?$", "examples": ["150.00"]}
_TXN: JSON = {"type": "string", "pattern": "^TXN-[0-9A-F]{12,}$", "maxLength": 64,
              "examples": ["TXN-A1B2C3D4E5F6"]}

TRANSACTION_SCHEMA = _obj({
    "id": _INTEGER, "transaction_id": _TXN, "order": _INTEGER,
    "order_number": {"type": "string", "examples": ["ORD-ABC123"]}, "user": _INTEGER,
    "user_email": _STRING, "gateway": _STRING,
    "gateway_transaction_id": {"type": "string", "description": "the provider's reference, or \"\""},
    "amount": _DECIMAL, "currency": {"type": "string", "examples": ["USD"]},
    "status": {"type": "string", "enum": sorted(set(TRANSACTION_STATUS.values()))},
    "metadata": {"type": "object", "properties": {"payment_method": _STRING}},
    "error_message": {"type": "string", "description": "why the payment was declined, or \"\""},
    "created_at": _TIME, "updated_at": _TIME,
})
REFUND_SCHEMA = _obj({
    "id": _INTEGER, "refund_id": {"type": "string", "pattern": "^REF-[0-9A-F]+$"}, "transaction": _INTEGER,
    "transaction_id": _TXN, "amount": _DECIMAL, "currency": _STRING,
    "status": {"type": "string", "enum": sorted(set(REFUND_STATUS.values()))},
    "reason": _STRING, "gateway_refund_id": _STRING, "metadata": {"type": "object"},
    "created_at": _TIME, "updated_at": _TIME,
})
CONFIGURATION_SCHEMA = _obj({
    "id": {"type": "integer", "description": "stable per gateway: dummy 1, stripe 2, paypal 3, razorpay 4, "
                                            "flutterwave 5"},
    "gateway": {"type": "string", "enum": list(GATEWAY_NAMES)},
    "is_active": {"type": "boolean"}, "merchant_id": _STRING,
    "public_key": {"type": "string", "description": "public keys only, never a secret"},
    "currency": _STRING, "created_at": _TIME, "updated_at": _TIME,
})
INTENT_SCHEMA = _obj({
    "transaction_id": _TXN, "amount": _DECIMAL, "currency": _STRING, "gateway": _STRING,
    "client_secret": {"type": "string", "examples": ["dummy_secret_TXN-A1B2C3D4E5F6"]},
    "publishable_key": _STRING,
    "gateway_order_id": {"type": "string", "description": "razorpay: the Razorpay order to open Razorpay Checkout "
                                                          "with (`order_id`), `publishable_key` being its `key`"},
    "redirect_url": {"type": "string", "description": "flutterwave: the hosted payment page to send the customer to"},
}, ["transaction_id", "amount", "currency", "gateway", "client_secret", "publishable_key"])
PROCESSED_SCHEMA = _obj({
    "message": _STRING, "transaction_id": _TXN,
    "status": {"type": "string", "enum": sorted(set(TRANSACTION_STATUS.values()))},
})

CREATE_INTENT_REQUEST = _obj({
    "order_id": {"type": "integer", "minimum": 1, "description": "the order's integer id"},
    # The document is built before the settings are known: it names the gateway always there.
    "gateway": {"type": "string", "enum": ["dummy"], "default": "dummy",
                "description": "dummy, or another gateway that configurations/ lists as active; "
                               "any other answers 400"},
}, ["order_id"], closed=False)
PROCESS_REQUEST = _obj({
    "transaction_id": _TXN,
    "payment_method": {"type": "string", "enum": ["credit_card", "debit_card", "card", "razorpay", "flutterwave"]},
    "payment_data": _obj({
        "card_number": {"type": "string", "maxLength": 32, "examples": ["4111111111111111"]},
        "expiry_month": _EXPIRY | {"examples": ["12"]},
        "expiry_year": _EXPIRY | {"examples": ["2027"]},
        "cvv": {"type": "string", "maxLength": 32, "examples": ["123"]},
    }, [], closed=False) | {"description": "dummy: the card. stripe: {payment_method: pm_…}. razorpay: Razorpay "
                                           "Checkout's answer {razorpay_payment_id, razorpay_order_id, "
                                           "razorpay_signature}. flutterwave: the redirect's {transaction_id, tx_ref}"},
}, closed=False)
REFUND_REQUEST = _obj({
    "transaction_id": _TXN,
    "reason": {"type": "string", "maxLength": 500, "pattern": "^[^\\u0000]*$"},
    "amount": {"type": ["string", "integer", "null"], "pattern": r"^\d+(\.\d+)?$", "minimum": 1,
               "description": "decimal string in the currency's exponent; omitted or null: all that is left"},
}, ["transaction_id"], closed=False)


def detail(description: str) -> tuple[str, JSON]:
    return description, _obj({"detail": _STRING})


def error(description: str) -> tuple[str, JSON]:
    return description, _obj({"error": _STRING})


def detail_or_error(description: str) -> tuple[str, JSON]:
    return description, {"anyOf": [detail("")[1], error("")[1]]}
