"""Orders, addresses and checkout: thin calls into domain/ and db/'s read queries."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import order_queries
from domain.identity import Role
from domain.orders import access
from domain.orders.access import OrderFilter
from domain.orders.model import Address, Order
from domain.orders.service import Checkout, CreateAddress, checkout, create_address
from gql.resolvers.auth import require_actor


async def order(context, order_id: int) -> Order | None:
    actor = require_actor(context)
    found = await context.loaders.orders.load(order_id)
    return found if found and access.can_see(actor, found) else None


async def orders_page(context, flt: OrderFilter, *, before_id: int | None, limit: int,
                      as_seller: bool) -> tuple[list[Order], int]:
    actor = require_actor(context)
    return await order_queries.orders_page(context.db, access.scope_for(actor, as_seller=as_seller), flt,
                                           before_id=before_id, limit=limit)


async def shipping_address(context, order: Order) -> Address | None:
    if order.shipping_address_id is None:
        return None
    return await context.loaders.addresses.load(order.shipping_address_id)


async def add_address(context, **fields) -> Address:
    actor = require_actor(context, Role.CUSTOMER)
    return await create_address(CreateAddress(actor=actor, **fields), context.new_uow())


async def check_out(context, shipping_address_id: int | None) -> Order:
    actor = require_actor(context, Role.CUSTOMER)
    minutes = context.services["settings"].reservation_minutes
    cmd = Checkout(actor=actor, shipping_address_id=shipping_address_id, now=datetime.now(UTC),
                   reservation=timedelta(minutes=minutes))
    return await checkout(cmd, context.new_uow())
