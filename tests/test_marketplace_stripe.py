"""The marketplace on Stripe Connect, against tests/fake_stripe.py's Connect (fake_stripe_connect.py):
accounts, onboarding, transfers from the payment's charge, payouts on the connected account,
claw-backs, and the Connect webhook acting once and never backwards."""
from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import stripe
from sqlmodel import select

from db.market_tables import MarketDifferenceRow
from gql.schema.relay import to_global_id
from paygate.app import create_app
from tests.conftest import STRIPE_WEBHOOK_SECRET, settings_for, start_server, stop_server
from tests.graphql import gql
from tests.marketplace_fixtures import BASE, REFUND, bearer, deliver, run_worker, seller_books

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
CONNECT_SECRET = "whsec_test_connect"
SELLER = "seller@example.com"
HOOK = f"{BASE}/stripe_webhook/connect/"
PRODUCTS = "{ products(first: 100) { edges { node { id sku } } } }"
SET_ITEM = "mutation($p: ID!, $q: Int!) { cartSetItem(input: {productId: $p, quantity: $q}) { __typename } }"
CHECKOUT = "mutation { checkout { ... on CheckoutSuccess { order { id uuid } } } }"
PAY = """mutation($order: ID!) { processPayment(input: {orderId: $order, provider: "stripe", paymentMethod: "pm_card_visa"}) {
  __typename ... on Payment { id uuid status } ... on Error { code message } } }"""
RELEASE = """mutation($p: ID!, $s: ID!) { holdRelease(input: {paymentId: $p, sellerId: $s}) { __typename } }"""


STRIPE: dict[str, str] = {}  # the app's Stripe settings, for the worker's passes


@pytest.fixture(scope="module")
async def app_url(database_url, shared_db, fake_stripe) -> AsyncIterator[str]:
    STRIPE.update(stripe_api_key="sk_test_paygate", stripe_api_base=fake_stripe[1],
                  stripe_webhook_secret=STRIPE_WEBHOOK_SECRET, stripe_connect_webhook_secret=CONNECT_SECRET)
    settings = settings_for(database_url, **STRIPE)
    server, task, url = await start_server(create_app(settings, db=shared_db))
    yield url
    await stop_server(server, task)


def connect_event(obj: dict, kind: str, account: str | None, event_id: str) -> dict:
    shown = {k: v for k, v in obj.items() if not k.startswith("_")}
    return {"id": event_id, "object": "event", "type": kind, "account": account, "api_version": "2026-10-28.endive",
            "created": int(time.time()), "livemode": False, "data": {"object": shown}}


async def send(http: httpx.AsyncClient, event: dict, secret: str = CONNECT_SECRET) -> httpx.Response:
    raw = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(raw, secret)
    return await http.post(HOOK, content=raw.encode(), headers={"Content-Type": "application/json",
                                                                 "Stripe-Signature": header})


async def _onboarded(http, shop, fake) -> str:
    created = await http.post(f"{BASE}/stripe/account/", json={"country": "US", "business_type": "individual"},
                              headers=bearer(shop, SELLER))
    assert created.status_code == 201, created.text
    account_id = created.json()["account_id"]
    assert account_id.startswith("acct_") and created.json()["payouts_enabled"] is False
    fake.connect.complete_onboarding(account_id)
    answer = await send(http, connect_event(fake.connect.accounts[account_id], "account.updated", account_id, "evt_a1"))
    assert answer.json() == {"received": True, "state": "processed", "duplicate": False}
    return account_id


async def _paid_and_released(http, shop) -> tuple[dict, dict]:
    token = shop.token("customer@example.com")
    products = await gql(http, PRODUCTS)
    mug = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == "SAM-MUG-01")
    await gql(http, SET_ITEM, {"p": mug, "q": 2}, token=token)
    order = (await gql(http, CHECKOUT, token=token))["data"]["checkout"]["order"]
    payment = (await gql(http, PAY, {"order": order["id"]}, token=token))["data"]["processPayment"]
    assert payment["status"] == "SUCCEEDED", payment
    await deliver(http, shop, order, SELLER)
    seller = (await http.get(f"{BASE}/stripe/account/", headers=bearer(shop, SELLER))).json()
    assert seller["payouts_enabled"] is True
    released = await gql(http, RELEASE, {"p": payment["id"], "s": to_global_id("User", shop.id_of(SELLER))},
                         token=shop.token("staff@example.com"))
    assert released["data"]["holdRelease"]["__typename"] == "SellerHold", released
    return order, payment


async def test_a_seller_is_onboarded_paid_from_the_charge_and_paid_out_on_stripe(http, shop, fake, db, database_url):
    account_id = await _onboarded(http, shop, fake)
    session = await http.post(f"{BASE}/stripe/create-session/", json={"return_url": "https://shop.example/done"},
                              headers=bearer(shop, SELLER))
    _order, payment = await _paid_and_released(http, shop)

    moved = await http.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"], "transfer_group": "ORDER-1"},
                            headers=bearer(shop, SELLER))
    payout = await http.post(f"{BASE}/payout/", json={}, headers=bearer(shop, SELLER))

    assert session.json()["client_secret"].startswith("accs_secret__") and session.json()["account_id"] == account_id
    assert session.json()["url"].startswith("https://connect.stripe.com/")
    transfer = moved.json()["transfer"]
    (made,) = fake.connect.transfers.values()
    intent = next(iter(fake.intents.values()))
    assert (made["destination"], made["amount"], made["transfer_group"]) == (account_id, 2698, "ORDER-1")
    assert made["source_transaction"] == intent["latest_charge"]
    assert transfer["stripe_transfer_id"] == made["id"]
    keys = [key for method, path, key, _ in fake.requests if path in ("/v1/transfers", "/v1/payouts")]
    assert all(keys) and len(set(keys)) == 2  # idempotency keys from our own ids
    body = payout.json()["payout"]
    assert payout.status_code == 201 and body["status"] == "in_transit"
    (po,) = fake.connect.payouts.values()
    assert fake.connect.balances[account_id]["usd"] == 0

    # payout.paid, twice, then a stale payout.canceled: paid once, never backwards.
    paid = connect_event(fake.connect.settle_payout(po["id"], "paid"), "payout.paid", account_id, "evt_p1")
    first, again = await send(http, paid), await send(http, paid)
    stale = await send(http, connect_event({**paid["data"]["object"], "status": "canceled"}, "payout.canceled",
                                           account_id, "evt_p0"))
    detail = (await http.get(f"{BASE}/payouts/{body['payout_id']}/", headers=bearer(shop, SELLER))).json()
    assert (first.json()["state"], again.json()["duplicate"], stale.json()["state"]) == ("processed", True, "ignored")
    assert detail["payout"]["status"] == "paid"
    assert await seller_books(db, shop.id_of(SELLER)) == {"held": 0, "available": 0, "transferred": 0,
                                                          "in_transit": 0, "paid_out": 2698}
    await run_worker(database_url, db, **STRIPE)  # reconcile-sellers: Stripe's balance is the ledger's
    async with db.read_sessions() as session_:
        assert (await session_.exec(select(MarketDifferenceRow))).all() == []


async def test_a_refund_after_transfer_is_clawed_back_once_and_a_dashboard_reversal_is_booked_once(
        http, shop, fake, db, database_url):
    account_id = await _onboarded(http, shop, fake)
    _, payment = await _paid_and_released(http, shop)
    moved = await http.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                            headers=bearer(shop, SELLER))
    transfer_id = moved.json()["transfer"]["stripe_transfer_id"]

    refunded = await gql(http, REFUND, {"payment": payment["id"], "amount": 1499}, token=shop.token("staff@example.com"))
    assert refunded["data"]["refund"]["status"] == "SUCCEEDED", refunded
    sent = await run_worker(database_url, db, **STRIPE)
    # Stripe announces our own reversal too: known, so nothing more is booked.
    ours = await send(http, connect_event(fake.connect.transfers[transfer_id], "transfer.reversed", None, "evt_r1"))
    # An operator reverses 100 more in Stripe's dashboard: booked once, however often announced.
    fake.connect.reverse_from_dashboard(transfer_id, 100)
    theirs = connect_event(fake.connect.transfers[transfer_id], "transfer.reversed", None, "evt_r2")
    booked, again = await send(http, theirs), await send(http, {**theirs, "id": "evt_r3"})

    assert sent["claw-back-transfers"] == 1
    assert fake.connect.transfers[transfer_id]["amount_reversed"] == 1349 + 100
    assert (ours.json()["state"], booked.json()["state"], again.json()["state"]) == ("ignored", "processed", "ignored")
    books = await seller_books(db, shop.id_of(SELLER))
    assert (books["transferred"], books["available"]) == (2698 - 1349 - 100, 100)
    assert fake.connect.balances[account_id]["usd"] == books["transferred"]


async def test_the_connect_webhook_refuses_what_its_secret_did_not_sign(http, shop, fake):
    event = connect_event({"id": "acct_x"}, "account.updated", "acct_x", "evt_bad")

    forged = await send(http, event, secret="whsec_someone_else")
    unknown = await send(http, event)

    assert forged.status_code == 400 and set(forged.json()) == {"error"}
    assert unknown.json() == {"received": True, "state": "ignored", "duplicate": False}


async def test_a_balance_stripe_disagrees_with_is_recorded_logged_and_counted(http, shop, fake, db, database_url,
                                                                             caplog):
    account_id = await _onboarded(http, shop, fake)
    _, payment = await _paid_and_released(http, shop)
    await http.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]}, headers=bearer(shop, SELLER))
    fake.connect.balances[account_id]["usd"] += 5  # money moved at Stripe that our books don't know of
    before = _differences_counted()

    moved = await run_worker(database_url, db, **STRIPE)
    report = await gql(http, "{ marketplaceReport { differences { sellerId currency ours theirs } } }",
                       token=shop.token("admin@example.com"))

    assert moved["reconcile-sellers"] >= 1
    assert report["data"]["marketplaceReport"]["differences"] == [
        {"sellerId": to_global_id("User", shop.id_of(SELLER)), "currency": "USD", "ours": 2698, "theirs": 2703}]
    assert _differences_counted() == before + 1
    assert any(r.message == "seller balance differs from the provider's" for r in caplog.records)


def _differences_counted() -> float:
    from paygate.metrics import SELLER_DIFFERENCES

    return SELLER_DIFFERENCES.labels(currency="USD")._value.get()


async def test_a_payout_whose_event_was_lost_is_asked_about_and_settled_by_the_worker(http, shop, fake, db,
                                                                                      database_url):
    await _onboarded(http, shop, fake)
    _, payment = await _paid_and_released(http, shop)
    await http.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]}, headers=bearer(shop, SELLER))
    body = (await http.post(f"{BASE}/payout/", json={}, headers=bearer(shop, SELLER))).json()["payout"]
    fake.connect.settle_payout(body["stripe_payout_id"], "failed", "account_closed")  # its event never comes

    early = await run_worker(database_url, db, **STRIPE)
    later = await run_worker(database_url, db, days_later=0.1, **STRIPE)  # 2.4 hours on

    detail = (await http.get(f"{BASE}/payouts/{body['payout_id']}/", headers=bearer(shop, SELLER))).json()["payout"]
    assert (early["check-payouts"], later["check-payouts"]) == (0, 1)
    assert (detail["status"], detail["failure_code"]) == ("failed", "account_closed")
    # The money is back on the connected account, in our books as at Stripe.
    assert await seller_books(db, shop.id_of(SELLER)) == {"held": 0, "available": 0, "transferred": 2698,
                                                          "in_transit": 0, "paid_out": 0}
