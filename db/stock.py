"""Stock: what is on hand, what live reservations hold, and the locks that keep it exact.

Availability is computed, never stored: on-hand stock less the reservations that are active
and not yet expired. An expired reservation stops counting the moment it expires, whether or
not the worker has tidied it up.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, insert, literal_column, text, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import product_from_row
from db.tables import ProductRow, StockReservationRow
from db.write_batch import MAIN, WriteBatch
from domain.catalog.model import Product
from domain.orders.model import Order

RESERVATIONS = StockReservationRow.__table__
PRODUCTS = ProductRow.__table__
# An active reservation, as ix_stock_reservations_live's predicate says it: a literal, so that the
# planner can use that partial index (db/tables.py, `partial`).
LIVE = RESERVATIONS.c.state == literal_column("'active'")


def live_reservations(now: datetime):
    """A subquery of (product_id, reserved) over active, unexpired reservations."""
    return (
        select(StockReservationRow.product_id, func.sum(StockReservationRow.quantity).label("reserved"))
        .where(LIVE, StockReservationRow.expires_at > now)
        .group_by(StockReservationRow.product_id)
        .subquery("live_reservations")
    )


def products_with_reserved(now: datetime):
    """SELECT products with their reserved quantity; filter and order it further as needed."""
    reserved = live_reservations(now)
    return (select(ProductRow, func.coalesce(reserved.c.reserved, 0))
            .outerjoin(reserved, reserved.c.product_id == ProductRow.id))


_COMMIT_RESERVATIONS = (update(RESERVATIONS)
                        .where(RESERVATIONS.c.order_id == bindparam("b_order"), RESERVATIONS.c.state == "active")
                        .values(state="committed").returning(RESERVATIONS.c.product_id, RESERVATIONS.c.quantity))
# RETURNING: several lines go as ONE multi-row INSERT derived from this statement compiled once
# (SQLAlchemy's insertmanyvalues), as the ORM's flush of the rows did, without an ORM session.
_RESERVE = insert(RESERVATIONS).returning(RESERVATIONS.c.id)
_TAKE_STOCK = (update(PRODUCTS).where(PRODUCTS.c.id == bindparam("product"))
               .values(stock=PRODUCTS.c.stock - bindparam("quantity")))
# PostgreSQL: the same two steps as one statement, which needs no answer and so waits in the
# write batch. The products are locked in ascending id first (`locked`: db/uow.py, "Lock order"),
# then updated: a row is only ever updated after `locked` has produced (and locked) it.
_COMMIT_POSTGRESQL = text(f"""WITH held AS (
  UPDATE stock_reservations SET state = 'committed'
  WHERE order_id = :b_order AND state = 'active' RETURNING product_id, quantity),
taken AS (SELECT product_id, sum(quantity) AS quantity FROM held GROUP BY product_id),
locked AS (SELECT id FROM products WHERE id IN (SELECT product_id FROM taken) ORDER BY id FOR NO KEY UPDATE)
{MAIN} UPDATE products SET stock = products.stock - taken.quantity FROM taken, locked
  WHERE products.id = taken.product_id AND locked.id = taken.product_id""").bindparams(
    bindparam("b_order", type_=Integer))
_INSERT_RESERVATION = insert(RESERVATIONS)


class SqlStock:
    def __init__(self, session: AsyncSession, is_sqlite: bool, batch: WriteBatch | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.batch = batch or WriteBatch.at_once(session)

    async def lock(self, product_ids: Sequence[int], now: datetime) -> dict[int, Product]:
        """The products, locked for the rest of the transaction, with their live availability.

        PostgreSQL: FOR NO KEY UPDATE row locks in id order (no deadlock between two checkouts of
        the same items). Not FOR UPDATE: that one also waits for, and is waited on by, the KEY
        SHARE lock every insert referencing a product takes (a cart line, a reservation), and
        the two deadlocked at the row's update chain (db/uow.py, "Lock order").
        SQLite ignores FOR UPDATE; there the write transaction began IMMEDIATE and holds the
        database's one write lock, which serializes checkouts just the same.
        """
        locked = select(ProductRow.id).where(ProductRow.id.in_(list(product_ids))).order_by(ProductRow.id)
        if not self.is_sqlite:
            await self.session.exec(locked.with_for_update(key_share=True))
        rows = await self.session.exec(products_with_reserved(now).where(ProductRow.id.in_(list(product_ids))))
        return {row.id: product_from_row(row, reserved) for row, reserved in rows}

    async def reserve(self, order: Order) -> None:
        rows = [{"order_id": order.id, "product_id": line.product_id, "quantity": line.quantity,
                 "expires_at": order.reserved_until, "state": "active"} for line in order.lines]
        if self.batch.defers:  # read again only by a later statement, which sends the batch first
            for row in rows:
                await self.batch.defer(_INSERT_RESERVATION, row)
        elif rows:
            await self.session.exec(_RESERVE, params=rows)  # type: ignore[call-overload]

    async def commit(self, order: Order) -> None:
        """The order is paid: its reserved units leave stock for good.

        Two statements whatever the number of lines: the reservations turn committed and say
        what they held (RETURNING), then the products' stock goes down, in ascending id (the
        lock order, db/uow.py). The order's row is locked by the caller, and reservations are
        only ever changed under it, so none can move between the two. PostgreSQL: one statement
        (_COMMIT_POSTGRESQL), deferred."""
        if self.batch.defers:
            await self.batch.defer(_COMMIT_POSTGRESQL, {"b_order": order.id},
                                   writes=("stock_reservations", "products"), appends=False)
            return
        held = (await self.session.exec(_COMMIT_RESERVATIONS, params={"b_order": order.id})).all()  # type: ignore[call-overload]
        taken: dict[int, int] = {}
        for product_id, quantity in held:
            taken[product_id] = taken.get(product_id, 0) + quantity
        if taken:
            # The CHECK (stock >= 0) refuses an oversell even if a bug got this far.
            await self.session.exec(_TAKE_STOCK, params=[  # type: ignore[call-overload]
                {"product": product_id, "quantity": taken[product_id]} for product_id in sorted(taken)])

    async def restock(self, order: Order) -> None:
        """A sold order is cancelled: its committed units go back on the shelf."""
        rows = (await self.session.exec(select(StockReservationRow).where(
            StockReservationRow.order_id == order.id, StockReservationRow.state == "committed"))).all()
        for row in rows:
            await self.session.exec(update(ProductRow).where(ProductRow.id == row.product_id)
                                    .values(stock=ProductRow.stock + row.quantity))
            row.state = "released"
            self.session.add(row)
        await self.session.flush()

    async def release(self, order: Order) -> None:
        await self.session.exec(update(StockReservationRow)
                                .where(StockReservationRow.order_id == order.id, StockReservationRow.state == "active")
                                .values(state="released"))
