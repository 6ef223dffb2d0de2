"""Order use cases: checkout turns a cart into an order with a stock reservation; addresses.

Stock is never oversold: checkout locks the products' rows (or, on SQLite, holds the one
write transaction) while it compares what is asked with what is available and reserves it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from domain.errors import InsufficientStockError, NotFoundError, ValidationError
from domain.identity import Actor
from domain.orders.model import Address, Order, OrderLine, OrderStatus
from domain.ports import UnitOfWork
from domain.text import free_text


@dataclass(frozen=True, slots=True)
class CreateAddress:
    actor: Actor
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str


# The columns' widths (db/tables.py AddressRow); the field names are the API's.
ADDRESS_FIELDS = (("name", "name", 200), ("line1", "line1", 200), ("line2", "line2", 200),
                  ("city", "city", 200), ("postal_code", "postalCode", 32))


async def create_address(cmd: CreateAddress, uow: UnitOfWork) -> Address:
    text = {attr: free_text(getattr(cmd, attr), field, max_length=width, required=attr != "line2")
            for attr, field, width in ADDRESS_FIELDS}
    # The country needs no guard: Address takes two letters only.
    address = Address(None, cmd.actor.user_id, text["name"], text["line1"], text["line2"], text["city"],
                      text["postal_code"], cmd.country.strip().upper())
    async with uow:
        address = await uow.addresses.add(address)
        await uow.commit()
    return address


@dataclass(frozen=True, slots=True)
class Checkout:
    actor: Actor
    shipping_address_id: int | None
    now: datetime
    reservation: timedelta


async def checkout(cmd: Checkout, uow: UnitOfWork) -> Order:
    async with uow:
        cart = await uow.carts.get(cmd.actor.user_id)
        if not cart.lines:
            raise ValidationError("the cart is empty", "cart")
        if cmd.shipping_address_id is not None:
            address = await uow.addresses.get(cmd.shipping_address_id)
            if address is None or address.user_id != cmd.actor.user_id:
                raise NotFoundError("address", cmd.shipping_address_id)
        wanted = {line.product.id: line.quantity for line in cart.lines}
        products = await uow.stock.lock(sorted(wanted), cmd.now)
        for product_id, quantity in wanted.items():
            product = products.get(product_id)
            if product is None or not product.active:
                raise NotFoundError("product", product_id)
            if quantity > product.available:
                raise InsufficientStockError(product_id, quantity, product.available)
        lines = tuple(
            OrderLine(product_id=p.id, seller_id=p.seller_id, sku=p.sku, name=p.name,
                      unit_price=p.price, quantity=wanted[p.id])
            for p in (products[i] for i in sorted(wanted)))
        order = Order(
            id=None, uuid=uuid4(), number=None, buyer_id=cmd.actor.user_id,
            status=OrderStatus.PENDING_PAYMENT, currency=lines[0].unit_price.code, lines=lines,
            shipping_address_id=cmd.shipping_address_id, reserved_until=cmd.now + cmd.reservation,
            created_at=cmd.now, updated_at=cmd.now)
        order = await uow.orders.add(order)
        await uow.stock.reserve(order)
        await uow.carts.clear(cmd.actor.user_id)
        await uow.audit.record(cmd.actor, "order.checkout", "order", order.uuid, None,
                               {"status": order.status.value, "total": order.total.decimal,
                                "currency": order.currency}, cmd.now)
        await uow.commit()
    return order


async def expire_reservations(now: datetime, uow: UnitOfWork, limit: int = 500) -> int:
    """Mark unpaid orders past their reservation as expired and release their stock.

    Availability already ignores expired reservations (see db/stock), so this job only tidies
    state: a shop where it never runs still never oversells.
    """
    async with uow:
        orders = await uow.orders.pending_expired(now, limit)
        for order in orders:
            order.move_to(OrderStatus.EXPIRED, now)
            await uow.orders.save(order)
            await uow.stock.release(order)
        await uow.commit()
    return len(orders)
