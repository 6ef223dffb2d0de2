"""PayPal's events read into our news (providers/paypal/webhooks.py), without HTTP: which attempt
kinds a capture event settles and how, refunds found by their capture, and disputes as a value."""
from __future__ import annotations

import pytest

from domain.errors import ValidationError
from domain.money import Money
from domain.payments.provider import Declined, Pending, Succeeded
from domain.payments.status import AttemptKind
from providers.paypal import webhooks
from tests.fake_paypal_webhooks import event

CAPTURE = {"id": "2GG279541U471931P", "status": "COMPLETED", "amount": {"currency_code": "JPY", "value": "1500"},
           "invoice_id": "0f8e2a4c-8d1e-4a4b-9c1f-2b1f2b1f2b1f-1",
           "supplementary_data": {"related_ids": {"order_id": "5O190127TN364715T"}}}


@pytest.mark.parametrize(("kind", "status", "outcome"), [
    ("PAYMENT.CAPTURE.COMPLETED", "COMPLETED", Succeeded),
    ("PAYMENT.CAPTURE.PENDING", "PENDING", Pending),
    ("PAYMENT.CAPTURE.DENIED", "DENIED", Declined),
])
def test_a_capture_event_settles_an_open_authorization_or_capture_under_the_order(kind, status, outcome):
    news = webhooks.payment_news(event(kind, CAPTURE | {"status": status}, event_id="WH-1"),
                                 webhooks.object_ref(event(kind, CAPTURE)))

    assert news.provider_ref == "5O190127TN364715T" and news.event_id == "WH-1"
    assert news.payment_uuid == "0f8e2a4c-8d1e-4a4b-9c1f-2b1f2b1f2b1f"
    assert set(news.outcomes) == {AttemptKind.AUTHORIZE, AttemptKind.CAPTURE}
    found = news.outcomes[AttemptKind.CAPTURE]
    assert isinstance(found, outcome) and found.amount == Money.of(1500, "JPY")
    assert not news.reconcile


def test_a_refund_event_names_its_capture_and_is_reconciled():
    refund = {"id": "1JU08902781691411", "status": "COMPLETED", "amount": {"currency_code": "USD", "value": "5.00"},
              "links": [{"href": "https://api.paypal.com/v2/payments/captures/2GG279541U471931P", "rel": "up",
                         "method": "GET"}]}
    refunded = event("PAYMENT.CAPTURE.REFUNDED", refund, resource_type="refund")

    assert webhooks.captured_by(refunded) == "2GG279541U471931P"
    assert webhooks.payment_news(refunded, "5O190127TN364715T").reconcile


def test_a_voided_authorization_settles_a_void_and_ends_an_authorization():
    voided = event("PAYMENT.AUTHORIZATION.VOIDED", {
        "id": "0VF52814937998046", "status": "VOIDED", "amount": {"currency_code": "USD", "value": "10.99"},
        "supplementary_data": {"related_ids": {"order_id": "5O190127TN364715T"}}}, resource_type="authorization")

    news = webhooks.payment_news(voided, webhooks.object_ref(voided))

    assert news.outcomes[AttemptKind.VOID] == Succeeded("5O190127TN364715T", Money.of(1099, "USD"))
    assert isinstance(news.outcomes[AttemptKind.AUTHORIZE], Declined)


def test_a_dispute_reads_as_a_typed_value():
    resolved = event("CUSTOMER.DISPUTE.RESOLVED", {
        "dispute_id": "PP-D-27803", "status": "RESOLVED", "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "dispute_amount": {"currency_code": "USD", "value": "29.99"},
        "disputed_transactions": [{"seller_transaction_id": "2GG279541U471931P"}],
        "dispute_outcome": {"outcome_code": "RESOLVED_BUYER_FAVOUR"}}, event_id="WH-2", resource_type="dispute")

    dispute = webhooks.dispute_news(resolved)

    assert webhooks.is_dispute(resolved) and webhooks.handled(resolved)
    assert dispute == webhooks.DisputeNews(
        event_id="WH-2", event_type="CUSTOMER.DISPUTE.RESOLVED", dispute_id="PP-D-27803", status="RESOLVED",
        reason="MERCHANDISE_OR_SERVICE_NOT_RECEIVED", amount=Money.of(2999, "USD"),
        capture_ids=("2GG279541U471931P",), outcome="RESOLVED_BUYER_FAVOUR")


def test_a_dispute_without_its_id_is_refused():
    with pytest.raises(ValidationError):
        webhooks.dispute_news(event("CUSTOMER.DISPUTE.CREATED", {"status": "OPEN"}))


def test_other_event_types_are_not_handled():
    assert not webhooks.handled(event("BILLING.SUBSCRIPTION.CREATED", {"id": "I-1"}))
