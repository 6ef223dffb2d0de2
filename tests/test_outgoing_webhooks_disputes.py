"""Merchants hear of disputes: each move of a dispute's status is a `dispute.*` event, written in
the transaction that made it (the outbox), once however often the provider's news arrives."""
from __future__ import annotations

import json

from sqlmodel import select

from db.outgoing_webhook_tables import OutgoingEventRow
from db.uow import SqlUnitOfWork
from domain.disputes.model import DisputeStatus
from domain.disputes.service import record_dispute
from domain.outgoing_webhooks.events import EVENT_TYPES
from tests.test_disputes import _paid, news


async def dispute_events(db) -> list[tuple[str, dict]]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(OutgoingEventRow).where(OutgoingEventRow.object_type == "dispute")
                                   .order_by(OutgoingEventRow.id))).all()
    return [(row.type, json.loads(row.body)["data"]) for row in rows]


def test_the_catalog_has_every_dispute_status():
    assert {t for t, kind in EVENT_TYPES.items() if kind == "dispute"} == {
        "dispute.created", *(f"dispute.{s.value}" for s in DisputeStatus)}


async def test_each_move_of_a_dispute_is_one_event_with_its_money(db, shop):
    payment = await _paid(db, shop, {"SAM-MUG-01": 1})
    for event_id, status in (("evt_1", DisputeStatus.OPENED), ("evt_1", DisputeStatus.OPENED),
                             ("evt_2", DisputeStatus.UNDER_REVIEW), ("evt_3", DisputeStatus.EVIDENCE_DUE),
                             ("evt_4", DisputeStatus.WON), ("evt_5", DisputeStatus.LOST)):
        await record_dispute(news(payment, event_id, status), SqlUnitOfWork(db))

    events = await dispute_events(db)
    assert [t for t, _ in events] == ["dispute.created", "dispute.opened", "dispute.under_review", "dispute.won"]
    created = events[0][1]
    assert (created["status"], created["payment_id"], created["provider_ref"]) == ("opened", payment.id, "dp_1")
    assert created["amount"] == created["withheld"] == {"amount": 1499, "currency": "USD"}
    assert events[1][1] == created
    assert events[-1][1]["withheld"] == {"amount": 1499, "currency": "USD"}
    assert "reason" not in created
