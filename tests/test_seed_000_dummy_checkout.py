"""Seed 000's checkout without Stripe: the dummy gateway's own embedded page, so a seed 000 client
runs whole on `make run` (checkout_session/, its page, retry/)."""
from __future__ import annotations

from tests.graphql import gql
from tests.marketplace_fixtures import BASE, PRODUCTS, SET_ITEM, bearer

ORDERS = "{ orders(first: 1) { edges { node { uuid status payments { status provider } } } } }"


async def _cart(client, shop, sku: str = "SAM-MUG-01") -> None:
    products = await gql(client, PRODUCTS)
    product = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == sku)
    await gql(client, SET_ITEM, {"p": product, "q": 1}, token=shop.token("customer@example.com"))


async def test_the_embedded_checkout_runs_on_the_dummy_gateway_page_and_pays_the_order(client, shop):
    buyer = bearer(shop, "customer@example.com")
    await _cart(client, shop)

    opened = await client.post(f"{BASE}/checkout_session/", headers=buyer)
    secret = opened.json()["clientSecret"]
    order = (await gql(client, ORDERS, token=shop.token("customer@example.com")))["data"]["orders"]["edges"][0]["node"]
    again = await client.get(f"{BASE}/checkout_session/retry/{order['uuid']}/", headers=buyer)
    paid = await client.post(f"/dummy/checkout/{secret.split('_secret_')[0]}", json={"payment_method": "pm_card_visa"})
    after = (await gql(client, ORDERS, token=shop.token("customer@example.com")))["data"]["orders"]["edges"][0]["node"]
    late_retry = await client.get(f"{BASE}/checkout_session/retry/{order['uuid']}/", headers=buyer)

    assert opened.status_code == 200 and set(opened.json()) == {"clientSecret"}
    assert again.json() == {"clientSecret": secret}
    assert paid.json() == {"status": "succeeded"}
    assert after["status"] == "PAID" and after["payments"] == [{"status": "SUCCEEDED", "provider": "dummy"}]
    assert late_retry.status_code == 409 and set(late_retry.json()) == {"error"}


async def test_a_declined_test_card_on_the_dummy_page_leaves_the_order_to_pay_again(client, shop):
    buyer = bearer(shop, "customer@example.com")
    await _cart(client, shop)

    secret = (await client.post(f"{BASE}/checkout_session/", headers=buyer)).json()["clientSecret"]
    declined = await client.post(f"/dummy/checkout/{secret.split('_secret_')[0]}",
                                 json={"payment_method": "pm_card_chargeDeclined"})
    order = (await gql(client, ORDERS, token=shop.token("customer@example.com")))["data"]["orders"]["edges"][0]["node"]
    retried = await client.get(f"{BASE}/checkout_session/retry/{order['uuid']}/", headers=buyer)
    unknown = await client.post("/dummy/checkout/pi_dummy_nothing", json={})

    assert declined.json() == {"status": "failed", "decline_code": "card_declined"}
    assert order["status"] == "PENDING_PAYMENT"
    assert retried.status_code == 200 and retried.json()["clientSecret"] != secret
    assert unknown.status_code == 404
