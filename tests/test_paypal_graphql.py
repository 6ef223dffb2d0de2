"""Paying with PayPal through GraphQL, over real HTTP on SQLite and PostgreSQL: checkout opens the
order's PayPal order and answers the approval URL, the test plays the buyer on the fake, the
buyer's return (paymentConfirm) captures it; then staff refund part, a customer's refund request
is approved, an order is canceled with its refund, and a capture whose answer was lost is settled
by the worker's reconciliation. The ledger balances throughout."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from db.payment_tables import PaymentRow
from db.uow import SqlUnitOfWork
from domain.services import Services
from paygate.events import LocalBus
from paygate.worker import run_once
from tests.graphql import gql
from tests.payments_fixtures import POLICY, assert_ledger_balances
from tests.paypal_fixtures import paypal_providers
from tests.test_stripe_checkout_flow import fill_cart

CUSTOMER, STAFF = "customer@example.com", "staff@example.com"
CHECKOUT = """
mutation {
  checkout(input: {provider: "paypal", kind: HOSTED, returnUrl: "https://shop.example/paypal/return",
                   cancelUrl: "https://shop.example/cart"}) {
    __typename
    ... on CheckoutSuccess { clientSecret redirectUrl order { id status } payment { id status } }
    ... on Error { code message }
  }
}"""
CONFIRM = """
mutation($id: ID!) { paymentConfirm(input: {paymentId: $id}) {
  __typename ... on Payment { status amountCaptured { amount } } ... on Error { code message } } }"""
REFUND = """
mutation($id: ID!, $amount: MinorUnits) { refund(input: {paymentId: $id, amount: $amount, reason: "scratched"}) {
  __typename ... on Refund { status providerRef amount { amount currency } } ... on Error { code message } } }"""
ASK = """
mutation($id: ID!) { refundRequest(input: {paymentId: $id, reason: "changed my mind", amount: 500}) {
  __typename ... on RefundRequest { id status } ... on Error { code message } } }"""
APPROVE = """
mutation($id: ID!) { refundRequestApprove(input: {id: $id}) {
  __typename ... on RefundRequestDecision { request { status } refund { status } } ... on Error { code message } } }"""
CANCEL = """
mutation($id: ID!) { cancel(input: {orderId: $id, reason: "no longer needed"}) {
  __typename ... on CancelSuccess { order { status } refund { status amount { amount } } } ... on Error { code message } } }"""


async def checked_out(http, db, shop, paypal) -> dict:
    await fill_cart(db, shop, {"SAM-MUG-01": 2})
    result = await gql(http, CHECKOUT, token=shop.token(CUSTOMER))
    assert result.get("data"), result
    answer = result["data"]["checkout"]
    assert answer["__typename"] == "CheckoutSuccess", answer
    answer["orderAtPayPal"] = answer["redirectUrl"].rsplit("token=", 1)[1]  # what the buyer's page shows
    return answer


async def paid(http, db, shop, paypal) -> dict:
    answer = await checked_out(http, db, shop, paypal)
    paypal.approve(answer["orderAtPayPal"])
    confirmed = (await gql(http, CONFIRM, {"id": answer["payment"]["id"]}, token=shop.token(CUSTOMER)))
    assert confirmed["data"]["paymentConfirm"]["status"] == "SUCCEEDED", confirmed
    return answer


async def test_checkout_with_paypal_answers_the_approval_url_and_the_return_captures_it(pp_http, db, shop, paypal):
    answer = await checked_out(pp_http, db, shop, paypal)

    order_id = answer["orderAtPayPal"]
    order = paypal.orders[order_id]
    assert answer["redirectUrl"] == f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}"
    assert answer["payment"]["status"] == "REQUIRES_ACTION" and answer["order"]["status"] == "PENDING_PAYMENT"
    assert order["status"] == "PAYER_ACTION_REQUIRED" and order["intent"] == "CAPTURE"
    assert order["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "29.98"}

    paypal.approve(order_id)
    confirmed = await gql(pp_http, CONFIRM, {"id": answer["payment"]["id"]}, token=shop.token(CUSTOMER))

    assert confirmed["data"]["paymentConfirm"] == {"__typename": "Payment", "status": "SUCCEEDED",
                                                   "amountCaptured": {"amount": 2998}}
    assert len(paypal.captures) == 1
    await assert_ledger_balances(db)


async def test_staff_refund_part_then_a_customers_request_is_approved_through_paypal(pp_http, db, shop, paypal):
    answer = await paid(pp_http, db, shop, paypal)
    payment_id = answer["payment"]["id"]

    refund = (await gql(pp_http, REFUND, {"id": payment_id, "amount": 1000}, token=shop.token(STAFF)))["data"]["refund"]
    asked = (await gql(pp_http, ASK, {"id": payment_id}, token=shop.token(CUSTOMER)))["data"]["refundRequest"]
    approved = (await gql(pp_http, APPROVE, {"id": asked["id"]}, token=shop.token(STAFF)))["data"]
    too_much = (await gql(pp_http, REFUND, {"id": payment_id, "amount": 1499}, token=shop.token(STAFF)))["data"]

    assert refund["status"] == "SUCCEEDED" and refund["amount"] == {"amount": 1000, "currency": "USD"}
    assert refund["providerRef"] in paypal.refunds
    assert approved["refundRequestApprove"]["refund"]["status"] == "SUCCEEDED"
    assert too_much["refund"]["__typename"] == "RefundExceedsCaptured"
    assert sorted(r["amount"]["value"] for r in paypal.refunds.values()) == ["10.00", "5.00"]
    async with db.read_sessions() as session:
        (row,) = (await session.exec(select(PaymentRow))).all()
    assert row.refunded_minor == 1500
    await assert_ledger_balances(db)


async def test_canceling_a_paid_order_refunds_it_through_paypal(pp_http, db, shop, paypal):
    answer = await paid(pp_http, db, shop, paypal)

    canceled = (await gql(pp_http, CANCEL, {"id": answer["order"]["id"]}, token=shop.token(CUSTOMER)))["data"]

    assert canceled["cancel"]["refund"] == {"status": "SUCCEEDED", "amount": {"amount": 2998}}, canceled
    (refund,) = paypal.refunds.values()
    assert refund["amount"] == {"currency_code": "USD", "value": "29.98"}
    await assert_ledger_balances(db)


async def test_a_capture_whose_answer_was_lost_is_settled_once_by_reconciliation(pp_http, db, shop, paypal,
                                                                                 fake_paypal_server):
    answer = await checked_out(pp_http, db, shop, paypal)
    paypal.approve(answer["orderAtPayPal"])
    paypal.lose_next(3, "/capture")  # PayPal captures; every answer, retries included, is lost

    lost = (await gql(pp_http, CONFIRM, {"id": answer["payment"]["id"]}, token=shop.token(CUSTOMER)))
    assert lost["data"]["paymentConfirm"]["status"] == "REQUIRES_ACTION"
    assert len(paypal.captures) == 1

    providers = paypal_providers(fake_paypal_server[1], db)
    later = datetime.now(UTC) + timedelta(minutes=15)  # past the reconciliation grace for pages
    await run_once(db, Services(lambda: SqlUnitOfWork(db), providers, POLICY, LocalBus(), clock=lambda: later))

    async with db.read_sessions() as session:
        (row,) = (await session.exec(select(PaymentRow))).all()
    assert row.status == "succeeded" and row.captured_minor == 2998
    assert len(paypal.captures) == 1
    await assert_ledger_balances(db)


async def test_checkout_for_paypals_buttons_answers_the_order_id_as_client_secret(pp_http, db, shop, paypal):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    query = CHECKOUT.replace("kind: HOSTED", "kind: ELEMENTS")

    answer = (await gql(pp_http, query, token=shop.token(CUSTOMER)))["data"]["checkout"]

    (order_id,) = paypal.orders
    assert answer["clientSecret"] == order_id and answer["redirectUrl"].endswith(f"token={order_id}")
    assert paypal.orders[order_id]["status"] == "CREATED"


async def test_checkout_on_an_embedded_page_paypal_lacks_opens_nothing_at_paypal(pp_http, db, shop, paypal):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    query = CHECKOUT.replace("kind: HOSTED", "kind: EMBEDDED")

    answer = (await gql(pp_http, query, token=shop.token(CUSTOMER)))["data"]["checkout"]

    assert answer["__typename"] != "CheckoutSuccess" and paypal.orders == {}
