"""A client never sees a stack trace; the log always has it, with the request id."""
from __future__ import annotations

import logging

import httpx

from db.engine import Database
from paygate.app import create_app
from tests.conftest import settings_for, start_server, stop_server


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
