"""SQLModel rows. They live here only; db/mapping.py turns them into domain objects.

Amounts are BIGINT minor units beside a three-letter currency; CHECK and UNIQUE constraints
restate the domain's invariants so a bug is caught twice (STYLE.md §9). Every constraint here
must also hold on SQLite.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


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
        Index("ix_cart_items_user", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    product_id: int = Field(foreign_key="products.id")
    quantity: int
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
