"""The risk checks over real HTTP, on SQLite and PostgreSQL: a card-testing burst blocked (GraphQL's
typed error, seed 004's error shape), a payment held for review approved or rejected by staff,
and velocity shared through Redis by two app instances."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlmodel import select

from db.risk import RiskAssessmentRow
from db.tables import AuditRow, ProductRow
from paygate.app import create_app
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
CUSTOMER = "customer@example.com"
PAY = """mutation($o: ID!, $n: String!) {
  processPayment(input: {orderId: $o, card: {number: $n, expMonth: 12, expYear: 2034, cvc: "123"}}) {
    __typename
    ... on Payment { id legacyId status riskAssessment { decision } }
    ... on PaymentDeclined { declineCode }
    ... on RiskBlocked { code message reasons }
    ... on RiskReview { code message }
    ... on Error { code message }
  }
}"""
VISA = "4242424242424242"
# Numbers a card tester tries: each declined by the gateway (incorrect_number), each a distinct card.
TRIED = [f"42424242424242{n:02d}" for n in range(10, 16)]


@asynccontextmanager
async def app(database_url, shared_db, **risk) -> AsyncIterator[httpx.AsyncClient]:
    server, task, url = await start_server(create_app(settings_for(database_url, **risk), db=shared_db))
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield client
    finally:
        await stop_server(server, task)


async def cheap_product(db, shop) -> str:
    """A 1.00 USD item: what card testers buy."""
    async with db.write_sessions() as session, session.begin():
        session.add(ProductRow(seller_id=shop.id_of("seller@example.com"), sku="TINY-01", name="Sticker",
                               price_minor=100, currency="USD", stock=100))
    return "TINY-01"


async def order(http, shop, sku: str, email: str = CUSTOMER) -> dict:
    token = shop.token(email)
    products = await gql(http, "{ products(first: 100) { edges { node { id sku } } } }")
    product = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == sku)
    await gql(http, "mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) { __typename } }",
              {"p": product}, token=token)
    made = await gql(http, "mutation { checkout { ... on CheckoutSuccess { order { id legacyId } } } }", token=token)
    return made["data"]["checkout"]["order"]


async def pay(http, shop, sku: str, number: str, email: str = CUSTOMER) -> dict:
    placed = await order(http, shop, sku, email)
    paid = await gql(http, PAY, {"o": placed["id"], "n": number}, token=shop.token(email))
    return paid["data"]["processPayment"]


async def test_a_card_testing_burst_is_blocked_before_the_next_card_reaches_the_gateway(database_url, shared_db,
                                                                                     db, shop):
    sku = await cheap_product(db, shop)
    async with app(database_url, shared_db) as http:  # the default thresholds
        tries = [await pay(http, shop, sku, number) for number in TRIED[:5]]

        blocked = await pay(http, shop, sku, VISA)
        rest = await http.post("/api/payment/create-intent/", json={"order_id": (await order(http, shop, sku))["legacyId"]},
                               headers={"Authorization": f"Bearer {shop.token(CUSTOMER)}"})
        refused = await http.post("/api/payment/process/", headers={"Authorization": f"Bearer {shop.token(CUSTOMER)}"},
                                  json={"transaction_id": rest.json()["transaction_id"], "payment_method": "card",
                                        "payment_data": {"card_number": VISA, "expiry_month": 12,
                                                         "expiry_year": 2034, "cvv": "123"}})

    assert [(t["__typename"], t["declineCode"]) for t in tries] == [("PaymentDeclined", "incorrect_number")] * 5
    assert blocked["__typename"] == "RiskBlocked" and blocked["code"] == "risk_blocked"
    assert any("5 small declines of distinct cards" in reason for reason in blocked["reasons"])
    assert refused.status_code == 400 and set(refused.json()) == {"error"}
    async with db.read_sessions() as session:
        decisions = [r.decision for r in (await session.exec(select(RiskAssessmentRow)
                                                             .order_by(RiskAssessmentRow.id))).all()]
        audited = (await session.exec(select(AuditRow.action).where(AuditRow.action.like("risk.%")))).all()
    assert decisions == ["allow"] * 5 + ["block", "block"]
    assert sorted(audited) == sorted(["risk.allow"] * 5 + ["risk.block"] * 2)


async def test_the_same_declined_card_again_is_not_card_testing(database_url, shared_db, db, shop):
    sku = await cheap_product(db, shop)
    async with app(database_url, shared_db) as http:
        tries = [await pay(http, shop, sku, TRIED[0]) for _ in range(6)]

        paid = await pay(http, shop, sku, VISA)

    assert [t["__typename"] for t in tries] == ["PaymentDeclined"] * 6
    assert paid["status"] == "SUCCEEDED"


REVIEW = "mutation($p: ID!) { %s(input: {paymentId: $p}) { __typename ... on Payment { status } ... on Error { code } } }"


async def test_a_payment_above_the_limit_waits_for_staff_and_is_sent_once_approved(database_url, shared_db, db, shop):
    async with app(database_url, shared_db, risk_amount_limits={"USD": 2000}) as http:
        held = await pay(http, shop, "SAM-KNIFE-01", VISA)  # 39.99 > 20.00
        payments = await gql(http, "{ payments(first: 1) { edges { node { id status riskAssessment { decision review "
                                   "verdicts { rule score } } } } } }", token=shop.token("staff@example.com"))
        node = payments["data"]["payments"]["edges"][0]["node"]
        by_buyer = await gql(http, REVIEW % "riskReviewApprove", {"p": node["id"]}, token=shop.token(CUSTOMER))
        approved = await gql(http, REVIEW % "riskReviewApprove", {"p": node["id"]},
                             token=shop.token("staff@example.com"))
        order_id = (await gql(http, "{ orders(first: 1) { edges { node { id } } } }",
                              token=shop.token(CUSTOMER)))["data"]["orders"]["edges"][0]["node"]["id"]
        again = (await gql(http, PAY, {"o": order_id, "n": VISA}, token=shop.token(CUSTOMER)))["data"]

    assert held["__typename"] == "RiskReview" and held["code"] == "risk_review"
    assert node["status"] == "REQUIRES_PAYMENT_METHOD"  # nothing was sent
    assert (node["riskAssessment"]["decision"], node["riskAssessment"]["review"]) == ("REVIEW", "PENDING")
    assert {"rule": "amount_limit", "score": 60} in node["riskAssessment"]["verdicts"]
    assert by_buyer["data"]["riskReviewApprove"] == {"__typename": "NotAllowed", "code": "not_allowed"}
    assert approved["data"]["riskReviewApprove"] == {"__typename": "Payment", "status": "REQUIRES_PAYMENT_METHOD"}
    assert again["processPayment"]["status"] == "SUCCEEDED"


async def test_a_rejected_payment_is_canceled_and_never_sent(database_url, shared_db, db, shop):
    async with app(database_url, shared_db, risk_amount_limits={"USD": 2000}) as http:
        await pay(http, shop, "SAM-KNIFE-01", VISA)
        staff = shop.token("staff@example.com")
        payment = (await gql(http, "{ payments(first: 1) { edges { node { id } } } }",
                             token=staff))["data"]["payments"]["edges"][0]["node"]["id"]

        rejected = await gql(http, REVIEW % "riskReviewReject", {"p": payment}, token=staff)
        twice = await gql(http, REVIEW % "riskReviewReject", {"p": payment}, token=staff)

    assert rejected["data"]["riskReviewReject"] == {"__typename": "Payment", "status": "CANCELED"}
    assert twice["data"]["riskReviewReject"]["__typename"] == "Conflict"


async def test_two_app_instances_share_the_buyers_velocity_through_redis(database_url, shared_db, db, shop, redis_url):
    limits = {"redis_url": redis_url, "risk_buyer_attempts": 2}
    async with app(database_url, shared_db, **limits) as one, app(database_url, shared_db, **limits) as two:
        first = await pay(one, shop, "SAM-MUG-01", VISA)
        second = await pay(two, shop, "SAM-MUG-01", VISA)

        third = await pay(one, shop, "SAM-MUG-01", VISA)

    assert (first["status"], second["status"]) == ("SUCCEEDED", "SUCCEEDED")
    assert third["__typename"] == "RiskReview"


async def test_without_redis_each_instance_counts_alone(database_url, shared_db, db, shop):
    limits = {"risk_buyer_attempts": 2}
    async with app(database_url, shared_db, **limits) as one, app(database_url, shared_db, **limits) as two:
        made = [await pay(instance, shop, "SAM-MUG-01", VISA) for instance in (one, two, one)]

    assert [m["status"] for m in made] == ["SUCCEEDED"] * 3


CHECKOUT = """mutation($o: ID) { checkout(input: {provider: "stripe", orderId: $o}) { __typename
  ... on CheckoutSuccess { order { id } payment { id status } } ... on Error { code } } }"""


async def test_a_page_at_the_provider_is_opened_only_once_staff_approved_the_held_payment(
        database_url, shared_db, db, shop, fake_stripe):
    from tests.conftest import STRIPE_WEBHOOK_SECRET

    fake, base = fake_stripe
    fake.reset()
    stripe = {"stripe_api_key": "sk_test_paygate", "stripe_api_base": base,
              "stripe_webhook_secret": STRIPE_WEBHOOK_SECRET, "risk_amount_limits": {"USD": 2000}}
    buyer, staff = shop.token(CUSTOMER), shop.token("staff@example.com")
    async with app(database_url, shared_db, **stripe) as http:
        products = await gql(http, "{ products(first: 100) { edges { node { id sku } } } }")
        knife = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == "SAM-KNIFE-01")
        await gql(http, "mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) { __typename } }",
                  {"p": knife}, token=buyer)
        held = (await gql(http, CHECKOUT, token=buyer))["data"]["checkout"]
        sent_while_held = len(fake.intents)
        listed = await gql(http, "{ payments(first: 1) { edges { node { id order { id } } } } }", token=staff)
        node = listed["data"]["payments"]["edges"][0]["node"]
        still_held = (await gql(http, CHECKOUT, {"o": node["order"]["id"]}, token=buyer))["data"]["checkout"]
        await gql(http, REVIEW % "riskReviewApprove", {"p": node["id"]}, token=staff)

        opened = (await gql(http, CHECKOUT, {"o": node["order"]["id"]}, token=buyer))["data"]["checkout"]

    assert held == {"__typename": "RiskReview", "code": "risk_review"} and sent_while_held == 0
    assert still_held == {"__typename": "RiskReview", "code": "risk_review"}
    assert opened["__typename"] == "CheckoutSuccess"
    assert opened["payment"] == {"id": node["id"], "status": "REQUIRES_ACTION"}  # the same payment, opened now
    assert len(fake.intents) == 1
