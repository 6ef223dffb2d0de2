"""The whole marketplace over HTTP on the dummy gateway: two sellers onboard, one cart with both is
paid, delivered, released, transferred and paid out, refunded after the transfer, and the admin
report's totals are the ledger's."""
from __future__ import annotations

import asyncio

from domain.ledger import AccountKind, EntryKind
from tests.graphql import gql
from tests.marketplace_fixtures import (
    BASE,
    REFUND,
    bearer,
    deliver,
    onboard,
    paid_order,
    run_worker,
    seller_books,
)
from tests.payments_fixtures import assert_ledger_balances

SELLER, SELLER2 = "seller@example.com", "seller2@example.com"
MUG, NOTE, KNIFE = 1499, 1299, 3999  # SAM-MUG-01 (seller), SORA-NOTE-01 (seller2), SAM-KNIFE-01 (seller)


def net(gross: int) -> int:
    return gross - (gross * 1000 + 5000) // 10000  # PLATFORM_FEE_BPS 1000, rounded half up


async def test_two_sellers_one_cart_from_payment_to_payout_and_a_refund_after_transfer(client, shop, db,
                                                                                     database_url):
    seller, seller2 = shop.id_of(SELLER), shop.id_of(SELLER2)
    await onboard(client, shop, SELLER)
    await onboard(client, shop, SELLER2)
    order, payment = await paid_order(client, shop, {"SAM-MUG-01": 1, "SORA-NOTE-01": 1})

    held = (await client.get(f"{BASE}/stripe/holds/", headers=bearer(shop, SELLER))).json()
    early = await client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                              headers=bearer(shop, SELLER))
    assert [(h["amount"], h["status"], h["release_eta"]) for h in held["holds"]] == [(net(MUG), "held", None)]
    assert early.status_code == 409 and "delivered" in early.json()["error"]

    # Delivered: each seller's hold runs HOLD_DAYS from their delivery; the worker releases it after.
    await deliver(client, shop, order, SELLER)
    await deliver(client, shop, order, "staff@example.com", seller_id=seller2)
    on_hold = await client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                                headers=bearer(shop, SELLER))
    assert on_hold.status_code == 409 and "on hold until" in on_hold.json()["error"]
    moved = await run_worker(database_url, db, days_later=8)
    assert moved["release-holds"] == 2

    # Transfers: the seller's own share; the same request again answers the same transfer.
    first, again = await asyncio.gather(*(client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                                                      headers=bearer(shop, SELLER)) for _ in range(2)))
    staff_transfer = await client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                                       headers=bearer(shop, "admin@example.com"))
    assert first.status_code == again.status_code == staff_transfer.status_code == 200, staff_transfer.text
    mine = first.json()["transfer"]
    assert (mine["amount"], mine["currency"], mine["status"]) == (net(MUG), "usd", "paid")
    assert again.json()["transfer"]["transfer_id"] == mine["transfer_id"]
    assert {t["seller_id"]: t["amount"] for t in staff_transfer.json()["transfers"]} == {seller: net(MUG),
                                                                                          seller2: net(NOTE)}

    # Seller 1 pays out everything; seller 2 keeps it on the connected account.
    payout = await client.post(f"{BASE}/payout/", json={}, headers=bearer(shop, SELLER))
    assert payout.status_code == 201, payout.text
    body = payout.json()["payout"]
    assert (body["amount"], body["status"], body["transfer_count"]) == (net(MUG), "paid", 1)
    detail = await client.get(f"{BASE}/payouts/{body['payout_id']}/", headers=bearer(shop, SELLER))
    orders = await client.get(f"{BASE}/payouts/{body['payout_id']}/orders/", headers=bearer(shop, SELLER))
    foreign = await client.get(f"{BASE}/payouts/{body['payout_id']}/", headers=bearer(shop, SELLER2))
    assert detail.json()["payout"]["items"][0]["transfer_id"] == mine["transfer_id"]
    assert orders.json()["orders"][0]["order_id"] == order["uuid"] and orders.json()["total"] == MUG
    assert foreign.status_code == 404 and foreign.json() == {"error": "Payout not found."}

    # A full refund after the transfers: seller 2's part is clawed back from their connected
    # account; seller 1's was paid out, so it becomes their debt.
    refunded = await gql(client, REFUND, {"payment": payment["id"]}, token=shop.token("staff@example.com"))
    assert refunded["data"]["refund"]["status"] == "SUCCEEDED", refunded
    moved = await run_worker(database_url, db)
    assert moved["claw-back-transfers"] == 1
    assert await seller_books(db, seller2) == {"held": 0, "available": 0, "transferred": 0, "in_transit": 0,
                                               "paid_out": 0}
    assert await seller_books(db, seller) == {"held": 0, "available": -net(MUG), "transferred": 0,
                                              "in_transit": 0, "paid_out": net(MUG)}

    # The next sale nets the debt: the transfer keeps back what seller 1 owes.
    order2, payment2 = await paid_order(client, shop, {"SAM-KNIFE-01": 1})
    await deliver(client, shop, order2, SELLER)
    await run_worker(database_url, db, days_later=8)
    netted = await client.post(f"{BASE}/transfer/", json={"transaction_id": payment2["uuid"]},
                               headers=bearer(shop, SELLER))
    assert (netted.json()["transfer"]["amount"], netted.json()["transfer"]["netted_debt"]) == (
        net(KNIFE) - net(MUG), net(MUG))
    assert (await seller_books(db, seller))["available"] == 0

    # The admin's report agrees with the ledger.
    admin = bearer(shop, "admin@example.com")
    transactions = (await client.get(f"{BASE}/admin/transactions/", headers=admin)).json()
    payouts = (await client.get(f"{BASE}/admin/payouts/", params={"seller_id": seller}, headers=admin)).json()
    entries = await assert_ledger_balances(db)
    captured = sum(p.amount.minor for e in entries if e.kind is EntryKind.CAPTURE for p in e.postings
                   if p.account.kind is AccountKind.PROVIDER_CLEARING and p.side.value == "debit")
    refunded_total = sum(p.amount.minor for e in entries for p in e.postings
                         if p.account.kind is AccountKind.CUSTOMER_REFUNDS)
    paid_out = sum(p.amount.minor for e in entries if e.kind is EntryKind.PAYOUT_PAID for p in e.postings
                   if p.account.kind is AccountKind.PAYOUTS_PAID)
    (usd,) = transactions["summary"]["by_currency"]
    assert (usd["captured"], usd["refunded"]) == (captured, refunded_total) == (MUG + NOTE + KNIFE, MUG + NOTE)
    assert transactions["summary"]["count"] == 2
    assert payouts["totals"]["by_currency"] == [{"currency": "usd", "paid": paid_out}]
    assert payouts["payouts"][0]["seller"] == {"id": seller, "email": SELLER}


async def test_a_buyer_is_refused_the_sellers_paths_in_the_seeds_shape(client, shop):
    buyer = bearer(shop, "customer@example.com")

    answers = [await client.post(f"{BASE}/stripe/account/", json={}, headers=buyer),
               await client.get(f"{BASE}/stripe/holds/", headers=buyer),
               await client.post(f"{BASE}/payout/", json={}, headers=buyer),
               await client.get(f"{BASE}/payouts/", headers=buyer),
               await client.get(f"{BASE}/admin/payouts/", headers=buyer),
               await client.get(f"{BASE}/admin/transactions/", headers=bearer(shop, "staff@example.com"))]
    eligibility = await client.get(f"{BASE}/stripe/account/", headers=buyer)

    assert [a.status_code for a in answers] == [403] * 6
    assert all(set(a.json()) == {"error"} for a in answers)
    assert eligibility.json()["has_account"] is False and eligibility.json()["eligibility"]["is_seller"] is False


async def test_a_second_account_create_answers_200_with_the_same_account(client, shop):
    first = await client.post(f"{BASE}/stripe/account/", json={"country": "DE", "business_type": "company"},
                              headers=bearer(shop, SELLER))
    second = await client.post(f"{BASE}/stripe/account/", json={}, headers=bearer(shop, SELLER))
    bad = await client.post(f"{BASE}/stripe/account/", json={"business_type": "charity"},
                            headers=bearer(shop, SELLER2))

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["account_id"] == second.json()["account_id"] and second.json()["country"] == "DE"
    assert bad.status_code == 400 and "business_type" in bad.json()["error"]
    assert (await client.get(f"{BASE}/stripe/account/", headers=bearer(shop, SELLER2))).json()["has_account"] is False


async def test_pages_are_bounded_and_bad_filters_are_refused(client, shop):
    admin = bearer(shop, "admin@example.com")

    too_big = await client.get(f"{BASE}/admin/payouts/", params={"page_size": 101}, headers=admin)
    bad_date = await client.get(f"{BASE}/admin/transactions/", params={"from_date": "yesterday"}, headers=admin)
    fine = await client.get(f"{BASE}/payouts/", params={"page_size": 100, "offset": 0},
                            headers=bearer(shop, SELLER))

    assert too_big.status_code == bad_date.status_code == 400
    assert fine.status_code == 200 and fine.json()["pagination"]["page_size"] == 100


async def test_an_admin_payout_names_its_seller_and_an_amount_within_the_balance(client, shop):
    admin = bearer(shop, "admin@example.com")

    nameless = await client.post(f"{BASE}/payout/", json={"amount": 100, "currency": "usd"}, headers=admin)
    fraction = await client.post(f"{BASE}/payout/", json={"amount": 1.5, "seller_id": 1}, headers=admin)
    by_seller = await client.post(f"{BASE}/payout/", json={"amount": 100}, headers=bearer(shop, SELLER))

    assert nameless.status_code == 400 and "seller_id" in nameless.json()["error"]
    assert fraction.status_code == 400 and "cents" in fraction.json()["error"]
    assert by_seller.status_code == 403 and set(by_seller.json()) == {"error"}
