"""kill -9 in the middle of a burst of checkouts and payments, as a host failure would.

Two `paygate serve` processes and a `paygate worker` on PostgreSQL with Redis. Shoppers check out
and pay through both app processes at once; when some payments have gone through, the app
processes and the worker are killed with SIGKILL (no shutdown, transactions cut mid-way, provider
calls whose answer was never recorded). They are started again, and the worker is let run. Then:

  every answer a client saw as a success exists (its order, its payment, in the state it was told)
  nothing was charged twice (one successful payment an order at most, and the gateway's own
    records charge exactly the payments we hold as succeeded)
  the stock equals the initial stock minus what was sold, and nothing is reserved beyond it
  every journal entry balances
  no attempt is left open (pending or unknown)

The worker settles an attempt only once it is older than the reconciliation grace period (60 s:
no attempt whose own call may still be running is asked about). Rather than wait a minute, the
test ages the attempts the crash left open, as if that minute had passed, before the worker starts
again (a starting worker queues every periodic job at once).
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from db.engine import Database
from db.payment_tables import DummyGatewayRecordRow, PaymentAttemptRow, PaymentRow
from db.tables import OrderLineRow, OrderRow
from gql.schema.relay import from_global_id
from tests.cluster import Cluster, fresh_database, get_when_up
from tests.conftest import PG_URL, REDIS_URL
from tests.payments_fixtures import assert_ledger_balances
from tests.test_metrics import samples
from tests.test_processes import (
    CHECKOUT,
    PAY,
    SET_ITEM,
    customers,
    gql,
    held,
    product_global_id,
    required_services,
    stock_product,
)

pytestmark = pytest.mark.postgres

SKU, STOCK = "SAM-LAMP-01", 40
SHOPPERS = 16
KILL_AFTER_PAYMENTS = 10   # payments seen succeeding before the kill: the burst is well under way
BURST_LIMIT_S = 30.0     # limits for a loaded machine; on an idle one the whole test takes ~10 s
SETTLE_LIMIT_S = 30.0
OPEN = ("pending", "unknown")


@dataclass
class Seen:
    """What clients were told succeeded: order ids, and payment ids with the status they were told."""
    orders: set[int] = field(default_factory=set)
    payments: dict[int, str] = field(default_factory=dict)
    cut: int = 0  # requests whose connection died under them (outcome unknown to the client)


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory) -> AsyncIterator[Cluster]:
    await required_services()
    cluster = Cluster(await fresh_database(PG_URL, "crash"), REDIS_URL, tmp_path_factory.mktemp("crash"))
    cluster.run("migrate")
    cluster.run("demo")
    cluster.start_apps(2)
    cluster.start_worker()
    try:
        yield cluster
    finally:
        cluster.stop()


async def burst(cluster: Cluster, tokens: list[str], product: str, seen: Seen, enough: asyncio.Event) -> None:
    limits = httpx.Limits(max_keepalive_connections=0)
    clients = [httpx.AsyncClient(base_url=url, timeout=30, limits=limits) for url in cluster.urls()]

    async def shopper(n: int, token: str) -> None:
        client = clients[n % len(clients)]
        try:
            while True:
                await gql(client, SET_ITEM, {"p": product, "q": 1}, token=token)
                checked = (await gql(client, CHECKOUT, token=token)).json()["data"]["checkout"]
                if checked["__typename"] != "CheckoutSuccess":
                    return  # sold out
                seen.orders.add(checked["order"]["legacyId"])
                # The other process takes the payment: both are busy with both kinds of work.
                client = clients[(n + 1) % len(clients)]
                paid = (await gql(client, PAY, {"order": checked["order"]["id"]}, token=token)).json()
                payment = paid["data"]["processPayment"]
                if payment["__typename"] == "Payment":
                    seen.payments[from_global_id(payment["id"])[1]] = payment["status"]
                    if sum(s == "SUCCEEDED" for s in seen.payments.values()) >= KILL_AFTER_PAYMENTS:
                        enough.set()
        except httpx.TransportError:
            seen.cut += 1  # the process died under this request: the client can't tell what happened

    try:
        await asyncio.gather(*(shopper(n, token) for n, token in enumerate(tokens)))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


async def open_attempts(db: Database) -> list[PaymentAttemptRow]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(PaymentAttemptRow).where(PaymentAttemptRow.status.in_(OPEN)))).all())


async def transactions(db: Database) -> list[tuple[object, ...]]:
    """The database's other sessions, for a failure's message: a transaction left open shows here."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT pid, state, xact_start, state_change, left(query, 300) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start"))
        return [tuple(row) for row in rows]


async def age_open_attempts(db: Database) -> None:
    """As if the reconciliation grace period had passed since the crash."""
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE payment_attempts SET created_at = created_at - interval '10 minutes', "
                                "updated_at = updated_at - interval '10 minutes' "
                                "WHERE status IN ('pending', 'unknown')"))


async def test_a_crash_mid_burst_loses_nothing_doubles_nothing_and_leaves_nothing_open(cluster):
    db = Database.from_url(cluster.database_url)
    try:
        await check_crash(cluster, db)
    finally:
        await db.dispose()


async def check_crash(cluster: Cluster, db: Database) -> None:
    product_id = await stock_product(db, SKU, STOCK)
    async with httpx.AsyncClient(base_url=cluster.urls()[0]) as client:
        product = await product_global_id(client, SKU)
    tokens = await customers(db, cluster, "crash", SHOPPERS)
    seen, enough = Seen(), asyncio.Event()

    shopping = asyncio.create_task(burst(cluster, tokens, product, seen, enough))
    await asyncio.wait_for(enough.wait(), BURST_LIMIT_S)
    cluster.kill_apps()
    cluster.kill_worker()  # the host went down: every process with it
    await asyncio.wait_for(shopping, 30)
    assert seen.cut > 0  # the kill came mid-burst: requests died under their clients
    left_open = len(await open_attempts(db))

    cluster.start_apps(2)  # restarted: they serve again, and nothing of the crash is in their way
    await age_open_attempts(db)
    cluster.start_worker()  # it queues every periodic job once as it starts: reconciliation first
    deadline = time.monotonic() + SETTLE_LIMIT_S
    while await open_attempts(db):
        assert time.monotonic() < deadline, \
            f"attempts still open: {await open_attempts(db)}; transactions: {await transactions(db)}; " \
            f"the worker's log: {cluster.worker.log() if cluster.worker else None}"
        await asyncio.sleep(0.5)
        await age_open_attempts(db)  # should one need a second pass (every 15 s), it may take it

    # Every success a client saw exists, as it was told.
    async with db.read_sessions() as session:
        orders = {o.id: o for o in (await session.exec(select(OrderRow).where(OrderRow.id.in_(seen.orders)))).all()}
        payments = {p.id: p for p in (await session.exec(select(PaymentRow).join(
            OrderRow, OrderRow.id == PaymentRow.order_id).join(OrderLineRow, OrderLineRow.order_id == OrderRow.id)
            .where(OrderLineRow.product_id == product_id))).all()}
        attempts = (await session.exec(select(PaymentAttemptRow).where(
            PaymentAttemptRow.payment_id.in_(list(payments))))).all()
        records = (await session.exec(select(DummyGatewayRecordRow).where(
            DummyGatewayRecordRow.key.like("intent:%")))).all()
        sold_orders = (await session.exec(select(OrderLineRow.quantity).join(
            OrderRow, OrderRow.id == OrderLineRow.order_id).where(
            OrderLineRow.product_id == product_id, OrderRow.status == "paid"))).all()
    assert seen.orders and set(orders) == seen.orders
    told = {pid: status.lower() for pid, status in seen.payments.items()}
    assert set(told) <= set(payments)
    assert {pid: payments[pid].status for pid in told} == told
    assert [orders[p.order_id].status for p in payments.values() if p.id in told and told[p.id] == "succeeded"] \
        == ["paid"] * sum(s == "succeeded" for s in told.values())

    # Nothing charged twice: one successful payment an order, one successful authorization a
    # payment, and the gateway charged exactly the payments we hold as succeeded.
    succeeded = [p for p in payments.values() if p.status == "succeeded"]
    assert len({p.order_id for p in succeeded}) == len(succeeded)
    authorized = [a.payment_id for a in attempts if a.kind == "authorize" and a.status == "succeeded"]
    assert len(authorized) == len(set(authorized))
    charged = {json.loads(r.body)["ref"] for r in records if json.loads(r.body)["status"] == "succeeded"}
    assert charged == {p.provider_ref for p in succeeded}

    # Stock: what was sold left it, what is still reserved is within it.
    stock, reserved, sold = await held(db, product_id)
    assert sold == sum(sold_orders) == len(succeeded)
    assert stock == STOCK - sold and reserved + sold <= STOCK

    await assert_ledger_balances(db)
    assert await open_attempts(db) == []
    # The worker's own /metrics counted the questions it asked the gateway about them.
    asked = samples(get_when_up(cluster.worker, "/metrics").text)
    found = sum(v for (name, labels), v in asked.items() if name == "paygate_provider_calls_total"
                and ("operation", "find_authorization") in labels)
    assert found >= (1 if left_open else 0)
    print(f"crash: {len(seen.payments)} payments answered, {seen.cut} requests cut, "
          f"{left_open} attempts left open by the kill, {len(succeeded)} charged")
