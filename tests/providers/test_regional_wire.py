"""Razorpay's and Flutterwave's wires read exactly: amounts per currency exponent, error bodies,
and the references we make."""
from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import ProviderIntegrityError, ValidationError
from domain.money import Money
from domain.payments.provider import Declined, Pending, RequiresAction, Succeeded
from providers.flutterwave import wire as flw
from providers.razorpay import checkout_signature
from providers.razorpay import wire as rzp


@pytest.mark.parametrize(("minor", "code", "on_the_wire"), [
    (150000, "NGN", "1500.00"), (1, "KES", "0.01"), (2999, "ZAR", "29.99"),
    (1500, "UGX", "1500"), (1500, "JPY", "1500"), (1234, "KWD", "1.234"),
])
def test_flutterwave_amounts_are_written_and_read_exactly_in_each_currencys_exponent(minor, code, on_the_wire):
    amount = Money.of(minor, code)

    assert flw.wire_amount(amount) == on_the_wire
    assert flw.money(Decimal(on_the_wire), code) == amount
    assert flw.money(on_the_wire, code) == amount


@pytest.mark.parametrize(("amount", "code"), [(Decimal("10.001"), "NGN"), (Decimal("1.5"), "UGX"), (1.5, "USD")])
def test_flutterwave_amounts_with_more_decimals_than_the_currency_or_as_floats_are_refused(amount, code):
    with pytest.raises(ProviderIntegrityError):
        flw.money(amount, code)


def test_a_tx_ref_names_what_was_asked_and_a_transaction_is_checked_against_it():
    ref = flw.tx_ref("0b6c-1", Money.of(150000, "NGN"))
    base = {"tx_ref": ref, "currency": "NGN", "id": 7}

    assert flw.asked(ref) == Money.of(150000, "NGN")
    assert flw.transaction_outcome(ref, base | {"status": "successful", "amount": Decimal("1500")}) == \
        Succeeded(ref, Money.of(150000, "NGN"))
    short = flw.transaction_outcome(ref, base | {"status": "successful", "amount": Decimal("1499.99")})
    assert isinstance(short, Declined) and short.decline_code == "amount_mismatch"
    assert isinstance(flw.transaction_outcome(ref, base | {"status": "pending", "amount": 1500}), Pending)
    with pytest.raises(ProviderIntegrityError):
        flw.transaction_outcome(ref, base | {"tx_ref": "pg.other-1.NGN.150000", "status": "successful",
                                             "amount": 1500})
    with pytest.raises(ValidationError):
        flw.asked("someone-elses-ref")


def test_flutterwaves_error_body_is_translated():
    code, message = flw.error_of({"status": "error", "message": "No transaction was found for this id", "data": None})

    assert code == "flutterwave_no_transaction_was_found" and message == "No transaction was found for this id"


def test_razorpays_error_body_is_translated_with_its_reason_first():
    body = {"error": {"code": "BAD_REQUEST_ERROR", "description": "Payment failed due to insufficient balance",
                      "source": "customer", "step": "payment_authorization", "reason": "insufficient_funds"}}

    assert rzp.error_of(body) == ("insufficient_funds", "Payment failed due to insufficient balance")
    assert rzp.error_of({"error": {"code": "BAD_REQUEST_ERROR", "description": "x", "reason": "NA"}})[0] == \
        "bad_request_error"


@pytest.mark.parametrize(("payments", "notes", "kind"), [
    ([], {}, RequiresAction),
    ([{"status": "failed", "amount": 5000, "currency": "INR", "error_reason": "payment_failed"}], {}, Declined),
    ([{"status": "authorized", "amount": 5000, "currency": "INR"}], {}, Pending),
    ([{"status": "authorized", "amount": 5000, "currency": "INR"}], {rzp.CAPTURE_NOTE: "manual"}, Succeeded),
    ([{"status": "failed", "amount": 5000, "currency": "INR"},
      {"status": "captured", "amount": 5000, "currency": "INR"}], {}, Succeeded),
])
def test_a_razorpay_order_reads_as_the_authorization_it_stands_for(payments, notes, kind):
    order = {"id": "order_x1", "amount": 5000, "currency": "INR", "notes": notes}

    outcome = rzp.order_outcome(order, payments)

    assert isinstance(outcome, kind) and outcome.provider_ref == "order_x1"


def test_razorpay_checkouts_signature_is_hmac_sha256_of_order_and_payment_ids():
    # Razorpay's documented recipe: hmac_sha256(order_id + "|" + razorpay_payment_id, secret)
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b"order_IluGWxBm9U8zJ8|pay_IluGxNsb9XSO4p", hashlib.sha256).hexdigest()

    assert checkout_signature("order_IluGWxBm9U8zJ8", "pay_IluGxNsb9XSO4p", "s3cret") == expected
