"""Flutterwave end to end over real HTTP, on SQLite and PostgreSQL: the app's Flutterwave provider
pointed at tests/fake_flutterwave.py, the customer's hosted page played on the fake, and
Flutterwave's webhooks delivered to the app. Seed 004 (/api/payment/) and GraphQL."""
from __future__ import annotations

import asyncio
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

from tests.fake_flutterwave import SECRET_HASH
from tests.graphql import gql
from tests.payments_fixtures import assert_ledger_balances, order_for
from tests.regional_fixtures import (
    ledger_kinds,
    order_row,
    payment_row,
)
from tests.test_razorpay_flow import reconcile_now
from tests.test_rest_seed_001 import bearer

BASE = "/api/payment"
HOOK = "/webhooks/flutterwave/"
CUSTOMER, OTHER, STAFF = "customer@example.com", "customer2@example.com", "staff@example.com"


async def open_intent(rhttp, db, shop, quantity: int = 2):
    order = await order_for(db, shop, {"SAM-MUG-01": quantity})
    answer = await rhttp.post(f"{BASE}/create-intent/", headers=bearer(shop),
                              json={"order_id": order.pk, "gateway": "flutterwave",
                                    "return_url": "https://shop.example/paid"})
    assert answer.status_code == 200, answer.text
    return order, answer.json()


def only_link(fakes) -> tuple[str, dict]:
    ((tx_ref, link),) = fakes.flutterwave.links.items()
    return tx_ref, link


async def process(rhttp, shop, intent, redirect: dict, email: str = CUSTOMER):
    return await rhttp.post(f"{BASE}/process/", headers=bearer(shop, email), json={
        "transaction_id": intent["transaction_id"], "payment_method": "flutterwave",
        "payment_data": {"transaction_id": redirect["transaction_id"], "tx_ref": redirect["tx_ref"]}})


async def test_an_order_is_paid_on_flutterwaves_hosted_page_from_intent_to_ledger(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop)
    tx_ref, link = only_link(fakes)

    assert intent["redirect_url"].startswith("https://checkout.flutterwave.com/v3/hosted/pay/")
    assert link["amount"] == Decimal(order.total.decimal) and link["currency"] == order.total.code
    assert link["redirect_url"] == "https://shop.example/paid"
    assert link["meta"]["payment_number"] == intent["transaction_id"]

    redirect = fakes.flutterwave.pay(tx_ref)
    answer = await process(rhttp, shop, intent, redirect)

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    assert (await order_row(db, order.pk)).status == "paid"
    assert (await payment_row(db, intent["transaction_id"])).captured_minor == order.total.minor
    assert ("GET", f"/v3/transactions/{redirect['transaction_id']}/verify") in fakes.flutterwave.requests
    assert await ledger_kinds(db) == ["capture"]
    await assert_ledger_balances(db)


async def test_a_redirect_naming_another_transaction_or_a_smaller_amount_is_refused(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop)
    tx_ref, _ = only_link(fakes)
    await open_intent(rhttp, db, shop)  # the same amount: only the tx_ref tells them apart
    other_ref = next(r for r in fakes.flutterwave.links if r != tx_ref)
    theirs = fakes.flutterwave.pay(other_ref)
    short = fakes.flutterwave.pay(tx_ref, amount=Decimal("0.50"))

    answers = [await process(rhttp, shop, intent, {"transaction_id": theirs["transaction_id"], "tx_ref": tx_ref}),
               await process(rhttp, shop, intent, short),
               await process(rhttp, shop, intent, {"transaction_id": "99999999", "tx_ref": tx_ref})]

    assert [a.status_code for a in answers] == [400, 400, 400], [a.text for a in answers]
    assert (await payment_row(db, intent["transaction_id"])).status == "requires_action"
    assert (await order_row(db, order.pk)).status == "pending_payment"
    assert await ledger_kinds(db) == []


async def test_a_failed_payment_on_the_page_fails_the_transaction(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop)
    tx_ref, _ = only_link(fakes)

    answer = await process(rhttp, shop, intent, fakes.flutterwave.pay(tx_ref, succeed=False))

    assert answer.status_code == 400 and answer.json() == {"error": "Payment processing failed"}
    assert (await payment_row(db, intent["transaction_id"])).status == "failed"
    assert (await order_row(db, order.pk)).status == "pending_payment"


# --- webhooks ----------------------------------------------------------------------------------

async def test_charge_completed_is_verified_by_id_and_pays_the_order_once_for_twenty_deliveries(
        rhttp, db, shop, fakes):
    order, _ = await open_intent(rhttp, db, shop)
    tx_ref, _ = only_link(fakes)
    tx_id = int(fakes.flutterwave.pay(tx_ref)["transaction_id"])
    raw, headers = fakes.flutterwave.event("charge.completed", fakes.flutterwave.charge_completed(tx_id))

    answers = await asyncio.gather(*(rhttp.post(HOOK, content=raw, headers=headers) for _ in range(20)))

    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert (await order_row(db, order.pk)).status == "paid"
    assert await ledger_kinds(db) == ["capture"]


async def test_forged_webhooks_are_refused_and_a_forged_body_is_not_believed(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop)
    tx_ref, _ = only_link(fakes)
    tx_id = int(fakes.flutterwave.pay(tx_ref, succeed=False)["transaction_id"])
    claims_success = fakes.flutterwave.charge_completed(tx_id, status="successful")
    wrong_hash = fakes.flutterwave.event("charge.completed", claims_success, secret="guessed")
    bad_signature = fakes.flutterwave.event("charge.completed", claims_success, signature=True)
    tampered_signature = (bad_signature[0].replace(b"successful", b"successfuL"), bad_signature[1])
    no_header = (bad_signature[0], {"Content-Type": "application/json"})

    refused = [await rhttp.post(HOOK, content=raw, headers=headers)
               for raw, headers in (wrong_hash, tampered_signature, no_header)]
    # Signed with the real hash, but the body lies: the transaction is asked for by its id.
    believed = await rhttp.post(HOOK, content=bad_signature[0], headers=bad_signature[1])

    assert [a.status_code for a in refused] == [400, 400, 400]
    assert believed.status_code == 200, believed.text
    assert (await payment_row(db, intent["transaction_id"])).status == "failed"
    assert (await order_row(db, order.pk)).status == "pending_payment" and await ledger_kinds(db) == []


async def test_a_replayed_charge_completed_changes_nothing_and_never_goes_backwards(rhttp, db, shop, fakes):
    _, intent = await open_intent(rhttp, db, shop)
    tx_ref, _ = only_link(fakes)
    tx_id = int(fakes.flutterwave.pay(tx_ref)["transaction_id"])
    raw, headers = fakes.flutterwave.event("charge.completed", fakes.flutterwave.charge_completed(tx_id))

    first = await rhttp.post(HOOK, content=raw, headers=headers)
    replayed = await rhttp.post(HOOK, content=raw, headers=headers)
    old = fakes.flutterwave.event("charge.completed", fakes.flutterwave.charge_completed(
        tx_id, created_at="2020-01-01T00:00:00.000Z"))
    stale = await rhttp.post(HOOK, content=old[0], headers=old[1])

    assert first.json()["duplicate"] is False and replayed.json()["duplicate"] is True
    assert stale.status_code == 400
    assert (await payment_row(db, intent["transaction_id"])).status == "succeeded"
    assert await ledger_kinds(db) == ["capture"]


# --- refunds and reconciliation ------------------------------------------------------------------

async def paid_intent(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop)
    tx_ref, _ = only_link(fakes)
    assert (await process(rhttp, shop, intent, fakes.flutterwave.pay(tx_ref))).status_code == 200
    return order, intent


async def test_partial_then_full_refunds_go_to_flutterwave_in_exact_major_units(rhttp, db, shop, fakes):
    order, intent = await paid_intent(rhttp, db, shop, fakes)

    part = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                            json={"transaction_id": intent["transaction_id"], "reason": "one", "amount": "0.01"})
    rest = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                            json={"transaction_id": intent["transaction_id"], "reason": "the rest"})

    assert part.status_code == 200 and rest.status_code == 200, (part.text, rest.text)
    refunded = sorted(r["amount_refunded"] for r in fakes.flutterwave.refunds.values())
    assert refunded == sorted([Decimal("0.01"), Decimal(order.total.decimal) - Decimal("0.01")])
    assert (await payment_row(db, intent["transaction_id"])).refunded_minor == order.total.minor
    assert await ledger_kinds(db) == ["capture", "refund", "refund"]
    await assert_ledger_balances(db)


async def test_a_refund_whose_answer_was_lost_is_found_by_its_comment_not_made_twice(rhttp, db, shop, fakes):
    order, intent = await paid_intent(rhttp, db, shop, fakes)
    fakes.flutterwave.lose_next(1)  # made at Flutterwave; its answer lost (Flutterwave has no idempotency key)

    answer = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                              json={"transaction_id": intent["transaction_id"], "reason": "lost"})

    assert answer.status_code == 200, answer.text
    (refund,) = fakes.flutterwave.refunds.values()
    assert answer.json()["gateway_refund_id"] == f"flwrefund.{refund['id']}"
    assert fakes.flutterwave.requests[-1] == ("GET", "/v3/refunds")  # looked for, not sent again
    assert (await payment_row(db, intent["transaction_id"])).refunded_minor == order.total.minor
    assert await ledger_kinds(db) == ["capture", "refund"]


async def test_a_pending_refund_is_settled_by_the_worker_asking_for_it(rhttp, db, shop, regional_app, fakes):
    order, intent = await paid_intent(rhttp, db, shop, fakes)
    fakes.flutterwave.refunds_pending()

    pending = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                               json={"transaction_id": intent["transaction_id"], "reason": "slow"})
    (refund,) = fakes.flutterwave.refunds.values()
    fakes.flutterwave.settle_refund(refund["id"], "completed")

    assert pending.status_code == 202
    assert await reconcile_now(regional_app) == 1
    assert (await payment_row(db, intent["transaction_id"])).refunded_minor == order.total.minor
    assert await ledger_kinds(db) == ["capture", "refund"]


async def test_a_payment_whose_customer_never_came_back_is_settled_by_the_worker(rhttp, db, shop, regional_app,
                                                                                 fakes):
    order, _ = await open_intent(rhttp, db, shop)
    tx_ref, _ = only_link(fakes)
    assert await reconcile_now(regional_app) == 0  # not paid yet: still waiting on the page
    fakes.flutterwave.pay(tx_ref)  # paid; the redirect and the webhook never arrive

    assert await reconcile_now(regional_app, minutes=60) == 1
    assert (await order_row(db, order.pk)).status == "paid"
    assert await ledger_kinds(db) == ["capture"]


# --- GraphQL ----------------------------------------------------------------------------------

CHECKOUT = """
mutation {
  checkout(input: {provider: "flutterwave", kind: HOSTED, returnUrl: "https://shop.example/back"}) {
    __typename
    ... on CheckoutSuccess { redirectUrl payment { id status } }
    ... on Error { code message }
  }
}"""
COMPLETE = """
mutation($p: ID!, $t: String!, $r: String!) {
  paymentComplete(input: {paymentId: $p, flutterwaveTransactionId: $t, flutterwaveTxRef: $r}) {
    __typename
    ... on Payment { status }
    ... on Error { code message }
  }
}"""


async def test_graphql_checkout_sends_the_customer_to_the_hosted_page_and_the_return_completes_it(
        rhttp, db, shop, fakes):
    from tests.test_stripe_checkout_flow import fill_cart
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    token = shop.token(CUSTOMER)

    opened = (await gql(rhttp, CHECKOUT, token=token))["data"]["checkout"]
    tx_ref, link = only_link(fakes)
    redirect = fakes.flutterwave.pay(tx_ref)
    theirs = (await gql(rhttp, COMPLETE, {"p": opened["payment"]["id"], "t": redirect["transaction_id"],
                                          "r": redirect["tx_ref"]}, token=shop.token(OTHER)))["data"]
    completed = (await gql(rhttp, COMPLETE, {"p": opened["payment"]["id"], "t": redirect["transaction_id"],
                                             "r": redirect["tx_ref"]}, token=token))["data"]["paymentComplete"]

    assert opened["__typename"] == "CheckoutSuccess" and urlparse(opened["redirectUrl"]).path.endswith(link["token"])
    assert theirs["paymentComplete"]["__typename"] == "NotFound"
    assert completed == {"__typename": "Payment", "status": "SUCCEEDED"}
    assert not parse_qs(urlparse(opened["redirectUrl"]).query)  # the link carries no secret of ours
    assert SECRET_HASH not in str(opened)


async def test_graphql_checkout_with_flutterwave_as_an_element_is_refused_before_any_order(rhttp, db, shop, fakes):
    from tests.test_stripe_checkout_flow import fill_cart
    await fill_cart(db, shop, {"SAM-MUG-01": 1})

    answer = await gql(rhttp, CHECKOUT.replace("kind: HOSTED, ", ""), token=shop.token(CUSTOMER))

    assert answer["data"]["checkout"]["__typename"] == "ValidationError"
    assert fakes.flutterwave.links == {}


async def test_a_customers_refund_request_approved_by_staff_is_refunded_at_flutterwave(rhttp, db, shop, fakes):
    from gql.schema.relay import to_global_id
    _, intent = await paid_intent(rhttp, db, shop, fakes)
    payment = await payment_row(db, intent["transaction_id"])
    asked = await gql(rhttp, """mutation($p: ID!) { refundRequest(input: {paymentId: $p, amount: 100,
                                  reason: "dented"}) { __typename ... on RefundRequest { id } } }""",
                      {"p": to_global_id("Payment", payment.id)}, token=shop.token(CUSTOMER))
    request_id = asked["data"]["refundRequest"]["id"]

    approved = await gql(rhttp, """mutation($r: ID!) { refundRequestApprove(input: {id: $r}) { __typename } }""",
                         {"r": request_id}, token=shop.token(STAFF))

    assert approved["data"]["refundRequestApprove"]["__typename"] != "NotFound", approved
    (refund,) = fakes.flutterwave.refunds.values()
    assert refund["amount_refunded"] == Decimal("1.00") and refund["status"] == "completed"
    assert (await payment_row(db, intent["transaction_id"])).refunded_minor == 100
    assert await ledger_kinds(db) == ["capture", "refund"]


async def test_canceling_an_order_whose_page_is_unpaid_closes_it_and_a_paid_one_is_refunded(rhttp, db, shop, fakes):
    from gql.schema.relay import to_global_id
    cancel = 'mutation($o: ID!) { cancel(input: {orderId: $o, reason: "changed my mind"}) { __typename } }'
    unpaid, unpaid_intent = await open_intent(rhttp, db, shop, quantity=1)

    closed = await gql(rhttp, cancel, {"o": to_global_id("Order", unpaid.pk)}, token=shop.token(CUSTOMER))

    assert closed["data"]["cancel"]["__typename"] == "CancelSuccess", closed
    assert (await payment_row(db, unpaid_intent["transaction_id"])).status == "canceled"

    fakes.flutterwave.reset()
    paid, _ = await paid_intent(rhttp, db, shop, fakes)
    refunded = await gql(rhttp, cancel, {"o": to_global_id("Order", paid.pk)}, token=shop.token(CUSTOMER))

    assert refunded["data"]["cancel"]["__typename"] == "CancelSuccess", refunded
    (refund,) = fakes.flutterwave.refunds.values()
    assert refund["amount_refunded"] == Decimal(paid.total.decimal)


async def test_a_pending_refund_ends_by_flutterwaves_refund_event(rhttp, db, shop, fakes):
    order, intent = await paid_intent(rhttp, db, shop, fakes)
    fakes.flutterwave.refunds_pending()
    pending = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                               json={"transaction_id": intent["transaction_id"], "reason": "slow"})
    (refund,) = fakes.flutterwave.refunds.values()
    done = fakes.flutterwave.settle_refund(refund["id"], "completed")
    raw, headers = fakes.flutterwave.event("refund.completed", {k: done[k] for k in (
        "id", "tx_id", "flw_ref", "amount_refunded", "status", "created_at")}, signature=True)

    answer = await rhttp.post(HOOK, content=raw, headers=headers)
    again = await rhttp.post(HOOK, content=raw, headers=headers)

    assert pending.status_code == 202
    assert answer.status_code == 200 and answer.json()["state"] == "processed", answer.text
    assert again.json()["duplicate"] is True
    assert (await payment_row(db, intent["transaction_id"])).refunded_minor == order.total.minor
    assert await ledger_kinds(db) == ["capture", "refund"]
