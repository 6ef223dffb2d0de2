"""GET /metrics and GET /readyz on a real server: what an operator's Prometheus scrapes.

Counters are process-wide, so each test reads them before and after what it does and checks the
difference.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from db.migrate import upgrade
from db.uow import SqlUnitOfWork
from domain.outgoing_webhooks.delivery import SendRequest
from paygate.app import create_app
from paygate.metrics import QueueStat
from paygate.readiness import Check, JobsRunning
from paygate.webhook_metrics import MeasuredWebhookSender
from paygate.webhook_sender import HttpxWebhookSender
from tests.conftest import REDIS_URL, settings_for, start_server, stop_server
from tests.graphql import gql
from tests.test_payment_mutations import PAN, PAY, REFUND, _checked_out
from tests.test_serve import _free_port
from tests.webhook_receiver import Receiver

SECRET = "metrics-gateway-secret"
WEBHOOK = "/orders/api/payment-webhook/"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient) -> dict:
    response = await http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


@pytest.fixture(scope="module")
async def app_url(database_url, shared_db) -> AsyncIterator[str]:
    app = create_app(settings_for(database_url, gateway_webhook_secret=SECRET), db=shared_db)
    server, task, url = await start_server(app)
    yield url
    await stop_server(server, task)


@pytest.fixture
async def http(app_url, db) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
        yield client


async def test_graphql_operations_are_timed_by_their_name_and_type(http, shop):
    before = await scrape(http)

    await gql(http, "query WhoAmI { me { email } }", token=shop.token("customer@example.com"))
    await gql(http, "query Broken { noSuchField }")
    await gql(http, "{ me { email } }", token=shop.token("customer@example.com"))

    after = await scrape(http)
    name = "paygate_graphql_operation_duration_seconds_count"
    assert value(after, name, type="query", operation="WhoAmI", outcome="ok") == \
        value(before, name, type="query", operation="WhoAmI", outcome="ok") + 1
    # An invalid document's name is not a label value: clients could make up any number of them.
    assert value(after, name, type="invalid", operation="anonymous", outcome="error") == \
        value(before, name, type="invalid", operation="anonymous", outcome="error") + 1
    assert not [key for key in after if ("operation", "Broken") in key[1]]
    assert value(after, name, type="query", operation="anonymous", outcome="ok") == \
        value(before, name, type="query", operation="anonymous", outcome="ok") + 1


async def test_payments_refunds_and_provider_calls_are_counted_by_provider_and_status(http, shop):
    customer, staff = shop.token("customer@example.com"), shop.token("staff@example.com")
    before = await scrape(http)

    paid = await gql(http, PAY, {"order": (await _checked_out(http, shop))["id"], "number": PAN}, token=customer)
    declined = await gql(http, PAY, {"order": (await _checked_out(http, shop))["id"],
                                     "number": "4000000000000002"}, token=customer)
    refund = await gql(http, REFUND, {"payment": paid["data"]["processPayment"]["id"], "amount": 100}, token=staff)

    after = await scrape(http)
    assert paid["data"]["processPayment"]["__typename"] == "Payment"
    assert declined["data"]["processPayment"]["__typename"] == "PaymentDeclined"
    assert refund["data"]["refund"]["status"] == "SUCCEEDED"

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("paygate_payments_total", provider="dummy", status="succeeded") == 1
    assert grew("paygate_payments_total", provider="dummy", status="declined") == 1
    assert grew("paygate_refunds_total", provider="dummy", status="succeeded") == 1
    assert grew("paygate_provider_calls_total", provider="dummy", operation="authorize", outcome="succeeded") == 1
    assert grew("paygate_provider_call_duration_seconds_count", provider="dummy", operation="refund") == 1
    assert value(after, "paygate_provider_call_duration_seconds_sum", provider="dummy", operation="authorize") > 0


async def test_requests_are_timed_by_route_template_never_by_raw_path(http, shop):
    await http.get("/api/payment/transactions/TXN-DOESNOTEXIST/",
                   headers={"Authorization": f"Bearer {shop.token('customer@example.com')}"})

    text = (await http.get("/metrics")).text

    assert 'route="/api/payment/transactions/{transaction_id}/"' in text
    assert "TXN-DOESNOTEXIST" not in text


def _signed(body: dict, secret: str = SECRET) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json",
                 "X-Webhook-Signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()}


async def test_incoming_webhooks_are_counted_by_outcome_and_their_lag_measured(http):
    sent = datetime.now(UTC) - timedelta(seconds=90)
    event = {"event_type": "payment.noticed", "payment_id": "txn_metrics_1",
             "timestamp": sent.isoformat().replace("+00:00", "Z")}
    before = await scrape(http)

    raw, headers = _signed(event)
    accepted = await http.post(WEBHOOK, content=raw, headers=headers)
    forged_raw, forged = _signed(event | {"timestamp": "2001-01-01T00:00:00Z"}, "not-the-secret")
    refused = await http.post(WEBHOOK, content=forged_raw, headers=forged)

    after = await scrape(http)
    assert (accepted.status_code, refused.status_code) == (200, 400)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("paygate_webhooks_received_total", provider="online", outcome="accepted") == 1
    assert grew("paygate_webhooks_received_total", provider="online", outcome="refused") == 1
    # One lag observed (the forged event's timestamp is never believed), between 60 s and 300 s.
    assert grew("paygate_webhook_lag_seconds_count", provider="online") == 1
    assert grew("paygate_webhook_lag_seconds_bucket", provider="online", le="60.0") == 0
    assert grew("paygate_webhook_lag_seconds_bucket", provider="online", le="300.0") == 1


async def test_the_pool_gauge_counts_connections_out_and_back(database_url):
    app = create_app(settings_for(database_url))  # its own database, watched
    server, task, url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(3):
                assert (await http.get("/readyz")).status_code == 200
            scraped = await scrape(http)
    finally:
        await stop_server(server, task)

    # Every connection checked out by the readiness checks went back.
    assert value(scraped, "paygate_db_pool_connections_in_use") == 0
    assert ("paygate_db_pool_size", frozenset()) in scraped


async def test_the_job_queue_is_read_at_scrape_time_by_job_and_state(http, db):
    uow = SqlUnitOfWork(db)
    async with uow:
        await uow.jobs.defer("reconcile-payment", {"payment_id": 1}, key="metrics-due")
        await uow.jobs.defer("reconcile-payment", {"payment_id": 2}, key="metrics-later", delay_s=3600)
        await uow.jobs.defer("deliver-webhook", {"delivery_id": 3}, key="metrics-webhook", delay_s=3600)
        await uow.commit()

    scraped = await scrape(http)  # nothing works this queue off: the test's app runs no jobs

    assert value(scraped, "paygate_job_queue_depth", job="reconcile-payment", state="due") == 1
    assert value(scraped, "paygate_job_queue_depth", job="reconcile-payment", state="scheduled") == 1
    assert value(scraped, "paygate_job_queue_depth", job="deliver-webhook", state="scheduled") == 1
    assert 0 <= value(scraped, "paygate_job_queue_oldest_age_seconds", job="reconcile-payment", state="due") < 60


async def test_the_job_queue_hook_is_reported_at_scrape_time_and_a_failing_one_spoils_nothing(database_url,
                                                                                             shared_db):
    stats = [QueueStat("send-email", "due", 7, 42.5), QueueStat("send-email", "failed", 1, 3600.0)]

    async def queue_probe():
        return stats

    async def broken_probe():
        raise RuntimeError("the job engine's table is gone")

    scraped = []
    for probe in (queue_probe, broken_probe):
        app = create_app(settings_for(database_url), db=shared_db, queue_probe=probe)
        server, task, url = await start_server(app)
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                scraped.append(await scrape(http))
        finally:
            await stop_server(server, task)

    working, broken = scraped
    assert value(working, "paygate_job_queue_depth", job="send-email", state="due") == 7
    assert value(working, "paygate_job_queue_oldest_age_seconds", job="send-email", state="failed") == 3600.0
    assert not [key for key in broken if key[0].startswith("paygate_job_queue")]
    assert [key for key in broken if key[0] == "paygate_http_requests_total"]


async def _ready(app) -> httpx.Response:
    server, task, url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            return await http.get("/readyz")
    finally:
        await stop_server(server, task)


async def test_readyz_names_redis_when_it_is_configured_and_answers(database_url, shared_db):
    response = await _ready(create_app(settings_for(database_url, redis_url=REDIS_URL), db=shared_db))

    assert (response.status_code, response.json()) == (
        200, {"status": "ok", "database": "up", "redis": "up", "jobs": "up"})


async def test_readyz_says_503_and_which_dependency_is_down(database_url, shared_db):
    nothing_there = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = await _ready(create_app(settings_for(database_url, redis_url=nothing_there), db=shared_db))

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "up", "redis": "down", "jobs": "up"}


async def test_readyz_reports_a_job_engine_check_it_is_given(database_url, shared_db):
    async def engine_down() -> None:
        raise ConnectionError("no worker has taken a job for 10 minutes")

    async def database() -> None:
        await shared_db.ping()

    checks = [Check("database", database), Check("jobs", engine_down)]
    response = await _ready(create_app(settings_for(database_url), db=shared_db, readiness=checks))

    assert (response.status_code, response.json()) == (
        503, {"status": "unavailable", "database": "up", "jobs": "down"})


async def test_readyz_says_jobs_are_down_once_a_process_s_own_job_engine_has_stopped(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'paygate.db'}"
    await asyncio.to_thread(upgrade, url)
    app = create_app(settings_for(url), run_jobs=True)  # as `paygate serve` on SQLite
    server, task, base = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            running = await http.get("/readyz")
    finally:
        await stop_server(server, task)

    async def crashed() -> None:
        raise OSError("disk full")

    engine = JobsRunning()
    engine.task = asyncio.create_task(crashed())
    await asyncio.wait([engine.task])

    assert (running.status_code, running.json()) == (200, {"status": "ok", "database": "up", "jobs": "up"})
    with pytest.raises(RuntimeError, match="disk full"):
        await engine()


async def test_outgoing_webhooks_are_counted_by_outcome_and_their_lag_measured(http):
    receiver = Receiver(answer=lambda got: 500 if got.data["id"] == "refused" else 204)
    server, task, receiver.url = await start_server(receiver.app())
    sender = MeasuredWebhookSender(HttpxWebhookSender(timeout_s=5, connect_timeout_s=1))
    made = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()

    def delivery(object_id: str, url: str) -> SendRequest:
        body = json.dumps({"type": "payment.succeeded", "timestamp": made, "data": {"id": object_id}})
        return SendRequest(url, ("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",), f"msg_{object_id}", body)

    before = await scrape(http)
    try:
        results = [await sender.send(delivery("ok", receiver.url + "/hook")),
                   await sender.send(delivery("refused", receiver.url + "/hook")),
                   await sender.send(delivery("nobody", f"http://127.0.0.1:{_free_port()}/hook"))]
    finally:
        await sender.close()
        await stop_server(server, task)
    after = await scrape(http)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert [r.status_code for r in results] == [204, 500, None]
    for outcome in ("delivered", "refused", "unreachable"):
        assert grew("paygate_webhook_deliveries_total", type="payment.succeeded", outcome=outcome) == 1
    assert grew("paygate_webhook_delivery_duration_seconds_count") == 3
    # Only the delivered one has a lag: 30 s after its event.
    assert grew("paygate_webhook_delivery_lag_seconds_bucket", type="payment.succeeded", le="15.0") == 0
    assert grew("paygate_webhook_delivery_lag_seconds_bucket", type="payment.succeeded", le="60.0") == 1
