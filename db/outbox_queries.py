"""The email outbox as staff read it (GraphQL `emailOutbox`): what is waiting, sent or failed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from db.email_tables import EmailOutboxRow
from db.engine import Database
from db.mapping import aware


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    kind: str
    to_address: str
    subject: str
    body: str
    status: str
    tries: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


async def outbox_page(db: Database, *, status: str | None, before_id: int | None, limit: int
                      ) -> tuple[list[OutboxEntry], int]:
    """Emails, newest first (keyset: ids below `before_id`), with the total: two statements
    whatever the page."""
    where = [EmailOutboxRow.status == status] if status else []
    page = select(EmailOutboxRow).where(*where)
    if before_id is not None:
        page = page.where(col(EmailOutboxRow.id) < before_id)
    async with db.read_sessions() as session:
        rows = (await session.exec(page.order_by(col(EmailOutboxRow.id).desc()).limit(limit))).all()
        total = (await session.exec(select(func.count()).select_from(EmailOutboxRow).where(*where))).one()
    return [OutboxEntry(r.id or 0, r.kind, r.to_address, r.subject, r.body, r.status, r.tries, r.last_error,
                        aware(r.created_at), aware(r.sent_at) if r.sent_at else None) for r in rows], int(total)
