"""Paying, refunding and cancelling through GraphQL over real HTTP, as a frontend and an admin do."""
from __future__ import annotations

import logging

from sqlalchemy import text
from sqlmodel import SQLModel

from gql.schema.relay import to_global_id
from tests.graphql import gql

PAN = "4242424242424242"
PRODUCTS = "{ products(first: 100) { edges { node { id sku } } } }"
SET_ITEM = "mutation($p: ID!, $q: Int!) { cartSetItem(input: {productId: $p, quantity: $q}) { __typename } }"
CHECKOUT = "mutation { checkout { ... on CheckoutSuccess { order { id number total { amount } } } } }"
PAY = """
mutation($order: ID!, $number: String!, $capture: CaptureMethodEnum) {
  processPayment(input: {orderId: $order, card: {number: $number, expMonth: 12, expYear: 2034, cvc: "123"},
                         captureMethod: $capture}) {
    __typename
    ... on Payment { id number status amountCaptured { amount } card { brand last4 } }
    ... on PaymentDeclined { declineCode message }
    ... on Error { code message }
  }
}"""
REFUND = """
mutation($payment: ID!, $amount: MinorUnits) {
  refund(input: {paymentId: $payment, amount: $amount, reason: "damaged"}) {
    __typename
    ... on Refund { number uuid amount { amount currency } status reason }
    ... on Error { code message }
  }
}"""
ORDER = "query($id: ID!) { order(id: $id) { status } }"


async def _checked_out(client, shop, sku: str = "SAM-MUG-01", quantity: int = 2,
                       email: str = "customer@example.com") -> dict:
    token = shop.token(email)
    products = await gql(client, PRODUCTS)
    product = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == sku)
    await gql(client, SET_ITEM, {"p": product, "q": quantity}, token=token)
    return (await gql(client, CHECKOUT, token=token))["data"]["checkout"]["order"]


async def _paid(client, shop, **kw) -> tuple[dict, dict]:
    order = await _checked_out(client, shop, **kw)
    body = await gql(client, PAY, {"order": order["id"], "number": PAN}, token=shop.token("customer@example.com"))
    return order, body["data"]["processPayment"]


async def test_a_customer_pays_a_checked_out_order_with_a_card(client, shop):
    order, payment = await _paid(client, shop)

    status = await gql(client, ORDER, {"id": order["id"]}, token=shop.token("customer@example.com"))

    assert payment["__typename"] == "Payment" and payment["status"] == "SUCCEEDED"
    assert payment["number"].startswith("TXN-")
    assert payment["amountCaptured"] == {"amount": order["total"]["amount"]}
    assert payment["card"] == {"brand": "visa", "last4": "4242"}
    assert status["data"]["order"]["status"] == "PAID"


async def test_a_declined_card_answers_payment_declined_with_its_code(client, shop):
    order = await _checked_out(client, shop)

    body = await gql(client, PAY, {"order": order["id"], "number": "4000000000000002"},
                     token=shop.token("customer@example.com"))

    assert body["data"]["processPayment"]["__typename"] == "PaymentDeclined"
    assert body["data"]["processPayment"]["declineCode"] == "card_declined"


async def test_paying_someone_elses_order_is_not_found(client, shop):
    order = await _checked_out(client, shop)

    body = await gql(client, PAY, {"order": order["id"], "number": PAN}, token=shop.token("customer2@example.com"))

    assert body["data"]["processPayment"]["__typename"] == "NotFound"


async def test_staff_refund_part_then_a_refund_above_what_is_left_is_refused(client, shop):
    _, payment = await _paid(client, shop)
    staff = shop.token("staff@example.com")

    first = await gql(client, REFUND, {"payment": payment["id"], "amount": 1000}, token=staff)
    too_much = await gql(client, REFUND, {"payment": payment["id"], "amount": 2000}, token=staff)

    refund = first["data"]["refund"]
    assert refund["__typename"] == "Refund" and refund["number"].startswith("REF-")
    assert (refund["amount"], refund["status"], refund["reason"]) == (
        {"amount": 1000, "currency": "USD"}, "SUCCEEDED", "damaged")
    assert too_much["data"]["refund"]["__typename"] == "RefundExceedsCaptured"


async def test_a_customer_may_not_refund_directly(client, shop):
    # The use case decides who may refund (domain/payments/service.py), and says so in the union.
    _, payment = await _paid(client, shop)

    body = await gql(client, REFUND, {"payment": payment["id"], "amount": 100},
                     token=shop.token("customer@example.com"))

    assert body["data"]["refund"]["__typename"] == "NotAllowed"
    assert body["data"]["refund"]["code"] == "not_allowed"


async def test_the_buyer_cancels_a_paid_order_and_gets_the_money_back(client, shop):
    order, _ = await _paid(client, shop)

    body = await gql(client, """mutation($o: ID!) { cancel(input: {orderId: $o, reason: "late"}) {
        __typename ... on CancelSuccess { order { status cancellationReason } refund { amount { amount } } } } }""",
                     {"o": order["id"]}, token=shop.token("customer@example.com"))

    result = body["data"]["cancel"]
    assert result["order"] == {"status": "CANCELED", "cancellationReason": "late"}
    assert result["refund"]["amount"]["amount"] == order["total"]["amount"]


async def test_a_refund_request_is_approved_by_staff(client, shop):
    _, payment = await _paid(client, shop)

    asked = await gql(client, """mutation($p: ID!) { refundRequest(input: {paymentId: $p, amount: 500,
        reason: "chipped"}) { __typename ... on RefundRequest { id status amount { amount } } } }""",
                      {"p": payment["id"]}, token=shop.token("customer@example.com"))
    decided = await gql(client, """mutation($r: ID!) { refundRequestApprove(input: {id: $r}) { __typename
        ... on RefundRequestDecision { request { status } refund { amount { amount } status } } } }""",
                        {"r": asked["data"]["refundRequest"]["id"]}, token=shop.token("staff@example.com"))

    assert asked["data"]["refundRequest"]["status"] == "PENDING"
    assert decided["data"]["refundRequestApprove"] == {
        "__typename": "RefundRequestDecision", "request": {"status": "APPROVED"},
        "refund": {"amount": {"amount": 500}, "status": "SUCCEEDED"}}


async def test_manual_capture_over_graphql_authorizes_then_staff_capture(client, shop):
    order = await _checked_out(client, shop, sku="SAM-KNIFE-01", quantity=1)
    authorized = await gql(client, PAY, {"order": order["id"], "number": PAN, "capture": "MANUAL"},
                           token=shop.token("customer@example.com"))

    captured = await gql(client, """mutation($p: ID!) { capture(input: {paymentId: $p}) { __typename
        ... on Payment { status amountCaptured { amount } } } }""",
                         {"p": authorized["data"]["processPayment"]["id"]}, token=shop.token("staff@example.com"))

    assert authorized["data"]["processPayment"]["status"] == "REQUIRES_CAPTURE"
    assert captured["data"]["capture"] == {"__typename": "Payment", "status": "SUCCEEDED",
                                           "amountCaptured": {"amount": 3999}}


async def test_no_full_card_number_reaches_the_database_or_the_log(client, db, shop, caplog):
    caplog.set_level(logging.DEBUG)

    await _paid(client, shop)
    await gql(client, PAY, {"order": to_global_id("Order", 999), "number": PAN},
              token=shop.token("customer@example.com"))

    async with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await conn.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            assert PAN not in repr(rows), table.name
    assert PAN not in caplog.text


CONFIRM = """mutation($p: ID!) { paymentConfirm(input: {paymentId: $p}) { __typename
    ... on Payment { status } ... on PaymentDeclined { declineCode } ... on Error { code } } }"""
THREE_D_SECURE = "4000002500003155"


async def _requires_action(client, shop) -> dict:
    order = await _checked_out(client, shop)
    body = await gql(client, PAY.replace("card { brand last4 }", "card { brand last4 } clientSecret"),
                     {"order": order["id"], "number": THREE_D_SECURE}, token=shop.token("customer@example.com"))
    return body["data"]["processPayment"]


async def test_a_3d_secure_card_waits_for_the_customer_then_confirms(client, shop):
    payment = await _requires_action(client, shop)
    ref = payment["clientSecret"].split("_secret_")[0]

    page = await client.post(f"/dummy/3ds/{ref}", json={"authenticated": True})
    confirmed = await gql(client, CONFIRM, {"p": payment["id"]}, token=shop.token("customer@example.com"))

    assert payment["status"] == "REQUIRES_ACTION"
    assert page.json() == {"status": "succeeded"}
    assert confirmed["data"]["paymentConfirm"] == {"__typename": "Payment", "status": "SUCCEEDED"}


async def test_a_failed_3d_secure_challenge_declines_the_payment(client, shop):
    payment = await _requires_action(client, shop)
    ref = payment["clientSecret"].split("_secret_")[0]

    await client.post(f"/dummy/3ds/{ref}", json={"authenticated": False})
    confirmed = await gql(client, CONFIRM, {"p": payment["id"]}, token=shop.token("customer@example.com"))

    assert confirmed["data"]["paymentConfirm"]["__typename"] == "PaymentDeclined"


async def test_confirming_a_payment_with_nothing_open_is_a_conflict(client, shop):
    _, payment = await _paid(client, shop)

    confirmed = await gql(client, CONFIRM, {"p": payment["id"]}, token=shop.token("customer@example.com"))

    assert confirmed["data"]["paymentConfirm"]["__typename"] == "Conflict"
