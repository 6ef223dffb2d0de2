"""bench/'s same-work route for `me` answers the very bytes paygate answers, for the same token
(`make bench` checks it again before measuring; the suite never runs the bench itself)."""
from __future__ import annotations

import httpx
import pytest

from bench import baseline, queries, seed
from tests.conftest import TEST_SECRET, start_server, stop_server


@pytest.fixture
async def baseline_url(database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("the baseline reads with asyncpg: PostgreSQL only")
    monkeypatch.setenv("BENCH_PG_DSN", seed.asyncpg_dsn(database_url))
    monkeypatch.setenv("BENCH_SECRET_KEY", TEST_SECRET)
    server, task, url = await start_server(baseline.create_app())
    yield url
    await stop_server(server, task)


async def test_the_same_work_route_answers_the_bytes_paygate_answers_to_me(client, shop, baseline_url):
    token = shop.token("customer@example.com")
    headers = {"Authorization": f"Bearer {token}"}

    ours = await client.post("/graphql", json={"query": queries.ME}, headers=headers)
    async with httpx.AsyncClient(base_url=baseline_url) as http:
        theirs = await http.post("/me", headers=headers)
        refused = await http.post("/me", headers={"Authorization": f"Bearer {token}x"})

    assert ours.status_code == theirs.status_code == 200
    assert theirs.content == ours.content
    assert b'"customer@example.com"' in theirs.content
    assert refused.status_code == 401  # the token is verified, not just decoded
