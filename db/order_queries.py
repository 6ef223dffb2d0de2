"""Read queries over orders for the API surfaces: one page is a constant number of statements."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func
from sqlalchemy import select as select_core
from sqlmodel import col, select

from db import reads
from db.engine import Database
from db.mapping import address_from_row
from db.read_rows import OC, ORDER_COLUMNS, ORDERS, among, lines_of, orders_from_rows
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


async def _orders(db: Database, query) -> list[Order]:
    """Orders with their lines: two Core statements whatever the number of orders."""
    rows = await reads.rows(db, query)
    if not rows:
        return []
    return orders_from_rows(rows, await reads.rows(db, lines_of([r[0] for r in rows], db.is_sqlite)))


async def orders_page(db: Database, scope: OrderScope, flt: OrderFilter, *, before_id: int | None,
                      limit: int) -> tuple[list[Order], int]:
    """Newest first (descending id); `before_id` is the cursor of the last row already seen. The
    page and the count at once where the backend allows."""
    where = _filters(scope, flt)
    query = select_core(*ORDER_COLUMNS).where(*where)
    if before_id is not None:
        query = query.where(col(OrderRow.id) < before_id)
    orders, total = await reads.concurrently(
        db, _orders(db, query.order_by(OrderRow.id.desc()).limit(limit)),
        reads.scalar(db, select_core(func.count()).select_from(ORDERS).where(*where)))
    return orders, total


async def orders_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Order]:
    return {o.pk: o for o in await _orders(db, select_core(*ORDER_COLUMNS).where(among(OC.id, ids, db.is_sqlite)))}


async def order_id_by_key(db: Database, key: str) -> int | None:
    """An order's id from its number (ORD-…) or its UUID, as the REST seeds name orders."""
    column, value = (OrderRow.number, key.upper()) if key.upper().startswith("ORD-") else (OrderRow.uuid, key.lower())
    async with db.read_sessions() as session:
        return (await session.exec(select(OrderRow.id).where(column == value))).first()


async def addresses_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Address]:
    async with db.read_sessions() as session:
        rows = await session.exec(select(AddressRow).where(AddressRow.id.in_(list(ids))))
        return {address.pk: address for address in map(address_from_row, rows)}
