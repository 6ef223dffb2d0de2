"""The email outbox in SQL: the domain's Outbox port (domain/notifications.py), and the staff's
read of it.

`add` resolves the recipients' addresses in the same INSERT … SELECT that writes the rows, so an
email to "every admin" is one statement whatever their number, and ON CONFLICT DO NOTHING on
(key, to_address) keeps each email once. `claim` takes due rows FOR UPDATE SKIP LOCKED on
PostgreSQL (SQLite has one writer at a time) and moves their next try past the claim, so workers
running at once never send the same email in the same pass.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, literal, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.email_tables import EmailOutboxRow
from db.tables import UserRow
from db.write_batch import WriteBatch
from domain.notifications import Email, EmailStatus, OutgoingEmail

_COLUMNS = ("kind", "key", "to_user_id", "to_address", "subject", "body", "status", "tries",
            "next_attempt_at", "created_at")


def _insert(is_sqlite: bool, to_user: bool):
    """The INSERT … SELECT of one email to its recipients, built once; the values are bound."""
    table = EmailOutboxRow.__table__
    recipients = core_select(
        bindparam("b_kind", type_=table.c.kind.type), bindparam("b_key", type_=table.c.key.type), col(UserRow.id),
        col(UserRow.email), bindparam("b_subject", type_=table.c.subject.type),
        bindparam("b_body", type_=table.c.body.type), literal(EmailStatus.PENDING.value), literal(0),
        bindparam("b_now", type_=table.c.next_attempt_at.type), bindparam("b_now", type_=table.c.created_at.type))
    if to_user:
        recipients = recipients.where(col(UserRow.id) == bindparam("b_to"))
    else:
        recipients = recipients.where(literal(" ").concat(UserRow.roles).concat(" ").like(bindparam("b_to")))
    insert = (sqlite.insert if is_sqlite else postgresql.insert)(table)
    return insert.from_select(list(_COLUMNS), recipients).on_conflict_do_nothing()


_TO_USER = {is_sqlite: _insert(is_sqlite, True) for is_sqlite in (False, True)}
_TO_ROLE = {is_sqlite: _insert(is_sqlite, False) for is_sqlite in (False, True)}


class SqlOutbox:
    def __init__(self, session: AsyncSession, is_sqlite: bool, batch: WriteBatch | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.batch = batch or WriteBatch.at_once(session)

    async def add(self, email: Email, now: datetime) -> None:
        values: dict[str, object] = {"b_kind": email.kind.value, "b_key": email.key, "b_subject": email.subject,
                                     "b_body": email.body, "b_now": now}
        if email.to_user_id is not None:
            statement, values["b_to"] = _TO_USER[self.is_sqlite], email.to_user_id
        else:
            assert email.to_role is not None
            # roles is space-separated Role values: match a whole word.
            statement, values["b_to"] = _TO_ROLE[self.is_sqlite], f"% {email.to_role.value} %"
        # Nothing reads the outbox in the transaction that writes it: the batch takes it (issue 16).
        await self.batch.defer(statement, values, reads=("users",))

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[OutgoingEmail]:
        due = (select(EmailOutboxRow.id)
               .where(EmailOutboxRow.status == EmailStatus.PENDING.value, EmailOutboxRow.next_attempt_at <= now)
               .order_by(EmailOutboxRow.id).limit(limit))
        if not self.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        ids = list((await self.session.exec(due)).all())
        if not ids:
            return []
        claimed = (update(EmailOutboxRow).where(col(EmailOutboxRow.id).in_(ids))
                   .values(next_attempt_at=until, tries=EmailOutboxRow.tries + 1)
                   .returning(col(EmailOutboxRow.id), col(EmailOutboxRow.to_address), col(EmailOutboxRow.subject),
                              col(EmailOutboxRow.body), col(EmailOutboxRow.tries)))
        rows = (await self.session.exec(claimed)).all()  # type: ignore[call-overload]
        return sorted((OutgoingEmail(*row) for row in rows), key=lambda e: e.id)

    async def sent(self, email_id: int, now: datetime) -> None:
        await self.session.exec(update(EmailOutboxRow).where(col(EmailOutboxRow.id) == email_id)  # type: ignore[call-overload]
                                .values(status=EmailStatus.SENT.value, sent_at=now, last_error=None))

    async def retry_later(self, email_id: int, error: str, at: datetime | None) -> None:
        changes: dict[str, object] = {"last_error": error}
        if at is None:
            changes["status"] = EmailStatus.FAILED.value
        else:
            changes["next_attempt_at"] = at
        await self.session.exec(update(EmailOutboxRow).where(col(EmailOutboxRow.id) == email_id)  # type: ignore[call-overload]
                                .values(**changes))
