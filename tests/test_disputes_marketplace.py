"""Disputes meet the marketplace over HTTP: a dispute lost after the seller's share was released,
transferred and paid out leaves the seller owing it, and the next sale's transfer nets it."""
from __future__ import annotations

import json

from sqlmodel import select

from db.tables import AuditRow
from db.uow import SqlUnitOfWork
from domain.disputes.model import DisputeStatus
from domain.disputes.service import DisputeNews, record_dispute
from domain.ledger import EntryKind, balance_of
from domain.ledger.accounts import chargebacks
from domain.marketplace.debt import seller_debt
from domain.money import Money
from tests.marketplace_fixtures import BASE, bearer, deliver, onboard, paid_order, run_worker, seller_books
from tests.payments_fixtures import assert_ledger_balances

SELLER = "seller@example.com"
MUG, KNIFE = 1499, 3999  # SAM-MUG-01 and SAM-KNIFE-01, both the seller's


def net(gross: int) -> int:
    return gross - (gross * 1000 + 5000) // 10000  # PLATFORM_FEE_BPS 1000, rounded half up


async def _news(db, payment_uuid: str, event_id: str, status: DisputeStatus) -> DisputeNews:
    async with SqlUnitOfWork(db) as uow:
        payment = await uow.payments.by_uuid(payment_uuid)
    return DisputeNews(provider=payment.provider, event_id=event_id, event_type="dispute.test",
                       provider_dispute_id="dp_after_payout", payment_ref=payment.provider_ref,
                       amount=payment.amount_captured, status=status, reason="fraudulent")


async def test_a_dispute_lost_after_payout_is_the_sellers_debt_and_the_next_transfer_nets_it(
        client, shop, db, database_url):
    seller = shop.id_of(SELLER)
    await onboard(client, shop, SELLER)
    order, payment = await paid_order(client, shop, {"SAM-MUG-01": 1})
    await deliver(client, shop, order, SELLER)
    assert (await run_worker(database_url, db, days_later=8))["release-holds"] == 1
    transfer = await client.post(f"{BASE}/transfer/", json={"transaction_id": payment["uuid"]},
                                 headers=bearer(shop, SELLER))
    assert transfer.status_code == 200, transfer.text
    payout = await client.post(f"{BASE}/payout/", json={}, headers=bearer(shop, SELLER))
    assert payout.status_code == 201 and payout.json()["payout"]["amount"] == net(MUG), payout.text

    await record_dispute(await _news(db, payment["uuid"], "evt_open", DisputeStatus.OPENED), SqlUnitOfWork(db))
    await record_dispute(await _news(db, payment["uuid"], "evt_lost", DisputeStatus.LOST), SqlUnitOfWork(db))
    await record_dispute(await _news(db, payment["uuid"], "evt_lost", DisputeStatus.LOST), SqlUnitOfWork(db))

    entries = await assert_ledger_balances(db)
    assert [e.kind for e in entries].count(EntryKind.DISPUTE_LOST) == 1
    assert balance_of(entries, chargebacks("USD")) == Money.of(MUG, "USD")
    assert (await seller_books(db, seller))["available"] == -net(MUG)
    async with SqlUnitOfWork(db) as uow:
        assert await seller_debt(uow, seller, "USD") == Money.of(net(MUG), "USD")
    async with db.read_sessions() as session:
        recorded = (await session.exec(select(AuditRow).where(AuditRow.action == "seller.debt"))).all()
    assert [(json.loads(r.after)["seller_id"], json.loads(r.after)["owed"]) for r in recorded] == [
        (seller, f"{net(MUG) / 100:.2f}")]

    # The next sale: its transfer keeps back what the seller owes; a payout never pays the debt.
    order2, payment2 = await paid_order(client, shop, {"SAM-KNIFE-01": 1})
    await deliver(client, shop, order2, SELLER)
    await run_worker(database_url, db, days_later=8)
    netted = await client.post(f"{BASE}/transfer/", json={"transaction_id": payment2["uuid"]},
                               headers=bearer(shop, SELLER))
    assert netted.status_code == 200, netted.text
    assert (netted.json()["transfer"]["amount"], netted.json()["transfer"]["netted_debt"]) == (
        net(KNIFE) - net(MUG), net(MUG))
    books = await seller_books(db, seller)
    assert books["available"] == 0 and books["held"] == 0
    await assert_ledger_balances(db)
