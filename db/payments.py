"""Payments and their attempts in SQL: the domain's PaymentRepository.

A payment is saved whole: its row, and every attempt inserted or updated by (payment, seq).
`get(..., for_update=True)` locks the row on PostgreSQL; on SQLite the IMMEDIATE write
transaction already excludes every other writer.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.outgoing_webhooks import SqlOutgoingEvents
from db.payment_tables import PaymentAttemptRow, PaymentRow
from db.row_ids import pk
from db.tables import OrderRow
from domain.cards import CardSummary
from domain.money import Money
from domain.numbers import attempt_uuid, payment_number, refund_number
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


def _fill(row: PaymentRow, p: Payment) -> None:
    row.status = p.status.value
    row.authorized_minor = p.amount_authorized.minor
    row.captured_minor = p.amount_captured.minor
    row.refunded_minor = p.amount_refunded.minor
    row.disputed_minor = p.disputed.minor
    row.card_brand = p.card.brand.value if p.card else None
    row.card_last4 = p.card.last4 if p.card else None
    row.card_exp_month = p.card.exp_month if p.card else None
    row.card_exp_year = p.card.exp_year if p.card else None
    row.provider_ref = p.provider_ref
    row.client_secret = p.client_secret
    row.redirect_url = p.redirect_url
    row.decline_code = p.decline_code
    row.decline_message = p.decline_message
    row.updated_at = p.updated_at


_OPEN = ("pending", "unknown")


class SqlPayments:
    def __init__(self, session: AsyncSession, is_sqlite: bool, changes: set[str] | None = None,
                 outbox: SqlOutgoingEvents | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.changes = changes if changes is not None else set()
        self.outbox = outbox if outbox is not None else SqlOutgoingEvents(session)

    async def add(self, payment: Payment) -> Payment:
        row = PaymentRow(uuid=str(payment.uuid), order_id=payment.order_id, buyer_id=payment.buyer_id,
                         provider=payment.provider, capture_method=payment.capture_method.value,
                         status=payment.status.value, currency=payment.amount.code,
                         amount_minor=payment.amount.minor, created_at=payment.created_at,
                         updated_at=payment.updated_at,
                         checkout=payment.checkout.value if payment.checkout else None,
                         metadata_json=payment.metadata or None)
        _fill(row, payment)
        self.session.add(row)
        await self.session.flush()
        row.number = payment_number(row.id)  # from the id: unique by construction
        self.session.add(row)
        await self.session.flush()
        payment.id, payment.number = row.id, row.number
        await self._save_attempts(payment)
        await self.outbox.status_changed("payment", row.id, None, payment.status.value,
                                         lambda: payment_data(payment), payment.updated_at)
        self.changes.add(f"payment:{payment.id}")
        return payment

    async def save(self, payment: Payment) -> None:
        row = await self.session.get(PaymentRow, payment.id)
        before = row.status
        _fill(row, payment)
        self.session.add(row)
        await self._save_attempts(payment)
        # A merchant hears of the move (domain/outgoing_webhooks/events.py): "created" is not in
        # the payment's catalog, so only its later moves are events.
        await self.outbox.status_changed("payment", payment.id, before, payment.status.value,
                                         lambda: payment_data(payment), payment.updated_at)
        self.changes.add(f"payment:{payment.id}")

    async def _save_attempts(self, payment: Payment) -> None:
        stored = {a.seq: a for a in (await self.session.exec(
            select(PaymentAttemptRow).where(PaymentAttemptRow.payment_id == payment.id))).all()}
        refunds_before = {seq: row.status for seq, row in stored.items() if row.kind == AttemptKind.REFUND.value}
        for attempt in payment.attempts:
            row = stored.get(attempt.seq)
            if row is None:
                row = PaymentAttemptRow(uuid=str(attempt_uuid(payment.uuid, attempt.seq)), payment_id=payment.id,
                                        seq=attempt.seq, kind=attempt.kind.value, amount_minor=attempt.amount.minor,
                                        currency=attempt.amount.code, idempotency_key=attempt.idempotency_key,
                                        client_key=attempt.client_key,
                                        created_at=attempt.created_at, status=attempt.status.value,
                                        updated_at=attempt.updated_at)
                stored[attempt.seq] = row
            elif (row.status, row.provider_ref, row.decline_code) == (
                    attempt.status.value, attempt.provider_ref, attempt.decline_code):
                continue
            row.status = attempt.status.value
            row.provider_ref = attempt.provider_ref
            row.decline_code = attempt.decline_code
            row.reason = attempt.reason
            row.updated_at = attempt.updated_at
            self.session.add(row)
        await self.session.flush()
        # Hand the rows' ids back to the aggregate: a refund request links to its attempt.
        payment.attempts[:] = [a if a.id is not None else replace(a, id=stored[a.seq].id)
                               for a in payment.attempts]
        numbered = [row for row in stored.values() if row.kind == "refund" and row.number is None]
        for row in numbered:
            row.number = refund_number(row.id)  # from the id, like payments' and orders'
            self.session.add(row)
        if numbered:
            await self.session.flush()
        for attempt in payment.attempts:
            if attempt.kind is AttemptKind.REFUND:
                await self._tell_refund(payment, attempt, pk(stored[attempt.seq]), refunds_before.get(attempt.seq))

    async def _tell_refund(self, payment: Payment, refund: Attempt, refund_id: int, before: str | None) -> None:
        await self.outbox.status_changed("refund", refund_id, before, refund.status.value,
                                         lambda: refund_data(payment, refund), refund.updated_at)

    async def _load(self, query) -> list[Payment]:
        rows = (await self.session.exec(query)).all()  # picks (and, for update, locks) the rows
        found = await payments_with_attempts(self.session, [r.id for r in rows])
        return [found[r.id] for r in rows if r.id in found]

    def _locked(self, query, for_update: bool):
        # NO KEY UPDATE: see db/uow.py, "Lock order".
        return query.with_for_update(key_share=True) if for_update and not self.is_sqlite else query

    async def get(self, payment_id: int, *, for_update: bool = False) -> Payment | None:
        found = await self._load(self._locked(select(PaymentRow).where(PaymentRow.id == payment_id), for_update))
        return found[0] if found else None

    async def by_provider_ref(self, provider: str, provider_ref: str) -> Payment | None:
        found = await self._load(select(PaymentRow).where(PaymentRow.provider == provider,
                                                          PaymentRow.provider_ref == provider_ref)
                                 .order_by(PaymentRow.id.desc()).limit(1))
        return found[0] if found else None

    async def by_uuid(self, uuid: str) -> Payment | None:
        found = await self._load(select(PaymentRow).where(PaymentRow.uuid == uuid))
        return found[0] if found else None

    async def for_order(self, order_id: int) -> list[Payment]:
        return await self._load(select(PaymentRow).where(PaymentRow.order_id == order_id).order_by(PaymentRow.id))

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
        voiding = select(PaymentAttemptRow.payment_id).where(PaymentAttemptRow.kind == "void",
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
