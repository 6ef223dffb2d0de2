"""Seed 004 with `gateway: "paypal"` over real HTTP, on SQLite and PostgreSQL: the configuration
lists PayPal with its public client id, create-intent opens the order's PayPal order (the same one
when asked again), process captures it once the buyer approved, and the buyer refunds part."""
from __future__ import annotations

from tests.fake_paypal import CLIENT_ID
from tests.graphql import gql
from tests.payments_fixtures import assert_ledger_balances
from tests.test_rest_seed_001 import bearer
from tests.test_stripe_checkout_flow import fill_cart

BASE = "/api/payment"
CHECKOUT = "mutation { checkout { __typename ... on CheckoutSuccess { order { legacyId } } } }"


async def test_a_seed_004_client_pays_an_order_with_paypal_and_refunds_part(pp_http, db, shop, paypal):
    await fill_cart(db, shop, {"SAM-MUG-01": 2})
    order = (await gql(pp_http, CHECKOUT, token=shop.token("customer@example.com")))["data"]["checkout"]["order"]
    headers = bearer(shop)

    configurations = (await pp_http.get(f"{BASE}/configurations/", headers=headers)).json()
    created = await pp_http.post(f"{BASE}/create-intent/", json={"order_id": order["legacyId"], "gateway": "paypal"},
                                 headers=headers)
    again = await pp_http.post(f"{BASE}/create-intent/", json={"order_id": order["legacyId"], "gateway": "paypal"},
                               headers=headers)
    txn = created.json()["transaction_id"]
    early = await pp_http.post(f"{BASE}/process/", json={"transaction_id": txn, "payment_method": "paypal"},
                               headers=headers)

    assert [(c["gateway"], c["public_key"]) for c in configurations] == [("paypal", CLIENT_ID)]
    assert created.status_code == 200, created.text
    assert created.json()["client_secret"] in paypal.orders and created.json()["amount"] == "29.98"
    assert again.json() == created.json() and len(paypal.orders) == 1
    assert early.status_code == 202 and paypal.captures == {}

    paypal.approve(created.json()["client_secret"])
    processed = await pp_http.post(f"{BASE}/process/", json={"transaction_id": txn, "payment_method": "paypal"},
                                   headers=headers)
    refunded = await pp_http.post(f"{BASE}/refund/", json={"transaction_id": txn, "amount": "5.00", "reason": "dent"},
                                  headers=headers)

    assert processed.status_code == 200, processed.text
    assert processed.json() == {"message": "Payment processed successfully", "transaction_id": txn,
                                "status": "success"}
    assert refunded.status_code == 200, refunded.text
    (refund,) = paypal.refunds.values()
    assert refund["amount"] == {"currency_code": "USD", "value": "5.00"}
    await assert_ledger_balances(db)


async def test_a_declined_paypal_payment_answers_the_seeds_failure(pp_http, db, shop, paypal):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    order = (await gql(pp_http, CHECKOUT, token=shop.token("customer@example.com")))["data"]["checkout"]["order"]
    created = await pp_http.post(f"{BASE}/create-intent/", json={"order_id": order["legacyId"], "gateway": "paypal"},
                                 headers=bearer(shop))
    paypal.approve(created.json()["client_secret"], funding="declined")

    answer = await pp_http.post(f"{BASE}/process/", json={"transaction_id": created.json()["transaction_id"],
                                                          "payment_method": "paypal"}, headers=bearer(shop))

    assert answer.status_code == 400 and answer.json() == {"error": "Payment processing failed"}
    assert paypal.captures == {}


async def test_card_details_for_a_paypal_transaction_are_a_400_and_nothing_is_sent(pp_http, db, shop, paypal):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    order = (await gql(pp_http, CHECKOUT, token=shop.token("customer@example.com")))["data"]["checkout"]["order"]
    created = await pp_http.post(f"{BASE}/create-intent/", json={"order_id": order["legacyId"], "gateway": "paypal"},
                                 headers=bearer(shop))
    calls = len(paypal.calls)

    answer = await pp_http.post(f"{BASE}/process/", json={
        "transaction_id": created.json()["transaction_id"], "payment_method": "credit_card",
        "payment_data": {"card_number": "4111111111111111", "expiry_month": "12", "expiry_year": "2030",
                         "cvv": "123"}}, headers=bearer(shop))

    assert answer.status_code == 400 and "paypal" in answer.json()["detail"]
    assert len(paypal.calls) == calls
