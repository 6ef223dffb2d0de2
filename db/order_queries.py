"""Read queries over orders for the API surfaces: one page is a constant number of statements."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func
from sqlmodel import col, select

from db.engine import Database
from db.mapping import address_from_row
from db.orders import SqlOrders
from db.tables import AddressRow, OrderLineRow, OrderRow
from domain.orders.access import OrderFilter, OrderScope
from domain.orders.model import Address, Order


def _filters(scope: OrderScope, flt: OrderFilter) -> list:
    where = []
    if not scope.everything:
        if scope.buyer_id is not None:
            where.append(OrderRow.buyer_id == scope.buyer_id)
        if scope.seller_id is not None:
            where.append(exists().where(OrderLineRow.order_id == OrderRow.id,
                                        OrderLineRow.seller_id == scope.seller_id))
    if flt.statuses:
        where.append(OrderRow.status.in_([s.value for s in flt.statuses]))
    if flt.created_from is not None:
        where.append(col(OrderRow.created_at) >= flt.created_from)
    if flt.created_to is not None:
        where.append(col(OrderRow.created_at) < flt.created_to)
    if scope.everything and flt.buyer_id is not None:
        where.append(OrderRow.buyer_id == flt.buyer_id)
    if flt.seller_id is not None:
        where.append(exists().where(OrderLineRow.order_id == OrderRow.id, OrderLineRow.seller_id == flt.seller_id))
    return where


async def orders_page(db: Database, scope: OrderScope, flt: OrderFilter, *, before_id: int | None,
                      limit: int) -> tuple[list[Order], int]:
    """Newest first (descending id); `before_id` is the cursor of the last row already seen."""
    where = _filters(scope, flt)
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(OrderRow).where(*where))).one()
        query = select(OrderRow).where(*where)
        if before_id is not None:
            query = query.where(col(OrderRow.id) < before_id)
        orders = await SqlOrders(session, db.is_sqlite).load(query.order_by(OrderRow.id.desc()).limit(limit))
        return orders, total


async def orders_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Order]:
    async with db.read_sessions() as session:
        orders = await SqlOrders(session, db.is_sqlite).load(select(OrderRow).where(OrderRow.id.in_(list(ids))))
        return {o.pk: o for o in orders}


async def order_id_by_key(db: Database, key: str) -> int | None:
    """An order's id from its number (ORD-…) or its UUID, as the REST seeds name orders."""
    column, value = (OrderRow.number, key.upper()) if key.upper().startswith("ORD-") else (OrderRow.uuid, key.lower())
    async with db.read_sessions() as session:
        return (await session.exec(select(OrderRow.id).where(column == value))).first()


async def addresses_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Address]:
    async with db.read_sessions() as session:
        rows = await session.exec(select(AddressRow).where(AddressRow.id.in_(list(ids))))
        return {address.pk: address for address in map(address_from_row, rows)}
