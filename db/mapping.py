"""Rows to domain objects, explicitly: the domain never sees a SQLModel row."""
from __future__ import annotations

from datetime import UTC, datetime

from db.tables import ProductRow, UserRow
from domain.catalog.model import Product
from domain.identity import parse_roles
from domain.money import Money
from domain.users import User


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def product_from_row(row: ProductRow, reserved: int = 0) -> Product:
    return Product(
        id=row.id, seller_id=row.seller_id, sku=row.sku, name=row.name,
        price=Money.of(row.price_minor, row.currency),
        stock=row.stock, available=max(row.stock - reserved, 0), active=row.active,
    )


def user_from_row(row: UserRow) -> User:
    return User(id=row.id, email=row.email, name=row.name, roles=parse_roles(row.roles),
                created_at=aware(row.created_at))
