"""Seed 002's PayPal paths over real HTTP, on SQLite and PostgreSQL: the app (PayPal pointed at
tests/fake_paypal.py) opens the order, the test plays the buyer's approval on the fake, the app
captures it, and staff refund it, in USD and in yen; errors in the seed's {"error": …} shape."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from db.payment_tables import PaymentRow
from db.uow import SqlUnitOfWork
from domain.services import Services
from paygate.events import LocalBus
from paygate.worker import run_once
from tests.payments_fixtures import POLICY, assert_ledger_balances
from tests.paypal_fixtures import paypal_providers
from tests.test_rest_seed_001 import assert_shape, bearer

BASE = "/api/v1/payments/paypal"
STAFF = "staff@example.com"
SEED_CREATED = {"order_id": "5O190127TN364715T", "status": "CREATED",
                "approval_url": "https://www.paypal.com/checkoutnow?token=5O190127TN364715T",
                "links": [{"href": "https://api.paypal.com/v2/checkout/orders/5O190127TN364715T", "rel": "self",
                           "method": "GET"}]}
SEED_CAPTURED = {"order_id": "5O190127TN364715T", "captured": True}
SEED_ORDER = {"order_id": "5O190127TN364715T", "status": "COMPLETED", "intent": "CAPTURE",
              "purchase_units": [{"amount": {"currency_code": "USD", "value": "29.99"}}],
              "create_time": "2023-01-01T12:00:00Z", "update_time": "2023-01-01T12:05:00Z"}
SEED_REFUND = {"refund_id": "1JU08902781691411", "status": "COMPLETED",
               "amount": {"currency_code": "USD", "value": "29.99"}, "create_time": "2023-01-01T12:10:00Z"}


async def post(http, shop, path: str, body: dict | str, email: str = "customer@example.com"):
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    return await http.post(f"{BASE}/{path}/", headers=bearer(shop, email) | {"Content-Type": "application/json"},
                           **kwargs)


async def created_and_captured(http, shop, paypal, amount: str = "29.99", currency: str = "USD") -> dict:
    created = await post(http, shop, "create-order", f'{{"amount": {amount}, "currency": "{currency}", '
                                                     f'"description": "Course enrollment", "custom_id": "payment_123"}}')
    assert created.status_code == 200, created.text
    order_id = created.json()["order_id"]
    paypal.approve(order_id)
    captured = await post(http, shop, "capture-order", {"order_id": order_id})
    assert captured.status_code == 200, captured.text
    return created.json()


async def test_a_seed_002_client_pays_with_paypal_and_staff_refund_in_two_parts(pp_http, db, shop, paypal):
    created = await post(pp_http, shop, "create-order", '{"amount": 29.99, "currency": "USD", '
                                                        '"description": "Course enrollment", "custom_id": "payment_123"}')

    assert created.status_code == 200, created.text
    assert_shape(created.json(), SEED_CREATED)
    order_id = created.json()["order_id"]
    assert created.json()["status"] == "CREATED"
    assert created.json()["approval_url"].endswith(f"token={order_id}")
    unit = paypal.orders[order_id]["purchase_units"][0]
    assert (unit["amount"], unit["custom_id"], unit["description"]) == (
        {"currency_code": "USD", "value": "29.99"}, "payment_123", "Course enrollment")

    not_yet = await post(pp_http, shop, "capture-order", {"order_id": order_id})
    assert not_yet.status_code == 400 and "approved" in not_yet.json()["error"]

    paypal.approve(order_id)
    captured = await post(pp_http, shop, "capture-order", {"order_id": order_id})
    again = await post(pp_http, shop, "capture-order", {"order_id": order_id})

    assert captured.json() == {"order_id": order_id, "captured": True}
    assert again.json() == {"order_id": order_id, "captured": True}
    assert len(paypal.captures) == 1

    order = (await post(pp_http, shop, "get-order", {"order_id": order_id})).json()
    (capture_id,) = paypal.captures
    assert order["status"] == "COMPLETED" and order["intent"] == "CAPTURE"
    assert order["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "29.99"}
    assert order["purchase_units"][0]["payments"] == {"captures": [{"id": capture_id}]}

    part = await post(pp_http, shop, "refund-payment", f'{{"capture_id": "{capture_id}", "amount": 10.00, "currency": "USD", '
                                                       '"note_to_payer": "Refund for course cancellation"}', STAFF)
    rest = await post(pp_http, shop, "refund-payment", {"capture_id": capture_id, "currency": "USD"}, STAFF)
    too_much = await post(pp_http, shop, "refund-payment", f'{{"capture_id": "{capture_id}", "amount": 0.01, "currency": "USD"}}', STAFF)

    assert part.status_code == 200, part.text
    assert_shape(part.json(), SEED_REFUND)
    assert part.json()["amount"] == {"currency_code": "USD", "value": "10.00"}
    assert part.json()["refund_id"] in paypal.refunds and part.json()["status"] == "COMPLETED"
    assert rest.json()["amount"] == {"currency_code": "USD", "value": "19.99"}
    assert too_much.status_code == 400 and "error" in too_much.json()
    assert paypal.refunds[part.json()["refund_id"]]["note_to_payer"] == "Refund for course cancellation"
    assert len(paypal.refunds) == 2
    await assert_ledger_balances(db)


async def test_yen_and_forint_go_to_paypal_without_decimals(pp_http, db, shop, paypal):
    yen = await created_and_captured(pp_http, shop, paypal, "1500", "JPY")
    forint = await created_and_captured(pp_http, shop, paypal, "1500", "HUF")

    assert paypal.orders[yen["order_id"]]["purchase_units"][0]["amount"] == {"currency_code": "JPY", "value": "1500"}
    assert paypal.orders[forint["order_id"]]["purchase_units"][0]["amount"] == {"currency_code": "HUF",
                                                                               "value": "1500"}
    order = (await post(pp_http, shop, "get-order", {"order_id": forint["order_id"]})).json()
    assert order["purchase_units"][0]["amount"] == {"currency_code": "HUF", "value": "1500"}
    yen_capture = next(c for c in paypal.captures if paypal.order_of(c) == yen["order_id"])
    refund = await post(pp_http, shop, "refund-payment", f'{{"capture_id": "{yen_capture}", "amount": 500, '
                                                         f'"currency": "JPY"}}', STAFF)
    assert refund.json()["amount"] == {"currency_code": "JPY", "value": "500"}
    assert paypal.refunds[refund.json()["refund_id"]]["amount"] == {"currency_code": "JPY", "value": "500"}
    await assert_ledger_balances(db)


@pytest.mark.parametrize(("body", "says"), [
    ('{"amount": 29.999, "currency": "USD"}', "decimal"),
    ('{"amount": 1500.5, "currency": "JPY"}', "decimal"),
    ('{"amount": 1500.50, "currency": "HUF"}', "whole units"),
    ('{"amount": 10, "currency": "KWD"}', "does not take"),
    ('{"amount": -1, "currency": "USD"}', "positive"),
    ('{"amount": 29.99}', "currency"),
])
async def test_an_amount_paypal_cant_take_is_a_400_and_nothing_is_written(pp_http, db, shop, paypal, body, says):
    answer = await post(pp_http, shop, "create-order", body)

    assert answer.status_code == 400, answer.text
    assert list(answer.json()) == ["error"] and says in answer.json()["error"]
    assert paypal.calls == []


async def test_another_customers_order_is_not_found_and_customers_cant_refund(pp_http, db, shop, paypal):
    created = await created_and_captured(pp_http, shop, paypal)
    (capture_id,) = paypal.captures

    theirs = await post(pp_http, shop, "get-order", {"order_id": created["order_id"]}, "customer2@example.com")
    capture = await post(pp_http, shop, "capture-order", {"order_id": created["order_id"]}, "customer2@example.com")
    refund = await post(pp_http, shop, "refund-payment", {"capture_id": capture_id})
    unknown = await post(pp_http, shop, "refund-payment", {"capture_id": "NOSUCHCAPTURE1"}, STAFF)

    assert (theirs.status_code, capture.status_code) == (404, 404)
    assert refund.status_code == 403 and paypal.refunds == {}
    assert unknown.status_code == 404
    assert (await pp_http.post(f"{BASE}/get-order/", json={"order_id": "X"})).status_code == 401


async def test_a_declined_funding_source_is_a_400_and_the_buyer_may_approve_again(pp_http, db, shop, paypal):
    created = await post(pp_http, shop, "create-order", {"amount": 5, "currency": "USD"})
    order_id = created.json()["order_id"]
    paypal.approve(order_id, funding="declined")

    declined = await post(pp_http, shop, "capture-order", {"order_id": order_id})

    assert declined.status_code == 400 and "declined" in declined.json()["error"]
    assert (await post(pp_http, shop, "get-order", {"order_id": order_id})).json()["status"] == "CREATED"
    paypal.funding[order_id] = "ok"  # the buyer picks another card on PayPal's page
    assert (await post(pp_http, shop, "capture-order", {"order_id": order_id})).json()["captured"] is True


async def test_a_capture_whose_answer_is_lost_is_captured_once_when_asked_again(pp_http, db, shop, paypal):
    created = await post(pp_http, shop, "create-order", {"amount": 5, "currency": "USD"})
    order_id = created.json()["order_id"]
    paypal.approve(order_id)
    paypal.lose_next(3, "/capture")  # PayPal captures; the answer and both retries' answers are lost

    lost = await post(pp_http, shop, "capture-order", {"order_id": order_id})
    again = await post(pp_http, shop, "capture-order", {"order_id": order_id})

    assert lost.status_code == 503
    assert again.json() == {"order_id": order_id, "captured": True}
    assert len(paypal.captures) == 1
    await assert_ledger_balances(db)


async def test_a_refund_whose_answer_was_lost_is_refunded_once_and_settled_by_the_worker(
        pp_http, db, shop, paypal, fake_paypal_server):
    await created_and_captured(pp_http, shop, paypal)
    (capture_id,) = paypal.captures
    headers = bearer(shop, STAFF) | {"Idempotency-Key": "refund-once-1"}
    paypal.lose_next(3, "/refund")  # PayPal refunds; every answer is lost

    lost = await pp_http.post(f"{BASE}/refund-payment/", json={"capture_id": capture_id, "amount": 10,
                                                               "currency": "USD"}, headers=headers)
    again = await pp_http.post(f"{BASE}/refund-payment/", json={"capture_id": capture_id, "amount": 10,
                                                                "currency": "USD"}, headers=headers)
    later = datetime.now(UTC) + timedelta(minutes=2)  # past the reconciliation grace
    await run_once(db, Services(lambda: SqlUnitOfWork(db), paypal_providers(fake_paypal_server[1], db), POLICY,
                                LocalBus(), clock=lambda: later))

    assert lost.status_code == 202 and lost.json()["status"] == "PENDING"
    assert again.json() == lost.json()  # the same key answers the same
    assert len(paypal.refunds) == 1
    async with db.read_sessions() as session:
        (row,) = (await session.exec(select(PaymentRow))).all()
    assert row.refunded_minor == 1000
    await assert_ledger_balances(db)
