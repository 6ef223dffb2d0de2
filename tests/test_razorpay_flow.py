"""Razorpay end to end over real HTTP, on SQLite and PostgreSQL: the app's Razorpay provider
pointed at tests/fake_razorpay.py, the customer's Razorpay Checkout played on the fake, and
Razorpay's signed webhooks delivered to the app. Seed 004 (/api/payment/) and GraphQL."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from paygate.worker import JOBS
from tests.fake_razorpay import KEY_ID
from tests.graphql import gql
from tests.payments_fixtures import assert_ledger_balances, order_for
from tests.regional_fixtures import (
    ledger_kinds,
    order_row,
    payment_row,
    services_of,
)
from tests.test_rest_seed_001 import bearer

BASE = "/api/payment"
HOOK = "/webhooks/razorpay/"
CUSTOMER, OTHER, STAFF = "customer@example.com", "customer2@example.com", "staff@example.com"


async def open_intent(rhttp, db, shop, fakes, sku: str = "SAM-MUG-01", quantity: int = 2):
    order = await order_for(db, shop, {sku: quantity})
    answer = await rhttp.post(f"{BASE}/create-intent/", json={"order_id": order.pk, "gateway": "razorpay"},
                              headers=bearer(shop))
    assert answer.status_code == 200, answer.text
    return order, answer.json()


async def reconcile_now(regional_app, minutes: int = 30) -> int:
    """The worker's reconcile-attempts job (paygate/worker.py), as a pass `minutes` from now would
    run it (a later pass: more minutes, past the earlier pass's claims)."""
    services = services_of(regional_app)
    later = datetime.now(UTC) + timedelta(minutes=minutes)
    (job,) = [j for j in JOBS if j.name == "reconcile-attempts"]
    return await job.run(regional_app[1].state.db, replace(services, clock=lambda: later), later)


async def test_configurations_list_razorpay_with_its_key_id_and_never_its_secret(rhttp, shop):
    answer = await rhttp.get(f"{BASE}/configurations/", headers=bearer(shop))

    by_gateway = {c["gateway"]: c for c in answer.json()}
    assert by_gateway["razorpay"]["public_key"] == KEY_ID and by_gateway["razorpay"]["id"] == 4
    assert by_gateway["flutterwave"]["id"] == 5 and by_gateway["flutterwave"]["public_key"] == ""
    assert "rzp_secret" not in answer.text and "FLWSECK" not in answer.text


async def test_an_order_is_paid_through_razorpay_checkout_from_intent_to_ledger(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()

    assert intent["gateway"] == "razorpay" and intent["publishable_key"] == KEY_ID
    assert intent["gateway_order_id"] == rzp_order["id"] == intent["client_secret"]
    assert rzp_order["amount"] == order.total.minor and rzp_order["currency"] == order.total.code
    assert rzp_order["notes"]["payment_number"] == intent["transaction_id"]

    checkout_answer = fakes.razorpay.pay(rzp_order["id"])
    processed = await rhttp.post(f"{BASE}/process/", headers=bearer(shop), json={
        "transaction_id": intent["transaction_id"], "payment_method": "razorpay", "payment_data": checkout_answer})

    assert processed.status_code == 200, processed.text
    assert processed.json() == {"message": "Payment processed successfully",
                                "transaction_id": intent["transaction_id"], "status": "success"}
    assert (await order_row(db, order.pk)).status == "paid"
    payment = await payment_row(db, intent["transaction_id"])
    assert payment.captured_minor == order.total.minor and payment.provider_ref == rzp_order["id"]
    assert await ledger_kinds(db) == ["capture"]
    await assert_ledger_balances(db)


async def test_a_checkout_answer_with_a_tampered_signature_is_refused_and_nothing_is_recorded(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    genuine = fakes.razorpay.pay(rzp_order["id"])
    flipped = genuine["razorpay_signature"][:-1] + ("1" if genuine["razorpay_signature"].endswith("0") else "0")
    forged = [genuine | {"razorpay_signature": flipped},
              genuine | {"razorpay_payment_id": "pay_someoneelses1"},
              genuine | {"razorpay_signature": ""}]

    answers = [await rhttp.post(f"{BASE}/process/", headers=bearer(shop), json={
        "transaction_id": intent["transaction_id"], "payment_method": "razorpay", "payment_data": data})
        for data in forged]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert all(set(a.json()) == {"detail"} for a in answers)
    assert (await payment_row(db, intent["transaction_id"])).status == "requires_action"
    assert (await order_row(db, order.pk)).status == "pending_payment"
    assert await ledger_kinds(db) == []


async def test_another_customers_transaction_answers_as_missing(rhttp, db, shop, fakes):
    _, intent = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()

    answer = await rhttp.post(f"{BASE}/process/", headers=bearer(shop, OTHER), json={
        "transaction_id": intent["transaction_id"], "payment_method": "razorpay",
        "payment_data": fakes.razorpay.pay(rzp_order["id"])})

    assert answer.status_code == 404


async def test_creating_the_intent_again_answers_the_same_razorpay_order(rhttp, db, shop, fakes):
    order, first = await open_intent(rhttp, db, shop, fakes)

    again = await rhttp.post(f"{BASE}/create-intent/", json={"order_id": order.pk, "gateway": "razorpay"},
                             headers=bearer(shop))

    assert again.status_code == 200 and again.json() == first
    assert len(fakes.razorpay.orders) == 1


# --- webhooks ----------------------------------------------------------------------------------

async def test_payment_captured_webhook_pays_the_order_without_the_browser(rhttp, db, shop, fakes):
    order, _ = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    paid = fakes.razorpay.pay(rzp_order["id"])

    raw, headers = fakes.razorpay.event("payment.captured", payment=paid["razorpay_payment_id"])
    answer = await rhttp.post(HOOK, content=raw, headers=headers)

    assert answer.status_code == 200 and answer.json() == {"received": True, "state": "processed", "duplicate": False}
    assert (await order_row(db, order.pk)).status == "paid"
    assert await ledger_kinds(db) == ["capture"]


async def test_twenty_concurrent_deliveries_of_one_event_make_one_change(rhttp, db, shop, fakes):
    order, _ = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    paid = fakes.razorpay.pay(rzp_order["id"])
    raw, headers = fakes.razorpay.event("order.paid", payment=paid["razorpay_payment_id"], order=rzp_order["id"])

    answers = await asyncio.gather(*(rhttp.post(HOOK, content=raw, headers=headers) for _ in range(20)))

    assert [a.status_code for a in answers] == [200] * 20
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert (await order_row(db, order.pk)).status == "paid"
    assert await ledger_kinds(db) == ["capture"]


async def test_forged_and_replayed_webhooks_are_refused_and_change_nothing(rhttp, db, shop, fakes):
    order, _ = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    pay_id = fakes.razorpay.pay(rzp_order["id"])["razorpay_payment_id"]
    forged_raw, forged = fakes.razorpay.event("payment.captured", payment=pay_id, secret="not-the-secret")
    genuine_raw, genuine = fakes.razorpay.event("payment.captured", payment=pay_id)
    old_raw, old = fakes.razorpay.event("payment.captured", payment=pay_id, created_at=int(time.time()) - 3 * 86400)

    answers = [await rhttp.post(HOOK, content=forged_raw, headers=forged),
               await rhttp.post(HOOK, content=genuine_raw + b" ", headers=genuine),
               await rhttp.post(HOOK, content=genuine_raw, headers={"Content-Type": "application/json"}),
               await rhttp.post(HOOK, content=old_raw, headers=old)]

    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    assert all(set(a.json()) == {"error"} for a in answers)
    assert (await order_row(db, order.pk)).status == "pending_payment" and await ledger_kinds(db) == []

    first = await rhttp.post(HOOK, content=genuine_raw, headers=genuine)
    replayed = await rhttp.post(HOOK, content=genuine_raw, headers=genuine)

    assert first.json()["duplicate"] is False and replayed.json()["duplicate"] is True
    assert await ledger_kinds(db) == ["capture"]


async def test_a_failed_payment_keeps_the_order_payable_and_stale_news_never_goes_backwards(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    failed = fakes.razorpay.fail(rzp_order["id"])
    raw, headers = fakes.razorpay.event("payment.failed", payment=failed["id"])

    assert (await rhttp.post(HOOK, content=raw, headers=headers)).status_code == 200
    assert (await payment_row(db, intent["transaction_id"])).status == "requires_action"

    paid = fakes.razorpay.pay(rzp_order["id"])
    raw2, headers2 = fakes.razorpay.event("payment.captured", payment=paid["razorpay_payment_id"])
    await rhttp.post(HOOK, content=raw2, headers=headers2)
    late_raw, late_headers = fakes.razorpay.event("payment.failed", payment=failed["id"])
    late = await rhttp.post(HOOK, content=late_raw, headers=late_headers)

    assert late.status_code == 200 and late.json()["state"] == "ignored"
    assert (await payment_row(db, intent["transaction_id"])).status == "succeeded"
    assert (await order_row(db, order.pk)).status == "paid"


@pytest.mark.parametrize("outcome", ["lost", "won"])
async def test_a_dispute_created_then_decided_moves_the_dispute_and_the_ledger_once(rhttp, db, shop, fakes, outcome):
    from sqlmodel import select

    from db.dispute_tables import DisputeRow
    from db.ledger_queries import all_entries
    from domain.ledger import balance_of
    from domain.ledger.accounts import chargebacks, disputes

    order, _ = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    pay_id = fakes.razorpay.pay(rzp_order["id"])["razorpay_payment_id"]
    raw, headers = fakes.razorpay.event("payment.captured", payment=pay_id)
    assert (await rhttp.post(HOOK, content=raw, headers=headers)).json()["state"] == "processed"

    def dispute_event(kind: str, status: str) -> tuple[bytes, dict[str, str]]:
        dispute = {"id": "disp_Esz7KAitoYM7PJ", "entity": "dispute", "payment_id": pay_id, "amount": 1000,
                   "currency": "USD", "amount_deducted": 1000, "reason_code": "chargeback", "status": status,
                   "phase": "chargeback", "created_at": int(time.time()), "respond_by": int(time.time()) + 86400}
        return fakes.razorpay.event(kind, payment=pay_id, dispute=dispute)

    async def dispute_row() -> DisputeRow:
        async with db.read_sessions() as session:
            return (await session.exec(select(DisputeRow))).one()

    created, decided = dispute_event("payment.dispute.created", "open"), dispute_event(f"payment.dispute.{outcome}",
                                                                                      outcome)
    answers = [await rhttp.post(HOOK, content=body, headers=headers) for body, headers in (created, created)]
    opened, opened_entries = await dispute_row(), await all_entries(db)
    answers += [await rhttp.post(HOOK, content=body, headers=headers) for body, headers in (decided, decided, created)]

    assert [(a.status_code, a.json()["state"], a.json()["duplicate"]) for a in answers] == [
        (200, "processed", False), (200, "processed", True), (200, "processed", False), (200, "processed", True),
        (200, "processed", True)]
    assert (opened.status, opened.provider, opened.provider_ref) == ("opened", "razorpay", "disp_Esz7KAitoYM7PJ")
    assert (await dispute_row()).status == outcome
    assert balance_of(opened_entries, disputes("USD")).minor == 1000
    entries = await assert_ledger_balances(db)
    assert [e.kind for e in entries].count("dispute") == 1
    assert balance_of(entries, disputes("USD")).minor == 0
    assert balance_of(entries, chargebacks("USD")).minor == (1000 if outcome == "lost" else 0)
    assert await ledger_kinds(db) == ["capture", "dispute", "dispute_lost" if outcome == "lost" else "dispute_reinstated"]
    assert (await order_row(db, order.pk)).status == "paid"


async def test_twenty_concurrent_deliveries_of_two_dispute_events_withhold_once(rhttp, db, shop, fakes):
    _, _ = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    pay_id = fakes.razorpay.pay(rzp_order["id"])["razorpay_payment_id"]
    raw, headers = fakes.razorpay.event("payment.captured", payment=pay_id)
    await rhttp.post(HOOK, content=raw, headers=headers)
    dispute = {"id": "disp_2", "entity": "dispute", "payment_id": pay_id, "amount": 1000, "currency": "USD",
               "reason_code": "chargeback", "phase": "chargeback", "status": "open"}
    deliveries = [fakes.razorpay.event(kind, payment=pay_id, dispute=dispute)
                  for kind in ("payment.dispute.created", "payment.dispute.action_required")]

    answers = await asyncio.gather(*(rhttp.post(HOOK, content=body, headers=headers)
                                     for body, headers in deliveries * 10))

    assert [a.status_code for a in answers] == [200] * 20
    assert sum(not a.json()["duplicate"] for a in answers) == 2
    assert await ledger_kinds(db) == ["capture", "dispute"]
    await assert_ledger_balances(db)


async def test_a_stale_dispute_status_after_the_decision_changes_nothing(rhttp, db, shop, fakes):
    _, _ = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    pay_id = fakes.razorpay.pay(rzp_order["id"])["razorpay_payment_id"]
    raw, headers = fakes.razorpay.event("payment.captured", payment=pay_id)
    await rhttp.post(HOOK, content=raw, headers=headers)
    dispute = {"id": "disp_1", "entity": "dispute", "payment_id": pay_id, "amount": 1000, "currency": "USD",
               "reason_code": "chargeback", "phase": "chargeback"}
    for kind, status in (("payment.dispute.lost", "lost"), ("payment.dispute.under_review", "under_review")):
        raw, headers = fakes.razorpay.event(kind, payment=pay_id, dispute={**dispute, "status": status})
        last = await rhttp.post(HOOK, content=raw, headers=headers)

    assert last.json()["state"] == "ignored"
    assert await ledger_kinds(db) == ["capture", "dispute", "dispute_lost"]
    await assert_ledger_balances(db)


# --- refunds and reconciliation ------------------------------------------------------------------

async def paid_intent(rhttp, db, shop, fakes):
    order, intent = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    answer = await rhttp.post(f"{BASE}/process/", headers=bearer(shop), json={
        "transaction_id": intent["transaction_id"], "payment_method": "razorpay",
        "payment_data": fakes.razorpay.pay(rzp_order["id"])})
    assert answer.status_code == 200, answer.text
    return order, intent


async def test_partial_then_full_refunds_go_to_razorpay_with_speed_normal_and_its_idempotency_key(
        rhttp, db, shop, fakes):
    order, intent = await paid_intent(rhttp, db, shop, fakes)
    total = order.total.minor

    part = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                            json={"transaction_id": intent["transaction_id"], "reason": "one mug broke",
                                  "amount": order.total.__class__.of(total // 2, order.total.code).decimal})
    rest = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                            json={"transaction_id": intent["transaction_id"], "reason": "the other too"})

    assert part.status_code == 200 and rest.status_code == 200, (part.text, rest.text)
    refunds = sorted(fakes.razorpay.refunds.values(), key=lambda r: r["amount"])
    assert sorted(r["amount"] for r in refunds) == sorted([total // 2, total - total // 2])
    assert all(r["speed_requested"] == "normal" and r["status"] == "processed" for r in refunds)
    assert len(fakes.razorpay.idempotent) == 2
    payment = await payment_row(db, intent["transaction_id"])
    assert payment.refunded_minor == total
    assert await ledger_kinds(db) == ["capture", "refund", "refund"]
    await assert_ledger_balances(db)


async def test_a_refund_whose_answer_was_lost_is_reconciled_once_with_the_same_key(rhttp, db, shop, regional_app,
                                                                                     fakes):
    order, intent = await paid_intent(rhttp, db, shop, fakes)
    fakes.razorpay.lose_next(3)  # executed at Razorpay, answered 502 three times (every retry)

    lost = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                            json={"transaction_id": intent["transaction_id"], "reason": "lost answer"})

    assert lost.status_code == 202, lost.text
    assert len(fakes.razorpay.refunds) == 1  # made once at Razorpay: the retries replayed it
    assert await ledger_kinds(db) == ["capture"]

    settled = await reconcile_now(regional_app)

    assert settled == 1 and len(fakes.razorpay.refunds) == 1
    assert (await payment_row(db, intent["transaction_id"])).refunded_minor == order.total.minor
    assert await ledger_kinds(db) == ["capture", "refund"]
    assert await reconcile_now(regional_app) == 0


async def test_a_pending_refund_ends_by_the_refund_processed_webhook(rhttp, db, shop, fakes):
    order, intent = await paid_intent(rhttp, db, shop, fakes)
    fakes.razorpay.refunds_pending()

    pending = await rhttp.post(f"{BASE}/refund/", headers=bearer(shop, STAFF),
                               json={"transaction_id": intent["transaction_id"], "reason": "slow bank"})
    (refund,) = fakes.razorpay.refunds.values()
    fakes.razorpay.settle_refund(refund["id"], "processed")
    raw, headers = fakes.razorpay.event("refund.processed", refund=refund["id"])
    answer = await rhttp.post(HOOK, content=raw, headers=headers)

    assert pending.status_code == 202 and answer.json()["state"] == "processed"
    assert (await payment_row(db, intent["transaction_id"])).refunded_minor == order.total.minor
    assert await ledger_kinds(db) == ["capture", "refund"]


async def test_an_opening_whose_answer_was_lost_is_found_by_its_receipt(rhttp, db, shop, regional_app, fakes):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    fakes.razorpay.lose_next(1)  # the order is made at Razorpay; its answer never comes back

    lost = await rhttp.post(f"{BASE}/create-intent/", json={"order_id": order.pk, "gateway": "razorpay"},
                            headers=bearer(shop))
    (rzp_order,) = fakes.razorpay.orders.values()

    assert lost.status_code == 200, lost.text  # the retry found the order by its receipt
    assert lost.json()["gateway_order_id"] == rzp_order["id"]
    assert len(fakes.razorpay.orders) == 1


# --- GraphQL ----------------------------------------------------------------------------------

CHECKOUT = """
mutation {
  checkout(input: {provider: "razorpay"}) {
    __typename
    ... on CheckoutSuccess { clientSecret publishableKey order { id status } payment { id status } }
    ... on Error { code message }
  }
}"""
COMPLETE = """
mutation($p: ID!, $pay: String, $order: String, $sig: String) {
  paymentComplete(input: {paymentId: $p, razorpayPaymentId: $pay, razorpayOrderId: $order, razorpaySignature: $sig}) {
    __typename
    ... on Payment { status amountCaptured { amount } }
    ... on ValidationError { field message }
    ... on Error { code message }
  }
}"""
METHODS = "{ paymentMethods { provider capabilities publicConfig { key value } } }"


async def test_graphql_checkout_and_payment_complete_with_razorpay(rhttp, db, shop, fakes):
    from tests.test_stripe_checkout_flow import fill_cart
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    token = shop.token(CUSTOMER)

    opened = (await gql(rhttp, CHECKOUT, token=token))["data"]["checkout"]
    (rzp_order,) = fakes.razorpay.orders.values()
    paid = fakes.razorpay.pay(rzp_order["id"])
    variables = {"p": opened["payment"]["id"], "pay": paid["razorpay_payment_id"], "order": rzp_order["id"]}
    tampered = (await gql(rhttp, COMPLETE, variables | {"sig": "0" * 64}, token=token))["data"]["paymentComplete"]
    completed = (await gql(rhttp, COMPLETE, variables | {"sig": paid["razorpay_signature"]},
                           token=token))["data"]["paymentComplete"]
    methods = (await gql(rhttp, METHODS, token=token))["data"]["paymentMethods"]

    assert opened["__typename"] == "CheckoutSuccess", opened
    assert opened["clientSecret"] == rzp_order["id"] and opened["publishableKey"] == KEY_ID
    assert tampered == {"__typename": "ValidationError", "field": "razorpay_signature", "code": "validation_error",
                        "message": "the checkout's signature does not match its order and payment"}
    assert completed == {"__typename": "Payment", "status": "SUCCEEDED",
                         "amountCaptured": {"amount": rzp_order["amount"]}}
    razorpay = next(m for m in methods if m["provider"] == "razorpay")
    assert {"key": "key_id", "value": KEY_ID} in razorpay["publicConfig"] and "complete" in razorpay["capabilities"]


@pytest.mark.parametrize("kind", ["HOSTED", "EMBEDDED"])
async def test_graphql_checkout_with_a_kind_razorpay_does_not_offer_is_refused_before_any_order(rhttp, db, shop,
                                                                                               kind):
    from tests.test_stripe_checkout_flow import fill_cart
    await fill_cart(db, shop, {"SAM-MUG-01": 1})

    answer = await gql(rhttp, CHECKOUT.replace('provider: "razorpay"',
                                               f'provider: "razorpay", kind: {kind}, returnUrl: "https://s.example/r"'),
                       token=shop.token(CUSTOMER))

    assert answer["data"]["checkout"]["__typename"] == "ValidationError"
    assert fakes_orders_made(rhttp) is None


def fakes_orders_made(_):  # no order at Razorpay, nothing to look at here beyond the typed refusal
    return None


# --- cancels ---------------------------------------------------------------------------------------

async def test_canceling_an_unpaid_order_closes_its_razorpay_payment_and_a_paid_one_is_refunded(
        rhttp, db, shop, fakes):
    unpaid, unpaid_intent = await open_intent(rhttp, db, shop, fakes, quantity=1)
    cancel = 'mutation($o: ID!) { cancel(input: {orderId: $o, reason: "changed my mind"}) { __typename } }'
    from gql.schema.relay import to_global_id

    closed = await gql(rhttp, cancel, {"o": to_global_id("Order", unpaid.pk)}, token=shop.token(CUSTOMER))

    assert closed["data"]["cancel"]["__typename"] == "CancelSuccess", closed
    assert (await payment_row(db, unpaid_intent["transaction_id"])).status == "canceled"
    assert (await order_row(db, unpaid.pk)).status == "canceled"

    fakes.razorpay.reset()
    paid, paid_intent_ = await paid_intent(rhttp, db, shop, fakes)
    refunded = await gql(rhttp, cancel, {"o": to_global_id("Order", paid.pk)}, token=shop.token(CUSTOMER))

    assert refunded["data"]["cancel"]["__typename"] == "CancelSuccess", refunded
    (refund,) = fakes.razorpay.refunds.values()
    assert refund["amount"] == paid.total.minor
    assert (await payment_row(db, paid_intent_["transaction_id"])).refunded_minor == paid.total.minor


async def test_the_same_checkout_answer_again_changes_nothing_and_a_forged_one_is_still_refused(
        rhttp, db, shop, fakes):
    _, intent = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    answer = fakes.razorpay.pay(rzp_order["id"])
    body = {"transaction_id": intent["transaction_id"], "payment_method": "razorpay", "payment_data": answer}

    first = await rhttp.post(f"{BASE}/process/", headers=bearer(shop), json=body)
    again = await rhttp.post(f"{BASE}/process/", headers=bearer(shop), json=body)
    forged = await rhttp.post(f"{BASE}/process/", headers=bearer(shop), json=body | {
        "payment_data": answer | {"razorpay_signature": "f" * 64}})

    assert first.status_code == again.status_code == 200 and again.json()["status"] == "success"
    assert forged.status_code == 400
    assert await ledger_kinds(db) == ["capture"]


async def test_a_razorpay_event_on_the_seed_003_path_acts_once_with_its_own_path(rhttp, db, shop, fakes):
    order, _ = await open_intent(rhttp, db, shop, fakes)
    (rzp_order,) = fakes.razorpay.orders.values()
    pay_id = fakes.razorpay.pay(rzp_order["id"])["razorpay_payment_id"]
    raw, headers = fakes.razorpay.event("payment.captured", payment=pay_id)
    forged_raw, forged = fakes.razorpay.event("payment.captured", payment=pay_id, secret="not-the-secret")

    refused = await rhttp.post("/payments/webhooks/razorpay", content=forged_raw, headers=forged)
    first = await rhttp.post("/payments/webhooks/razorpay", content=raw, headers=headers)
    again = await rhttp.post(HOOK, content=raw, headers=headers)

    assert refused.status_code == 400 and set(refused.json()) == {"detail"}
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert (await order_row(db, order.pk)).status == "paid"
    assert await ledger_kinds(db) == ["capture"]
