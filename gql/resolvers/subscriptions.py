"""Live updates: wait for a change notification, then read the object fresh and check it is
still the caller's to see. Data loaders are not used: a WebSocket's context lives as long as
the connection, and a loader's cache would serve the state it first saw forever."""
from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError

from db import order_queries, payment_queries
from domain.orders import access as order_access
from domain.orders.model import Order
from domain.payments import access as payment_access
from domain.payments.model import Payment
from gql.resolvers.auth import require_actor


async def _visible_payment(context, payment_id: int) -> Payment | None:
    payment = (await payment_queries.payments_by_ids(context.db, [payment_id])).get(payment_id)
    if payment is None:
        return None
    order = None
    if payment_access.needs_order(context.actor, payment):
        order = (await order_queries.orders_by_ids(context.db, [payment.order_id])).get(payment.order_id)
    return payment if payment_access.can_see(context.actor, payment, order) else None


async def _visible_order(context, order_id: int) -> Order | None:
    order = (await order_queries.orders_by_ids(context.db, [order_id])).get(order_id)
    return order if order and order_access.can_see(context.actor, order) else None


async def _follow(context, topic: str, read) -> AsyncIterator:
    bus = context.services.events
    async with bus.subscribe(topic) as queue:  # subscribed before the first read: no change is missed
        current = await read()
        if current is None:
            raise GraphQLError("not found", extensions={"code": "NOT_FOUND"})
        yield current
        while True:
            await queue.get()
            context.forget_loaded()
            current = await read()
            if current is None:  # gone, or no longer the caller's
                return
            yield current


def payment_updates(context, payment_id: int) -> AsyncIterator[Payment]:
    require_actor(context)
    return _follow(context, f"payment:{payment_id}", lambda: _visible_payment(context, payment_id))


def order_updates(context, order_id: int) -> AsyncIterator[Order]:
    require_actor(context)
    return _follow(context, f"order:{order_id}", lambda: _visible_order(context, order_id))
