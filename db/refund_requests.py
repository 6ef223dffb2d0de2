"""Refund requests in SQL: the domain's RefundRequestRepository."""
from __future__ import annotations

from uuid import UUID

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.outgoing_webhooks import SqlOutgoingEvents
from db.payment_tables import RefundRequestRow
from domain.money import Money
from domain.outgoing_webhooks.payloads import refund_request_data
from domain.payments.refund_requests import RefundRequest, RequestStatus


def request_from_row(row: RefundRequestRow) -> RefundRequest:
    return RefundRequest(
        id=row.id, uuid=UUID(row.uuid), payment_id=row.payment_id, requested_by=row.requested_by,
        amount=Money.of(row.amount_minor, row.currency), reason=row.reason, status=RequestStatus(row.status),
        created_at=aware(row.created_at), decided_by=row.decided_by, decision_note=row.decision_note,
        decided_at=aware(row.decided_at) if row.decided_at else None, refund_attempt_id=row.refund_attempt_id)


class SqlRefundRequests:
    def __init__(self, session: AsyncSession, is_sqlite: bool, outbox: SqlOutgoingEvents | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.outbox = outbox if outbox is not None else SqlOutgoingEvents(session)

    async def add(self, request: RefundRequest) -> RefundRequest:
        row = RefundRequestRow(uuid=str(request.uuid), payment_id=request.payment_id,
                               requested_by=request.requested_by, amount_minor=request.amount.minor,
                               currency=request.amount.code, reason=request.reason, status=request.status.value,
                               created_at=request.created_at)
        self.session.add(row)
        await self.session.flush()
        request.id = row.id
        await self.outbox.status_changed("refund_request", row.id, None, request.status.value,
                                         lambda: refund_request_data(request), request.created_at)
        return request

    async def get(self, request_id: int, *, for_update: bool = False) -> RefundRequest | None:
        query = select(RefundRequestRow).where(RefundRequestRow.id == request_id)
        if for_update and not self.is_sqlite:
            query = query.with_for_update()
        row = (await self.session.exec(query)).first()
        return request_from_row(row) if row else None

    async def save(self, request: RefundRequest) -> None:
        row = await self.session.get(RefundRequestRow, request.id)
        await self.outbox.status_changed("refund_request", request.pk, row.status, request.status.value,
                                         lambda: refund_request_data(request), request.decided_at or request.created_at)
        row.status = request.status.value
        row.decided_by = request.decided_by
        row.decision_note = request.decision_note
        row.decided_at = request.decided_at
        row.refund_attempt_id = request.refund_attempt_id
        self.session.add(row)
        await self.session.flush()
