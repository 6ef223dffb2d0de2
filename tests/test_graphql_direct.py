"""Queries Strawberry has accepted once are answered by their plan without Strawberry's view
(paygate/graphql_direct.py): the very bytes Strawberry answers, and Strawberry's way for
everything else (mutations, errors, refusals, documents never seen, streaming Accept headers)."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gql import execution
from paygate.app import create_app
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql

ME = "query Me { me { id email name roles } }"
PRODUCTS = """query Products($first: Int!, $rich: Boolean!) {
  products(first: $first) { totalCount edges { cursor node { id name price { amount currency decimal }
    ... @include(if: $rich) { available } } } pageInfo { hasNextPage endCursor } } }"""


class Direct:
    def __init__(self, app) -> None:
        view = next(route.endpoint for route in app.routes if getattr(route, "path", None) == "/graphql")
        self.direct = view.direct

    @property
    def answered(self) -> int:
        return self.direct.answered


@pytest.fixture(scope="module")
async def served(database_url, shared_db) -> AsyncIterator[tuple[str, Direct]]:
    app = create_app(settings_for(database_url), db=shared_db)
    server, task, url = await start_server(app)
    yield url, Direct(app)
    await stop_server(server, task)


@pytest.fixture
async def http(served, db) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served[0], timeout=30) as client:
        yield client


@pytest.fixture
def direct(served) -> Direct:
    return served[1]


def _shape(response: httpx.Response) -> tuple:
    headers = [(k, v) for k, v in response.headers.items() if k not in ("date", "x-request-id")]
    return response.status_code, headers, response.content


async def _twice(http, body: dict, **headers: str) -> tuple[httpx.Response, httpx.Response]:
    return (await http.post("/graphql", json=body, headers=headers),
            await http.post("/graphql", json=body, headers=headers))


async def test_a_query_seen_before_is_answered_directly_with_the_very_bytes_strawberry_answered(
        http, direct, shop):
    token = {"Authorization": f"Bearer {shop.token('customer@example.com')}"}
    body = {"query": ME, "operationName": "Me", "variables": {}}
    before = direct.answered

    first, second = await _twice(http, body, **token)

    assert direct.answered == before + 1  # the first went through Strawberry, which made it known
    assert _shape(second) == _shape(first)
    assert second.json()["data"]["me"]["email"] == "customer@example.com"


async def test_an_accept_header_picks_no_streaming_transport_here_so_the_answer_is_the_same(http, direct, shop):
    """The view offers no HTTP streaming (SSE, multipart): Strawberry answers such requests with
    plain JSON too, and the direct path answers them alike."""
    token = {"Authorization": f"Bearer {shop.token('customer@example.com')}"}
    by_strawberry = await http.post("/graphql", json={"query": ME, "operationName": "Me"}, headers=token)
    before = direct.answered

    streamed = await http.post("/graphql", json={"query": ME, "operationName": "Me"},
                               headers={**token, "Accept": "text/event-stream"})

    assert direct.answered == before + 1
    assert _shape(streamed) == _shape(by_strawberry)


async def test_variables_directives_and_fragments_answer_as_strawberry_does_for_each_set_of_values(
        http, direct, shop):
    answers = {}
    for rich in (True, False, True):
        body = {"query": PRODUCTS, "variables": {"first": 3, "rich": rich}}
        before = direct.answered
        response = await http.post("/graphql", json=body)
        answers.setdefault(rich, []).append((_shape(response), direct.answered - before))

    [(rich_shape, by_strawberry), (again, directly)] = answers[True]
    assert by_strawberry == 0 and directly == 1 and again == rich_shape
    [(plain_shape, _)] = answers[False]
    assert plain_shape[2] != rich_shape[2] and b'"stock"' not in plain_shape[2]


async def test_what_needs_strawberry_is_never_answered_directly(http, direct, shop):
    customer = {"Authorization": f"Bearer {shop.token('customer@example.com')}"}
    await http.post("/graphql", json={"query": ME}, headers=customer)  # known from now on
    before = direct.answered

    anonymous = await http.post("/graphql", json={"query": ME})  # `me` refuses: an error to mask
    bad_variables = await http.post("/graphql", json={"query": PRODUCTS, "variables": {"first": "x"}})
    mutation = await http.post("/graphql", headers=customer, json={
        "query": "mutation { cartSetItem(input: {productId: \"UHJvZHVjdDox\", quantity: 0}) { __typename } }"})
    form = await http.post("/graphql", content=b'{"query": "' + ME.encode() + b'"}',
                           headers={**customer, "Content-Type": "text/plain"})
    batch = await http.post("/graphql", json=[{"query": ME}], headers=customer)

    assert direct.answered == before
    assert anonymous.json()["errors"] and bad_variables.json()["errors"]
    assert mutation.status_code == 200
    assert form.status_code == 400 and batch.status_code == 400


async def test_a_forged_token_is_refused_even_for_a_known_query(http, direct, shop):
    await gql(http, ME, token=shop.token("customer@example.com"))
    before = direct.answered

    refused = await http.post("/graphql", json={"query": ME}, headers={"Authorization": "Bearer not-a-token"})

    assert refused.status_code == 401 and direct.answered == before


async def test_limits_still_refuse_what_they_refused(http, direct):
    deep = "{ me { id " + "".join("... on Query { me { id " for _ in range(12)) + "} }" * 12 + " } }"
    before = direct.answered

    first, second = await _twice(http, {"query": deep})

    assert direct.answered == before
    assert first.json()["errors"] and second.json() == first.json()


async def test_in_verify_mode_a_direct_answer_is_still_compared_with_graphql_core(http, direct, shop,
                                                                                 monkeypatch):
    """The suite runs in verify mode: a plan that writes text wrongly must be caught on the direct
    path too (and then Strawberry's run fails the request, as it always did)."""
    from gql.execution.compiler import Compiler

    token = {"Authorization": f"Bearer {shop.token('customer@example.com')}"}
    query = "query Emails { me { email } }"
    await http.post("/graphql", json={"query": query}, headers=token)  # known, and planned right
    right = Compiler.fast_leaf

    def wrong(self, return_type):
        fast = right(self, return_type)
        return (fast[0], "v.upper()") if fast is not None and fast[0] == "type(v) is str" else fast

    monkeypatch.setattr(Compiler, "fast_leaf", wrong)
    for plans in _plan_caches():
        plans._operations.clear()  # compiled again, wrongly
    seen, before = len(execution.MISMATCHES), direct.answered

    failed = await http.post("/graphql", json={"query": query}, headers=token)

    assert direct.answered == before
    assert failed.json()["data"] is None and failed.json()["errors"]
    assert [m["query"] for m in execution.MISMATCHES[seen:]] == [query, query]  # direct, then Strawberry
    del execution.MISMATCHES[seen:]  # expected here: the suite's autouse check must not fail this test
    monkeypatch.undo()
    for plans in _plan_caches():
        plans._operations.clear()  # the wrong plans go with the patch


def _plan_caches():
    import gc

    return [o for o in gc.get_objects() if type(o).__name__ == "PlanCache"]
