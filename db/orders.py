"""Orders and addresses in SQL: the domain's OrderRepository and AddressRepository."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import address_from_row, order_from_rows
from db.outgoing_webhooks import SqlOutgoingEvents
from db.tables import AddressRow, OrderLineRow, OrderRow
from domain.numbers import order_number
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


class SqlOrders:
    def __init__(self, session: AsyncSession, is_sqlite: bool, changes: set[str] | None = None,
                 outbox: SqlOutgoingEvents | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.changes = changes if changes is not None else set()
        self.outbox = outbox if outbox is not None else SqlOutgoingEvents(session)

    async def add(self, order: Order) -> Order:
        row = OrderRow(uuid=str(order.uuid), buyer_id=order.buyer_id, status=order.status.value,
                       currency=order.currency, total_minor=order.total.minor,
                       shipping_address_id=order.shipping_address_id, reserved_until=order.reserved_until,
                       created_at=order.created_at, updated_at=order.updated_at)
        self.session.add(row)
        await self.session.flush()
        # The number derives from the id (domain/numbers.py): unique by construction.
        row.number = order_number(row.id)
        lines = [OrderLineRow(order_id=row.id, product_id=line.product_id, seller_id=line.seller_id, sku=line.sku,
                              name=line.name, unit_price_minor=line.unit_price.minor, currency=line.unit_price.code,
                              quantity=line.quantity) for line in order.lines]
        self.session.add_all([row, *lines])
        await self.session.flush()
        order.id, order.number = row.id, row.number
        await self.outbox.status_changed("order", row.id, None, order.status.value, lambda: order_data(order),
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
        return [order_from_rows(r, by_order.get(r.id, [])) for r in rows]

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        query = select(OrderRow).where(OrderRow.id == order_id)
        if for_update and not self.is_sqlite:
            query = query.with_for_update(key_share=True)  # see db/uow.py, "Lock order"
        found = await self.load(query)
        return found[0] if found else None

    async def get_by_uuid(self, order_uuid: UUID, *, for_update: bool = False) -> Order | None:
        query = select(OrderRow).where(OrderRow.uuid == str(order_uuid))
        if for_update and not self.is_sqlite:
            query = query.with_for_update(key_share=True)  # see db/uow.py, "Lock order"
        found = await self.load(query)
        return found[0] if found else None

    async def pending_expired(self, now: datetime, limit: int) -> list[Order]:
        query = (select(OrderRow).where(OrderRow.status == "pending_payment", OrderRow.reserved_until <= now)
                 .order_by(OrderRow.id).limit(limit))
        if not self.is_sqlite:
            # Several workers may run this at once: each takes rows no other holds.
            query = query.with_for_update(skip_locked=True)
        return await self.load(query)

    async def save(self, order: Order) -> None:
        row = await self.session.get(OrderRow, order.id)
        await self.outbox.status_changed("order", order.pk, row.status, order.status.value, lambda: order_data(order),
                                         order.updated_at)
        row.status = order.status.value
        row.updated_at = order.updated_at
        row.cancellation_reason = order.cancellation_reason
        row.delivered_at = order.delivered_at
        row.reserved_until = order.reserved_until
        self.session.add(row)
        await self.session.flush()
        self.changes.add(f"order:{order.id}")
