"""Rows of the marketplace: connected accounts, deliveries, holds, transfers, reversals, payouts,
and the differences reconciliation found.

UNIQUE and CHECK restate the invariants: one account per seller, one hold and one transfer per
payment and seller, positive amounts, reversed never above what was transferred.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class MarketAccountRow(SQLModel, table=True):
    __tablename__ = "market_accounts"
    __table_args__ = (Index("ix_market_accounts_provider_ref", "provider", "provider_ref"),
                      Index("ix_market_accounts_reconciled", "reconciled_at"))

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    seller_id: int = Field(foreign_key="users.id", unique=True)
    provider: str = Field(max_length=32)
    provider_ref: str | None = Field(default=None, max_length=255)
    country: str = Field(max_length=2)
    business_type: str = Field(max_length=16)
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    requirements: list[str] = Field(default_factory=list, sa_type=JSON)
    disabled_reason: str | None = Field(default=None, max_length=120)
    reconciled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class MarketDeliveryRow(SQLModel, table=True):
    __tablename__ = "market_deliveries"
    __table_args__ = (UniqueConstraint("order_id", "seller_id", name="uq_market_deliveries_order_seller"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id")
    seller_id: int = Field(foreign_key="users.id")
    delivered_at: datetime = Field(sa_type=DateTime(timezone=True))


class MarketHoldRow(SQLModel, table=True):
    __tablename__ = "market_holds"
    __table_args__ = (
        UniqueConstraint("payment_uuid", "seller_id", name="uq_market_holds_payment_seller"),
        CheckConstraint("status IN ('held','released','refunded')", name="ck_market_holds_status"),
        CheckConstraint("amount_minor > 0", name="ck_market_holds_amount_positive"),
        Index("ix_market_holds_due", "status", "releases_at"),
        Index("ix_market_holds_order", "order_id"),
        Index("ix_market_holds_seller", "seller_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    payment_uuid: str = Field(max_length=36)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    seller_id: int = Field(foreign_key="users.id")
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=10)
    captured_at: datetime = Field(sa_type=DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    releases_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    released_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class MarketPayoutRow(SQLModel, table=True):
    __tablename__ = "market_payouts"
    __table_args__ = (
        CheckConstraint("status IN ('pending','in_transit','paid','failed','canceled')", name="ck_market_payouts_status"),
        CheckConstraint("amount_minor > 0", name="ck_market_payouts_amount_positive"),
        Index("ix_market_payouts_seller_created", "seller_id", "created_at"),
        Index("ix_market_payouts_provider_ref", "provider", "provider_ref"),
        Index("ix_market_payouts_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    seller_id: int = Field(foreign_key="users.id")
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=12)
    provider: str = Field(max_length=32)
    provider_ref: str | None = Field(default=None, max_length=255)
    description: str = Field(default="", max_length=200)
    failure_code: str | None = Field(default=None, max_length=64)
    requested_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class MarketTransferRow(SQLModel, table=True):
    __tablename__ = "market_transfers"
    __table_args__ = (
        # One transfer per payment and seller: transfers racing each other make one.
        UniqueConstraint("payment_uuid", "seller_id", name="uq_market_transfers_payment_seller"),
        CheckConstraint("status IN ('pending','paid','failed','reversed')", name="ck_market_transfers_status"),
        CheckConstraint("amount_minor > 0", name="ck_market_transfers_amount_positive"),
        CheckConstraint("reversed_minor >= 0 AND reversed_minor <= amount_minor",
                        name="ck_market_transfers_reversed_within_amount"),
        CheckConstraint("netted_minor >= 0", name="ck_market_transfers_netted"),
        Index("ix_market_transfers_seller_payout", "seller_id", "payout_id"),
        Index("ix_market_transfers_provider_ref", "provider", "provider_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    seller_id: int = Field(foreign_key="users.id")
    payment_uuid: str = Field(max_length=36)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_type=BigInteger)
    netted_minor: int = Field(default=0, sa_type=BigInteger)
    reversed_minor: int = Field(default=0, sa_type=BigInteger)
    status: str = Field(max_length=10)
    provider: str = Field(max_length=32)
    provider_ref: str | None = Field(default=None, max_length=255)
    transfer_group: str | None = Field(default=None, max_length=120)
    payout_id: int | None = Field(default=None, foreign_key="market_payouts.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class MarketReversalRow(SQLModel, table=True):
    __tablename__ = "market_reversals"
    __table_args__ = (
        CheckConstraint("status IN ('pending','succeeded','failed')", name="ck_market_reversals_status"),
        CheckConstraint("amount_minor > 0", name="ck_market_reversals_amount_positive"),
        Index("ix_market_reversals_status", "status", "id"),
        Index("ix_market_reversals_transfer", "transfer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    transfer_id: int = Field(foreign_key="market_transfers.id")
    seller_id: int = Field(foreign_key="users.id")
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=10)
    reason: str = Field(max_length=200)
    provider_ref: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class MarketDifferenceRow(SQLModel, table=True):
    """What reconciliation found: our ledger and the provider disagree about a seller's balance."""

    __tablename__ = "market_differences"
    __table_args__ = (Index("ix_market_differences_found", "found_at"),)

    id: int | None = Field(default=None, primary_key=True)
    seller_id: int = Field(foreign_key="users.id")
    currency: str = Field(max_length=3)
    ours_minor: int = Field(sa_type=BigInteger)
    theirs_minor: int = Field(sa_type=BigInteger)
    found_at: datetime = Field(sa_type=DateTime(timezone=True))
