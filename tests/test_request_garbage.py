"""A GraphQL request leaves its executor to reference counting, not to the cyclic collector.

graphql-core's executor holds two of its own bound methods (its `async_helpers`): a reference
cycle that kept every request's executor, with its collected fields, context and request, alive
until a young collection freed it, in pauses that grew with that garbage (bench/README.md,
"Garbage collection"). gql/execution/context.py breaks the cycle once the response is built; here
no executor of a query, a compiled-plan query or a mutation is left for the collector.
"""
from __future__ import annotations

import gc

from gql.execution.context import PlanExecutionContext
from tests.graphql import gql
from tests.test_flow_statement_counts import CHECKOUT, PAY, PRODUCTS, SET_ITEM


def _executors(garbage: list) -> int:
    return sum(isinstance(o, PlanExecutionContext) for o in garbage)


async def test_a_buyers_requests_leave_no_executor_to_the_cyclic_collector(client, shop):
    token = shop.token("customer@example.com")
    products = await gql(client, PRODUCTS)
    product = products["data"]["products"]["edges"][0]["node"]["id"]
    await gql(client, "{ me { id email } }", token=token)  # warm: the first request records its user
    gc.collect()

    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector would free is kept in gc.garbage instead
    try:
        me = await gql(client, "{ me { id email } }", token=token)
        await gql(client, SET_ITEM, {"p": product}, token=token)
        checked_out = await gql(client, CHECKOUT, token=token)
        paid = await gql(client, PAY, {"o": checked_out["data"]["checkout"]["order"]["id"]}, token=token)
        gc.collect()
        left = _executors(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert me["data"]["me"]["email"] == "customer@example.com"
    assert paid["data"]["processPayment"]["status"] == "SUCCEEDED", paid
    assert left == 0
