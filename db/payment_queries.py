"""Read queries over payments, refunds, refund requests, the ledger, holds and the audit trail.

Every page and every batch is a constant number of statements whatever its size: rows first,
then their children in one `IN (...)` read. Pages are keyset reads, newest first: `before_id` is
the cursor of the last row already seen.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, literal_column
from sqlalchemy import select as select_core
from sqlmodel import col

from db import order_queries, queries, reads
from db.engine import Database
from db.ledger import entries_from_rows, entry_or_followers
from db.mapping import aware
from db.payment_tables import (
    LedgerEntryRow,
    LedgerPostingRow,
    PaymentAttemptRow,
    PaymentRow,
    RefundRequestRow,
)
from db.read_rows import (
    ATTEMPT_COLUMNS,
    ATTEMPTS,
    PAYMENT_COLUMNS,
    PAYMENT_WIDTH,
    PAYMENTS,
    among,
    attempt_from_tuple,
    payment_from_tuple,
    payments_from_joined,
    payments_with_attempts_where,
)
from db.refund_requests import request_from_row
from db.row_ids import pk
from db.tables import AuditRow, OrderLineRow
from domain.audit import AuditRecord
from domain.ledger import AccountKind, EntryKind, JournalEntry, Side, payment_id_of
from domain.orders.model import Address, Order
from domain.payments import Attempt, AttemptKind, Payment
from domain.payments.access import HoldFilter, PaymentFilter, PaymentScope, RefundFilter, RefundRequestFilter
from domain.payments.refund_requests import RefundRequest
from domain.users import User

P, A = PAYMENTS.c, ATTEMPTS.c
# Tables read as Core rows. Their rows carry the ORM rows' attribute names, so the mappers shared
# with the repositories (request_from_row, entries_from_rows) take them as they are.
REQUESTS = RefundRequestRow.__table__  # type: ignore[attr-defined]
ENTRIES = LedgerEntryRow.__table__  # type: ignore[attr-defined]
POSTINGS = LedgerPostingRow.__table__  # type: ignore[attr-defined]
AUDIT = AuditRow.__table__  # type: ignore[attr-defined]


def _sold_by(seller_id: int):
    return exists().where(OrderLineRow.order_id == PaymentRow.order_id, OrderLineRow.seller_id == seller_id)


def _scoped(scope: PaymentScope, buyer_id: int | None, seller_id: int | None) -> list:
    where = []
    if not scope.everything:
        if scope.buyer_id is not None:
            where.append(PaymentRow.buyer_id == scope.buyer_id)
        if scope.seller_id is not None:
            where.append(_sold_by(scope.seller_id))
    if scope.everything and buyer_id is not None:
        where.append(PaymentRow.buyer_id == buyer_id)
    if seller_id is not None:
        where.append(_sold_by(seller_id))
    return where


def _between(column, created_from, created_to) -> list:
    where = []
    if created_from is not None:
        where.append(column >= created_from)
    if created_to is not None:
        where.append(column < created_to)
    return where


async def payments_page(db: Database, scope: PaymentScope, flt: PaymentFilter, *, before_id: int | None,
                        limit: int) -> tuple[list[Payment], int]:
    """A page with its attempts (one statement, one snapshot) and the count, at once where the
    backend allows: two statements, Core rows."""
    where = _scoped(scope, flt.buyer_id, flt.seller_id) + _between(PaymentRow.created_at, flt.created_from,
                                                                     flt.created_to)
    if flt.statuses:
        where.append(PaymentRow.status.in_([s.value for s in flt.statuses]))
    if flt.provider is not None:
        where.append(PaymentRow.provider == flt.provider)
    if flt.order_id is not None:
        where.append(PaymentRow.order_id == flt.order_id)
    page = select_core(P.id).where(*where)
    if before_id is not None:
        page = page.where(P.id < before_id)
    page = page.order_by(P.id.desc()).limit(limit)
    found, total = await reads.concurrently(
        db, reads.rows(db, payments_with_attempts_where(P.id.in_(page)).order_by(P.id.desc())),
        reads.scalar(db, select_core(func.count()).select_from(PAYMENTS).where(*where)))
    return list(payments_from_joined(found).values()), total


async def _payments(db: Database, *where, order_by=None) -> dict[int, Payment]:
    query = payments_with_attempts_where(*where)
    return payments_from_joined(await reads.rows(db, query.order_by(order_by) if order_by is not None else query))


async def payments_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Payment]:
    return await _payments(db, among(P.id, ids, db.is_sqlite))


async def payment_by_provider_ref(db: Database, provider: str, provider_ref: str) -> Payment | None:
    """The payment a provider knows by this reference (seed 002 names payments by Stripe's id)."""
    newest = (select_core(P.id).where(P.provider == provider, P.provider_ref == provider_ref)
              .order_by(P.id.desc()).limit(1))
    found = await _payments(db, P.id.in_(newest))
    return next(iter(found.values()), None)


async def payments_by_order_ids(db: Database, order_ids: Sequence[int]) -> dict[int, list[Payment]]:
    """Each order's payments, oldest first (a declined one, then the one that succeeded)."""
    found: dict[int, list[Payment]] = {}
    for p in (await _payments(db, among(P.order_id, order_ids, db.is_sqlite), order_by=P.id)).values():
        found.setdefault(p.order_id, []).append(p)  # type: ignore[arg-type]
    return found


async def payments_by_attempt_ids(db: Database, attempt_ids: Sequence[int]) -> dict[int, Payment]:
    """The payment each attempt (a refund, to clients) belongs to."""
    owners = select_core(A.payment_id).where(A.id.in_(list(attempt_ids)))
    wanted = set(attempt_ids)
    return {a.id: p for p in (await _payments(db, P.id.in_(owners))).values() for a in p.attempts
            if a.id in wanted}


async def orders_and_buyers(db: Database, order_ids: Sequence[int],
                            buyer_ids: Sequence[int]) -> tuple[dict[int, Order], dict[int, User]]:
    """A page's orders (with their lines) and buyers: at once where the backend allows."""
    orders, buyers = await reads.concurrently(db, _or_empty(order_queries.orders_by_ids, db, order_ids),
                                              _or_empty(queries.users_by_ids, db, buyer_ids))
    return orders, buyers


async def payments_and_addresses(db: Database, order_ids: Sequence[int],
                                 address_ids: Sequence[int]) -> tuple[dict[int, list[Payment]], dict[int, Address]]:
    """An orders page's payments (each order's, oldest first) and addresses: at once where the
    backend allows."""
    payments, addresses = await reads.concurrently(db, _or_empty(payments_by_order_ids, db, order_ids),
                                                   _or_empty(order_queries.addresses_by_ids, db, address_ids))
    return payments, addresses


async def _or_empty(read, db: Database, ids: Sequence[int]) -> dict:
    return await read(db, ids) if ids else {}


async def refunds_page(db: Database, scope: PaymentScope, flt: RefundFilter, *, before_id: int | None,
                       limit: int) -> tuple[list[tuple[Payment, Attempt]], int]:
    """Refund attempts with their payments (without the payments' other attempts), newest first."""
    # A literal: ix_payment_attempts_refunds is partial on it (db/tables.py, `partial`).
    where = [PaymentAttemptRow.kind == literal_column(f"'{AttemptKind.REFUND.value}'")]
    where += _scoped(scope, flt.buyer_id, flt.seller_id)
    where += _between(PaymentAttemptRow.created_at, flt.created_from, flt.created_to)
    if flt.statuses:
        where.append(PaymentAttemptRow.status.in_([s.value for s in flt.statuses]))
    if flt.provider is not None:
        where.append(PaymentRow.provider == flt.provider)
    if flt.payment_id is not None:
        where.append(PaymentAttemptRow.payment_id == flt.payment_id)
    joined = ATTEMPTS.join(PAYMENTS, P.id == A.payment_id)
    query = select_core(*PAYMENT_COLUMNS, *ATTEMPT_COLUMNS).select_from(joined).where(*where)
    if before_id is not None:
        query = query.where(A.id < before_id)
    rows, total = await reads.concurrently(
        db, reads.rows(db, query.order_by(A.id.desc()).limit(limit)),
        reads.scalar(db, select_core(func.count()).select_from(joined).where(*where)))
    return [(payment_from_tuple(r, []), attempt_from_tuple(r[PAYMENT_WIDTH:])) for r in rows], total


async def refund_requests_page(db: Database, requested_by: int | None, flt: RefundRequestFilter, *,
                               before_id: int | None, limit: int) -> tuple[list[RefundRequest], int]:
    where = _between(RefundRequestRow.created_at, flt.created_from, flt.created_to)
    if requested_by is not None:
        where.append(RefundRequestRow.requested_by == requested_by)
    if flt.statuses:
        where.append(RefundRequestRow.status.in_([s.value for s in flt.statuses]))
    if flt.payment_id is not None:
        where.append(RefundRequestRow.payment_id == flt.payment_id)
    query = select_core(REQUESTS).where(*where)
    if before_id is not None:
        query = query.where(col(RefundRequestRow.id) < before_id)
    rows, total = await reads.concurrently(
        db, reads.rows(db, query.order_by(RefundRequestRow.id.desc()).limit(limit)),
        reads.scalar(db, select_core(func.count()).select_from(REQUESTS).where(*where)))
    return [request_from_row(r) for r in rows], total


async def refund_requests_by_ids(db: Database, ids: Sequence[int]) -> dict[int, RefundRequest]:
    rows = await reads.rows(db, select_core(REQUESTS).where(among(REQUESTS.c.id, ids, db.is_sqlite)))
    return {r.pk: r for r in map(request_from_row, rows)}


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    kinds: tuple[EntryKind, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    owner_id: int | None = None   # entries touching an account of this user (seller or buyer)
    ref: str | None = None        # this entry and those that follow it up (parent_ref)


async def _entries(db: Database, rows: Sequence[Any]) -> list[JournalEntry]:
    if not rows:
        return []
    postings = await reads.rows(db, select_core(POSTINGS).where(among(POSTINGS.c.entry_id, [r.id for r in rows],
                                                                      db.is_sqlite)))
    return entries_from_rows(list(rows), list(postings))


async def transactions_page(db: Database, flt: LedgerFilter, *, before_id: int | None,
                            limit: int) -> tuple[list[tuple[int, JournalEntry]], int]:
    """Journal entries with their postings, newest first, each with its row id."""
    where = _between(LedgerEntryRow.created_at, flt.created_from, flt.created_to)
    if flt.kinds:
        where.append(LedgerEntryRow.kind.in_([k.value for k in flt.kinds]))
    if flt.owner_id is not None:
        where.append(exists().where(LedgerPostingRow.entry_id == LedgerEntryRow.id,
                                    LedgerPostingRow.owner_id == flt.owner_id))
    if flt.ref is not None:
        where.append(entry_or_followers(flt.ref))
    query = select_core(ENTRIES).where(*where)
    if before_id is not None:
        query = query.where(col(LedgerEntryRow.id) < before_id)
    rows, total = await reads.concurrently(
        db, reads.rows(db, query.order_by(LedgerEntryRow.id.desc()).limit(limit)),
        reads.scalar(db, select_core(func.count()).select_from(ENTRIES).where(*where)))
    return list(zip([pk(r) for r in rows], await _entries(db, rows), strict=True)), total


@dataclass(frozen=True, slots=True)
class HoldKey:
    posting_id: int     # the capture's credit to the seller's held account: one per capture and seller
    capture_ref: str
    seller_id: int


@dataclass(frozen=True, slots=True)
class HoldsPage:
    keys: list[HoldKey]             # the page, newest capture first
    entries: list[JournalEntry]     # the page's captures and every entry following them up
    payment_ids: dict[str, int]     # payment uuid (in a capture ref) -> payment id
    total: int


async def holds_page(db: Database, seller_id: int | None, flt: HoldFilter, *, before_id: int | None,
                     limit: int) -> HoldsPage:
    """The journal entries a page of holds is derived from: five statements whatever its size.

    A hold is one seller's held credit in one capture; its state is the capture folded with the
    entries that follow it (releases, refunds), which are loaded by `parent_ref`.
    """
    where = [LedgerEntryRow.kind == EntryKind.CAPTURE.value,
             LedgerPostingRow.account_kind == AccountKind.SELLER_HELD.value,
             LedgerPostingRow.side == Side.CREDIT.value]
    where += _between(LedgerEntryRow.created_at, flt.created_from, flt.created_to)
    for owner in (seller_id, flt.seller_id):
        if owner is not None:
            where.append(LedgerPostingRow.owner_id == owner)
    joined = POSTINGS.join(ENTRIES, LedgerEntryRow.id == LedgerPostingRow.entry_id)
    query = select_core(POSTINGS.c.id, ENTRIES.c.ref, POSTINGS.c.owner_id).select_from(
        joined).where(*where)
    if before_id is not None:
        query = query.where(col(LedgerPostingRow.id) < before_id)
    found, total = await reads.concurrently(
        db, reads.rows(db, query.order_by(LedgerPostingRow.id.desc()).limit(limit)),
        reads.scalar(db, select_core(func.count()).select_from(joined).where(*where)))
    keys = [HoldKey(*row) for row in found]
    if not keys:
        return HoldsPage([], [], {}, total)
    refs = sorted({k.capture_ref for k in keys})
    uuids = [payment_id_of(ref) for ref in refs]
    rows, payment_rows = await reads.concurrently(
        db, reads.rows(db, select_core(ENTRIES).where(
            ((LedgerEntryRow.kind == EntryKind.CAPTURE.value) & LedgerEntryRow.ref.in_(refs))
            | LedgerEntryRow.parent_ref.in_(refs)).order_by(LedgerEntryRow.id)),
        reads.rows(db, select_core(P.uuid, P.id).where(P.uuid.in_(uuids))))
    entries = await _entries(db, rows)
    return HoldsPage(keys, entries, {uuid: payment_id for uuid, payment_id in payment_rows}, total)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actions: tuple[str, ...] = ()
    object_type: str | None = None
    object_id: str | None = None
    actor_id: int | None = None
    created_from: datetime | None = None  # on `at`
    created_to: datetime | None = None


async def audit_page(db: Database, flt: AuditFilter, *, before_id: int | None,
                     limit: int) -> tuple[list[tuple[int, AuditRecord]], int]:
    where = _between(AuditRow.at, flt.created_from, flt.created_to)
    if flt.actions:
        where.append(AuditRow.action.in_(list(flt.actions)))
    if flt.object_type is not None:
        where.append(AuditRow.object_type == flt.object_type)
    if flt.object_id is not None:
        where.append(AuditRow.object_id == flt.object_id)
    if flt.actor_id is not None:
        where.append(AuditRow.actor_id == flt.actor_id)
    query = select_core(AUDIT).where(*where)
    if before_id is not None:
        query = query.where(col(AuditRow.id) < before_id)
    rows, total = await reads.concurrently(
        db, reads.rows(db, query.order_by(AuditRow.id.desc()).limit(limit)),
        reads.scalar(db, select_core(func.count()).select_from(AUDIT).where(*where)))
    return [(pk(r), _audit_record(r)) for r in rows], total


def _audit_record(row: Any) -> AuditRecord:
    """From an audit_log row (Core: the ORM row's attribute names)."""
    return AuditRecord(
        actor_id=row.actor_id, actor_role=row.actor_role, action=row.action, object_type=row.object_type,
        object_id=row.object_id, before=json.loads(row.before) if row.before is not None else None,
        after=json.loads(row.after) if row.after is not None else None, at=aware(row.at),
        request_id=row.request_id)
