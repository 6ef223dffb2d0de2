"""Payments and their attempts in SQL: the domain's PaymentRepository.

A payment is saved whole: its row, and every attempt inserted or updated by (payment, seq).
`get(..., for_update=True)` locks the row on PostgreSQL; on SQLite the IMMEDIATE write
transaction already excludes every other writer.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import String, bindparam, insert, literal_column, update
from sqlalchemy import select as core_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.numbering import numbered_insert
from db.orders import SqlOrders
from db.outgoing_webhooks import SqlOutgoingEvents
from db.payment_tables import PaymentAttemptRow, PaymentRow
from db.row_ids import pk
from db.tables import OrderLineRow, OrderRow
from db.write_batch import WriteBatch
from domain.cards import CardSummary
from domain.money import Money
from domain.numbers import PAYMENT_NUMBER, attempt_uuid, payment_number, refund_number
from domain.outgoing_webhooks.payloads import payment_data, refund_data
from domain.payments import Attempt, Payment
from domain.payments.status import AttemptKind


def payment_from_rows(row: PaymentRow, attempts: list[PaymentAttemptRow]) -> Payment:
    money = lambda minor: Money.of(minor, row.currency)  # noqa: E731
    card = None
    if row.card_last4:
        card = CardSummary(row.card_brand, row.card_last4, row.card_exp_month, row.card_exp_year)
    return Payment(
        id=row.id, uuid=UUID(row.uuid), number=row.number, order_id=row.order_id, buyer_id=row.buyer_id,
        provider=row.provider, amount=money(row.amount_minor), capture_method=row.capture_method,
        status=row.status, amount_authorized=money(row.authorized_minor),
        amount_captured=money(row.captured_minor), amount_refunded=money(row.refunded_minor),
        amount_disputed=money(row.disputed_minor), card=card,
        provider_ref=row.provider_ref, client_secret=row.client_secret, redirect_url=row.redirect_url, decline_code=row.decline_code,
        decline_message=row.decline_message, created_at=aware(row.created_at), updated_at=aware(row.updated_at),
        checkout=row.checkout, metadata=dict(row.metadata_json or {}),
        attempts=[attempt_from_row(a) for a in sorted(attempts, key=lambda a: a.seq)],
    )


def attempt_from_row(row: PaymentAttemptRow) -> Attempt:
    return Attempt(id=row.id, seq=row.seq, kind=row.kind, amount=Money.of(row.amount_minor, row.currency),
                   status=row.status, idempotency_key=row.idempotency_key, provider_ref=row.provider_ref,
                   decline_code=row.decline_code, reason=row.reason, client_key=row.client_key,
                   created_at=aware(row.created_at), updated_at=aware(row.updated_at))


async def payments_with_attempts(session: AsyncSession, ids: Sequence[int]) -> dict[int, Payment]:
    """Payments with their attempts, read in ONE statement: under READ COMMITTED each statement
    sees its own snapshot, and a payment row read apart from its attempts could meet a refund
    committed in between (refunded amount from before, attempt from after) and fail the model's
    invariants."""
    if not ids:
        return {}
    rows = (await session.exec(
        select(PaymentRow, PaymentAttemptRow)
        .outerjoin(PaymentAttemptRow, PaymentAttemptRow.payment_id == PaymentRow.id)
        .where(PaymentRow.id.in_(list(ids))))).all()
    payments: dict[int, PaymentRow] = {}
    attempts: dict[int, list[PaymentAttemptRow]] = {}
    for payment, attempt in rows:
        payments[pk(payment)] = payment
        if attempt is not None:
            attempts.setdefault(payment.id, []).append(attempt)
    return {pid: payment_from_rows(row, attempts.get(pid, [])) for pid, row in payments.items()}


def _columns(p: Payment) -> dict[str, object]:
    """The payment's columns that change after it is created."""
    card = p.card
    return {"status": p.status.value, "authorized_minor": p.amount_authorized.minor,
            "captured_minor": p.amount_captured.minor, "refunded_minor": p.amount_refunded.minor,
            "disputed_minor": p.disputed.minor, "card_brand": card.brand.value if card else None,
            "card_last4": card.last4 if card else None, "card_exp_month": card.exp_month if card else None,
            "card_exp_year": card.exp_year if card else None, "provider_ref": p.provider_ref,
            "client_secret": p.client_secret, "redirect_url": p.redirect_url, "decline_code": p.decline_code,
            "decline_message": p.decline_message, "updated_at": p.updated_at}


def _fill(row: PaymentRow, p: Payment) -> None:
    for name, value in _columns(p).items():
        setattr(row, name, value)


# Literals, so that the planner sees they are ix_payment_attempts_open's predicate
# (db/payment_tables.py; db/tables.py, `partial`).
_OPEN = (literal_column("'pending'", String), literal_column("'unknown'", String))
# Core tables: the write path reads and writes plain rows (no ORM objects to build, track and
# flush) and remembers what it read, so that saving never reads a row again (issue 16).
PAYMENTS = PaymentRow.__table__
ATTEMPTS = PaymentAttemptRow.__table__
_ATTEMPT_STATE = ("id", "kind", "status", "provider_ref", "decline_code", "number")
# Built once (SQLAlchemy then reuses their cache keys too); the values come with each execution.
# Bound names start with b_ where a column of the same name is set.
_BY_ID = PAYMENTS.c.id == bindparam("b_id")
_UPDATE_PAYMENT = update(PAYMENTS).where(_BY_ID)
_UPDATE_ATTEMPT = update(ATTEMPTS).where(ATTEMPTS.c.id == bindparam("b_id"))
_INSERT_ATTEMPT = insert(ATTEMPTS).returning(ATTEMPTS.c.id, ATTEMPTS.c.seq)
# One payment by id: locked (PostgreSQL), then its attempts; or with its attempts, in one.
_LOCK_ONE = core_select(PAYMENTS).where(_BY_ID).with_for_update(key_share=True)
_ATTEMPTS_OF_ONE = core_select(ATTEMPTS).where(ATTEMPTS.c.payment_id == bindparam("b_id"))
# PostgreSQL: one payment and its order (with its lines, which never change) locked by one
# statement, the payment's row first (db/uow.py, "Lock order"). Both rows are read at their newest
# after a lock wait; the attempts are read by a statement of their own, after (see `_read`).
_ORDERS, _LINES = OrderRow.__table__, OrderLineRow.__table__
_LOCK_WITH_ORDER = (core_select(PAYMENTS, _ORDERS, _LINES).join(_ORDERS, _ORDERS.c.id == PAYMENTS.c.order_id)
                    .outerjoin(_LINES, _LINES.c.order_id == _ORDERS.c.id).where(_BY_ID).order_by(_LINES.c.id)
                    .with_for_update(of=[PAYMENTS, _ORDERS], key_share=True))
_JOINED_ONE = core_select(PAYMENTS, ATTEMPTS).outerjoin(ATTEMPTS, ATTEMPTS.c.payment_id == PAYMENTS.c.id).where(_BY_ID)
_IDS_OF_ORDER = core_select(PAYMENTS.c.id).where(PAYMENTS.c.order_id == bindparam("b_order")).order_by(PAYMENTS.c.id)


def _plain(table, fields) -> SimpleNamespace:
    """One table's columns of a joined row (both tables have an `id`, a `uuid`, …)."""
    return SimpleNamespace(**{column.name: fields[column] for column in table.c})


class _Loaded:
    """What this transaction read (or wrote) of a payment: its changing columns, and per attempt
    seq the columns saving compares. Saving writes only what differs, and reads nothing."""

    __slots__ = ("attempts", "columns")

    def __init__(self, columns: dict[str, object], attempts: dict[int, dict[str, object]]) -> None:
        self.columns = columns
        self.attempts = attempts


class SqlPayments:
    def __init__(self, session: AsyncSession, is_sqlite: bool, changes: set[str] | None = None,
                 outbox: SqlOutgoingEvents | None = None, batch: WriteBatch | None = None,
                 orders: SqlOrders | None = None) -> None:
        self.session = session
        self.orders = orders
        self.is_sqlite = is_sqlite
        self.batch = batch or WriteBatch.at_once(session)
        self.changes = changes if changes is not None else set()
        self.outbox = outbox if outbox is not None else SqlOutgoingEvents(session)
        self._loaded: dict[int, _Loaded] = {}

    async def add(self, payment: Payment) -> Payment:
        columns = _columns(payment)
        values = {"uuid": str(payment.uuid), "order_id": payment.order_id, "buyer_id": payment.buyer_id,
                  "provider": payment.provider, "capture_method": payment.capture_method.value,
                  "currency": payment.amount.code, "amount_minor": payment.amount.minor,
                  "created_at": payment.created_at, "checkout": payment.checkout.value if payment.checkout else None,
                  "metadata_json": payment.metadata or None, **columns}
        # The number derives from the id: unique by construction, written by the INSERT itself
        # (db/numbering.py).
        row = (await self.batch.execute(numbered_insert(PAYMENTS, tuple(values), PAYMENT_NUMBER, self.is_sqlite),
                                        values)).one()
        payment.id, payment.number = row.id, payment_number(row.id)
        if row.number != payment.number:  # an id past what the SQL numbers
            await self.session.exec(_UPDATE_PAYMENT, params={"b_id": payment.id, "number": payment.number})  # type: ignore[call-overload]
        self._loaded[payment.id] = _Loaded(columns, {})
        await self._save_attempts(payment, {})
        await self.outbox.status_changed("payment", payment.id, None, payment.status.value,
                                         lambda: payment_data(payment), payment.updated_at)
        self.changes.add(f"payment:{payment.id}")
        return payment

    async def save(self, payment: Payment) -> None:
        loaded = self._loaded.get(payment.pk)
        if loaded is None:  # not read in this transaction: what is stored, then
            await self._read(_BY_ID, params={"b_id": payment.pk})
            loaded = self._loaded[payment.pk]
        before = loaded.columns["status"]
        columns = _columns(payment)
        if columns != loaded.columns:  # deferred: nothing reads it before the batch is sent
            await self.batch.defer(_UPDATE_PAYMENT, {"b_id": payment.pk, **columns})
            loaded.columns = columns
        await self._save_attempts(payment, loaded.attempts)
        # A merchant hears of the move (domain/outgoing_webhooks/events.py): "created" is not in
        # the payment's catalog, so only its later moves are events.
        await self.outbox.status_changed("payment", payment.pk, before, payment.status.value,
                                         lambda: payment_data(payment), payment.updated_at)
        self.changes.add(f"payment:{payment.id}")

    async def _save_attempts(self, payment: Payment, stored: dict[int, dict[str, object]]) -> None:
        refunds_before = {seq: row["status"] for seq, row in stored.items() if row["kind"] == AttemptKind.REFUND.value}
        new = [a for a in payment.attempts if a.seq not in stored]
        for attempt in payment.attempts:
            row = stored.get(attempt.seq)
            if row is None or (row["status"], row["provider_ref"], row["decline_code"]) == (
                    attempt.status.value, attempt.provider_ref, attempt.decline_code):
                continue
            await self.batch.defer(_UPDATE_ATTEMPT, {
                "b_id": row["id"], "status": attempt.status.value, "provider_ref": attempt.provider_ref,
                "decline_code": attempt.decline_code, "reason": attempt.reason, "updated_at": attempt.updated_at})
            row.update(status=attempt.status.value, provider_ref=attempt.provider_ref,
                       decline_code=attempt.decline_code)
        if new:
            rows = [{"uuid": str(attempt_uuid(payment.uuid, a.seq)), "payment_id": payment.pk, "seq": a.seq,
                     "kind": a.kind.value, "status": a.status.value, "amount_minor": a.amount.minor,
                     "currency": a.amount.code, "idempotency_key": a.idempotency_key, "provider_ref": a.provider_ref,
                     "decline_code": a.decline_code, "reason": a.reason, "client_key": a.client_key,
                     "created_at": a.created_at, "updated_at": a.updated_at} for a in new]
            if len(rows) == 1:  # the usual case: one statement built once
                inserted = await self.batch.execute(_INSERT_ATTEMPT, rows[0])
            else:
                inserted = await self.session.exec(insert(ATTEMPTS).values(rows).returning(  # type: ignore[call-overload]
                    ATTEMPTS.c.id, ATTEMPTS.c.seq))
            ids = {seq: attempt_id for attempt_id, seq in inserted.all()}
            for a in new:
                stored[a.seq] = {"id": ids[a.seq], "kind": a.kind.value, "status": a.status.value,
                                 "provider_ref": a.provider_ref, "decline_code": a.decline_code, "number": None}
        # Hand the rows' ids back to the aggregate: a refund request links to its attempt.
        payment.attempts[:] = [a if a.id is not None else replace(a, id=int(stored[a.seq]["id"]))  # type: ignore[call-overload]
                               for a in payment.attempts]
        for row in stored.values():
            if row["kind"] == "refund" and row["number"] is None:
                row["number"] = refund_number(int(row["id"]))  # type: ignore[call-overload]  # from the id, like payments'
                await self.session.exec(_UPDATE_ATTEMPT, params={"b_id": row["id"], "number": row["number"]})  # type: ignore[call-overload]
        for attempt in payment.attempts:
            if attempt.kind is AttemptKind.REFUND:
                await self._tell_refund(payment, attempt, attempt.pk, refunds_before.get(attempt.seq))

    async def _tell_refund(self, payment: Payment, refund: Attempt, refund_id: int, before: str | None) -> None:
        await self.outbox.status_changed("refund", refund_id, before, refund.status.value,
                                         lambda: refund_data(payment, refund), refund.updated_at)

    async def _read(self, where, *, lock: bool = False, order_by=(), limit: int | None = None,
                    params: dict[str, int] | None = None, with_order: bool = False,
                    picked_by: tuple[Any, dict[str, int]] | None = None) -> list[Payment]:
        """The payments `where` picks, with their attempts, remembered for `save`. `picked_by`: the
        statement (built once) and parameters that pick their ids by `where` and `order_by`.

        Locked (PostgreSQL): the rows are locked and read in one statement, their attempts in a
        second one, begun once the locks are held: under READ COMMITTED a statement that waited
        for a lock sees the locked row's newest version but every other table as it was when the
        statement began, so attempts read in the same statement could miss those committed by the
        transaction it waited for. Not locked, a single statement (one snapshot) reads both, unless
        a limit or an order must pick the payments first. With `params`, `where` is _BY_ID and the
        statements are the ones built once."""
        one = params is not None
        payments: dict[int, Any] = {}
        attempts_of: dict[int, list[Any]] = {}
        if lock and not self.is_sqlite:
            # NO KEY UPDATE: see db/uow.py, "Lock order".
            locking = _LOCK_ONE if one else (core_select(PAYMENTS).where(where).order_by(*order_by).limit(limit)
                                             .with_for_update(key_share=True))
            if with_order and one and self.orders is not None:
                rows = (await self.session.exec(_LOCK_WITH_ORDER, params=params)).all()  # type: ignore[call-overload]
                if rows:  # else no such payment, or one that pays no order: the payment alone, below
                    self.orders.adopt(rows, locked=True)
                    fields = rows[0]._mapping
                    payments[fields[PAYMENTS.c.id]] = _plain(PAYMENTS, fields)
                    attempts_of[fields[PAYMENTS.c.id]] = []
            for row in [] if payments else (await self.session.exec(locking, params=params)).all():  # type: ignore[call-overload]
                payments[row.id], attempts_of[row.id] = row, []
            if not payments:
                return []
            attempts = _ATTEMPTS_OF_ONE if one else core_select(ATTEMPTS).where(
                ATTEMPTS.c.payment_id.in_(list(payments)))
            for attempt in (await self.session.exec(attempts, params=params)).all():  # type: ignore[call-overload]
                attempts_of[attempt.payment_id].append(attempt)
        else:
            if limit is not None or order_by:
                picking, picking_params = picked_by or (
                    core_select(PAYMENTS.c.id).where(where).order_by(*order_by).limit(limit), None)
                ids = (await self.session.exec(picking, params=picking_params)).scalars().all()  # type: ignore[call-overload]
                if not ids:
                    return []
                payments = dict.fromkeys(ids)
                where = PAYMENTS.c.id.in_(ids)
            joined = _JOINED_ONE if one else core_select(PAYMENTS, ATTEMPTS).outerjoin(
                ATTEMPTS, ATTEMPTS.c.payment_id == PAYMENTS.c.id).where(where)
            rows = (await self.session.exec(joined, params=params)).all()  # type: ignore[call-overload]
            for row in rows:
                fields = row._mapping
                pid = fields[PAYMENTS.c.id]
                if payments.get(pid) is None:
                    payments[pid], attempts_of[pid] = _plain(PAYMENTS, fields), []
                if fields[ATTEMPTS.c.id] is not None:
                    attempts_of[pid].append(_plain(ATTEMPTS, fields))
        found = []
        for pid, row in payments.items():
            if row is None:  # picked, then gone before the second statement
                continue
            payment = payment_from_rows(row, attempts_of[pid])
            self._loaded[pid] = _Loaded(_columns(payment), {
                a.seq: {name: getattr(a, name) for name in _ATTEMPT_STATE} for a in attempts_of[pid]})
            found.append(payment)
        return found

    async def get(self, payment_id: int, *, for_update: bool = False, with_order: bool = False) -> Payment | None:
        found = await self._read(_BY_ID, lock=for_update, params={"b_id": payment_id}, with_order=with_order)
        return found[0] if found else None

    async def by_provider_ref(self, provider: str, provider_ref: str) -> Payment | None:
        found = await self._read((PAYMENTS.c.provider == provider) & (PAYMENTS.c.provider_ref == provider_ref),
                                 order_by=(PAYMENTS.c.id.desc(),), limit=1)
        return found[0] if found else None

    async def by_uuid(self, uuid: str) -> Payment | None:
        found = await self._read(PAYMENTS.c.uuid == uuid)
        return found[0] if found else None

    async def for_order(self, order_id: int) -> list[Payment]:
        return await self._read(PAYMENTS.c.order_id == order_id, order_by=(PAYMENTS.c.id,),
                                picked_by=(_IDS_OF_ORDER, {"b_order": order_id}))

    async def orphaned(self, providers: Sequence[str], limit: int) -> list[int]:
        """Payments holding money (authorized, or captured and not all refunded) whose order is
        expired or canceled: money to give back (domain/payments/give_back.py)."""
        holding = ((PaymentRow.status == "requires_capture")
                   | ((PaymentRow.status == "succeeded") & (PaymentRow.captured_minor > PaymentRow.refunded_minor)))
        query = (select(PaymentRow.id).join(OrderRow, OrderRow.id == PaymentRow.order_id)
                 .where(OrderRow.status.in_(["expired", "canceled"]), holding,
                        PaymentRow.provider.in_(list(providers)))
                 .order_by(PaymentRow.id).limit(limit))
        if not self.is_sqlite:
            query = query.with_for_update(of=PaymentRow, skip_locked=True)
        return list((await self.session.exec(query)).all())

    async def abandoned(self, providers: Sequence[str], direct_before: datetime, limit: int) -> list[int]:
        closed = select(OrderRow.id).where(OrderRow.status.in_(["expired", "canceled"]))
        # A void already sent (its answer awaited by reconciliation) would fill every batch
        # during a provider outage: those are left out.
        voiding = select(PaymentAttemptRow.payment_id).where(PaymentAttemptRow.kind == literal_column("'void'"),
                                                            PaymentAttemptRow.status.in_(_OPEN))
        query = (select(PaymentRow.id)
                 .where(PaymentRow.status == "requires_action", PaymentRow.provider.in_(list(providers)),
                        PaymentRow.id.not_in(voiding),
                        PaymentRow.order_id.in_(closed)
                        | (PaymentRow.order_id.is_(None) & (PaymentRow.created_at < direct_before)))
                 .order_by(PaymentRow.id).limit(limit))
        if not self.is_sqlite:
            query = query.with_for_update(of=PaymentRow, skip_locked=True)
        return list((await self.session.exec(query)).all())

    async def claim_open_attempts(self, older_than: datetime, now: datetime, limit: int,
                                  providers: Sequence[str], *, pages_older_than: datetime | None = None,
                                  finding: Sequence[str] = ()) -> list[int]:
        """Payments with an attempt open and untouched since `older_than`, claimed for reconciling.

        The claim is a lease written in the attempt's `updated_at` (for an open attempt: when it
        was recorded, answered or last asked about): it moves to `now`, so neither this worker nor
        another picks the attempt again before the same interval has passed, and attempts that
        stay open go to the back of the queue instead of filling every batch. Workers claiming at
        the same moment split the rows: FOR UPDATE SKIP LOCKED on PostgreSQL, the one write
        transaction on SQLite. Correctness doesn't rest on the lease (settling is idempotent,
        under the payment's lock); it spares the provider duplicate questions.

        An authorize already unknown and without a provider ref is left out unless its provider
        is one of `finding`: nothing else can be asked about it (domain/payments/reconcile.py).
        """
        attempt = PaymentAttemptRow
        unanswerable = ((attempt.kind == "authorize") & (attempt.status == "unknown")
                        & attempt.provider_ref.is_(None) & PaymentRow.provider.not_in(list(finding)))
        page_waiting = ((attempt.kind == "authorize") & PaymentRow.checkout.is_not(None)
                        & (PaymentRow.status == "requires_action"))
        stale = attempt.updated_at < older_than
        if pages_older_than is not None:
            stale = stale & (~page_waiting | (attempt.updated_at < pages_older_than))
        query = (select(attempt.id, attempt.payment_id)
                 .join(PaymentRow, PaymentRow.id == attempt.payment_id)
                 .where(attempt.status.in_(_OPEN), stale, ~unanswerable,
                        PaymentRow.provider.in_(list(providers)))
                 .order_by(attempt.updated_at, attempt.id).limit(limit))
        if not self.is_sqlite:
            query = query.with_for_update(of=attempt, skip_locked=True)
        rows = (await self.session.exec(query)).all()
        if not rows:
            return []
        await self.session.exec(update(attempt).where(attempt.id.in_([r[0] for r in rows]),
                                                      attempt.status.in_(_OPEN)).values(updated_at=now))
        return list(dict.fromkeys(r[1] for r in rows))
