"""Rows of billing customers and subscriptions (domain/billing).

The constraints restate the domain's rules so that a bug is caught twice: one row per provider
object (UNIQUE provider + provider_ref; rows not yet confirmed by the provider have no reference,
and NULLs never collide), and a subscription's status is one of Stripe's words.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

SUBSCRIPTION_STATUSES = ("'incomplete','incomplete_expired','trialing','active','past_due','unpaid',"
                         "'paused','canceled'")


class BillingCustomerRow(SQLModel, table=True):
    __tablename__ = "billing_customers"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref", name="uq_billing_customers_provider_ref"),
        Index("ix_billing_customers_user", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    user_id: int = Field(foreign_key="users.id")
    provider: str = Field(max_length=32)
    provider_ref: str | None = Field(default=None, max_length=255)  # cus_…; None until confirmed
    email: str | None = Field(default=None, max_length=512)
    name: str | None = Field(default=None, max_length=256)
    metadata_json: dict[str, str] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class BillingSubscriptionRow(SQLModel, table=True):
    __tablename__ = "billing_subscriptions"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref", name="uq_billing_subscriptions_provider_ref"),
        CheckConstraint(f"status IN ({SUBSCRIPTION_STATUSES})", name="ck_billing_subscriptions_status"),
        CheckConstraint("current_period_end IS NULL OR current_period_start IS NULL "
                        "OR current_period_end >= current_period_start",
                        name="ck_billing_subscriptions_period"),
        Index("ix_billing_subscriptions_user", "user_id", "id"),
        Index("ix_billing_subscriptions_customer", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    user_id: int = Field(foreign_key="users.id")
    customer_id: int = Field(foreign_key="billing_customers.id")
    provider: str = Field(max_length=32)
    provider_ref: str | None = Field(default=None, max_length=255)  # sub_…; None until confirmed
    price_ref: str = Field(max_length=255)
    status: str = Field(max_length=20)
    current_period_start: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    current_period_end: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    latest_invoice: str | None = Field(default=None, max_length=255)
    canceled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    metadata_json: dict[str, str] | None = Field(default=None, sa_type=JSON)
    provider_state_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
