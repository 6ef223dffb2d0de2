"""Marketplace races over HTTP: transfers of one payment, payouts of one balance, a transfer and a
refund of the same payment, all at once. On PostgreSQL the row locks decide; on SQLite the one
writer does (the same answers either way)."""
from __future__ import annotations

import asyncio

from sqlmodel import select

from db.market_tables import MarketDifferenceRow, MarketTransferRow
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

SELLER = "seller@example.com"
MUG_NET, KNIFE_NET = 1499 - 150, 3999 - 400


async def _released(client, shop, db, database_url, items: dict[str, int]) -> dict:
    order, payment = await paid_order(client, shop, items)
    await deliver(client, shop, order, SELLER)
    assert (await run_worker(database_url, db, days_later=8))["release-holds"] == 1
    return payment


async def test_ten_transfers_of_one_payment_at_once_make_one_transfer(client, shop, db, database_url):
    await onboard(client, shop, SELLER)
    payment = await _released(client, shop, db, database_url, {"SAM-MUG-01": 1})

    answers = await asyncio.gather(*(client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                                                 headers=bearer(shop, SELLER)) for _ in range(10)))

    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["transfer"]["transfer_id"] for a in answers}) == 1
    async with db.read_sessions() as session:
        assert len((await session.exec(select(MarketTransferRow))).all()) == 1
    assert (await seller_books(db, shop.id_of(SELLER)))["transferred"] == MUG_NET


async def test_payouts_at_once_never_pay_out_more_than_the_balance(client, shop, db, database_url):
    await onboard(client, shop, SELLER)
    payment = await _released(client, shop, db, database_url, {"SAM-KNIFE-01": 1})
    transferred = await client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                                    headers=bearer(shop, SELLER))
    assert transferred.status_code == 200
    admin = bearer(shop, "admin@example.com")
    seller = shop.id_of(SELLER)

    # 3599 on the account: 12 payouts of 1000 at once; three fit.
    answers = await asyncio.gather(*(client.post(f"{BASE}/payout/", json={"amount": 1000, "currency": "usd",
                                                                          "seller_id": seller}, headers=admin)
                                     for _ in range(12)))

    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 9
    books = await seller_books(db, seller)
    assert (books["transferred"], books["paid_out"]) == (KNIFE_NET - 3000, 3000)


async def test_a_transfer_racing_a_refund_of_the_same_payment_leaves_the_books_exact(client, shop, db,
                                                                                   database_url):
    await onboard(client, shop, SELLER)
    payment = await _released(client, shop, db, database_url, {"SAM-MUG-01": 2})  # 2998: net 2698
    seller = shop.id_of(SELLER)

    transfer, refund = await asyncio.gather(
        client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]}, headers=bearer(shop, SELLER)),
        gql(client, REFUND, {"payment": payment["id"], "amount": 1499}, token=shop.token("staff@example.com")))
    await run_worker(database_url, db)  # claw-backs sent, then every seller reconciled

    assert refund["data"]["refund"]["status"] == "SUCCEEDED"
    books = await seller_books(db, seller)
    # Whichever went first: the seller keeps exactly their net share of what was not refunded,
    # and the provider's balance is our ledger's (reconciliation found nothing).
    assert books["available"] + books["transferred"] + books["paid_out"] == 2698 - 1349
    assert books["available"] >= 0
    if transfer.status_code == 200:
        assert books["transferred"] == 2698 - 1349
    async with db.read_sessions() as session:
        assert (await session.exec(select(MarketDifferenceRow))).all() == []
