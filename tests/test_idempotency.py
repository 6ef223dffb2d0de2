"""The Idempotency-Key header over real HTTP, on SQLite and PostgreSQL: what runs, what is kept, what
is replayed. Every test checks the rows, not only the answers.

Besides the session's server, some tests serve the app with routes of their own (`own`): one that
waits until the test lets it finish (a request deterministically in flight), one that fails once
with a 503, one that streams its body.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from db.engine import Database
from db.idempotency import Claimed, IdempotencyStore, InFlight
from db.tables import AddressRow, IdempotencyKeyRow
from paygate.app import create_app
from paygate.idempotency import fingerprint, key_digest, key_secret, without_card_numbers
from paygate.worker import run_once
from tests.conftest import TEST_SECRET, settings_for, start_server, stop_server
from tests.graphql import Shop

ADDRESS_CREATE = """
mutation($input: AddressInput!) { addressCreate(input: $input) {
  __typename ... on Address { id legacyId city } ... on Error { code message } } }
"""
HOME = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}
CUSTOMER = "customer@example.com"
CUSTOMER2 = "customer2@example.com"


def stored(key: str) -> str:
    """The key as the table keeps it (its keyed hash, never the client's text)."""
    return key_digest(key_secret(TEST_SECRET), key)


def address_body(**changes: str) -> bytes:
    """The request's exact bytes: the fingerprint is over the body as sent."""
    return json.dumps({"query": ADDRESS_CREATE, "variables": {"input": {**HOME, **changes}}}).encode()


async def post_graphql(client: httpx.AsyncClient, body: bytes, key: str | None, token: str) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post("/graphql", content=body, headers=headers)


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def count(db: Database, row: type, *where) -> int:
    async with db.read_sessions() as session:
        return (await session.exec(select(func.count()).select_from(row).where(*where))).one()


async def key_rows(db: Database) -> list[IdempotencyKeyRow]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(IdempotencyKeyRow).order_by(IdempotencyKeyRow.id))).all())


async def insert_key(db: Database, scope: str, key: str, fingerprint: str, state: str,
                     age: timedelta) -> None:
    async with db.write_sessions() as session, session.begin():
        session.add(IdempotencyKeyRow(scope=scope, key=key, fingerprint=fingerprint, state=state,
                                      created_at=datetime.now(UTC) - age))


class OwnRoutes:
    """Routes whose timing and failures the test controls."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.calls = 0

    async def gated(self, _: Request) -> JSONResponse:
        self.calls += 1
        self.entered.set()
        await self.gate.wait()
        return JSONResponse({"calls": self.calls}, status_code=201)

    async def flaky(self, _: Request) -> JSONResponse:
        self.calls += 1
        return JSONResponse({"calls": self.calls}, status_code=503 if self.calls == 1 else 201)

    async def streamed(self, _: Request) -> StreamingResponse:
        self.calls += 1

        async def chunks() -> AsyncIterator[bytes]:
            for part in (b"first,", b"second,", f"call {self.calls}".encode()):
                yield part

        return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture
async def own(database_url, db) -> AsyncIterator[tuple[OwnRoutes, httpx.AsyncClient]]:
    routes = OwnRoutes()
    app = create_app(settings_for(database_url), db=db, extra_routes=[
        Route("/_test/gated", routes.gated, methods=["POST"]),
        Route("/_test/flaky", routes.flaky, methods=["POST"]),
        Route("/_test/streamed", routes.streamed, methods=["POST"])])
    server, task, url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield routes, http
    finally:
        routes.gate.set()
        await stop_server(server, task)


async def test_one_mutation_sent_twice_with_one_key_creates_one_address_and_replays_the_first_answer(
        client, db, shop: Shop):
    token = shop.token(CUSTOMER)

    first = await post_graphql(client, address_body(), "key-1", token)
    second = await post_graphql(client, address_body(), "key-1", token)

    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["addressCreate"]["__typename"] == "Address"
    assert second.content == first.content
    assert "idempotent-replayed" not in first.headers and second.headers["idempotent-replayed"] == "true"
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert await count(db, AddressRow) == 1
    [row] = await key_rows(db)
    assert (row.scope, row.key, row.state) == (f"user:{shop.id_of(CUSTOMER)}", stored("key-1"), "done")
    assert (row.response_status, row.response_body) == (200, first.content)


async def test_the_same_key_with_a_different_request_is_refused_with_422_and_writes_nothing(
        client, db, shop: Shop):
    token = shop.token(CUSTOMER)
    await post_graphql(client, address_body(), "key-1", token)

    reused = await post_graphql(client, address_body(city="Shelbyville"), "key-1", token)

    assert reused.status_code == 422 and code_of(reused) == "IDEMPOTENCY_KEY_REUSED"
    assert await count(db, AddressRow) == 1
    assert await count(db, AddressRow, AddressRow.city == "Shelbyville") == 0


async def test_the_same_key_from_another_user_is_another_request_and_runs(client, db, shop: Shop):
    await post_graphql(client, address_body(), "shared-key", shop.token(CUSTOMER))

    other = await post_graphql(client, address_body(), "shared-key", shop.token(CUSTOMER2))

    assert other.status_code == 200 and "idempotent-replayed" not in other.headers
    assert await count(db, AddressRow, AddressRow.user_id == shop.id_of(CUSTOMER)) == 1
    assert await count(db, AddressRow, AddressRow.user_id == shop.id_of(CUSTOMER2)) == 1
    scopes = {r.scope for r in await key_rows(db)}
    assert scopes == {f"user:{shop.id_of(CUSTOMER)}", f"user:{shop.id_of(CUSTOMER2)}"}


async def test_ten_concurrent_requests_with_one_key_create_one_address(client, db, shop: Shop):
    token = shop.token(CUSTOMER)

    responses = await asyncio.gather(*(post_graphql(client, address_body(), "race", token)
                                       for _ in range(10)))

    assert await count(db, AddressRow) == 1
    originals = [r for r in responses if r.status_code == 200 and "idempotent-replayed" not in r.headers]
    replays = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    refused = [r for r in responses if r.status_code == 409]
    assert len(originals) == 1 and len(originals) + len(replays) + len(refused) == 10
    assert all(r.content == originals[0].content for r in replays)
    assert all(code_of(r) == "IDEMPOTENCY_KEY_IN_USE" for r in refused)


async def test_a_request_racing_one_in_flight_with_the_same_key_gets_409_and_later_the_replay(own, db):
    routes, http = own
    first = asyncio.create_task(http.post("/_test/gated", content=b"{}", headers={"Idempotency-Key": "slow"}))
    await asyncio.wait_for(routes.entered.wait(), 10)

    racing = await http.post("/_test/gated", content=b"{}", headers={"Idempotency-Key": "slow"})
    routes.gate.set()
    original = await first
    retried = await http.post("/_test/gated", content=b"{}", headers={"Idempotency-Key": "slow"})

    assert racing.status_code == 409 and set(racing.json()) == {"error"}
    assert racing.headers["retry-after"] == "1"
    assert (original.status_code, retried.status_code) == (201, 201)
    assert retried.content == original.content and retried.headers["idempotent-replayed"] == "true"
    assert routes.calls == 1
    assert [r.state for r in await key_rows(db)] == ["done"]


async def test_a_request_that_raises_releases_its_key_so_a_retry_runs_again(client, db):
    failed = await client.post("/_test/boom", content=b"{}", headers={"Idempotency-Key": "boom"})
    rows_after_failure = await key_rows(db)

    retried = await client.post("/_test/boom", content=b"{}", headers={"Idempotency-Key": "boom"})

    assert failed.status_code == retried.status_code == 500
    assert "idempotent-replayed" not in retried.headers
    assert rows_after_failure == [] and await key_rows(db) == []


async def test_a_503_is_not_kept_and_the_retry_that_succeeds_is(own, db):
    routes, http = own

    failed = await http.post("/_test/flaky", content=b"{}", headers={"Idempotency-Key": "flaky"})
    retried = await http.post("/_test/flaky", content=b"{}", headers={"Idempotency-Key": "flaky"})
    replayed = await http.post("/_test/flaky", content=b"{}", headers={"Idempotency-Key": "flaky"})

    assert (failed.status_code, retried.status_code, replayed.status_code) == (503, 201, 201)
    assert replayed.json() == {"calls": 2} and routes.calls == 2
    [row] = await key_rows(db)
    assert (row.state, row.response_status) == ("done", 201)


async def test_a_streamed_response_is_kept_whole_and_replayed_for_an_anonymous_caller(own, db):
    routes, http = own

    first = await http.post("/_test/streamed", content=b"x", headers={"Idempotency-Key": "stream"})
    again = await http.post("/_test/streamed", content=b"x", headers={"Idempotency-Key": "stream"})

    assert first.text == again.text == "first,second,call 1"
    assert again.headers["content-type"].startswith("text/plain") and routes.calls == 1
    [row] = await key_rows(db)
    assert (row.scope, row.response_body) == ("anon:127.0.0.1", b"first,second,call 1")


async def test_a_key_left_in_flight_by_a_dead_process_is_taken_over_by_a_retry(client, db, shop: Shop):
    body = address_body()
    request = fingerprint("POST", "/graphql", b"", body)
    await insert_key(db, f"user:{shop.id_of(CUSTOMER)}", stored("orphan"), request, "in_flight",
                     timedelta(minutes=10))

    retried = await post_graphql(client, body, "orphan", shop.token(CUSTOMER))

    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert await count(db, AddressRow) == 1
    [row] = await key_rows(db)
    assert (row.key, row.state, row.response_body) == (stored("orphan"), "done", retried.content)


async def test_a_key_in_flight_for_less_than_the_stale_limit_answers_409_with_a_graphql_error(
        client, db, shop: Shop):
    body = address_body()
    request = fingerprint("POST", "/graphql", b"", body)
    await insert_key(db, f"user:{shop.id_of(CUSTOMER)}", stored("busy"), request, "in_flight",
                     timedelta(minutes=1))

    racing = await post_graphql(client, body, "busy", shop.token(CUSTOMER))

    assert racing.status_code == 409 and code_of(racing) == "IDEMPOTENCY_KEY_IN_USE"
    assert await count(db, AddressRow) == 0
    assert [r.state for r in await key_rows(db)] == ["in_flight"]


async def test_of_retries_racing_for_a_stale_key_exactly_one_takes_it_over(db):
    store = IdempotencyStore(db)
    await insert_key(db, "user:1", "orphan", "f" * 64, "in_flight", timedelta(minutes=10))

    claims = await asyncio.gather(*(store.claim("user:1", "orphan", "f" * 64, datetime.now(UTC))
                                    for _ in range(5)))

    winners = [c for c in claims if isinstance(c, Claimed)]
    assert len(winners) == 1 and winners[0].taken_over
    assert sum(isinstance(c, InFlight) for c in claims) == 4
    [row] = await key_rows(db)
    assert (row.id, row.state) == (winners[0].row_id, "in_flight")


async def test_a_request_that_was_taken_over_can_neither_store_nor_release_its_successors_key(db):
    store = IdempotencyStore(db)
    slow = await store.claim("user:1", "k", "f" * 64, datetime.now(UTC) - timedelta(minutes=10))
    successor = await store.claim("user:1", "k", "f" * 64, datetime.now(UTC))

    kept = await store.complete("user:1", "k", 200, [], b"late", datetime.now(UTC), claim=slow)
    await store.release("user:1", "k", claim=slow)

    assert isinstance(successor, Claimed) and successor.taken_over and not kept
    [row] = await key_rows(db)
    assert (row.id, row.state, row.response_body) == (successor.row_id, "in_flight", None)


async def test_keys_older_than_a_day_are_purged_by_the_worker(db):
    await insert_key(db, "user:1", "old", "a" * 64, "done", timedelta(hours=25))
    await insert_key(db, "user:1", "orphan", "b" * 64, "in_flight", timedelta(hours=30))
    await insert_key(db, "user:1", "recent", "c" * 64, "done", timedelta(hours=23))

    moved = await run_once(db)

    assert moved["purge-idempotency-keys"] == 2
    assert [r.key for r in await key_rows(db)] == ["recent"]


async def test_a_request_without_the_header_never_touches_the_idempotency_table(
        client, db, shop: Shop, statements):
    with statements:
        answered = await post_graphql(client, address_body(), None, shop.token(CUSTOMER))

    assert answered.status_code == 200 and "idempotent-replayed" not in answered.headers
    assert await count(db, AddressRow) == 1
    assert await key_rows(db) == []
    assert not [s for s in statements.statements if "idempotency_keys" in s]


async def test_a_key_longer_than_255_characters_is_refused_with_400_and_nothing_runs(client, db, shop: Shop):
    token = shop.token(CUSTOMER)

    too_long = await post_graphql(client, address_body(), "k" * 256, token)
    longest = await post_graphql(client, address_body(), "k" * 255, token)

    assert too_long.status_code == 400 and code_of(too_long) == "IDEMPOTENCY_KEY_INVALID"
    assert longest.status_code == 200
    assert await count(db, AddressRow) == 1
    assert [r.key for r in await key_rows(db)] == [stored("k" * 255)]


@pytest.mark.parametrize("key", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"])
async def test_a_key_holding_a_card_number_is_kept_only_as_its_keyed_hash_and_still_replays(
        client, db, shop: Shop, key):
    token = shop.token(CUSTOMER)

    first = await post_graphql(client, address_body(), key, token)
    second = await post_graphql(client, address_body(), key, token)

    assert second.content == first.content and second.headers["idempotent-replayed"] == "true"
    assert await count(db, AddressRow) == 1
    [row] = await key_rows(db)
    assert row.key == stored(key) and "1111" not in row.key


async def test_an_answer_quoting_a_card_number_is_kept_and_replayed_with_the_number_masked(client, db, shop: Shop):
    # Seed 004 names the payment method it refuses: the client's own text, answered once.
    body = {"transaction_id": "TXN-000000000001", "payment_method": "4111 1111 1111 1111"}
    headers = {"Authorization": f"Bearer {shop.token(CUSTOMER)}", "Idempotency-Key": "quoting"}

    first = await client.post("/api/payment/process/", json=body, headers=headers)
    again = await client.post("/api/payment/process/", json=body, headers=headers)

    assert first.status_code == again.status_code == 400 and "4111 1111 1111 1111" in first.text
    assert again.json() == {"detail": first.json()["detail"].replace("4111", "****").replace("1111", "****")}
    [row] = await key_rows(db)
    assert b"4111" not in row.response_body


def test_a_kept_json_answer_masks_text_only_and_keeps_its_length_header_true():
    body = json.dumps({"error": "card 4242-4242-4242-4242", "amount": 4242424242424242}).encode()

    headers, kept = without_card_numbers([("content-type", "application/json"),
                                          ("content-length", str(len(body)))], body)

    assert json.loads(kept) == {"error": "card ****-****-****-****", "amount": 4242424242424242}
    assert dict(headers)["content-length"] == str(len(kept))


async def test_a_request_with_an_untrusted_token_is_answered_401_and_its_key_is_not_kept(
        client, db, shop: Shop):
    forged = shop.token(CUSTOMER) + "tampered"

    refused = await post_graphql(client, address_body(), "key-1", forged)

    assert refused.status_code == 401
    assert await key_rows(db) == []
    assert await count(db, AddressRow) == 0
