"""Disputes in SQL: the domain's DisputeRepository. A dispute is locked after its payment (the
lock order of db/uow.py); on SQLite the one write transaction already excludes other writers."""
from __future__ import annotations

from uuid import UUID

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.dispute_tables import DisputeRow
from db.mapping import aware
from db.outgoing_webhooks import SqlOutgoingEvents
from domain.disputes.model import Dispute
from domain.money import Money
from domain.outgoing_webhooks.payloads import dispute_data


def dispute_from_row(row: DisputeRow) -> Dispute:
    return Dispute(id=row.id, uuid=UUID(row.uuid), payment_id=row.payment_id, provider=row.provider,
                   provider_ref=row.provider_ref, amount=Money.of(row.amount_minor, row.currency),
                   status=row.status, reason=row.reason,
                   evidence_due_by=aware(row.evidence_due_by) if row.evidence_due_by else None,
                   withheld=Money.of(row.withheld_minor, row.currency), created_at=aware(row.created_at),
                   updated_at=aware(row.updated_at), closed_at=aware(row.closed_at) if row.closed_at else None)


def _fill(row: DisputeRow, d: Dispute) -> None:
    row.amount_minor = d.amount.minor
    row.currency = d.amount.code
    row.withheld_minor = d.withheld.minor
    row.status = d.status.value
    row.reason = d.reason
    row.evidence_due_by = d.evidence_due_by
    row.updated_at = d.updated_at
    row.closed_at = d.closed_at


class SqlDisputes:
    def __init__(self, session: AsyncSession, is_sqlite: bool, changes: set[str] | None = None,
                 outbox: SqlOutgoingEvents | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.changes = changes if changes is not None else set()
        # Merchants' `dispute.*` events, written in this transaction (domain/outgoing_webhooks).
        self.outbox = outbox if outbox is not None else SqlOutgoingEvents(session)

    async def add(self, dispute: Dispute) -> Dispute:
        row = DisputeRow(uuid=str(dispute.uuid), payment_id=dispute.payment_id, provider=dispute.provider,
                         provider_ref=dispute.provider_ref, currency=dispute.amount.code,
                         amount_minor=dispute.amount.minor, status=dispute.status.value,
                         created_at=dispute.created_at, updated_at=dispute.updated_at)
        _fill(row, dispute)
        self.session.add(row)
        await self.session.flush()
        dispute.id = row.id
        self.changes.add(f"payment:{dispute.payment_id}")
        await self.outbox.status_changed("dispute", row.id, None, dispute.status.value,
                                         lambda: dispute_data(dispute), dispute.updated_at)
        return dispute

    async def get_by_ref(self, provider: str, provider_ref: str, *, for_update: bool = False) -> Dispute | None:
        query = select(DisputeRow).where(DisputeRow.provider == provider, DisputeRow.provider_ref == provider_ref)
        if for_update and not self.is_sqlite:
            query = query.with_for_update(key_share=True)
        row = (await self.session.exec(query.execution_options(populate_existing=True))).first()
        return dispute_from_row(row) if row is not None else None

    async def save(self, dispute: Dispute) -> None:
        row = (await self.session.exec(select(DisputeRow).where(DisputeRow.id == dispute.pk))).one()
        before = row.status
        _fill(row, dispute)
        self.session.add(row)
        await self.session.flush()
        self.changes.add(f"payment:{dispute.payment_id}")
        await self.outbox.status_changed("dispute", dispute.pk, before, dispute.status.value,
                                         lambda: dispute_data(dispute), dispute.updated_at)
