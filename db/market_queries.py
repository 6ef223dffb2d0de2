"""Read queries of the marketplace: holds, transfers, payouts, the admin listings and balances.

Each list is a constant number of statements whatever its size (the page, its count, its
totals, and the children of the page's rows in one `IN (...)` read).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import case, func, or_
from sqlmodel import col, select

from db.engine import Database
from db.mapping import aware
from db.market import account_from_row, hold_from_row, payout_from_row, transfer_from_row
from db.market_tables import (
    MarketAccountRow,
    MarketDifferenceRow,
    MarketHoldRow,
    MarketPayoutRow,
    MarketTransferRow,
)
from db.payment_tables import LedgerPostingRow, PaymentRow
from db.payments import payments_with_attempts
from db.tables import OrderLineRow, OrderRow, UserRow
from domain.ledger import AccountKind
from domain.marketplace.access import MarketFilter, Page
from domain.marketplace.model import ConnectedAccount, HoldRecord, PayoutRecord, TransferRecord
from domain.payments import Payment

SELLER_KINDS = (AccountKind.SELLER_HELD, AccountKind.SELLER_AVAILABLE, AccountKind.SELLER_TRANSFERRED,
                AccountKind.PAYOUTS_IN_TRANSIT, AccountKind.PAYOUTS_PAID)


async def account_of(db: Database, seller_id: int) -> ConnectedAccount | None:
    async with db.read_sessions() as session:
        row = (await session.exec(select(MarketAccountRow).where(MarketAccountRow.seller_id == seller_id))).first()
        return account_from_row(row) if row else None


async def seller_balances(db: Database, seller_id: int | None) -> dict[str, dict[str, int]]:
    """currency -> {held, available, transferred, in_transit, paid_out} in minor units (one seller, or
    every seller summed when `seller_id` is None)."""
    signed = case((LedgerPostingRow.side == "credit", LedgerPostingRow.amount_minor),
                  else_=-LedgerPostingRow.amount_minor)
    where = [LedgerPostingRow.account_kind.in_([k.value for k in SELLER_KINDS])]
    if seller_id is not None:
        where.append(LedgerPostingRow.owner_id == seller_id)
    async with db.read_sessions() as session:
        rows = (await session.exec(select(LedgerPostingRow.currency, LedgerPostingRow.account_kind, func.sum(signed))
                                   .where(*where).group_by(LedgerPostingRow.currency,
                                                           LedgerPostingRow.account_kind))).all()
    names = {AccountKind.SELLER_HELD: "held", AccountKind.SELLER_AVAILABLE: "available",
             AccountKind.SELLER_TRANSFERRED: "transferred", AccountKind.PAYOUTS_IN_TRANSIT: "in_transit",
             AccountKind.PAYOUTS_PAID: "paid_out"}
    found: dict[str, dict[str, int]] = {}
    for code, kind, total in rows:
        # payouts_paid is credit-normal like the liabilities (a contra asset): same sign rule.
        found.setdefault(code, dict.fromkeys(names.values(), 0))[names[AccountKind(kind)]] = int(total or 0)
    return found


@dataclass(frozen=True, slots=True)
class HoldView:
    hold: HoldRecord
    order_uuid: str | None
    payment_number: str | None


async def holds_of(db: Database, seller_id: int | None, page: Page, status: str | None = None
                   ) -> tuple[list[HoldView], int, dict[str, dict[str, int]]]:
    """A page of holds (soonest release first), their count, and held totals per currency and status."""
    where = []
    if seller_id is not None:
        where.append(MarketHoldRow.seller_id == seller_id)
    if status is not None:
        where.append(MarketHoldRow.status == status)
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(MarketHoldRow).where(*where))).one()
        sums = (await session.exec(select(MarketHoldRow.currency, MarketHoldRow.status, func.sum(MarketHoldRow.amount_minor))
                                   .where(*where).group_by(MarketHoldRow.currency, MarketHoldRow.status))).all()
        rows = (await session.exec(
            select(MarketHoldRow, OrderRow.uuid, PaymentRow.number)
            .outerjoin(OrderRow, OrderRow.id == MarketHoldRow.order_id)
            .outerjoin(PaymentRow, PaymentRow.uuid == MarketHoldRow.payment_uuid)
            .where(*where).order_by(MarketHoldRow.releases_at.is_(None), MarketHoldRow.releases_at,
                                    MarketHoldRow.id)
            .offset(page.offset).limit(page.limit))).all()
    totals: dict[str, dict[str, int]] = {}
    for code, state, amount in sums:
        totals.setdefault(code, {})[state] = int(amount or 0)
    return [HoldView(hold_from_row(h), o, n) for h, o, n in rows], total, totals


async def holds_of_order(db: Database, order_id: int) -> list[HoldView]:
    async with db.read_sessions() as session:
        rows = (await session.exec(
            select(MarketHoldRow, OrderRow.uuid, PaymentRow.number)
            .outerjoin(OrderRow, OrderRow.id == MarketHoldRow.order_id)
            .outerjoin(PaymentRow, PaymentRow.uuid == MarketHoldRow.payment_uuid)
            .where(MarketHoldRow.order_id == order_id).order_by(MarketHoldRow.id))).all()
    return [HoldView(hold_from_row(h), o, n) for h, o, n in rows]


async def transfers_of(db: Database, payout_id: int) -> list[TransferRecord]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(MarketTransferRow).where(MarketTransferRow.payout_id == payout_id)
                                   .order_by(MarketTransferRow.id))).all()
    return [transfer_from_row(r) for r in rows]


async def transfers_of_payouts(db: Database, payout_ids: Sequence[int]) -> dict[int, list[TransferRecord]]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(MarketTransferRow).where(MarketTransferRow.payout_id.in_(list(payout_ids)))
                                   .order_by(MarketTransferRow.id))).all()
    found: dict[int, list[TransferRecord]] = {}
    for row in rows:
        found.setdefault(row.payout_id or 0, []).append(transfer_from_row(row))
    return found


async def transfer_by_id(db: Database, transfer_id: int) -> TransferRecord | None:
    async with db.read_sessions() as session:
        row = await session.get(MarketTransferRow, transfer_id)
    return transfer_from_row(row) if row else None


async def transfers_page(db: Database, seller_id: int | None, page: Page, before_id: int | None = None
                         ) -> tuple[list[TransferRecord], int]:
    where = [] if seller_id is None else [MarketTransferRow.seller_id == seller_id]
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(MarketTransferRow).where(*where))).one()
        if before_id is not None:
            where.append(col(MarketTransferRow.id) < before_id)
        rows = (await session.exec(select(MarketTransferRow).where(*where).order_by(col(MarketTransferRow.id).desc())
                                   .offset(page.offset).limit(page.limit))).all()
    return [transfer_from_row(r) for r in rows], total


@dataclass(frozen=True, slots=True)
class PayoutView:
    payout: PayoutRecord
    seller_email: str
    transfer_count: int


@dataclass(frozen=True, slots=True)
class PayoutTotals:
    count: int
    by_currency: dict[str, dict[str, int]]  # currency -> status -> minor units


def _payout_filters(seller_id: int | None, flt: MarketFilter) -> list:
    where = []
    for owner in (seller_id, flt.seller_id):
        if owner is not None:
            where.append(MarketPayoutRow.seller_id == owner)
    if flt.status:
        where.append(MarketPayoutRow.status == flt.status)
    if flt.created_from is not None:
        where.append(MarketPayoutRow.created_at >= flt.created_from)
    if flt.created_to is not None:
        where.append(MarketPayoutRow.created_at < flt.created_to)
    if flt.search:
        like = f"%{flt.search.lower()}%"
        where.append(or_(func.lower(UserRow.email).like(like), func.lower(MarketPayoutRow.uuid).like(like),
                         func.lower(func.coalesce(MarketPayoutRow.provider_ref, "")).like(like),
                         func.lower(MarketPayoutRow.description).like(like)))
    return where


async def payouts_page(db: Database, seller_id: int | None, flt: MarketFilter, page: Page,
                       before_id: int | None = None) -> tuple[list[PayoutView], PayoutTotals]:
    where = _payout_filters(seller_id, flt)
    keyset = [] if before_id is None else [col(MarketPayoutRow.id) < before_id]
    joined = UserRow.id == MarketPayoutRow.seller_id
    async with db.read_sessions() as session:
        sums = (await session.exec(
            select(MarketPayoutRow.currency, MarketPayoutRow.status, func.count(), func.sum(MarketPayoutRow.amount_minor))
            .join(UserRow, joined).where(*where).group_by(MarketPayoutRow.currency, MarketPayoutRow.status))).all()
        rows = (await session.exec(
            select(MarketPayoutRow, UserRow.email).join(UserRow, joined).where(*where, *keyset)
            .order_by(col(MarketPayoutRow.id).desc()).offset(page.offset).limit(page.limit))).all()
        counts = dict((await session.exec(
            select(MarketTransferRow.payout_id, func.count()).where(
                MarketTransferRow.payout_id.in_([r.id for r, _ in rows])).group_by(MarketTransferRow.payout_id))).all())
    by_currency: dict[str, dict[str, int]] = {}
    for code, state, _, amount in sums:
        by_currency.setdefault(code, {})[state] = int(amount or 0)
    totals = PayoutTotals(sum(int(n) for _, _, n, _ in sums), by_currency)
    return [PayoutView(payout_from_row(r), email, int(counts.get(r.id, 0))) for r, email in rows], totals


async def payout_by_uuid(db: Database, payout_uuid: UUID | None = None, payout_id: int | None = None
                         ) -> PayoutRecord | None:
    where = MarketPayoutRow.uuid == str(payout_uuid) if payout_id is None else MarketPayoutRow.id == payout_id
    async with db.read_sessions() as session:
        row = (await session.exec(select(MarketPayoutRow).where(where))).first()
        if row is None:
            return None
        ids = (await session.exec(select(MarketTransferRow.id).where(MarketTransferRow.payout_id == row.id))).all()
    return payout_from_row(row, list(ids))


@dataclass(frozen=True, slots=True)
class PayoutOrderLine:
    order_uuid: str
    order_number: str | None
    sku: str
    name: str
    quantity: int
    unit_price_minor: int
    currency: str


async def payout_order_lines(db: Database, payout_id: int, seller_id: int) -> list[PayoutOrderLine]:
    """The seller's lines of the orders whose transfers a payout paid out."""
    async with db.read_sessions() as session:
        rows = (await session.exec(
            select(OrderRow.uuid, OrderRow.number, OrderLineRow.sku, OrderLineRow.name, OrderLineRow.quantity,  # type: ignore[call-overload]  # 7 columns: past sqlmodel overloads
                   OrderLineRow.unit_price_minor, OrderLineRow.currency)
            .join(OrderLineRow, OrderLineRow.order_id == OrderRow.id)
            .where(OrderLineRow.seller_id == seller_id,
                   OrderRow.id.in_(select(MarketTransferRow.order_id).where(MarketTransferRow.payout_id == payout_id)))
            .order_by(OrderRow.id, OrderLineRow.id))).all()
    return [PayoutOrderLine(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class TransactionView:
    payment: Payment
    order_uuid: str | None
    order_number: str | None
    buyer_email: str


@dataclass(frozen=True, slots=True)
class TransactionStats:
    count: int
    by_currency: dict[str, dict[str, int]]  # currency -> {amount, captured, refunded}
    by_status: dict[str, int]


def _transaction_filters(flt: MarketFilter) -> list:
    where = []
    if flt.status:
        where.append(PaymentRow.status == flt.status)
    if flt.buyer_id is not None:
        where.append(PaymentRow.buyer_id == flt.buyer_id)
    if flt.seller_id is not None:
        where.append(PaymentRow.order_id.in_(select(OrderLineRow.order_id).where(OrderLineRow.seller_id == flt.seller_id)))
    if flt.created_from is not None:
        where.append(PaymentRow.created_at >= flt.created_from)
    if flt.created_to is not None:
        where.append(PaymentRow.created_at < flt.created_to)
    if flt.search:
        like = f"%{flt.search.lower()}%"
        where.append(or_(func.lower(UserRow.email).like(like), func.lower(func.coalesce(PaymentRow.number, "")).like(like),
                         func.lower(PaymentRow.uuid).like(like), func.lower(func.coalesce(OrderRow.number, "")).like(like),
                         func.lower(func.coalesce(PaymentRow.provider_ref, "")).like(like)))
    return where


async def transactions_page(db: Database, flt: MarketFilter, page: Page
                            ) -> tuple[list[TransactionView], TransactionStats]:
    where = _transaction_filters(flt)

    def joined(query):
        return (query.join(UserRow, UserRow.id == PaymentRow.buyer_id)
                .outerjoin(OrderRow, OrderRow.id == PaymentRow.order_id))

    async with db.read_sessions() as session:
        sums = (await session.exec(joined(select(  # type: ignore[call-overload]
            PaymentRow.currency, PaymentRow.status, func.count(), func.sum(PaymentRow.amount_minor),
            func.sum(PaymentRow.captured_minor), func.sum(PaymentRow.refunded_minor)))
            .where(*where).group_by(PaymentRow.currency, PaymentRow.status))).all()
        rows = (await session.exec(joined(select(PaymentRow.id, OrderRow.uuid, OrderRow.number, UserRow.email))
                                   .where(*where).order_by(col(PaymentRow.id).desc())
                                   .offset(page.offset).limit(page.limit))).all()
        payments = await payments_with_attempts(session, [r[0] for r in rows])
    by_currency: dict[str, dict[str, int]] = {}
    by_status: dict[str, int] = {}
    for code, state, n, amount, captured, refunded in sums:
        money = by_currency.setdefault(code, {"amount": 0, "captured": 0, "refunded": 0})
        money["amount"] += int(amount or 0)
        money["captured"] += int(captured or 0)
        money["refunded"] += int(refunded or 0)
        by_status[state] = by_status.get(state, 0) + int(n)
    stats = TransactionStats(sum(by_status.values()), by_currency, by_status)
    return [TransactionView(payments[pid], o_uuid, o_number, email) for pid, o_uuid, o_number, email in rows
            if pid in payments], stats


async def emails_of(db: Database, ids: Sequence[int]) -> dict[int, str]:
    async with db.read_sessions() as session:
        return dict((await session.exec(select(UserRow.id, UserRow.email).where(UserRow.id.in_(list(ids))))).all())


@dataclass(frozen=True, slots=True)
class Difference:
    seller_id: int
    currency: str
    ours_minor: int
    theirs_minor: int
    found_at: datetime


async def latest_differences(db: Database, seller_id: int | None, limit: int = 20) -> list[Difference]:
    """What reconciliation found lately (worker's reconcile-sellers), newest first."""
    where = [] if seller_id is None else [MarketDifferenceRow.seller_id == seller_id]
    async with db.read_sessions() as session:
        rows = (await session.exec(select(MarketDifferenceRow).where(*where)
                                   .order_by(col(MarketDifferenceRow.id).desc()).limit(limit))).all()
    return [Difference(r.seller_id, r.currency, r.ours_minor, r.theirs_minor, aware(r.found_at)) for r in rows]
