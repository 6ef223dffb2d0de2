"""Disputes through the real unit of work: money withheld from the shares while open, given back
when won, lost to chargebacks; each step once, never backwards, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from db.uow import SqlUnitOfWork
from domain.disputes.model import DisputeStatus
from domain.disputes.service import DisputeNews, record_dispute
from domain.errors import RefundExceedsCapturedError
from domain.ledger import EntryKind, balance_of
from domain.ledger.accounts import (
    chargebacks,
    dispute_costs,
    disputes,
    platform_fees,
    seller_available,
    seller_held,
)
from domain.marketplace.holds import MarkDelivered, mark_delivered
from domain.marketplace.model import HoldStatus
from domain.money import Money
from domain.payments.external import EventState
from domain.payments.releases import release_due_holds
from domain.payments.service import PayOrder, RefundPayment, pay_order, refund_payment
from tests.payments_fixtures import (
    POLICY,
    VISA,
    assert_ledger_balances,
    customer,
    order_for,
    providers,
    staff,
)

USD = lambda minor: Money.of(minor, "USD")  # noqa: E731


def news(payment, event_id: str, status: DisputeStatus, amount: Money | None = None, dispute_id: str = "dp_1"):
    return DisputeNews(provider="dummy", event_id=event_id, event_type="dispute.test", provider_dispute_id=dispute_id,
                       payment_ref=payment.provider_ref, amount=amount or payment.amount_captured, status=status,
                       reason="fraudulent", evidence_due_by=datetime(2030, 1, 1, tzinfo=UTC))


GATEWAY = providers()  # one gateway: it remembers the payments it took, to refund them


async def _paid(db, shop, items=None):
    order = await order_for(db, shop, items or {"SAM-MUG-01": 2, "SORA-NOTE-01": 1})
    return await pay_order(PayOrder(customer(shop), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                           GATEWAY, POLICY)


async def _delivered(db, shop, payment):
    """Holds release HOLD_DAYS after delivery (domain/marketplace/holds.py): deliver the order now."""
    await mark_delivered(MarkDelivered(staff(shop), payment.order_id), SqlUnitOfWork(db), POLICY.hold_period,
                         datetime.now(UTC))


async def _hold(db, payment, seller):
    async with SqlUnitOfWork(db) as uow:
        return await uow.market.hold(str(payment.uuid), seller)


async def assert_holds_match_books(db) -> None:
    """The market_holds rows and the ledger tell one story per seller: a hold still `held` is
    what the seller's held balance is made of, and a hold released or ended has nothing left in it."""
    from sqlmodel import select

    from db.market_tables import MarketHoldRow
    from domain.ledger import capture_views

    entries = await assert_ledger_balances(db)
    views = capture_views(entries)
    async with db.read_sessions() as session:
        rows = (await session.exec(select(MarketHoldRow))).all()
    held_by_seller: dict[int, int] = {}
    for row in rows:
        left = views[f"capture:{row.payment_uuid}"].seller(row.seller_id).held.minor
        if row.status != "held":
            assert left == 0, (row.status, left)
        held_by_seller[row.seller_id] = held_by_seller.get(row.seller_id, 0) + (left if row.status == "held" else 0)
    for seller, held in held_by_seller.items():
        assert balance_of(entries, seller_held(seller, "USD")).minor == held


async def _payment(db, payment_id):
    async with SqlUnitOfWork(db) as uow:
        return await uow.payments.get(payment_id)


async def test_an_opened_dispute_takes_the_amount_from_each_seller_into_the_disputes_account(db, shop):
    payment = await _paid(db, shop)  # 29.98 for seller 1, 12.99 for seller 2

    receipt = await record_dispute(news(payment, "evt_1", DisputeStatus.EVIDENCE_DUE), SqlUnitOfWork(db))

    assert receipt.event.state is EventState.PROCESSED
    entries = await assert_ledger_balances(db)
    one, two = shop.id_of("seller@example.com"), shop.id_of("seller2@example.com")
    assert balance_of(entries, disputes("USD")) == USD(4297)
    assert balance_of(entries, seller_held(one, "USD")) == USD(0)
    assert balance_of(entries, seller_held(two, "USD")) == USD(0)
    assert balance_of(entries, platform_fees("USD")) == USD(0)
    assert (await _payment(db, payment.id)).disputed == USD(4297)


async def test_a_won_dispute_gives_the_money_back_and_makes_it_refundable_again(db, shop):
    payment = await _paid(db, shop)
    await record_dispute(news(payment, "evt_1", DisputeStatus.EVIDENCE_DUE), SqlUnitOfWork(db))
    with pytest.raises(RefundExceedsCapturedError):  # withheld: nothing left to refund
        await refund_payment(RefundPayment(staff(shop), payment.id, USD(100)), SqlUnitOfWork(db), GATEWAY, POLICY)

    await record_dispute(news(payment, "evt_2", DisputeStatus.WON), SqlUnitOfWork(db))

    entries = await assert_ledger_balances(db)
    one = shop.id_of("seller@example.com")
    assert balance_of(entries, disputes("USD")) == USD(0)
    assert balance_of(entries, seller_held(one, "USD")) == USD(2698)
    assert balance_of(entries, chargebacks("USD")) == USD(0)
    assert (await _payment(db, payment.id)).disputed == USD(0)
    refunded, _ = await refund_payment(RefundPayment(staff(shop), payment.id, USD(100)), SqlUnitOfWork(db),
                                       GATEWAY, POLICY)
    assert refunded.amount_refunded == USD(100)
    await assert_ledger_balances(db)


async def test_a_lost_dispute_moves_the_money_to_chargebacks_for_good(db, shop):
    payment = await _paid(db, shop)
    await record_dispute(news(payment, "evt_1", DisputeStatus.UNDER_REVIEW), SqlUnitOfWork(db))

    await record_dispute(news(payment, "evt_2", DisputeStatus.LOST), SqlUnitOfWork(db))

    entries = await assert_ledger_balances(db)
    assert balance_of(entries, disputes("USD")) == USD(0)
    assert balance_of(entries, chargebacks("USD")) == USD(4297)
    assert [e.kind for e in entries].count(EntryKind.DISPUTE_LOST) == 1
    assert (await _payment(db, payment.id)).disputed == USD(4297)


async def test_news_twice_or_out_of_order_changes_the_dispute_once_and_never_backwards(db, shop):
    payment = await _paid(db, shop)
    await record_dispute(news(payment, "evt_1", DisputeStatus.EVIDENCE_DUE), SqlUnitOfWork(db))
    await record_dispute(news(payment, "evt_3", DisputeStatus.LOST), SqlUnitOfWork(db))

    again = await record_dispute(news(payment, "evt_3", DisputeStatus.LOST), SqlUnitOfWork(db))
    stale = await record_dispute(news(payment, "evt_2", DisputeStatus.UNDER_REVIEW), SqlUnitOfWork(db))
    won_late = await record_dispute(news(payment, "evt_4", DisputeStatus.WON), SqlUnitOfWork(db))

    assert again.duplicate
    assert stale.event.state is EventState.IGNORED and "lost" in stale.event.detail
    assert won_late.event.state is EventState.IGNORED
    entries = await assert_ledger_balances(db)
    kinds = [e.kind for e in entries]
    assert (kinds.count(EntryKind.DISPUTE), kinds.count(EntryKind.DISPUTE_LOST),
            kinds.count(EntryKind.DISPUTE_REINSTATED)) == (1, 1, 0)


async def test_an_inquiry_moves_no_money_until_it_becomes_a_chargeback(db, shop):
    payment = await _paid(db, shop)

    await record_dispute(news(payment, "evt_1", DisputeStatus.INQUIRY), SqlUnitOfWork(db))
    before = await assert_ledger_balances(db)
    await record_dispute(news(payment, "evt_2", DisputeStatus.INQUIRY_CLOSED), SqlUnitOfWork(db))

    assert [e.kind for e in before] == [EntryKind.CAPTURE]
    assert [e.kind for e in await assert_ledger_balances(db)] == [EntryKind.CAPTURE]


async def test_a_dispute_after_a_partial_refund_takes_what_is_left_and_the_rest_is_the_platforms_cost(db, shop):
    payment = await _paid(db, shop, {"SAM-MUG-01": 1})  # 14.99
    await refund_payment(RefundPayment(staff(shop), payment.id, USD(499)), SqlUnitOfWork(db), GATEWAY, POLICY)

    await record_dispute(news(payment, "evt_1", DisputeStatus.OPENED, amount=USD(1499)), SqlUnitOfWork(db))

    entries = await assert_ledger_balances(db)
    assert balance_of(entries, disputes("USD")) == USD(1499)
    assert balance_of(entries, dispute_costs("USD")) == USD(499)
    assert balance_of(entries, seller_held(shop.id_of("seller@example.com"), "USD")) == USD(0)
    assert (await _payment(db, payment.id)).disputed == USD(1000)


async def test_a_dispute_after_the_hold_was_released_takes_available_money_and_gives_it_back_there(db, shop):
    payment = await _paid(db, shop, {"SAM-MUG-01": 1})
    seller = shop.id_of("seller@example.com")
    await _delivered(db, shop, payment)
    assert await release_due_holds(datetime.now(UTC) + timedelta(days=30), SqlUnitOfWork(db), POLICY) == 1

    await record_dispute(news(payment, "evt_1", DisputeStatus.OPENED), SqlUnitOfWork(db))
    opened = await assert_ledger_balances(db)
    await record_dispute(news(payment, "evt_2", DisputeStatus.WON), SqlUnitOfWork(db))

    assert balance_of(opened, seller_available(seller, "USD")) == USD(0)
    entries = await assert_ledger_balances(db)
    assert balance_of(entries, seller_held(seller, "USD")) == USD(0)
    assert balance_of(entries, seller_available(seller, "USD")) == USD(1349)


async def test_a_hold_taken_by_an_open_dispute_is_not_released_until_the_dispute_is_won(db, shop):
    payment = await _paid(db, shop, {"SAM-MUG-01": 1})
    seller = shop.id_of("seller@example.com")
    later = datetime.now(UTC) + timedelta(days=30)
    await _delivered(db, shop, payment)
    await record_dispute(news(payment, "evt_1", DisputeStatus.OPENED), SqlUnitOfWork(db))

    released_while_open = await release_due_holds(later, SqlUnitOfWork(db), POLICY)
    parked = await _hold(db, payment, seller)
    await assert_holds_match_books(db)
    await record_dispute(news(payment, "evt_2", DisputeStatus.WON), SqlUnitOfWork(db))
    released_after = await release_due_holds(later, SqlUnitOfWork(db), POLICY)

    assert (released_while_open, released_after) == (0, 1)
    assert (parked.status, parked.releases_at) == (HoldStatus.HELD, None)  # the job stops reading it
    assert (await _hold(db, payment, seller)).status is HoldStatus.RELEASED
    await assert_holds_match_books(db)
    entries = await assert_ledger_balances(db)
    assert balance_of(entries, seller_held(seller, "USD")) == USD(0)
    assert balance_of(entries, seller_available(seller, "USD")) == USD(1349)


async def test_a_hold_taken_whole_by_a_lost_dispute_ends_with_nothing_released(db, shop):
    payment = await _paid(db, shop, {"SAM-MUG-01": 1})
    seller = shop.id_of("seller@example.com")
    later = datetime.now(UTC) + timedelta(days=30)
    await _delivered(db, shop, payment)
    await record_dispute(news(payment, "evt_1", DisputeStatus.OPENED), SqlUnitOfWork(db))
    assert await release_due_holds(later, SqlUnitOfWork(db), POLICY) == 0

    await record_dispute(news(payment, "evt_2", DisputeStatus.LOST), SqlUnitOfWork(db))

    assert await release_due_holds(later, SqlUnitOfWork(db), POLICY) == 0
    assert (await _hold(db, payment, seller)).status is HoldStatus.REFUNDED  # nothing left to release
    await assert_holds_match_books(db)
    entries = await assert_ledger_balances(db)
    assert balance_of(entries, seller_held(seller, "USD")) == USD(0)
    assert balance_of(entries, seller_available(seller, "USD")) == USD(0)
    assert balance_of(entries, chargebacks("USD")) == payment.amount_captured


async def test_news_about_a_payment_that_is_not_ours_is_stored_as_ignored(db, shop):
    payment = await _paid(db, shop)
    payment.provider_ref = "nobody_knows_me"

    receipt = await record_dispute(news(payment, "evt_1", DisputeStatus.OPENED), SqlUnitOfWork(db))

    assert receipt.event.state is EventState.IGNORED and receipt.payment is None


async def test_twenty_concurrent_deliveries_of_one_opening_withhold_once(db, shop):
    payment = await _paid(db, shop)

    await asyncio.gather(*(record_dispute(news(payment, f"evt_{i}", DisputeStatus.EVIDENCE_DUE),
                                          SqlUnitOfWork(db)) for i in range(20)))

    entries = await assert_ledger_balances(db)
    assert [e.kind for e in entries].count(EntryKind.DISPUTE) == 1
    assert balance_of(entries, disputes("USD")) == USD(4297)
    assert (await _payment(db, payment.id)).disputed == USD(4297)


async def test_each_step_of_a_dispute_is_in_the_audit_trail_once(db, shop):
    from sqlmodel import select

    from db.tables import AuditRow

    payment = await _paid(db, shop)
    for event_id, status in (("evt_1", DisputeStatus.EVIDENCE_DUE), ("evt_1", DisputeStatus.EVIDENCE_DUE),
                             ("evt_2", DisputeStatus.UNDER_REVIEW), ("evt_3", DisputeStatus.LOST)):
        await record_dispute(news(payment, event_id, status), SqlUnitOfWork(db))

    async with db.read_sessions() as session:
        actions = (await session.exec(select(AuditRow.action).where(AuditRow.object_type == "dispute")
                                      .order_by(AuditRow.id))).all()
    assert actions == ["dispute.evidence_due", "dispute.under_review", "dispute.lost"]


async def test_a_release_during_a_partial_dispute_releases_only_what_the_dispute_left_in_the_hold(db, shop):
    payment = await _paid(db, shop, {"SAM-MUG-01": 1})  # 13.49 the seller's, 1.50 the platform's fee
    seller = shop.id_of("seller@example.com")
    await record_dispute(news(payment, "evt_1", DisputeStatus.OPENED, amount=USD(500)), SqlUnitOfWork(db))
    opened = await assert_ledger_balances(db)
    taken = sum(p.amount.minor for e in opened if e.kind is EntryKind.DISPUTE
                for p in e.postings_to(seller_held(seller, "USD")))

    await _delivered(db, shop, payment)
    await release_due_holds(datetime.now(UTC) + timedelta(days=30), SqlUnitOfWork(db), POLICY)

    entries = await assert_ledger_balances(db)
    assert 0 < taken < 500
    assert balance_of(entries, seller_held(seller, "USD")) == USD(0)
    assert balance_of(entries, seller_available(seller, "USD")) == USD(1349 - taken)
    assert (await _hold(db, payment, seller)).status is HoldStatus.RELEASED
    await assert_holds_match_books(db)

    await record_dispute(news(payment, "evt_2", DisputeStatus.WON, amount=USD(500)), SqlUnitOfWork(db))
    await assert_holds_match_books(db)

    entries = await assert_ledger_balances(db)  # won after the release: back as available money
    assert balance_of(entries, seller_held(seller, "USD")) == USD(0)
    assert balance_of(entries, seller_available(seller, "USD")) == USD(1349)
