"""Flutterwave v3's objects read as our outcomes, and its amounts read and written exactly.

Amounts are major-unit decimals on Flutterwave's wire (`"amount": 1500.5` NGN): written as the
exact decimal string of our minor units in the currency's exponent (Money.decimal), read as
Decimal (providers/http_api.py parses JSON numbers as Decimal, never float) and refused when
they carry more decimals than the currency has.

Our payment's reference is our own `tx_ref`, made when the payment is opened: Flutterwave's
transaction (and its id) exists only once the customer pays on the hosted page. The tx_ref names
what was asked, `pg.<attempt key>.<currency>.<minor units>`, so that a transaction can be
checked against it, and asked about before one exists, without anything else stored.

    transaction status   successful -> Succeeded, failed -> Declined, anything else -> Pending
    refund status        completed/successful -> Succeeded, failed -> Declined, else Pending
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from domain.errors import PaymentsError, ProviderIntegrityError, ValidationError
from domain.money import Money
from domain.payments.provider import Declined, Outcome, Pending, Succeeded

Wire = Mapping[str, Any]
TX_PREFIX = "pg"
REFUND_PREFIX = "flwrefund."


def tx_ref(idempotency_key: str, amount: Money) -> str:
    return f"{TX_PREFIX}.{idempotency_key}.{amount.code}.{amount.minor}"


def asked(ref: str) -> Money:
    """What the payment `ref` asked for (ValidationError for a reference that isn't one of ours)."""
    parts = ref.split(".")
    if len(parts) != 4 or parts[0] != TX_PREFIX or not parts[3].isdigit():
        raise ValidationError(f"{ref[:60]!r} is not a tx_ref of ours", "tx_ref")
    return Money.of(int(parts[3]), parts[2])


def money(amount: object, currency: object) -> Money:
    """A major-unit amount from Flutterwave's wire, exactly."""
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal | str) or not isinstance(currency, str):
        raise ProviderIntegrityError(f"Flutterwave answered an amount we can't read: {amount!r} {currency!r}")
    try:
        return Money.parse_decimal(amount if not isinstance(amount, Decimal) else format(amount, "f"), currency.upper())
    except PaymentsError as exc:
        raise ProviderIntegrityError(f"Flutterwave answered {amount} {currency}: {exc.message}") from None


def wire_amount(amount: Money) -> str:
    return amount.decimal


def transaction_outcome(ref: str, transaction: Wire) -> Outcome:
    """A verified transaction as the outcome of the payment `ref`; it must be that payment's, in its
    amount and currency, or the payment is declined (nothing of another amount is booked)."""
    wanted = asked(ref)
    status = transaction.get("status")
    if transaction.get("tx_ref") != ref:
        raise ProviderIntegrityError(f"Flutterwave answered transaction {transaction.get('id')} of "
                                     f"{transaction.get('tx_ref')!r} for {ref!r}")
    paid = money(transaction.get("amount"), transaction.get("currency"))
    if status == "successful" and paid != wanted:
        return Declined(ref, wanted, "amount_mismatch",
                        f"Flutterwave took {paid.decimal} {paid.code}, not the {wanted.decimal} {wanted.code} asked; "
                        f"transaction {transaction.get('id')} must be refunded at Flutterwave")
    if status == "successful":
        return Succeeded(ref, paid)
    if status == "failed":
        return Declined(ref, wanted, "failed", str(transaction.get("processor_response") or "The payment failed."))
    return Pending(ref, wanted)


def refund_ref(refund: Wire) -> str:
    return f"{REFUND_PREFIX}{refund.get('id')}"


def refund_outcome(refund: Wire, currency: str) -> Outcome:
    ref, amount = refund_ref(refund), money(refund.get("amount_refunded"), currency)
    status = str(refund.get("status") or "").lower()
    if status in ("completed", "successful", "completed-mpgs"):
        return Succeeded(ref, amount)
    if status == "failed":
        return Declined(ref, amount, "refund_failed", "Flutterwave could not complete the refund.")
    return Pending(ref, amount)


def error_of(body: Wire) -> tuple[str, str]:
    """Flutterwave's error body, `{"status": "error", "message": …, "data": null}`."""
    message = str(body.get("message") or "Flutterwave refused the request.")
    return "flutterwave_" + "_".join(message.lower().split()[:4]).strip(".,:"), message
