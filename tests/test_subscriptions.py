"""Live payment and order status over graphql-transport-ws, in-process and through Redis."""
from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from paygate.events import LocalBus, RedisBus
from tests.graphql import gql
from tests.test_payment_mutations import PAN, PAY, _checked_out

ORDER_UPDATED = "subscription($id: ID!) { orderUpdated(id: $id) { number status payments { status } } }"
PAYMENT_UPDATED = "subscription($id: ID!) { paymentUpdated(id: $id) { status amountCaptured { amount } } }"


class Live:
    """A graphql-transport-ws client on a real WebSocket."""

    def __init__(self, ws) -> None:
        self.ws = ws

    async def subscribe(self, query: str, variables: dict, sub_id: str = "1") -> None:
        await self.ws.send(json.dumps({"id": sub_id, "type": "subscribe",
                                       "payload": {"query": query, "variables": variables}}))

    async def next(self, timeout_s: float = 10) -> dict:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout_s))
            if message["type"] in ("next", "error", "complete"):
                return message


async def _live(served, token: str | None):
    ws = await connect(served.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"Authorization": f"Bearer {token}"} if token else {}}))
    return ws


async def test_order_updates_arrive_when_the_order_is_paid(client, served, shop):
    order = await _checked_out(client, shop)
    ws = await _live(served, shop.token("customer@example.com"))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    live = Live(ws)

    await live.subscribe(ORDER_UPDATED, {"id": order["id"]})
    first = await live.next()
    await gql(client, PAY, {"order": order["id"], "number": PAN}, token=shop.token("customer@example.com"))
    second = await live.next()
    await ws.close()

    assert first["payload"]["data"]["orderUpdated"] == {"number": order["number"], "status": "PENDING_PAYMENT",
                                                        "payments": []}
    assert second["payload"]["data"]["orderUpdated"]["status"] == "PAID"
    assert second["payload"]["data"]["orderUpdated"]["payments"] == [{"status": "SUCCEEDED"}]  # read fresh


async def test_payment_updates_follow_a_manual_capture(client, served, shop):
    order = await _checked_out(client, shop, sku="SAM-KNIFE-01", quantity=1)
    paid = await gql(client, PAY, {"order": order["id"], "number": PAN, "capture": "MANUAL"},
                     token=shop.token("customer@example.com"))
    payment_id = paid["data"]["processPayment"]["id"]
    ws = await _live(served, shop.token("customer@example.com"))
    await ws.recv()
    live = Live(ws)

    await live.subscribe(PAYMENT_UPDATED, {"id": payment_id})
    first = await live.next()
    await gql(client, "mutation($p: ID!) { capture(input: {paymentId: $p}) { __typename } }", {"p": payment_id},
              token=shop.token("staff@example.com"))
    # The capture commits twice (the attempt, then its outcome): one update for each.
    updates = [(await live.next())["payload"]["data"]["paymentUpdated"] for _ in range(2)]
    await ws.close()

    assert first["payload"]["data"]["paymentUpdated"]["status"] == "REQUIRES_CAPTURE"
    assert updates[-1] == {"status": "SUCCEEDED", "amountCaptured": {"amount": 3999}}


async def test_another_customers_order_cannot_be_followed(client, served, shop):
    order = await _checked_out(client, shop)
    ws = await _live(served, shop.token("customer2@example.com"))
    await ws.recv()
    live = Live(ws)

    await live.subscribe(ORDER_UPDATED, {"id": order["id"]})
    answer = await live.next()
    await ws.close()

    assert answer["type"] == "next" and answer["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert answer["payload"]["data"] is None


async def test_a_bad_token_closes_the_connection_as_forbidden(served, db):
    ws = await _live(served, "not-a-token")

    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)

    assert ws.close_code == 4403


async def test_the_local_bus_delivers_only_to_the_topics_subscribers():
    bus = LocalBus()

    async with bus.subscribe("payment:1") as one, bus.subscribe("payment:2") as two:
        await bus.publish("payment:1")

        assert one.get_nowait() == "payment:1"
        assert two.empty()


async def test_redis_carries_a_notification_from_one_process_to_another(redis_url):
    publisher, listener = RedisBus(redis_url), RedisBus(redis_url)
    await listener.start()

    try:
        async with listener.subscribe("order:7") as queue:
            await publisher.publish("order:7")
            received = await asyncio.wait_for(queue.get(), 5)
    finally:
        await publisher.close()
        await listener.close()

    assert received == "order:7"


async def test_an_unreachable_redis_does_not_stop_the_bus_from_starting_or_delivering_locally():
    bus = RedisBus("redis://127.0.0.1:1/0")  # nothing listens on port 1

    await bus.start(wait_s=0.2)
    try:
        async with bus.subscribe("payment:9") as queue:
            await bus.publish("payment:9")  # Redis refuses: delivered in this process instead

            assert await asyncio.wait_for(queue.get(), 2) == "payment:9"
    finally:
        await bus.close()
