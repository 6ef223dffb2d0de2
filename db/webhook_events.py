"""Providers' webhook events in SQL: the domain's WebhookEventRepository.

`claim` is an `INSERT … ON CONFLICT DO NOTHING` followed by a locking read. On PostgreSQL a
delivery racing another of the same event blocks on the unique index until the first one
commits (then inserts nothing and reads its final state) or rolls back (then inserts its own);
no unique violation ever aborts the transaction. On SQLite the one write transaction already
serializes deliveries.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.payment_tables import WebhookEventRow
from domain.payments.external import WebhookEvent


def event_from_row(row: WebhookEventRow) -> WebhookEvent:
    return WebhookEvent(provider=row.provider, event_id=row.event_id, event_type=row.event_type,
                        object_ref=row.object_ref, received_at=aware(row.received_at), state=row.state,
                        detail=row.detail, processed_at=aware(row.processed_at) if row.processed_at else None)


class SqlWebhookEvents:
    def __init__(self, session: AsyncSession, is_sqlite: bool) -> None:
        self.session = session
        self.is_sqlite = is_sqlite

    async def claim(self, event: WebhookEvent) -> WebhookEvent:
        insert = sqlite_insert if self.is_sqlite else pg_insert
        await self.session.exec(
            insert(WebhookEventRow).values(
                provider=event.provider, event_id=event.event_id, event_type=event.event_type,
                object_ref=event.object_ref, state=event.state.value, detail=event.detail,
                received_at=event.received_at, processed_at=event.processed_at)
            .on_conflict_do_nothing(index_elements=["provider", "event_id"]))
        query = select(WebhookEventRow).where(WebhookEventRow.provider == event.provider,
                                              WebhookEventRow.event_id == event.event_id)
        if not self.is_sqlite:
            query = query.with_for_update()
        # populate_existing: the row may have been read earlier in this session, before it changed.
        row = (await self.session.exec(query.execution_options(populate_existing=True))).one()
        return event_from_row(row)

    async def save(self, event: WebhookEvent) -> None:
        await self.session.exec(
            update(WebhookEventRow)
            .where(WebhookEventRow.provider == event.provider, WebhookEventRow.event_id == event.event_id)
            .values(state=event.state.value, detail=event.detail, processed_at=event.processed_at))
