"""Rows to domain objects, explicitly: the domain never sees a SQLModel row."""
from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from db.tables import AddressRow, OrderLineRow, OrderRow, ProductRow, UserRow
from domain.catalog.model import Product
from domain.identity import parse_roles
from domain.money import Money
from domain.orders.model import Address, Order, OrderLine, OrderStatus
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


def address_from_row(row: AddressRow) -> Address:
    return Address(id=row.id, user_id=row.user_id, name=row.name, line1=row.line1, line2=row.line2,
                   city=row.city, postal_code=row.postal_code, country=row.country)


def order_from_rows(row: OrderRow, lines: list[OrderLineRow]) -> Order:
    return Order(
        id=row.id, uuid=UUID(row.uuid), number=row.number, buyer_id=row.buyer_id,
        status=OrderStatus(row.status), currency=row.currency,
        lines=tuple(OrderLine(product_id=line.product_id, seller_id=line.seller_id, sku=line.sku, name=line.name,
                              unit_price=Money.of(line.unit_price_minor, line.currency), quantity=line.quantity)
                    for line in lines),
        shipping_address_id=row.shipping_address_id, reserved_until=aware(row.reserved_until),
        created_at=aware(row.created_at), updated_at=aware(row.updated_at),
        cancellation_reason=row.cancellation_reason,
        delivered_at=aware(row.delivered_at) if row.delivered_at else None,
    )
