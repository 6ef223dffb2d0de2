"""RATE_LIMIT over real HTTP: who shares a budget, what a refusal looks like on each surface, what is
never counted, and one budget across two app processes through Redis.

Every test serves the app with a budget of 5 a minute, so the sixth request is the first refused.
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest

from paygate.app import create_app
from paygate.ratelimit import LocalCounter, RateLimitMiddleware, parse_rate, throttled_body
from rest_compat import shape_for
from rest_compat.errors import Shape
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import Shop
from tests.test_idempotency import key_rows

BUDGET = 5
RATE = f"{BUDGET}/minute"
QUERY = {"query": "{ __typename }"}
CUSTOMER = "customer@example.com"
CUSTOMER2 = "customer2@example.com"
THROTTLED = re.compile(r"Request was throttled\. Expected available in (\d+) seconds?\.")


@contextlib.asynccontextmanager
async def serving(database_url: str, db, rate: str = RATE, redis_url: str | None = None
                  ) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(database_url, redis_url=redis_url).model_copy(update={"rate_limit": rate})
    server, task, url = await start_server(create_app(settings, db=db))
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http
    finally:
        await stop_server(server, task)


@pytest.fixture
async def limited(database_url, db) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(database_url, db) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def spend(http: httpx.AsyncClient, n: int, method: str = "POST", path: str = "/graphql",
                headers: dict[str, str] | None = None) -> list[int]:
    statuses = []
    for _ in range(n):
        response = await http.request(method, path, json=QUERY if method == "POST" else None, headers=headers)
        statuses.append(response.status_code)
    return statuses


def retry_after_of(response: httpx.Response, message: str) -> int:
    """The Retry-After header, checked against the seconds the message states."""
    seconds = int(response.headers["retry-after"])
    match = THROTTLED.fullmatch(message)
    assert match and int(match.group(1)) == seconds, message
    assert 1 <= seconds <= 60
    return seconds


async def test_the_sixth_graphql_request_of_a_user_is_refused_with_429_retry_after_and_a_graphql_error(
        limited, shop: Shop):
    headers = bearer(shop.token(CUSTOMER))

    admitted = await spend(limited, BUDGET, headers=headers)
    refused = await limited.post("/graphql", json=QUERY, headers=headers)

    assert admitted == [200] * BUDGET
    assert refused.status_code == 429 and refused.headers["content-type"] == "application/json"
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == retry_after_of(refused, error["message"])


@pytest.mark.parametrize(("path", "key"), [
    ("/orders/api/payments/", "detail"),      # seed 001
    ("/api/payment/transactions/", "detail"),  # seed 004
    ("/payments/methods", "detail"),           # seed 003
    ("/api/payments/stripe/account/", "error"),  # seed 000
    ("/api/v1/payments/customers/", "error"),    # seed 002
])
async def test_a_refused_rest_request_answers_in_its_seeds_error_shape(limited, shop: Shop, path, key):
    headers = bearer(shop.token(CUSTOMER))

    admitted = await spend(limited, BUDGET, "GET", path, headers)
    refused = await limited.get(path, headers=headers)

    assert 429 not in admitted
    assert refused.status_code == 429 and set(refused.json()) == {key}
    retry_after_of(refused, refused.json()[key])


async def test_every_surface_of_one_user_draws_on_one_budget(limited, shop: Shop):
    headers = bearer(shop.token(CUSTOMER))

    await spend(limited, BUDGET - 1, headers=headers)
    last = await limited.get("/orders/api/payments/", headers=headers)
    refused = await limited.post("/graphql", json=QUERY, headers=headers)

    assert last.status_code != 429 and refused.status_code == 429


async def test_two_users_have_separate_budgets(limited, shop: Shop):
    first, second = bearer(shop.token(CUSTOMER)), bearer(shop.token(CUSTOMER2))

    await spend(limited, BUDGET + 1, headers=first)
    others = await spend(limited, BUDGET, headers=second)
    refused = await limited.post("/graphql", json=QUERY, headers=second)

    assert others == [200] * BUDGET and refused.status_code == 429


async def test_anonymous_callers_are_limited_by_address_and_a_user_there_keeps_their_budget(
        limited, shop: Shop):
    admitted = await spend(limited, BUDGET)
    refused = await limited.post("/graphql", json=QUERY)
    user = await limited.post("/graphql", json=QUERY, headers=bearer(shop.token(CUSTOMER)))

    assert admitted == [200] * BUDGET and refused.status_code == 429
    assert user.status_code == 200


async def test_a_token_that_cannot_be_trusted_counts_against_its_address(limited, shop: Shop):
    forged = bearer(shop.token(CUSTOMER) + "tampered")

    await spend(limited, BUDGET)
    refused = await limited.post("/graphql", json=QUERY, headers=forged)

    assert refused.status_code == 429


async def test_probes_metrics_and_the_openapi_document_are_never_counted(limited):
    await spend(limited, BUDGET + 1)

    answers = [await limited.get(path) for path in ("/healthz", "/readyz", "/openapi.json", "/metrics")
               for _ in range(BUDGET)]

    assert 429 not in {a.status_code for a in answers}
    assert {a.status_code for a in answers[:3 * BUDGET]} == {200}


async def test_the_dashboards_static_files_are_never_counted(limited):
    page = await limited.get("/admin/")
    assets = ["/admin/assets/" + name for name in sorted(set(re.findall(r'(?:src|href)="assets/([^"]+)"', page.text)))]
    await spend(limited, BUDGET - 2)

    answers = [await limited.get(path) for path in assets * 2]
    last = await limited.post("/graphql", json=QUERY)

    assert len(assets) >= 3 and {a.status_code for a in answers} == {200}
    assert last.status_code == 200  # the page and four queries: the budget of five
    assert (await limited.post("/graphql", json=QUERY)).status_code == 429


async def test_webhooks_have_a_budget_of_their_own_per_address_ten_times_larger(database_url, db):
    webhook = "/orders/api/payment-webhook/"

    async with serving(database_url, db, rate="1/minute") as http:
        await spend(http, 2)  # the address's own budget is gone
        delivered = [await http.post(webhook, content=b"{}") for _ in range(10)]
        refused = await http.post(webhook, content=b"{}")

    assert 429 not in {d.status_code for d in delivered}
    assert refused.status_code == 429 and set(refused.json()) == {"detail"}


async def test_a_refused_post_claims_no_idempotency_key(limited, db, shop: Shop):
    headers = bearer(shop.token(CUSTOMER))
    await spend(limited, BUDGET, headers=headers)

    refused = await limited.post("/graphql", json=QUERY, headers={**headers, "Idempotency-Key": "k-1"})

    assert refused.status_code == 429
    assert await key_rows(db) == []


async def test_off_disables_the_limit(database_url, db):
    async with serving(database_url, db, rate="off") as http:
        statuses = await spend(http, 4 * BUDGET)

    assert statuses == [200] * (4 * BUDGET)


async def test_two_app_processes_share_one_budget_per_user_through_redis(database_url, db, shop: Shop,
                                                                          redis_url):
    headers = bearer(shop.token(CUSTOMER))

    async with serving(database_url, db, redis_url=redis_url) as first, \
            serving(database_url, db, redis_url=redis_url) as second:
        on_first = await spend(first, 3, headers=headers)
        on_second = await spend(second, BUDGET - 3, headers=headers)
        refused = [await first.post("/graphql", json=QUERY, headers=headers),
                   await second.post("/graphql", json=QUERY, headers=headers)]
        other_user = await second.post("/graphql", json=QUERY, headers=bearer(shop.token(CUSTOMER2)))

    assert on_first + on_second == [200] * BUDGET
    assert [r.status_code for r in refused] == [429, 429]
    assert other_user.status_code == 200


# The layer on its own, without a server.

async def _answer_ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _call(layer, user_id: int = 1) -> int:
    sent: list[dict] = []

    async def send(message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": [], "client": ("10.0.0.1", 1),
             "state": {"actor": SimpleNamespace(user_id=user_id)}}
    await layer(scope, None, send)
    return sent[0]["status"]


async def test_requests_pass_uncounted_and_the_failure_is_logged_while_redis_does_not_answer(caplog):
    layer = RateLimitMiddleware(_answer_ok, limit=parse_rate("1/minute"), redis_url="redis://127.0.0.1:1/0")

    with caplog.at_level(logging.WARNING, logger="paygate.ratelimit"):
        statuses = [await _call(layer) for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert layer.counter.failing_until > time.monotonic()
    assert [r.message for r in caplog.records].count(
        "rate limit storage failed: requests pass uncounted for 5.0 s") == 1
    await layer.counter.close()


async def test_the_in_process_window_moves_and_retry_after_is_when_its_oldest_request_leaves():
    now = [1000.0]
    counter = LocalCounter(clock=lambda: now[0])
    limit = parse_rate("2/minute")

    answers = []
    for at in (0, 10, 30, 59.5, 60, 65, 70):
        now[0] = 1000.0 + at
        answers.append(await counter.hit(limit, "user:1"))

    assert answers == [None, None, 30, 1, None, 5, None]


async def test_the_in_process_counter_keeps_each_client_apart_and_forgets_idle_ones():
    now = [0.0]
    counter = LocalCounter(clock=lambda: now[0])
    limit = parse_rate("1/minute")

    first = [await counter.hit(limit, "user:1"), await counter.hit(limit, "user:1"),
             await counter.hit(limit, "user:2")]
    now[0] = 120.0
    later = await counter.hit(limit, "user:3")

    assert first == [None, 60, None] and later is None
    assert set(counter.hits) == {"user:3"}


@pytest.mark.parametrize(("text", "amount", "seconds"), [
    ("120/minute", 120, 60), ("10 per second", 10, 1), ("1000/2 hours", 1000, 7200), ("5/MINUTE", 5, 60)])
def test_rate_limit_settings_read_as_one_rate(text, amount, seconds):
    limit = parse_rate(text)

    assert (limit.amount, limit.get_expiry()) == (amount, seconds)


@pytest.mark.parametrize("text", ["off", "OFF", " off "])
def test_off_reads_as_no_limit(text):
    assert parse_rate(text) is None


@pytest.mark.parametrize("text", ["120", "many/minute", "1/second; 5/minute", "0/minute", ""])
def test_a_rate_limit_setting_that_is_not_one_rate_is_refused(text):
    with pytest.raises(ValueError, match="PAYGATE_RATE_LIMIT"):
        parse_rate(text)


@pytest.mark.parametrize(("path", "shape"), [
    ("/api/payments/orders/1/cancel/", Shape.ERROR),
    ("/api/payments/stripe_webhook/", Shape.ERROR),
    ("/api/v1/payments/paypal/orders/", Shape.ERROR),
    ("/api/payment/refund/", Shape.DETAIL),
    ("/orders/api/payments/", Shape.DETAIL),
    ("/payments/process", Shape.DETAIL),
    ("/dummy/3ds/pi_1", Shape.DETAIL),
])
def test_each_seed_path_answers_a_refusal_in_its_seeds_shape(path, shape):
    assert shape_for(path) is shape
    assert json.loads(throttled_body(path, 3)) == {shape.value: "Request was throttled. Expected available in 3 seconds."}


def test_graphql_answers_a_refusal_as_a_rate_limited_error():
    body = json.loads(throttled_body("/graphql", 3))

    assert body["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 3}


def test_a_refusal_of_one_second_says_second():
    assert throttled_body("/api/payment/refund/", 1) == (
        b'{"detail": "Request was throttled. Expected available in 1 second."}')
