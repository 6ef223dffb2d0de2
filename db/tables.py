"""SQLModel rows. They live here only; db/mapping.py turns them into domain objects.

Amounts are BIGINT minor units beside a three-letter currency; CHECK and UNIQUE constraints
restate the domain's invariants so a bug is caught twice (STYLE.md §9). Every constraint here
must also hold on SQLite.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def partial(predicate: str) -> dict[str, object]:
    """An Index's keywords for a partial index, the same on both backends. An index left partial
    on the rows its readers look for takes no entry for the others: neither when such a row is
    inserted nor when an UPDATE moves it out (an UPDATE that isn't HOT adds an entry to every
    index whose predicate the new version meets). Its readers must state the predicate with
    literals, not bound parameters: neither PostgreSQL's generic plan of a prepared statement
    nor SQLite can prove a parameter meets it."""
    return {"postgresql_where": text(predicate), "sqlite_where": text(predicate)}


LIVE_RESERVATION = "state = 'active'"  # what availability counts (db/stock.py)


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    roles: str = Field(max_length=100)  # space-separated Role values
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ProductRow(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="ck_products_stock_not_negative"),
        CheckConstraint("price_minor >= 0", name="ck_products_price_not_negative"),
        CheckConstraint("length(currency) = 3", name="ck_products_currency_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    seller_id: int = Field(foreign_key="users.id", index=True)
    sku: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    price_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    stock: int
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class CartItemRow(SQLModel, table=True):
    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id", name="uq_cart_items_user_product"),
        CheckConstraint("quantity > 0", name="ck_cart_items_quantity_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    product_id: int = Field(foreign_key="products.id")
    quantity: int
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class AddressRow(SQLModel, table=True):
    __tablename__ = "addresses"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=200)
    line1: str = Field(max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(max_length=200)
    postal_code: str = Field(max_length=32)
    country: str = Field(max_length=2)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


ORDER_STATUSES = "'pending_payment','authorized','paid','partially_refunded','refunded','canceled','expired'"


class OrderRow(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_minor >= 0", name="ck_orders_total_not_negative"),
        CheckConstraint(f"status IN ({ORDER_STATUSES})", name="ck_orders_status"),
        Index("ix_orders_buyer_created", "buyer_id", "created_at"),
        Index("ix_orders_status_reserved", "status", "reserved_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    number: str | None = Field(default=None, max_length=24, unique=True)
    buyer_id: int = Field(foreign_key="users.id")
    status: str = Field(max_length=24)
    currency: str = Field(max_length=3)
    total_minor: int = Field(sa_type=BigInteger)
    shipping_address_id: int | None = Field(default=None, foreign_key="addresses.id")
    reserved_until: datetime = Field(sa_type=DateTime(timezone=True))
    cancellation_reason: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class OrderLineRow(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_order_lines_quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="ck_order_lines_price_not_negative"),
        Index("ix_order_lines_order", "order_id"),
        Index("ix_order_lines_seller", "seller_id", "order_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id")
    product_id: int = Field(foreign_key="products.id")
    seller_id: int = Field(foreign_key="users.id")
    sku: str = Field(max_length=64)
    name: str = Field(max_length=200)
    unit_price_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    quantity: int


class StockReservationRow(SQLModel, table=True):
    __tablename__ = "stock_reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_stock_reservations_quantity_positive"),
        CheckConstraint("state IN ('active','committed','released')", name="ck_stock_reservations_state"),
        UniqueConstraint("order_id", "product_id", name="uq_stock_reservations_order_product"),
        # What availability sums (db/stock.py, LIVE): a reservation leaves it when paid for or
        # released, at no cost in this index.
        Index("ix_stock_reservations_live", "product_id", "expires_at", **partial(LIVE_RESERVATION)),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id")
    product_id: int = Field(foreign_key="products.id")
    quantity: int
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    state: str = Field(default="active", max_length=12)


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=64)
    before: str | None = Field(default=None, sa_type=Text)  # JSON text: the same on SQLite and PostgreSQL
    after: str | None = Field(default=None, sa_type=Text)
    at: datetime = Field(sa_type=DateTime(timezone=True))
    request_id: str | None = Field(default=None, max_length=64)


class IdempotencyKeyRow(SQLModel, table=True):
    """The first response to a request sent with an Idempotency-Key, replayed for its repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),
        CheckConstraint("state IN ('in_flight','done')", name="ck_idempotency_keys_state"),
        Index("ix_idempotency_keys_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=80)            # "user:<id>" or "anon:<address>": keys never cross callers
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)      # sha256 of method, path and body
    state: str = Field(max_length=10)
    response_status: int | None = None
    response_headers: str | None = Field(default=None, sa_type=Text)  # JSON list of [name, value]
    response_body: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    completed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
