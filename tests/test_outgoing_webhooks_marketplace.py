"""Merchants hear of the marketplace's money too: each transfer and payout move is an event,
written in the transaction that made it (the outbox), with the object's ids and money."""
from __future__ import annotations

import json

from sqlmodel import select

from db.outgoing_webhook_tables import OutgoingEventRow
from tests.marketplace_fixtures import BASE, bearer, deliver, onboard, paid_order, run_worker

SELLER = "seller@example.com"


async def events_about(db, kind: str) -> list[tuple[str, dict]]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(OutgoingEventRow).where(OutgoingEventRow.object_type == kind)
                                   .order_by(OutgoingEventRow.id))).all()
    return [(row.type, json.loads(row.body)["data"]) for row in rows]


async def test_a_transfer_and_a_payout_are_events_for_merchants(client, shop, db, database_url):
    await onboard(client, shop, SELLER)
    order, payment = await paid_order(client, shop, {"SAM-MUG-01": 1})
    await deliver(client, shop, order, SELLER)
    await run_worker(database_url, db, days_later=8)

    transferred = await client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                                    headers=bearer(shop, SELLER))
    paid_out = await client.post(f"{BASE}/payout/", json={"amount": 500, "currency": "usd",
                                                          "seller_id": shop.id_of(SELLER)},
                                 headers=bearer(shop, "admin@example.com"))

    assert transferred.status_code == 200 and paid_out.status_code == 201
    transfers = await events_about(db, "transfer")
    assert transfers[0][0] == "transfer.created" and "transfer.paid" in [t for t, _ in transfers]
    assert transfers[0][1]["payment_uuid"] == payment["uuid"]
    assert transfers[0][1]["amount"]["amount"] == 1499 - 150
    payouts = await events_about(db, "payout")
    assert payouts[0][0] == "payout.created" and payouts[0][1]["amount"]["amount"] == 500
    assert payouts[0][1]["seller_id"] == shop.id_of(SELLER)
