"""Liveness and readiness."""
from __future__ import annotations

import httpx

from db.engine import Database
from paygate.app import create_app
from tests.conftest import settings_for, start_server, stop_server


async def test_healthz_and_readyz_answer_ok_when_the_database_answers(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok", "database": "up", "jobs": "up"}


async def test_readyz_answers_503_when_the_database_does_not(caplog):
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"  # nothing listens on port 1
    unreachable = Database.from_url(url)
    server, task, base = await start_server(create_app(settings_for(url), db=unreachable))
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            ready = await http.get("/readyz")
            alive = await http.get("/healthz")
    finally:
        await stop_server(server, task)
        await unreachable.dispose()

    assert ready.status_code == 503 and ready.json()["database"] == "down"
    assert alive.status_code == 200


async def test_metrics_count_requests_by_route_template_not_raw_path(client, shop):
    await client.get("/api/payment/transactions/TXN-DOESNOTEXIST/",
                     headers={"Authorization": f"Bearer {shop.token('customer@example.com')}"})

    text = (await client.get("/metrics")).text

    assert 'route="/api/payment/transactions/{transaction_id}/"' in text
    assert "TXN-DOESNOTEXIST" not in text
    assert "paygate_http_request_duration_seconds_bucket" in text
