"""Order use cases: checkout turns a cart into an order with a stock reservation, and
undo_checkout turns it back when its payment couldn't be opened; addresses.

Stock is never oversold: checkout locks the products' rows (or, on SQLite, holds the one
write transaction) while it compares what is asked with what is available and reserves it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from domain.errors import ConflictError, InsufficientStockError, NotFoundError, ValidationError
from domain.identity import Actor, customers_only
from domain.money import Money
from domain.orders.model import Address, Order, OrderLine, OrderStatus
from domain.payments.status import PaymentStatus
from domain.ports import UnitOfWork
from domain.stored import existing
from domain.text import free_text

ENDED = (PaymentStatus.FAILED, PaymentStatus.CANCELED)


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
    customers_only(cmd.actor, "save shipping addresses")
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
    # Asked with the order's total before anything is written: the payment provider the order is
    # checked out for refuses an amount it can't take (Providers.check_amount) with no order made.
    accepts: Callable[[Money], None] | None = None


async def checkout(cmd: Checkout, uow: UnitOfWork) -> Order:
    customers_only(cmd.actor, "check out")
    return await uow.transaction(lambda: _checkout(cmd, uow))


async def _checkout(cmd: Checkout, uow: UnitOfWork) -> Order:
    async with uow:
        # The cart's products locked (stock is never oversold) and their availability read once
        # the locks are held.
        cart = await uow.carts.get(cmd.actor.user_id, lock_products=True, now=cmd.now)
        if not cart.lines:
            raise ValidationError("the cart is empty", "cart")
        if cmd.shipping_address_id is not None:
            address = await uow.addresses.get(cmd.shipping_address_id)
            if address is None or address.user_id != cmd.actor.user_id:
                raise NotFoundError("address", cmd.shipping_address_id)
        wanted = {line.product.id: line.quantity for line in cart.lines}
        products = {line.product.id: line.product for line in cart.lines}
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
        if cmd.accepts is not None:
            cmd.accepts(order.total)  # raised here: the block rolls back, the cart is as it was
        order = await uow.orders.add(order)
        await uow.stock.reserve(order)
        await uow.carts.clear(cmd.actor.user_id)
        await uow.audit.record(cmd.actor, "order.checkout", "order", order.uuid, None,
                               {"status": order.status.value, "total": order.total.decimal,
                                "currency": order.currency}, cmd.now)
        await uow.commit()
    return order


@dataclass(frozen=True, slots=True)
class UndoCheckout:
    actor: Actor
    order_id: int
    reason: str
    now: datetime


async def undo_checkout(cmd: UndoCheckout, uow: UnitOfWork) -> Order:
    """The order's payment couldn't be opened at the provider (refused, or no answer): the order
    is canceled, its stock released, and its lines go back into the buyer's cart, so the buyer's
    next try starts from the cart they had.

    Only for an order nobody can have paid: pending, each payment of it ended or never named by
    the provider. A payment whose request got no answer is left open for the worker to settle
    (reconcile asks the provider): whatever the provider made for it, nobody got its address,
    and money taken anyway is given back (an orphaned payment of a canceled order).
    """
    return await uow.transaction(lambda: _undo_checkout(cmd, uow))


async def _undo_checkout(cmd: UndoCheckout, uow: UnitOfWork) -> Order:
    async with uow:
        seen = await uow.orders.get(cmd.order_id)
        if seen is None or seen.buyer_id != cmd.actor.user_id:
            raise NotFoundError("order", cmd.order_id)
        # The lock order (db/uow.py): payments, then the order.
        payments = [await uow.payments.get(p.pk, for_update=True) for p in await uow.payments.for_order(seen.pk)
                    if p.status not in ENDED]
        order = existing(await uow.orders.get(cmd.order_id, for_update=True), "order", cmd.order_id)
        reachable = [p for p in payments if p is not None and p.status not in ENDED and p.provider_ref]
        if order.status is not OrderStatus.PENDING_PAYMENT or reachable:
            raise ConflictError(f"order {order.number} is {order.status.value}, or has a payment open at the "
                                f"provider; it stays as it is")
        for payment in payments:
            if payment is not None and payment.status not in ENDED and not payment.in_flight():
                payment.cancel(now=cmd.now)
                await uow.payments.save(payment)
        before = {"status": order.status.value}
        order.cancellation_reason = cmd.reason
        order.move_to(OrderStatus.CANCELED, cmd.now)
        await uow.stock.release(order)
        await uow.orders.save(order)
        in_cart = {line.product.id: line.quantity for line in (await uow.carts.get(order.buyer_id)).lines}
        for line in order.lines:
            await uow.carts.set_quantity(order.buyer_id, line.product_id,
                                         in_cart.get(line.product_id, 0) + line.quantity)
        await uow.audit.record(cmd.actor, "order.cancel", "order", order.uuid, before,
                               {"status": order.status.value, "reason": cmd.reason, "cart": "restored"}, cmd.now)
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
