"""Rows of disputes (domain/disputes). One per provider's dispute id; the CHECKs restate the
model's statuses and that a dispute withholds at most what it disputes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

DISPUTE_STATUSES = ("'inquiry','opened','evidence_due','under_review','won','lost','inquiry_closed'")


class DisputeRow(SQLModel, table=True):
    __tablename__ = "disputes"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref", name="uq_disputes_provider_ref"),
        CheckConstraint(f"status IN ({DISPUTE_STATUSES})", name="ck_disputes_status"),
        CheckConstraint("amount_minor > 0", name="ck_disputes_amount_positive"),
        CheckConstraint("withheld_minor >= 0 AND withheld_minor <= amount_minor", name="ck_disputes_withheld"),
        Index("ix_disputes_payment", "payment_id"),
        Index("ix_disputes_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    payment_id: int = Field(foreign_key="payments.id")
    provider: str = Field(max_length=32)
    provider_ref: str = Field(max_length=255)
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_type=BigInteger)
    withheld_minor: int = Field(default=0, sa_type=BigInteger)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=100)
    evidence_due_by: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
