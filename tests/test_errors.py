"""A client never sees a stack trace; the log always has it, with the request id."""
from __future__ import annotations

import logging

import httpx
import pytest
from sqlmodel import select

from db.engine import Database
from db.tables import AuditRow
from paygate.app import create_app
from tests.conftest import settings_for, start_server, stop_server
from tests.payments_fixtures import order_for


async def test_a_route_that_raises_answers_500_with_a_plain_error_and_logs_the_trace(client, caplog):
    caplog.set_level(logging.ERROR, logger="paygate.http")

    response = await client.get("/_test/boom", headers={"X-Request-Id": "trace-me-123"})

    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error"}
    assert "secret detail" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "trace-me-123"
    logged = [r for r in caplog.records if r.name == "paygate.http" and r.exc_info]
    assert logged and "DeliberateFailure" in logging.Formatter().formatException(logged[0].exc_info)


async def test_a_resolver_that_fails_unexpectedly_is_masked_for_the_client(tmp_path, caplog):
    # A database with no tables: every query fails inside the resolver with a driver error whose
    # text (table names, SQL) must not reach the client.
    caplog.set_level(logging.ERROR, logger="paygate.graphql")
    broken = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    app = create_app(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"), db=broken)
    server, task, url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.post("/graphql", json={"query": "{ products { totalCount } }"})
    finally:
        await stop_server(server, task)
        await broken.dispose()

    body = response.json()
    assert body["errors"][0]["message"] == "Internal server error"
    assert "products" not in body["errors"][0]["message"] and "SELECT" not in response.text
    assert any(r.exc_info for r in caplog.records if r.name == "paygate.graphql")


async def test_every_response_carries_a_request_id(client):
    response = await client.get("/healthz")

    assert len(response.headers["x-request-id"]) == 32


@pytest.mark.parametrize("incoming", ["4242 4242 4242 4242", "4242-4242-4242-4242", "4242424242424242", "x" * 65,
                                      "tab\there"])
async def test_a_request_id_that_is_a_card_number_or_unfit_is_replaced_and_only_the_new_one_is_kept(
        client, db, shop, incoming):
    # Seed 004's create-intent writes an audit record carrying the request id.
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    response = await client.post("/api/payment/create-intent/", json={"order_id": order.id},
                                 headers={"X-Request-Id": incoming,
                                          "Authorization": f"Bearer {shop.token('customer@example.com')}"})

    assert response.status_code == 200, response.text
    replaced = response.headers["x-request-id"]
    assert replaced != incoming and len(replaced) == 32
    async with db.read_sessions() as session:
        kept = (await session.exec(select(AuditRow.request_id).where(AuditRow.action == "payment.create"))).all()
    assert kept == [replaced]


async def test_a_plain_request_id_is_kept_as_sent(client, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    response = await client.post("/api/payment/create-intent/", json={"order_id": order.id},
                                 headers={"X-Request-Id": "trace-4242",
                                          "Authorization": f"Bearer {shop.token('customer@example.com')}"})

    async with db.read_sessions() as session:
        kept = (await session.exec(select(AuditRow.request_id).where(AuditRow.action == "payment.create"))).all()
    assert response.headers["x-request-id"] == "trace-4242" and kept == ["trace-4242"]
