"""The dummy gateway as several processes see it: one gateway, its records in our database.

Two app instances here are two uvicorn servers on loopback, each with its own engine and its own
`DummyGateway`, sharing one database, as `paygate serve --workers 2` runs.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from db.dummy_gateway import SqlDummyRecords
from db.engine import Database
from domain.cards import CardInput
from domain.money import Money
from domain.payments.provider import AuthorizeRequest, CaptureMethod, Declined, RefundRequest, Succeeded
from paygate.app import create_app
from providers.dummy import DummyGateway
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql
from tests.test_payment_mutations import PAY, REFUND, _checked_out

CUSTOMER, STAFF = "customer@example.com", "staff@example.com"
VISA = CardInput("4242424242424242", 12, 2034, "123")
THREE_D_SECURE = "4000002500003155"
CONFIRM = """mutation($p: ID!) {
  paymentConfirm(input: {paymentId: $p}) { __typename ... on Payment { status } } }"""


def usd(minor: int) -> Money:
    return Money.of(minor, "USD")


@contextlib.asynccontextmanager
async def app_instance(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app with an engine of its own (create_app builds it from the settings and disposes of it)."""
    server, task, url = await start_server(create_app(settings_for(database_url)))
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http
    finally:
        await stop_server(server, task)


@contextlib.asynccontextmanager
async def another_engine(database_url: str) -> AsyncIterator[Database]:
    db = Database.from_url(database_url)
    try:
        yield db
    finally:
        await db.dispose()


async def test_a_dummy_payment_taken_by_one_app_instance_is_refunded_by_another(database_url, db, shop):
    async with app_instance(database_url) as first, app_instance(database_url) as second:
        refunds = []
        for _ in range(3):  # one instance alone would refuse every one of them, not half
            order = await _checked_out(first, shop, quantity=1)
            paid = await gql(first, PAY, {"order": order["id"], "number": VISA.number},
                             token=shop.token(CUSTOMER))
            payment_id = paid["data"]["processPayment"]["id"]
            refunded = await gql(second, REFUND, {"payment": payment_id, "amount": 500},
                                 token=shop.token(STAFF))
            refunds.append(refunded["data"]["refund"])

    assert [(r["__typename"], r.get("status"), r.get("amount")) for r in refunds] == [
        ("Refund", "SUCCEEDED", {"amount": 500, "currency": "USD"})] * 3


async def test_3d_secure_passed_on_one_instance_confirms_a_payment_authorized_on_another(
        database_url, db, shop):
    async with app_instance(database_url) as first, app_instance(database_url) as second:
        order = await _checked_out(first, shop, quantity=1)
        waiting = (await gql(first, PAY, {"order": order["id"], "number": THREE_D_SECURE},
                             token=shop.token(CUSTOMER)))["data"]["processPayment"]
        async with db.engine.connect() as conn:
            ref = (await conn.execute(text("SELECT provider_ref FROM payments"))).scalar_one()
        passed = await second.post(f"/dummy/3ds/{ref}", json={"authenticated": True})
        confirmed = await gql(first, CONFIRM, {"p": waiting["id"]}, token=shop.token(CUSTOMER))

    assert waiting["status"] == "REQUIRES_ACTION"
    assert passed.json() == {"status": "succeeded"}
    assert confirmed["data"]["paymentConfirm"] == {"__typename": "Payment", "status": "SUCCEEDED"}


async def test_concurrent_refunds_through_two_gateways_never_exceed_the_capture(database_url, db):
    async with another_engine(database_url) as other_db:
        gateways = [DummyGateway(SqlDummyRecords(db)), DummyGateway(SqlDummyRecords(other_db))]
        paid = await gateways[0].authorize(
            AuthorizeRequest(usd(100_00), "pay-1", CaptureMethod.AUTOMATIC, card=VISA))

        answers = await asyncio.gather(*(
            gateways[n % 2].refund(RefundRequest(paid.provider_ref, usd(20_00), f"refund-{n}"))
            for n in range(10)))

    assert sum(isinstance(a, Succeeded) for a in answers) == 5
    assert {a.decline_code for a in answers if isinstance(a, Declined)} == {"charge_already_refunded"}


async def test_one_idempotency_key_sent_to_two_gateways_at_once_authorizes_once(database_url, db):
    async with another_engine(database_url) as other_db:
        gateways = [DummyGateway(SqlDummyRecords(db)), DummyGateway(SqlDummyRecords(other_db))]
        request = AuthorizeRequest(usd(10_00), "same-key", CaptureMethod.AUTOMATIC, card=VISA)

        answers = await asyncio.gather(*(gateways[n % 2].authorize(request) for n in range(6)))

    assert len({a.provider_ref for a in answers}) == 1 and isinstance(answers[0], Succeeded)
    assert await _record_count(db, "intent:%") == 1


async def test_the_records_keep_no_card_number(db):
    gateway = DummyGateway(SqlDummyRecords(db))
    numbers = ["4242424242424242", "4000000000000002", THREE_D_SECURE]

    for n, number in enumerate(numbers):
        typed = CardInput(number, 12, 2034, "123")
        await gateway.authorize(AuthorizeRequest(usd(10_00), f"k-{n}", card=typed))

    async with db.engine.connect() as conn:
        stored = repr((await conn.execute(text("SELECT * FROM dummy_gateway_records"))).all())
    assert await _record_count(db, "intent:%") == 3
    assert not any(number in stored for number in numbers)


async def _record_count(db, pattern: str) -> int:
    async with db.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM dummy_gateway_records WHERE key LIKE :p"),
                                   {"p": pattern})).scalar_one()


async def test_the_claims_lax_commit_stays_in_its_own_transaction(db):
    # The claim commits with synchronous_commit off (db/dummy_gateway.py); left on the pooled
    # connection, it would make our own payments' commits lax too.
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no synchronous_commit")
    gateway = DummyGateway(SqlDummyRecords(db))

    for n in range(3):
        assert isinstance(await gateway.authorize(AuthorizeRequest(usd(10_00), f"lax-{n}", card=VISA)), Succeeded)

    async with contextlib.AsyncExitStack() as stack:  # every pooled connection at once
        connections = [await stack.enter_async_context(db.engine.connect()) for _ in range(db.engine.pool.size())]
        settings = {(await c.execute(text("SHOW synchronous_commit"))).scalar_one() for c in connections}
    assert settings == {"on"}
