"""Subscriptions (graphql-transport-ws on /graphql): the current state at once, then every change."""
from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from gql.resolvers import subscriptions as live
from gql.schema.orders import Order
from gql.schema.payments import Payment
from gql.schema.relay import global_id_of


def _legacy(kind: str, global_id: strawberry.ID) -> int:
    legacy_id = global_id_of(kind, global_id)
    if legacy_id is None:
        raise GraphQLError(f"not a {kind} id", extensions={"code": "BAD_USER_INPUT"})
    return legacy_id


@strawberry.type
class Subscription:
    @strawberry.subscription(description="A payment's state now, then after every change. Ends if it "
                                         "isn't (or stops being) the caller's to see.")
    async def payment_updated(self, info: strawberry.Info, id: strawberry.ID) -> AsyncGenerator[Payment, None]:
        async for payment in live.payment_updates(info.context, _legacy("Payment", id)):
            yield Payment.from_domain(payment)

    @strawberry.subscription(description="An order's state now, then after every change.")
    async def order_updated(self, info: strawberry.Info, id: strawberry.ID) -> AsyncGenerator[Order, None]:
        async for order in live.order_updates(info.context, _legacy("Order", id)):
            yield Order.from_domain(order)
