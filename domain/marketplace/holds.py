"""Delivery and holds: a seller's share is held until their lines are delivered and HOLD_DAYS have
passed (or staff release it early), then it becomes available.

Holds have their own state (`HoldRecord`, one per payment and seller, written at capture), so
the release job reads only the holds that are due, never the history of captures. The amounts
still come from the journal: a release moves what the capture's view says is still held, so a
refund that took part of the hold first is never released twice.

Disputes (domain/disputes): like Stripe, which withholds only the disputed amount (plus its fee)
from a connected account's balance and lets the rest settle on schedule, a dispute opened on a
held share takes the disputed part out of the hold (domain/ledger/disputes.py) and the release
moves only what it left. A hold the dispute took whole has nothing to release yet but is not
finished either: it stays `held` with no release date (so the job stops reading it) until the
dispute ends, when `rearm_after_dispute` makes it due again: won, the money came back into the
hold and is released then; lost, nothing is left and the hold ends as `refunded` (nothing to
release). Money a won dispute gives back after the hold was released goes to available money.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidStateError, NotAllowedError, NotFoundError
from domain.identity import Actor, Role
from domain.ledger import AccountKind, EntryKind, JournalEntry, capture_ref, holds, release_entry
from domain.marketplace.model import HoldRecord, HoldStatus
from domain.orders.access import can_see
from domain.orders.model import Order, OrderStatus
from domain.ports import UnitOfWork

DELIVERABLE = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)


async def record_holds(payment_uuid: str, order: Order, capture: JournalEntry, uow: UnitOfWork,
                       hold_period: timedelta) -> None:
    """One hold per seller credited by the capture (called where the capture is booked), dated
    from the sellers' deliveries by the repository (on PostgreSQL in the INSERT itself)."""
    await uow.market.add_holds([
        HoldRecord(payment_uuid=payment_uuid, seller_id=posting.account.seller_id, amount=posting.amount,
                   status=HoldStatus.HELD, captured_at=capture.created_at, delivered_at=None, releases_at=None,
                   order_id=order.pk)
        for posting in capture.postings if posting.account.kind is AccountKind.SELLER_HELD], hold_period)


def releases_at(delivered_at: datetime, captured_at: datetime, hold_period: timedelta) -> datetime:
    """When a held share is released: HOLD_DAYS after delivery, never before the capture's own."""
    return max(delivered_at, captured_at) + hold_period


@dataclass(frozen=True, slots=True)
class MarkDelivered:
    actor: Actor
    order_id: int
    seller_id: int | None = None  # staff: one seller's lines; None: the whole order


async def mark_delivered(cmd: MarkDelivered, uow: UnitOfWork, hold_period: timedelta, now: datetime) -> Order:
    """A seller marks their lines of an order delivered, or staff mark the whole order (or one
    seller's lines); the holds of those sellers then release HOLD_DAYS later. Idempotent."""
    actor = cmd.actor

    async def block() -> Order:
        async with uow:
            order = await uow.orders.get(cmd.order_id, for_update=True)
            if order is None or not can_see(actor, order):
                raise NotFoundError("order", cmd.order_id)
            if actor.is_staff:
                sellers = order.seller_ids if cmd.seller_id is None else frozenset({cmd.seller_id})
                if not sellers <= order.seller_ids:
                    raise NotFoundError("seller", cmd.seller_id)
            elif actor.has(Role.SELLER) and actor.user_id in order.seller_ids:
                sellers = frozenset({actor.user_id})
            else:
                raise NotAllowedError("only the order's sellers or staff mark it delivered")
            if order.status not in DELIVERABLE:
                raise InvalidStateError(f"order {order.number} is {order.status}: only paid orders are delivered")
            for seller in sorted(sellers):
                if await uow.market.add_delivery(order.pk, seller, now):
                    await uow.market.deliver_holds(order.pk, seller, now, now + hold_period)
            delivered = await uow.market.delivered(order.pk)
            if order.delivered_at is None and order.seller_ids <= delivered.keys():
                order.delivered_at = now
                order.updated_at = now
                await uow.orders.save(order)
            await uow.commit()
            return order

    return await uow.transaction(block)


async def release_one(uow: UnitOfWork, payment_uuid: str, seller_id: int, now: datetime, hold_period: timedelta) -> bool:
    """Release what is still held of one seller's share (the payment locked by the caller)."""
    family = await uow.ledger.family(capture_ref(payment_uuid))
    found = [h for h in holds(family, hold_period=hold_period) if h.seller_id == seller_id]
    record = await uow.market.hold(payment_uuid, seller_id)
    if not found:
        return False
    hold = found[0]
    released = False
    if hold.status == "refunded" and _under_open_dispute(family, seller_id):
        # Wholly taken by a dispute still open: wait for its end (rearm_after_dispute).
        if record is not None and record.status is HoldStatus.HELD and record.releases_at is not None:
            record.releases_at = None
            await uow.market.save_hold(record)
        return False
    if hold.status == "held":
        # `early`: our release date is the delivery's, which the journal's view doesn't know.
        released = await uow.ledger.append(release_entry(hold, now, early=True))
    if record is not None and record.status is HoldStatus.HELD:
        record.status = HoldStatus.RELEASED if hold.status != "refunded" else HoldStatus.REFUNDED
        record.released_at = now
        await uow.market.save_hold(record)
    return released


def _under_open_dispute(family: list[JournalEntry], seller_id: int) -> bool:
    """Whether a dispute not yet won or lost took part of this seller's hold."""
    ended = {e.ref for e in family if e.kind in (EntryKind.DISPUTE_REINSTATED, EntryKind.DISPUTE_LOST)}
    return any(e.kind is EntryKind.DISPUTE and e.ref not in ended
               and any(p.account.kind is AccountKind.SELLER_HELD and p.account.seller_id == seller_id
                       for p in e.postings)
               for e in family)


async def rearm_after_dispute(uow: UnitOfWork, payment_uuid: str, order_id: int | None, now: datetime) -> None:
    """A dispute on the order's payment ended: holds it had parked (held, delivered, no release
    date) are due again now, since their date had passed already. Inside the caller's transaction."""
    if order_id is None:
        return
    for record in await uow.market.holds_of_order(order_id):
        parked = record.status is HoldStatus.HELD and record.delivered_at is not None and record.releases_at is None
        if record.payment_uuid == payment_uuid and parked:
            record.releases_at = now
            await uow.market.save_hold(record)


async def release_due_holds(now: datetime, uow: UnitOfWork, hold_period: timedelta, limit: int = 200) -> int:
    """Release every hold whose date (delivery + HOLD_DAYS) has passed, at most `limit`."""
    released = 0
    async with uow:
        for payment_uuid, seller_id in await uow.market.claim_due_holds(now, limit):
            released += await release_one(uow, payment_uuid, seller_id, now, hold_period)
        await uow.commit()
    return released


@dataclass(frozen=True, slots=True)
class ReleaseEarly:
    actor: Actor
    payment_id: int
    seller_id: int


async def release_early(cmd: ReleaseEarly, uow: UnitOfWork, hold_period: timedelta, now: datetime) -> HoldRecord:
    """Staff release a seller's hold before its date (a trusted seller, a resolved complaint)."""
    if not cmd.actor.is_staff:
        raise NotAllowedError("only staff release a hold early")

    async def block() -> HoldRecord:
        async with uow:
            payment = await uow.payments.get(cmd.payment_id, for_update=True)  # refunds spend the hold under it
            if payment is None:
                raise NotFoundError("payment", cmd.payment_id)
            payment_uuid = str(payment.uuid)
            record = await uow.market.hold(payment_uuid, cmd.seller_id)
            if record is None:
                raise NotFoundError("hold", f"{cmd.payment_id}/{cmd.seller_id}")
            if record.status is not HoldStatus.HELD:
                raise InvalidStateError(f"the hold is {record.status}")
            await release_one(uow, payment_uuid, cmd.seller_id, now, hold_period)
            after = await uow.market.hold(payment_uuid, cmd.seller_id) or record
            await uow.commit()
            return after

    return await uow.transaction(block)
