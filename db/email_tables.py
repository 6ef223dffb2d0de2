"""The email outbox (domain/notifications.py): one row per email and recipient, written in the
transaction of the change it tells of, sent by the worker.

UNIQUE (key, to_address) makes "written once" the database's promise too: the same news applied
twice (a webhook redelivered, a reconciliation) inserts nothing the second time.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class EmailOutboxRow(SQLModel, table=True):
    __tablename__ = "email_outbox"
    __table_args__ = (
        UniqueConstraint("key", "to_address", name="uq_email_outbox_key_to"),
        CheckConstraint("status IN ('pending','sent','failed')", name="ck_email_outbox_status"),
        CheckConstraint("tries >= 0", name="ck_email_outbox_tries"),
        Index("ix_email_outbox_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=120)  # the change it tells of: "payment:<uuid>", "refund:<key>", …
    to_user_id: int | None = Field(default=None, foreign_key="users.id")
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=Text)
    status: str = Field(max_length=10)
    tries: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
