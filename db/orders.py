"""Orders and addresses in SQL: the domain's OrderRepository and AddressRepository."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from uuid import UUID

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as core_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import address_from_row, order_from_rows
from db.numbering import numbered_insert
from db.outgoing_webhooks import SqlOutgoingEvents
from db.tables import AddressRow, OrderLineRow, OrderRow
from db.write_batch import WriteBatch
from domain.numbers import ORDER_NUMBER, order_number
from domain.orders.model import Address, Order
from domain.outgoing_webhooks.payloads import order_data


class SqlAddresses:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, address: Address) -> Address:
        row = AddressRow(user_id=address.user_id, name=address.name, line1=address.line1, line2=address.line2,
                         city=address.city, postal_code=address.postal_code, country=address.country)
        self.session.add(row)
        await self.session.flush()
        return address_from_row(row)

    async def get(self, address_id: int) -> Address | None:
        row = await self.session.get(AddressRow, address_id)
        return address_from_row(row) if row else None


ORDERS = OrderRow.__table__
LINES = OrderLineRow.__table__
# Built once; the values come with each execution (b_: names of bound values, not columns set).
_UPDATE_ORDER = update(ORDERS).where(ORDERS.c.id == bindparam("b_id"))
_INSERT_LINE = insert(LINES)
# An order with its lines, by id or uuid, locked (PostgreSQL, FOR NO KEY UPDATE OF orders: see
# db/uow.py, "Lock order") or not.
_ONE = {(key, locked): (lambda query: query.with_for_update(of=ORDERS, key_share=True) if locked else query)(
            core_select(ORDERS, LINES).outerjoin(LINES, LINES.c.order_id == ORDERS.c.id)
            .where(ORDERS.c[key] == bindparam("b_key")).order_by(LINES.c.id))
        for key in ("id", "uuid") for locked in (False, True)}


def _columns(order: Order) -> dict[str, object]:
    """The order's columns that change after checkout."""
    return {"status": order.status.value, "updated_at": order.updated_at,
            "cancellation_reason": order.cancellation_reason, "delivered_at": order.delivered_at,
            "reserved_until": order.reserved_until}


class SqlOrders:
    """Orders are read with their lines in one statement (lines never change once written, so
    a row lock taken by that statement leaves nothing stale), and remembered: saving an order
    read in this transaction writes what changed and reads nothing."""

    def __init__(self, session: AsyncSession, is_sqlite: bool, changes: set[str] | None = None,
                 outbox: SqlOutgoingEvents | None = None, batch: WriteBatch | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.batch = batch or WriteBatch.at_once(session)
        self.changes = changes if changes is not None else set()
        self.outbox = outbox if outbox is not None else SqlOutgoingEvents(session)
        self._loaded: dict[int, dict[str, object]] = {}
        self._locked: dict[int, Order] = {}  # locked and read with their payment (SqlPayments.get)

    async def add(self, order: Order) -> Order:
        # The number derives from the id (domain/numbers.py): unique by construction, and written
        # by the INSERT itself (db/numbering.py).
        values = {"uuid": str(order.uuid), "buyer_id": order.buyer_id, "currency": order.currency,
                  "total_minor": order.total.minor, "shipping_address_id": order.shipping_address_id,
                  "created_at": order.created_at, **_columns(order)}
        row = (await self.batch.execute(numbered_insert(ORDERS, tuple(values), ORDER_NUMBER, self.is_sqlite),
                                        values)).one()
        order.id, order.number = row.id, order_number(row.id)
        if row.number != order.number:  # an id past what the SQL numbers
            await self.session.exec(_UPDATE_ORDER, params={"b_id": order.id, "number": order.number})  # type: ignore[call-overload]
        lines = [{"order_id": order.id, "product_id": line.product_id, "seller_id": line.seller_id, "sku": line.sku,
                  "name": line.name, "unit_price_minor": line.unit_price.minor, "currency": line.unit_price.code,
                  "quantity": line.quantity} for line in order.lines]
        if self.batch.defers:  # lines are never read back in the transaction that writes them
            for values in lines:
                await self.batch.defer(_INSERT_LINE, values)
        else:
            await self.session.exec(_INSERT_LINE, params=lines)  # type: ignore[call-overload]
        self._loaded[order.id] = _columns(order)
        await self.outbox.status_changed("order", order.id, None, order.status.value, lambda: order_data(order),
                                         order.updated_at)
        self.changes.add(f"order:{order.id}")
        return order

    async def load(self, query) -> list[Order]:
        """Orders with their lines: two statements whatever the number of orders."""
        rows = (await self.session.exec(query)).all()
        if not rows:
            return []
        lines = (await self.session.exec(
            select(OrderLineRow).where(OrderLineRow.order_id.in_([r.id for r in rows])).order_by(OrderLineRow.id)
        )).all()
        by_order: dict[int, list[OrderLineRow]] = {}
        for line in lines:
            by_order.setdefault(line.order_id, []).append(line)
        orders = [order_from_rows(r, by_order.get(r.id, [])) for r in rows]
        for order in orders:
            self._loaded[order.pk] = _columns(order)
        return orders

    async def _one(self, key: str, value: object, for_update: bool) -> Order | None:
        if for_update and key == "id" and value in self._locked:
            return self._locked.pop(value)  # type: ignore[call-overload]
        query = _ONE[key, for_update and not self.is_sqlite]
        rows = (await self.session.exec(query, params={"b_key": value})).all()  # type: ignore[call-overload]
        return self.adopt(rows) if rows else None

    def adopt(self, rows, *, locked: bool = False) -> Order:
        """The order of joined rows (its columns, and its lines' or NULLs), remembered for `save`;
        `locked`: its row was locked by the statement that read it, handed to the next locking get."""
        fields = rows[0]._mapping
        order = order_from_rows(SimpleNamespace(**{c.name: fields[c] for c in ORDERS.c}),  # type: ignore[arg-type]
                                [SimpleNamespace(**{c.name: row._mapping[c] for c in LINES.c})  # type: ignore[misc]
                                 for row in rows if row._mapping[LINES.c.id] is not None])
        self._loaded[order.pk] = _columns(order)
        if locked:
            self._locked[order.pk] = order
        return order

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        return await self._one("id", order_id, for_update)

    async def get_by_uuid(self, order_uuid: UUID, *, for_update: bool = False) -> Order | None:
        return await self._one("uuid", str(order_uuid), for_update)

    async def pending_expired(self, now: datetime, limit: int) -> list[Order]:
        query = (select(OrderRow).where(OrderRow.status == "pending_payment", OrderRow.reserved_until <= now)
                 .order_by(OrderRow.id).limit(limit))
        if not self.is_sqlite:
            # Several workers may run this at once: each takes rows no other holds.
            query = query.with_for_update(skip_locked=True)
        return await self.load(query)

    async def save(self, order: Order) -> None:
        loaded = self._loaded.get(order.pk)
        if loaded is None:  # not read in this transaction: what is stored, then
            await self._one("id", order.pk, False)
            loaded = self._loaded[order.pk]
        await self.outbox.status_changed("order", order.pk, str(loaded["status"]), order.status.value,
                                         lambda: order_data(order), order.updated_at)
        columns = _columns(order)
        if columns != loaded:
            await self.batch.defer(_UPDATE_ORDER, {"b_id": order.pk, **columns})
            self._loaded[order.pk] = columns
        self.changes.add(f"order:{order.id}")
