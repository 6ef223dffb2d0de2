"""The marketplace over HTTP: sellers onboarded on the dummy gateway, orders paid, the worker run
at a later time, and the ledger's balances per seller."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from db.ledger_queries import all_entries
from domain.ledger import accounts as acc
from domain.ledger import balance_of
from paygate.worker import run_once, worker_services
from tests.conftest import settings_for
from tests.graphql import gql

BASE = "/api/payments"
PAN = "4242424242424242"
PRODUCTS = "{ products(first: 100) { edges { node { id sku } } } }"
SET_ITEM = "mutation($p: ID!, $q: Int!) { cartSetItem(input: {productId: $p, quantity: $q}) { __typename } }"
CHECKOUT = "mutation { checkout { ... on CheckoutSuccess { order { id uuid number } } } }"
PAY = """mutation($order: ID!) {
  processPayment(input: {orderId: $order, card: {number: "4242424242424242", expMonth: 12, expYear: 2034, cvc: "123"}}) {
    __typename ... on Payment { id uuid status } ... on Error { code message } } }"""
REFUND = """mutation($payment: ID!, $amount: MinorUnits) {
  refund(input: {paymentId: $payment, amount: $amount, reason: "returned"}) {
    __typename ... on Refund { status } ... on Error { code message } } }"""


def bearer(shop, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop.token(email)}"}


async def onboard(client, shop, email: str) -> str:
    """The seller's connected account, created and onboarded on the dummy gateway: its id."""
    created = await client.post(f"{BASE}/stripe/account/", json={"country": "US", "business_type": "individual"},
                                headers=bearer(shop, email))
    assert created.status_code == 201, created.text
    session = await client.post(f"{BASE}/stripe/create-session/", headers=bearer(shop, email))
    assert session.status_code == 200, session.text
    account_id = session.json()["account_id"]
    assert (await client.post(f"/dummy/connect/{account_id}/onboard")).status_code == 200
    status = await client.get(f"{BASE}/stripe/account-status/", headers=bearer(shop, email))
    assert status.json()["payouts_enabled"] is True
    return account_id


async def paid_order(client, shop, items: dict[str, int], email: str = "customer@example.com") -> tuple[dict, dict]:
    token = shop.token(email)
    products = await gql(client, PRODUCTS)
    ids = {e["node"]["sku"]: e["node"]["id"] for e in products["data"]["products"]["edges"]}
    for sku, quantity in items.items():
        await gql(client, SET_ITEM, {"p": ids[sku], "q": quantity}, token=token)
    order = (await gql(client, CHECKOUT, token=token))["data"]["checkout"]["order"]
    payment = (await gql(client, PAY, {"order": order["id"]}, token=token))["data"]["processPayment"]
    assert payment["__typename"] == "Payment" and payment["status"] == "SUCCEEDED", payment
    return order, payment


async def deliver(client, shop, order: dict, email: str, **body) -> dict:
    answer = await client.post(f"{BASE}/orders/{order['uuid']}/deliver/", json=body, headers=bearer(shop, email))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def run_worker(database_url: str, db, days_later: float = 0, **settings) -> dict[str, int]:
    """One pass of the worker's jobs, with its clock `days_later` (holds come due), configured as
    the app under test is (`settings`: Stripe's keys and base when it talks to the fake)."""
    moment = datetime.now(UTC) + timedelta(days=days_later)
    services = replace(worker_services(settings_for(database_url, **settings), db), clock=lambda: moment)
    return await run_once(db, services)


async def seller_books(db, seller_id: int, code: str = "USD") -> dict[str, int]:
    entries = await all_entries(db)
    kinds = {"held": acc.seller_held, "available": acc.seller_available, "transferred": acc.seller_transferred,
             "in_transit": acc.payouts_in_transit, "paid_out": acc.payouts_paid}
    return {name: balance_of(entries, make(seller_id, code)).minor for name, make in kinds.items()}
