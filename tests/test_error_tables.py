"""The seam's error handling: every expected error has an answer on every API, and what is not
expected (an invariant violation, a provider contradicting us) is a logged 500 / masked error,
never dressed as an expected one."""
from __future__ import annotations

import logging

import httpx
import pytest

import domain.billing.service  # noqa: F401  (its errors join the tree)
from domain import errors
from domain.money import Money
from domain.payments.provider import Providers, Succeeded
from gql.schema.errors import expected_error
from gql.schema.relay import to_global_id
from paygate.app import create_app
from providers.dummy import DummyGateway
from rest_compat import apis
from rest_compat.errors import ErrorTable, Shape
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql
from tests.test_rest_seed_004 import BASE, auth, paid

STAFF = "staff@example.com"


def every_expected_error() -> list[type[errors.PaymentsError]]:
    found, todo = [], [errors.PaymentsError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return [k for k in found if k is not errors.PaymentsError]


def an_instance(kind: type[errors.PaymentsError]) -> errors.PaymentsError:
    for args in (("payment", 1), (1, 2, 0), ("card_declined",), ("m",), ()):
        try:
            return kind(*args)
        except TypeError:
            continue
    raise AssertionError(f"can't make a {kind.__name__}")


@pytest.mark.parametrize("kind", every_expected_error(), ids=lambda k: k.__name__)
def test_every_expected_error_has_an_answer_in_every_apis_table_and_in_graphql(kind):
    exc = an_instance(kind)

    answers = {api.base: api.errors.answer_for(exc) for api in apis()}

    assert all(answer is not None and 400 <= answer.status < 500 for answer in answers.values()), answers
    assert expected_error(exc).code == exc.code


def test_an_invariant_violation_is_in_no_table():
    exc = errors.UnbalancedEntryError("debits 1, credits 2")

    assert not isinstance(exc, errors.PaymentsError)
    assert all(api.errors.answer_for(exc) is None for api in apis())  # type: ignore[arg-type]


def test_a_table_that_forgets_an_expected_error_raises_it_rather_than_guess_a_status():
    table = ErrorTable(Shape.ERROR, {errors.NotFoundError: 404})

    with pytest.raises(errors.ConflictError):
        table.respond(errors.ConflictError("two at once"))


@pytest.mark.parametrize("path, method, status, body", [
    ("/api/payment/nothing-here/", "GET", 404, {"detail": "Not found."}),          # seed 004
    ("/orders/api/nothing-here/", "GET", 404, {"detail": "Not found."}),           # seed 001
    ("/api/payments/nothing-here/", "GET", 404, {"error": "Not found"}),           # seed 000
    ("/api/v1/payments/paypal/nothing-here/", "POST", 404, {"error": "Not found"}),  # seed 002
    ("/api/payment/refund/", "GET", 405, {"detail": 'Method "GET" not allowed.'}),
    ("/api/v1/payments/stripe/create-payment-intent/", "GET", 405, {"error": 'Method "GET" not allowed.'}),
])
async def test_unknown_paths_and_methods_under_a_seeds_base_answer_json_in_its_shape(client, path, method,
                                                                                      status, body):
    response = await client.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body


class EchoesAnotherAmount(DummyGateway):
    """A provider that refunds, then reports a refund of another amount: a contradiction."""

    async def refund(self, req):
        outcome = await super().refund(req)
        assert isinstance(outcome, Succeeded)
        return Succeeded(outcome.provider_ref, Money(outcome.amount.minor + 1, outcome.amount.currency))


@pytest.fixture
async def lying_app(database_url, shared_db):
    app = create_app(settings_for(database_url), db=shared_db, providers=Providers([EchoesAnotherAmount()]))
    server, task, url = await start_server(app)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http
    await stop_server(server, task)


async def test_a_provider_echoing_another_amount_is_a_logged_500_and_nothing_is_booked(lying_app, db, shop,
                                                                                     caplog):
    number = await paid(lying_app, db, shop)

    with caplog.at_level(logging.ERROR):
        response = await lying_app.post(f"{BASE}/refund/", json={"transaction_id": number, "amount": "1.00"},
                                        headers={**auth(shop, STAFF), "X-Request-Id": "req-lying-echo"})

    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error"}
    assert "asked" not in response.text  # nothing of the detail reaches the client
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert any(isinstance(r.exc_info[1], errors.ProviderIntegrityError) for r in logged)
    detail = (await lying_app.get(f"{BASE}/transactions/{number}/", headers=auth(shop, STAFF))).json()
    assert detail["status"] == "success"  # not refunded: the contradicting answer was not booked


async def test_graphql_masks_an_invariant_violation_instead_of_answering_conflict(lying_app, db, shop):
    number = await paid(lying_app, db, shop)
    detail = (await lying_app.get(f"{BASE}/transactions/{number}/", headers=auth(shop, STAFF))).json()

    body = await gql(lying_app, """mutation($p: ID!) { refund(input: {paymentId: $p, amount: 100}) {
        __typename ... on Error { code message } } }""", {"p": to_global_id("Payment", detail["id"])},
                     token=shop.token(STAFF))

    assert body["data"] is None or body["data"]["refund"] is None
    assert body["errors"] and "asked" not in str(body["errors"])


def test_every_mutation_answers_in_a_union_that_holds_every_error_type():
    # A race can raise what a mutation's happy path never does (ten cancels at once meet
    # RefundExceedsCaptured): an expected error outside its union would be an internal error.
    from graphql import GraphQLUnionType

    from gql.schema import build_schema
    from gql.schema.errors import ERROR_TYPES

    schema = build_schema()._schema
    errors_ = {t.__name__ for t in ERROR_TYPES}
    mutations = schema.mutation_type.fields

    missing = {}
    for name, field in mutations.items():
        union = field.type.of_type if hasattr(field.type, "of_type") else field.type
        assert isinstance(union, GraphQLUnionType), f"{name} answers {union}, not a union"
        lacking = errors_ - {t.name for t in union.types}
        if lacking:
            missing[name] = sorted(lacking)

    assert mutations and not missing


async def test_a_retry_for_an_order_that_does_not_exist_is_404_even_without_stripe(client, shop):
    # Bad input is answered before "provider not configured" (503).
    response = await client.get("/api/payments/checkout_session/retry/not-a-uuid/", headers={
        "Authorization": f"Bearer {shop.token('customer@example.com')}"})

    assert response.status_code == 404
    assert response.json() == {"error": "Order not found."}
