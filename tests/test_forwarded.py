"""PAYGATE_FORWARDED_ALLOW_IPS over real HTTP: X-Forwarded-For names the client only when the peer
sending it is a proxy the operator trusts; otherwise the peer's own address keeps its budget."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from paygate.app import create_app
from paygate.settings import Settings
from tests.conftest import settings_for, start_server, stop_server

BUDGET = 3
QUERY = {"query": "{ __typename }"}


@contextlib.asynccontextmanager
async def serving(database_url: str, db, **settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(database_url, rate_limit=f"{BUDGET}/minute", **settings), db=db)
    server, task, url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http
    finally:
        await stop_server(server, task)


async def anonymous_posts(http: httpx.AsyncClient, forwarded_for: str) -> int:
    response = await http.post("/graphql", json=QUERY, headers={"X-Forwarded-For": forwarded_for})
    return response.status_code


async def test_forwarded_for_from_a_peer_nobody_trusts_buys_no_fresh_budget(database_url, db):
    async with serving(database_url, db) as http:
        statuses = [await anonymous_posts(http, f"203.0.113.{n}") for n in range(BUDGET + 1)]

    assert statuses == [200] * BUDGET + [429]


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(database_url, db):
    async with serving(database_url, db, forwarded_allow_ips="10.0.0.1, 127.0.0.1") as http:
        one_client = [await anonymous_posts(http, "203.0.113.7") for _ in range(BUDGET + 1)]
        another = await anonymous_posts(http, "203.0.113.8")

    assert one_client == [200] * BUDGET + [429]
    assert another == 200


async def test_a_proxy_trusted_is_only_the_one_named(database_url, db):
    async with serving(database_url, db, forwarded_allow_ips="10.0.0.1") as http:
        statuses = [await anonymous_posts(http, f"203.0.113.{n}") for n in range(BUDGET + 1)]

    assert statuses == [200] * BUDGET + [429]


def test_no_proxy_is_trusted_unless_named(monkeypatch):
    monkeypatch.delenv("PAYGATE_FORWARDED_ALLOW_IPS", raising=False)

    assert Settings(_env_file=None).trusted_proxies == []
    assert Settings(_env_file=None, forwarded_allow_ips=" 10.0.0.1 ,10.1.0.0/16,").trusted_proxies == [
        "10.0.0.1", "10.1.0.0/16"]
