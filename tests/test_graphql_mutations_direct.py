"""Mutations of a document Strawberry has accepted once are run by graphql-core without
Strawberry's view (paygate/graphql_mutations.py): the very bytes Strawberry answers, errors of
every kind included, and Strawberry's way for whatever the path doesn't decide up front.

Golden answers: a mutation can't be run twice, so each comparison here is of two requests whose
answers must be the same bytes (setting a cart line to the same quantity, refusals that change
nothing), the first answered by Strawberry (the document not yet known), the second directly.
Beside that, the suite's verify mode compares every direct answer with Strawberry's own run of
the same request (tests/conftest.py), which the last test here shows catching a difference."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
from strawberry.extensions import MaskErrors, SchemaExtension

from domain.payments.provider import Providers
from gql import execution
from gql.schema import build_schema
from paygate.app import create_app
from paygate.graphql_metrics import OPERATIONS, GraphQLMetrics
from paygate.graphql_mutations import DirectMutations
from providers.dummy import DummyGateway
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql

CUSTOMER = "customer@example.com"
SET_ITEM = """mutation SetItem($p: ID!, $q: Int!) { cartSetItem(input: {productId: $p, quantity: $q}) {
  __typename ... on Cart { itemCount lines { quantity product { id name } } }
  ... on Error { code message } ... on ValidationError { field } } }"""
CHECKOUT = """mutation { checkout { __typename
  ... on CheckoutSuccess { order { id number total { amount currency } } } ... on Error { code message } } }"""
PAY = """mutation Pay($o: ID!) {
  processPayment(input: {orderId: $o, provider: "dummy",
                         card: {number: "4242 4242 4242 4242", expMonth: 12, expYear: 2034, cvc: "123"}}) {
    __typename ... on Payment { id status } ... on Error { code message } } }"""
TWO_OPERATIONS = SET_ITEM + "\nquery Me { me { id } }"


class FailsOnce(DummyGateway):
    """Authorizes as the dummy gateway does, but the first time fails as an unexpected bug would."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False

    async def authorize(self, req):
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("secret detail of a failing gateway")
        return await super().authorize(req)


@pytest.fixture(scope="module")
def gateway() -> FailsOnce:
    return FailsOnce()


@pytest.fixture(scope="module")
async def served(database_url, shared_db, gateway) -> AsyncIterator[tuple[str, object]]:
    app = create_app(settings_for(database_url, env="production"), db=shared_db,
                     providers=Providers([gateway]))
    server, task, url = await start_server(app)
    yield url, _view(app)
    await stop_server(server, task)


def _view(app):
    return next(route.endpoint for route in app.routes if getattr(route, "path", None) == "/graphql")


@pytest.fixture
async def http(served, db) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served[0], timeout=30) as client:
        yield client


@pytest.fixture
def mutations(served):
    return served[1].mutations


@pytest.fixture
async def product(http, shop) -> str:
    found = await gql(http, "{ products(first: 1) { edges { node { id } } } }")
    return found["data"]["products"]["edges"][0]["node"]["id"]


def _shape(response: httpx.Response) -> tuple:
    headers = [(k, v) for k, v in response.headers.items() if k not in ("date", "x-request-id")]
    return response.status_code, headers, response.content


def _customer(shop) -> dict:
    return {"Authorization": f"Bearer {shop.token(CUSTOMER)}"}


async def test_a_mutation_seen_before_runs_directly_and_answers_the_bytes_strawberry_answered(
        http, mutations, shop, product):
    body = {"query": SET_ITEM, "operationName": "SetItem", "variables": {"p": product, "q": 2}}
    before = mutations.answered

    first = await http.post("/graphql", json=body, headers=_customer(shop))
    second = await http.post("/graphql", json=body, headers=_customer(shop))

    assert mutations.answered == before + 1  # the first went through Strawberry, which made it known
    assert _shape(second) == _shape(first)
    assert second.json()["data"]["cartSetItem"]["itemCount"] == 2


@pytest.mark.parametrize("variables", [
    {"p": "UHJvZHVjdDo5OTk5OTk=", "q": 1},  # a typed error: NotFound
    {"p": "PRODUCT", "q": -1},              # a typed error: ValidationError
    {"p": "UHJvZHVjdDox", "q": "one"},      # variables that don't coerce: top-level errors
    {"p": "UHJvZHVjdDox"},                  # a variable missing
    {"p": "UHJvZHVjdDox", "q": 1, "unknownVariable": 1},
], ids=["not-found", "validation-error", "bad-variable", "missing-variable", "extra-variable"])
async def test_errors_come_out_as_strawberry_answers_them(http, mutations, shop, product, variables):
    refused = {"query": SET_ITEM, "variables": variables}
    golden = await http.post("/graphql", json=refused, headers=_customer(shop))  # not known yet: Strawberry
    await gql(http, SET_ITEM, {"p": product, "q": 1}, token=shop.token(CUSTOMER))  # known from now on
    before = mutations.answered

    again = await http.post("/graphql", json=refused, headers=_customer(shop))

    assert mutations.answered == before + 1
    assert _shape(again) == _shape(golden)


async def test_an_anonymous_caller_is_refused_alike(http, mutations, shop, product):
    body = {"query": SET_ITEM, "variables": {"p": product, "q": 1}}
    golden = await http.post("/graphql", json=body)
    await http.post("/graphql", json=body, headers=_customer(shop))
    before = mutations.answered

    again = await http.post("/graphql", json=body)

    assert mutations.answered == before + 1
    assert _shape(again) == _shape(golden) and again.status_code == 401
    assert again.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_suggestions_stay_hidden_in_production(http, mutations, shop, product):
    body = {"query": SET_ITEM, "variables": {"p": product, "q": {"quantityy": 1}}}
    golden = await http.post("/graphql", json=body, headers=_customer(shop))
    await gql(http, SET_ITEM, {"p": product, "q": 1}, token=shop.token(CUSTOMER))

    again = await http.post("/graphql", json=body, headers=_customer(shop))

    assert _shape(again) == _shape(golden) and "Did you mean" not in again.text


async def test_an_unexpected_failure_is_masked_logged_and_its_key_released(http, mutations, shop, product,
                                                                          gateway, caplog):
    token = shop.token(CUSTOMER)
    await gql(http, SET_ITEM, {"p": product, "q": 1}, token=token)
    order = (await gql(http, CHECKOUT, token=token))["data"]["checkout"]["order"]["id"]
    await gql(http, PAY, {"o": "T3JkZXI6OTk5OTk5"}, token=token)  # PAY is known from now on
    before = mutations.answered
    gateway.fail_next = True
    pay = {"json": {"query": PAY, "variables": {"o": order}},
           "headers": {**_customer(shop), "Idempotency-Key": "pay-after-a-bug"}}

    with caplog.at_level(logging.ERROR, logger="paygate.graphql"):
        failed = await http.post("/graphql", **pay)
    retried = await http.post("/graphql", **pay)
    replayed = await http.post("/graphql", **pay)

    assert mutations.answered == before + 2  # the replay is the idempotency layer's
    assert failed.status_code == 200
    assert failed.json()["errors"][0]["message"] == "Internal server error"
    assert "secret detail" not in failed.text
    assert [r for r in caplog.records if r.name == "paygate.graphql" and r.exc_info]
    assert retried.json()["data"]["processPayment"]["__typename"]  # run again: the failure wasn't stored
    assert "idempotent-replayed" not in retried.headers
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.content == retried.content


async def test_an_idempotency_key_replays_the_direct_answer(http, mutations, shop, product):
    body = {"query": SET_ITEM, "variables": {"p": product, "q": 3}}
    await http.post("/graphql", json=body, headers=_customer(shop))
    keyed = {**_customer(shop), "Idempotency-Key": "set-three"}
    before = mutations.answered

    first = await http.post("/graphql", json=body, headers=keyed)
    second = await http.post("/graphql", json=body, headers=keyed)

    assert mutations.answered == before + 1
    assert second.content == first.content and second.headers["idempotent-replayed"] == "true"


async def test_what_needs_strawberry_is_never_run_directly(http, mutations, shop, product):
    await gql(http, SET_ITEM, {"p": product, "q": 1}, token=shop.token(CUSTOMER))
    await http.post("/graphql", json={"query": TWO_OPERATIONS, "operationName": "SetItem",
                                      "variables": {"p": product, "q": 1}}, headers=_customer(shop))
    before = mutations.answered

    no_name = await http.post("/graphql", json={"query": TWO_OPERATIONS, "variables": {"p": product, "q": 1}},
                              headers=_customer(shop))
    the_query = await http.post("/graphql", json={"query": TWO_OPERATIONS, "operationName": "Me"},
                                headers=_customer(shop))
    unknown_name = await http.post("/graphql", json={"query": SET_ITEM, "operationName": "Nope",
                                                     "variables": {"p": product, "q": 1}}, headers=_customer(shop))
    never_seen = await http.post("/graphql", json={"query": SET_ITEM + " ", "variables": {"p": product, "q": 1}},
                                 headers=_customer(shop))
    forged = await http.post("/graphql", json={"query": SET_ITEM, "variables": {"p": product, "q": 1}},
                             headers={"Authorization": "Bearer forged"})
    as_text = await http.post("/graphql", content=httpx.Request("POST", "/", json={
        "query": SET_ITEM, "variables": {"p": product, "q": 1}}).content,
        headers={**_customer(shop), "Content-Type": "text/plain"})
    batch = await http.post("/graphql", json=[{"query": SET_ITEM, "variables": {"p": product, "q": 1}}],
                            headers=_customer(shop))
    too_many_aliases = "mutation { " + " ".join(f"a{i}: checkout {{ __typename }}" for i in range(16)) + " }"
    limited = [await http.post("/graphql", json={"query": too_many_aliases}, headers=_customer(shop))
               for _ in range(2)]

    assert mutations.answered == before
    assert no_name.json()["data"]["cartSetItem"]["__typename"] == "Cart"  # Strawberry runs the first
    assert unknown_name.status_code == 400
    assert the_query.json()["data"]["me"]["id"]
    assert never_seen.json()["data"]["cartSetItem"]["__typename"] == "Cart"
    assert forged.status_code == 401 and as_text.status_code == 400 and batch.status_code == 400
    assert limited[0].json()["errors"] and _shape(limited[1]) == _shape(limited[0])


async def test_a_mutation_answered_directly_is_counted_as_strawberry_counts_it(http, shop, product):
    body = {"query": SET_ITEM, "operationName": "SetItem", "variables": {"p": product, "q": 1}}
    await http.post("/graphql", json=body, headers=_customer(shop))
    ok = OPERATIONS.labels("mutation", "SetItem", "ok")
    invalid = OPERATIONS.labels("invalid", "anonymous", "error")
    ok_before, invalid_before = _count(ok), _count(invalid)

    await http.post("/graphql", json=body, headers=_customer(shop))
    await http.post("/graphql", json={**body, "variables": {"p": product, "q": "x"}}, headers=_customer(shop))

    assert (_count(ok), _count(invalid)) == (ok_before + 1, invalid_before + 1)


def _count(histogram) -> float:
    return next(s.value for s in histogram.collect()[0].samples if s.name.endswith("_count"))


class Unknown(SchemaExtension):
    """An extension whose work on an execution the direct path can't know (traces, say)."""

    def on_execute(self):
        yield


def test_a_schema_whose_extensions_do_more_has_no_direct_mutations():
    # Not an app with traces: create_app would instrument httpx and the engine for the process.
    def direct(*observers) -> DirectMutations | None:
        return DirectMutations.for_view(SimpleNamespace(schema=build_schema(observers=observers, plans="on")))

    assert direct(GraphQLMetrics, Unknown) is None
    assert direct(GraphQLMetrics) is not None
    assert DirectMutations.for_view(SimpleNamespace(schema=build_schema(plans="off"))) is None  # no documents


async def test_in_verify_mode_a_direct_answer_is_compared_with_strawberrys(http, mutations, shop, product):
    """The suite runs in verify mode: a direct path that masks differently is caught."""
    body = {"query": SET_ITEM, "variables": {"p": product, "q": "not a number"}}
    await gql(http, SET_ITEM, {"p": product, "q": 1}, token=shop.token(CUSTOMER))
    right = mutations.mask
    mutations.mask = MaskErrors(should_mask_error=lambda _error: True, error_message="masked wrongly")
    seen = len(execution.MISMATCHES)
    try:
        answered = await http.post("/graphql", json=body, headers=_customer(shop))
    finally:
        mutations.mask = right

    assert answered.json()["errors"][0]["message"] == "masked wrongly"
    assert [m["direct"][2] for m in execution.MISMATCHES[seen:]] == [answered.content]
    del execution.MISMATCHES[seen:]  # expected here: the suite's autouse check must not fail this test
