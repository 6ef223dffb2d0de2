"""The concurrency guarantees with paygate run as in production: two `paygate serve` processes and a
`paygate worker` on PostgreSQL with Redis, every request over HTTP, spread over both processes.
No in-process lock can help here: only the database's rows and constraints keep the promises.

  stock          checkouts racing for the last units never sell more than there is
  refunds        refunds racing on one payment never give back more than was captured
  webhooks       one event delivered 20 times at once acts once
  idempotency    one Idempotency-Key sent to both processes at once runs once, and replays

The crash test (kill -9 mid-burst) is in tests/test_crash.py; both share the cluster below.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from itertools import cycle

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from db.engine import Database
from db.payment_tables import PaymentAttemptRow, PaymentRow, WebhookEventRow
from db.tables import AddressRow, OrderRow, ProductRow, StockReservationRow, UserRow
from gql.schema.relay import from_global_id
from tests.cluster import GATEWAY_SECRET, Cluster, fresh_database
from tests.conftest import IN_CI, PG_URL, REDIS_URL, _postgres_answers
from tests.payments_fixtures import assert_ledger_balances

pytestmark = pytest.mark.postgres

SET_ITEM = """mutation($p: ID!, $q: Int!) {
  cartSetItem(input: {productId: $p, quantity: $q}) { __typename ... on Error { code } } }"""
CHECKOUT = """mutation { checkout { __typename
  ... on CheckoutSuccess { order { id legacyId total { decimal } } } ... on Error { code } } }"""
PAY = """mutation($order: ID!) {
  processPayment(input: {orderId: $order, card: {number: "4242424242424242", expMonth: 12, expYear: 2034,
                                                 cvc: "123"}}) {
    __typename ... on Payment { id status } ... on Error { code } } }"""
REFUND = """mutation($p: ID!, $amount: MinorUnits) {
  refund(input: {paymentId: $p, amount: $amount, reason: "race"}) {
    __typename ... on Refund { status } ... on Error { code } } }"""
ADDRESS = """mutation($input: AddressInput!) { addressCreate(input: $input) {
  __typename ... on Address { legacyId } ... on Error { code } } }"""
PRODUCT = "query { products(first: 50) { edges { node { id sku } } } }"


async def _redis_problem(url: str) -> str | None:
    import redis.asyncio as redis

    client = redis.from_url(url, socket_connect_timeout=3)
    try:
        await client.ping()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()


async def required_services() -> None:
    """PostgreSQL and Redis must answer; with CI=true this fails instead of skipping."""
    problems = [p for p in (await _postgres_answers(PG_URL), await _redis_problem(REDIS_URL)) if p]
    if problems:
        message = f"the multi-process tests need PostgreSQL and Redis: {'; '.join(problems)}"
        if IN_CI:
            pytest.fail(message + " (CI=true: they must run)")
        pytest.skip(message)


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory) -> AsyncIterator[Cluster]:
    await required_services()
    url = await fresh_database(PG_URL, "procs")
    cluster = Cluster(url, REDIS_URL, tmp_path_factory.mktemp("cluster"))
    cluster.run("migrate")
    cluster.run("demo")
    cluster.start_apps(2)
    cluster.start_worker()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
async def database(cluster) -> AsyncIterator[Database]:
    db = Database.from_url(cluster.database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def clients(cluster) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per app process; no kept-alive connections, so nothing sticks to one process."""
    limits = httpx.Limits(max_keepalive_connections=0)
    made = [httpx.AsyncClient(base_url=url, timeout=30, limits=limits) for url in cluster.urls()]
    yield made
    await asyncio.gather(*(client.aclose() for client in made))


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, *,
              token: str | None = None, headers: dict | None = None) -> httpx.Response:
    sent = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": query, "variables": variables or {}},
                             headers=sent | (headers or {}))


def answer(response: httpx.Response, name: str) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body  # never an internal error, whichever process answered
    return body["data"][name]


async def customers(db: Database, cluster: Cluster, prefix: str, count: int) -> list[str]:
    async with db.write_sessions() as session, session.begin():
        users = [UserRow(email=f"{prefix}{n}@example.com", name=f"{prefix} {n}", roles="customer")
                 for n in range(count)]
        session.add_all(users)
        await session.flush()
        return [cluster.tokens.issue(u.id, u.email, ["customer"]) for u in users]


async def staff_token(db: Database, cluster: Cluster) -> str:
    async with db.read_sessions() as session:
        staff = (await session.exec(select(UserRow).where(UserRow.email == "staff@example.com"))).one()
    return cluster.tokens.issue(staff.id, staff.email, ["staff"])


async def stock_product(db: Database, sku: str, stock: int) -> int:
    async with db.write_sessions() as session, session.begin():
        product = (await session.exec(select(ProductRow).where(ProductRow.sku == sku))).one()
        product.stock = stock
        session.add(product)
        return product.id


async def product_global_id(client: httpx.AsyncClient, sku: str) -> str:
    edges = answer(await gql(client, PRODUCT), "products")["edges"]
    return next(e["node"]["id"] for e in edges if e["node"]["sku"] == sku)


async def held(db: Database, product_id: int) -> tuple[int, int, int]:
    """A product's stock (what is not sold yet), units reserved by unpaid orders, and units sold."""
    async with db.read_sessions() as session:
        stock = (await session.get(ProductRow, product_id)).stock

        async def units(state: str) -> int:
            return (await session.exec(select(func.coalesce(func.sum(StockReservationRow.quantity), 0)).where(
                StockReservationRow.product_id == product_id, StockReservationRow.state == state))).one()

        return stock, await units("active"), await units("committed")


def spread(clients: list[httpx.AsyncClient]) -> Iterator[httpx.AsyncClient]:
    return cycle(clients)


async def test_checkouts_racing_for_the_last_units_on_two_processes_never_oversell(cluster, database, clients):
    stock = 12
    product_id = await stock_product(database, "SAM-KNIFE-01", stock)
    product = await product_global_id(clients[0], "SAM-KNIFE-01")
    shoppers = await customers(database, cluster, "stock", 20)
    # Each shopper's cart is filled first: the race is the checkouts, each asking for 1 unit.
    for token, client in zip(shoppers, spread(clients), strict=False):
        assert answer(await gql(client, SET_ITEM, {"p": product, "q": 1}, token=token),
                      "cartSetItem")["__typename"] == "Cart"

    checkouts = await asyncio.gather(*(gql(client, CHECKOUT, token=token)
                                       for token, client in zip(shoppers, spread(clients), strict=False)))

    kinds = [answer(r, "checkout")["__typename"] for r in checkouts]
    assert set(kinds) <= {"CheckoutSuccess", "InsufficientStock"}
    assert kinds.count("CheckoutSuccess") == stock
    assert await held(database, product_id) == (stock, stock, 0)  # all reserved, none sold yet


async def test_refunds_racing_on_one_payment_through_two_processes_never_exceed_the_capture(
        cluster, database, clients):
    [token] = await customers(database, cluster, "refunds", 1)
    staff = await staff_token(database, cluster)
    mug = await product_global_id(clients[0], "SAM-MUG-01")
    await gql(clients[0], SET_ITEM, {"p": mug, "q": 2}, token=token)
    order = answer(await gql(clients[1], CHECKOUT, token=token), "checkout")["order"]
    paid = answer(await gql(clients[0], PAY, {"order": order["id"]}, token=token), "processPayment")
    assert paid["status"] == "SUCCEEDED"

    refunds = await asyncio.gather(*(gql(client, REFUND, {"p": paid["id"], "amount": 300}, token=staff)
                                     for client, _ in zip(spread(clients), range(20), strict=False)))

    kinds = [answer(r, "refund")["__typename"] for r in refunds]
    # 2 × 14.99 captured: nine refunds of 3.00 fit, a tenth would not.
    assert kinds.count("Refund") == 9 and kinds.count("RefundExceedsCaptured") == 11
    _, payment_id = from_global_id(paid["id"])
    async with database.read_sessions() as session:
        payment = await session.get(PaymentRow, payment_id)
    assert (payment.captured_minor, payment.refunded_minor) == (2998, 2700)
    await assert_ledger_balances(database)


def _signed(body: dict) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json",
                 "X-Webhook-Signature": hmac.new(GATEWAY_SECRET.encode(), raw, hashlib.sha256).hexdigest()}


async def test_one_webhook_delivered_20_times_at_once_to_two_processes_acts_once(cluster, database, clients):
    [token] = await customers(database, cluster, "webhook", 1)
    note = await product_global_id(clients[0], "SORA-NOTE-01")
    await gql(clients[0], SET_ITEM, {"p": note, "q": 1}, token=token)
    order = answer(await gql(clients[1], CHECKOUT, token=token), "checkout")["order"]
    event = {"event_type": "payment.completed", "payment_id": "txn_cluster_1", "status": "completed",
             "order_reference": str(order["legacyId"]), "amount": order["total"]["decimal"]}
    raw, headers = _signed(event)

    deliveries = await asyncio.gather(*(client.post("/orders/api/payment-webhook/", content=raw, headers=headers)
                                        for client, _ in zip(spread(clients), range(20), strict=False)))

    assert [r.status_code for r in deliveries] == [200] * 20
    async with database.read_sessions() as session:
        payments = (await session.exec(select(PaymentRow).where(PaymentRow.order_id == order["legacyId"]))).all()
        attempts = (await session.exec(select(PaymentAttemptRow).where(
            PaymentAttemptRow.payment_id.in_([p.id for p in payments])))).all()
        events = (await session.exec(select(WebhookEventRow).where(
            WebhookEventRow.object_ref == "txn_cluster_1"))).all()
        status = (await session.get(OrderRow, order["legacyId"])).status
    assert [(p.status, p.captured_minor) for p in payments] == [("succeeded", 1299)]
    assert [(a.kind, a.status) for a in attempts] == [("authorize", "succeeded")]
    assert [e.state for e in events] == ["processed"] and status == "paid"
    await assert_ledger_balances(database)


async def test_one_idempotency_key_sent_to_both_processes_at_once_runs_once_and_replays(
        cluster, database, clients):
    [token] = await customers(database, cluster, "idempotent", 1)
    body = json.dumps({"query": ADDRESS, "variables": {"input": {
        "name": "Ada", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}}})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}",
               "Idempotency-Key": "cluster-address-1"}

    racing = await asyncio.gather(*(client.post("/graphql", content=body, headers=headers)
                                    for client, _ in zip(spread(clients), range(10), strict=False)))
    later = [await client.post("/graphql", content=body, headers=headers) for client in clients]

    originals = [r for r in racing if r.status_code == 200 and "idempotent-replayed" not in r.headers]
    replays = [r for r in racing + later if r.headers.get("idempotent-replayed") == "true"]
    refused = [r for r in racing if r.status_code == 409]
    assert len(originals) == 1 and len(originals) + len(replays) + len(refused) == 12
    assert all(r.content == originals[0].content for r in replays) and len(later) == 2
    async with database.read_sessions() as session:
        user = (await session.exec(select(UserRow).where(UserRow.email == "idempotent0@example.com"))).one()
        addresses = (await session.exec(select(func.count()).select_from(AddressRow).where(
            AddressRow.user_id == user.id))).one()
    assert addresses == 1
