"""The write batch (db/write_batch.py): what a transaction defers is written before anything else
of that transaction runs and by its commit (on PostgreSQL in one statement), never when it rolls
back; and the one-statement shapes PostgreSQL uses (a ledger entry with its postings, holds dated
from the deliveries) leave what the separate statements leave."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from db.mapping import aware
from db.market_tables import MarketHoldRow
from db.payment_tables import LedgerPostingRow
from db.tables import AuditRow, OrderRow
from db.uow import SqlUnitOfWork
from domain.identity import Actor
from domain.ledger import Capture, SellerShare, capture_entry
from domain.marketplace.holds import releases_at
from domain.marketplace.model import HoldRecord, HoldStatus
from domain.money import Money
from domain.notifications import refund_requested
from tests.conftest import StatementCounter
from tests.marketplace_fixtures import paid_order

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


async def _audited(db, action: str) -> list[AuditRow]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(AuditRow).where(AuditRow.action == action))).all())


async def _record(uow: SqlUnitOfWork, action: str, n: int = 1) -> None:
    for i in range(n):
        await uow.audit.record(Actor(1, None, frozenset()), action, "thing", str(i), None, {"i": i}, NOW)


async def test_a_deferred_write_is_seen_by_the_next_statement_of_its_transaction(db):
    uow = SqlUnitOfWork(db)

    async with uow:
        await _record(uow, "batch.seen")
        seen = (await uow.batch.session.exec(select(AuditRow).where(AuditRow.action == "batch.seen"))).all()
        await uow.commit()

    assert [row.object_id for row in seen] == ["0"]


async def test_deferred_writes_go_in_one_statement_on_postgresql_all_written_in_their_order(db):
    uow = SqlUnitOfWork(db)

    with StatementCounter(db) as counter:
        async with uow:
            await _record(uow, "batch.together", 3)
            await uow.emails.add(refund_requested("batch-1", "TXN-1", Money.of(100, "USD"), "why"), NOW)
            await _record(uow, "batch.together", 3)
            await uow.commit()

    assert counter.count == (7 if db.is_sqlite else 1), counter.statements
    # Ids follow the order the rows were deferred in (outgoing events are delivered in it).
    rows = sorted(await _audited(db, "batch.together"), key=lambda row: row.id)
    assert [row.object_id for row in rows] == ["0", "1", "2", "0", "1", "2"]


async def test_a_commit_writes_what_was_deferred_even_when_nothing_sent_it_first(db):
    uow = SqlUnitOfWork(db)

    async with uow:
        await _record(uow, "batch.hook", 2)
        await uow.batch.session.commit()  # the engine's commit hook, not the unit of work, sends it

    assert len(await _audited(db, "batch.hook")) == 2


async def test_a_rolled_back_transaction_writes_nothing_it_deferred_even_later_on_its_connection(db):
    uow = SqlUnitOfWork(db)

    async with uow:
        await _record(uow, "batch.dropped", 2)
    async with uow:  # the pool hands the same connection out again
        await _record(uow, "batch.kept")
        await uow.commit()

    assert await _audited(db, "batch.dropped") == []
    assert len(await _audited(db, "batch.kept")) == 1


async def test_a_ledger_entry_is_appended_once_with_its_postings_in_order(db, shop):
    seller = shop.id_of("seller@example.com")
    entry = capture_entry(Capture(payment_id="batch-1", shares=(SellerShare(seller, Money.of(100_00, "USD")),),
                                  fee_bps=1000, captured_at=NOW))
    uow = SqlUnitOfWork(db)

    async with uow:
        await _record(uow, "batch.ledger")  # deferred: carried by the append's statement on PostgreSQL
        first, again = await uow.ledger.append(entry), await uow.ledger.append(entry)
        family = await uow.ledger.family(entry.ref)
        await uow.commit()

    assert (first, again) == (True, False)
    assert family == [entry]
    async with db.read_sessions() as session:
        postings = (await session.exec(select(LedgerPostingRow).order_by(LedgerPostingRow.id))).all()
    assert [(p.account, p.side, p.amount_minor) for p in postings] == [
        (p.account.key, p.side.value, p.amount.minor) for p in entry.postings]
    assert len(await _audited(db, "batch.ledger")) == 1


async def test_a_captures_holds_are_dated_from_the_deliveries_already_made(client, shop, db):
    order, _ = await paid_order(client, shop, {"SAM-MUG-01": 1})
    order_id = int(order["legacyId"]) if "legacyId" in order else await _order_id(db, order["uuid"])
    seller, other = shop.id_of("seller@example.com"), shop.id_of("seller2@example.com")
    delivered_at, captured_at, period = NOW + timedelta(days=1), NOW, timedelta(days=7)
    uow = SqlUnitOfWork(db)

    async with uow:
        await uow.market.add_delivery(order_id, seller, delivered_at)
        await uow.market.add_holds([
            HoldRecord(payment_uuid="batch-holds", seller_id=who, amount=Money.of(5_00, "USD"), status=HoldStatus.HELD,
                       captured_at=captured_at, delivered_at=None, releases_at=None, order_id=order_id)
            for who in (seller, other)], period)
        await uow.commit()

    async with db.read_sessions() as session:
        rows = (await session.exec(select(MarketHoldRow).where(MarketHoldRow.payment_uuid == "batch-holds"))).all()
    dates = {row.seller_id: tuple(aware(at) if at else None for at in (row.delivered_at, row.releases_at))
             for row in rows}
    assert dates == {seller: (delivered_at, releases_at(delivered_at, captured_at, period)), other: (None, None)}


async def _order_id(db, uuid: str) -> int:
    async with db.read_sessions() as session:
        return (await session.exec(select(OrderRow.id).where(OrderRow.uuid == uuid))).one()
