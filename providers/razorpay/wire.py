"""Razorpay's entities (orders, payments, refunds, errors) read as our outcomes.

A payment opened at Razorpay is a Razorpay *order* (`order_…`): its id is our payment's reference
for good, as Razorpay creates the payment (`pay_…`) only when the customer pays in Checkout, and
a customer may try several payments on one order. Every outcome about the authorization is told
under the order's id; the adapter finds the order's payment when it must capture or refund.

    the order's payments                       as the authorization (capture automatic | manual)
    one captured                               Succeeded | Succeeded
    one authorized                             Pending (Razorpay captures it) | Succeeded
    none yet, the order open                   RequiresAction("razorpay_checkout"): the order id
                                               is what Razorpay Checkout needs
    only failed ones                           Declined with the last one's error_code (in
                                               Checkout the customer may try again: the domain
                                               keeps an element's payment open on a decline)

    refund status      processed -> Succeeded, pending -> Pending, failed -> Declined

Amounts are integers in the currency's subunit on Razorpay's wire ("amount in paise"), which is
our minor unit for two-decimal currencies and zero-decimal ones alike.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import ProviderIntegrityError
from domain.money import Money
from domain.payments.provider import CaptureMethod, Declined, Outcome, Pending, RequiresAction, Succeeded

Wire = Mapping[str, Any]
NEXT_ACTION = "razorpay_checkout"
CAPTURE_NOTE = "paygate_capture"  # the order's notes say how its payment is captured


def money(amount: object, currency: object) -> Money:
    if isinstance(amount, bool) or not isinstance(amount, int) or not isinstance(currency, str):
        raise ProviderIntegrityError(f"Razorpay answered an amount we can't read: {amount!r} {currency!r}")
    return Money.of(amount, currency.upper())


def capture_method(order: Wire) -> CaptureMethod:
    notes = order.get("notes")
    value = notes.get(CAPTURE_NOTE) if isinstance(notes, Mapping) else None
    return CaptureMethod.MANUAL if value == CaptureMethod.MANUAL.value else CaptureMethod.AUTOMATIC


def order_outcome(order: Wire, payments: Sequence[Wire]) -> Outcome:
    """The order (with its payments) as the outcome of the authorization it stands for."""
    ref, amount = str(order["id"]), money(order.get("amount"), order.get("currency"))
    by_status: dict[str, Wire] = {}
    for payment in payments:
        by_status.setdefault(str(payment.get("status")), payment)
    for status in ("captured", "refunded"):
        if status in by_status:
            return Succeeded(ref, money(by_status[status].get("amount"), by_status[status].get("currency")))
    if "authorized" in by_status:
        paid = money(by_status["authorized"].get("amount"), by_status["authorized"].get("currency"))
        return Succeeded(ref, paid) if capture_method(order) is CaptureMethod.MANUAL else Pending(ref, paid)
    if "created" in by_status or "pending" in by_status:
        return Pending(ref, amount)
    if payments and all(p.get("status") == "failed" for p in payments):
        return failed(ref, payments[0])
    return RequiresAction(ref, amount, ref, NEXT_ACTION)


def payment_outcome(order_id: str, payment: Wire, method: CaptureMethod | None) -> Outcome:
    """One payment's state as the order's authorization (`method` None: not known here, so an
    authorized payment is Pending until it is known to be captured or manual)."""
    amount = money(payment.get("amount"), payment.get("currency"))
    status = payment.get("status")
    if status in ("captured", "refunded"):
        return Succeeded(order_id, amount)
    if status == "authorized":
        return Succeeded(order_id, amount) if method is CaptureMethod.MANUAL else Pending(order_id, amount)
    if status == "failed":
        return failed(order_id, payment)
    return Pending(order_id, amount)


def failed(ref: str, payment: Wire) -> Declined:
    code = str(payment.get("error_reason") or payment.get("error_code") or "payment_failed")
    return Declined(ref, money(payment.get("amount"), payment.get("currency")), code.lower(),
                    str(payment.get("error_description") or "The payment failed at Razorpay."))


def refund_outcome(refund: Wire) -> Outcome:
    ref, amount = str(refund["id"]), money(refund.get("amount"), refund.get("currency"))
    status = refund.get("status")
    if status == "processed":
        return Succeeded(ref, amount)
    if status == "failed":
        return Declined(ref, amount, "refund_failed", "Razorpay could not process the refund.")
    return Pending(ref, amount)


def error_of(body: Wire) -> tuple[str, str]:
    """Razorpay's error body, `{"error": {"code", "description", "reason", …}}`, as (code, message).
    The reason is the most specific word (`input_validation_failed`, `payment_failed`…)."""
    found = body.get("error")
    error: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    reason = error.get("reason")
    code = reason if isinstance(reason, str) and reason and reason != "NA" else error.get("code")
    return str(code or "razorpay_error").lower(), str(error.get("description") or "Razorpay refused the request.")
