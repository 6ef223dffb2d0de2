"""Rows of outgoing webhooks: the events' outbox, merchants' endpoints, deliveries and their log.

The constraints restate the rules: one delivery per (endpoint, event); a delivery's status is one
of three words and its attempt count never negative; an event's id (`evt_…`, the webhook-id) is
unique. `object_key` is copied onto the delivery so that the "earliest pending of its object"
test of a claim reads one index.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class OutgoingEventRow(SQLModel, table=True):
    __tablename__ = "outgoing_events"
    __table_args__ = (Index("ix_outgoing_events_unfanned", "fanned_out", "id"),)

    id: int | None = Field(default=None, primary_key=True)  # the order events were written in
    msg_id: str = Field(max_length=40, unique=True)
    type: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: int
    body: str = Field(sa_type=Text)  # the exact bytes sent and signed, every time
    fanned_out: bool = Field(default=False)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class WebhookEndpointRow(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    url: str = Field(max_length=2048)
    description: str | None = Field(default=None, max_length=256)
    event_types: list[str] = Field(sa_type=JSON)
    secret: str = Field(max_length=64)
    previous_secret: str | None = Field(default=None, max_length=64)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    enabled: bool = Field(default=True)
    disabled_reason: str | None = Field(default=None, max_length=256)
    last_success_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class WebhookDeliveryRow(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        CheckConstraint("status IN ('pending','succeeded','failed')", name="ck_webhook_deliveries_status"),
        CheckConstraint("attempts >= 0", name="ck_webhook_deliveries_attempts"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_object", "endpoint_id", "object_key", "event_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id")
    event_id: int = Field(foreign_key="outgoing_events.id")
    object_key: str = Field(max_length=64)
    status: str = Field(max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True))
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    last_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_status_code: int | None = None
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class WebhookDeliveryAttemptRow(SQLModel, table=True):
    __tablename__ = "webhook_delivery_attempts"
    __table_args__ = (Index("ix_webhook_delivery_attempts_delivery", "delivery_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_deliveries.id")
    attempted_at: datetime = Field(sa_type=DateTime(timezone=True))
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int
