"""Bad input to POST /graphql gets a clear answer, never an internal error, and writes nothing."""
from __future__ import annotations

import base64
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from paygate.app import create_app
from tests.bad_input import table_counts
from tests.conftest import settings_for, start_server, stop_server
from tests.graphql import gql
from tests.test_payment_mutations import _paid

CUSTOMER = "customer@example.com"
ADDRESS_CREATE = """mutation($name: String!) {
  addressCreate(input: {name: $name, line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"}) {
    __typename ... on Error { code message }
  }
}"""
REFUND_REQUEST = """mutation($p: ID!, $reason: String!) {
  refundRequest(input: {paymentId: $p, reason: $reason}) { __typename ... on Error { code message } }
}"""


def global_id(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def bearer(shop, email: str = CUSTOMER) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop.token(email)}"}


def assert_graphql_refusal(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    errors = response.json()["errors"]
    assert errors and all(e["message"] != "Internal server error" for e in errors), errors
    return errors[0]["message"]


@pytest.mark.parametrize("body", [b"1", b"null", b'"str"', b"NaN", b"[]", b"true", b"-Infinity"])
async def test_a_request_that_is_not_a_json_object_is_a_400_in_graphql_error_shape(client, body):
    response = await client.post("/graphql", content=body, headers={"Content-Type": "application/json"})

    assert_graphql_refusal(response)


async def test_a_request_graphql_refuses_is_answered_in_its_error_shape_not_plain_text(client):
    not_json = await client.post("/graphql", content=b"{", headers={"Content-Type": "application/json"})
    no_query = await client.post("/graphql", json={})
    wrong_type = await client.post("/graphql", content=b"query=1", headers={"Content-Type": "text/plain"})

    assert "not valid JSON" in assert_graphql_refusal(not_json)
    assert_graphql_refusal(no_query)
    assert_graphql_refusal(wrong_type)


@pytest.mark.parametrize("literal", ["1.5", "1e309", '"100"', "9223372036854775808", "-9223372036854775809",
                                     "true", "[100]", "{amount: 1}"])
async def test_a_money_literal_that_is_not_a_64_bit_integer_is_a_graphql_error(client, db, shop, literal):
    _, payment = await _paid(client, shop)
    before = await table_counts(db)
    query = f'mutation {{ refund(input: {{paymentId: "{payment["id"]}", amount: {literal}}}) {{ __typename }} }}'

    body = await gql(client, query, token=shop.token("staff@example.com"))

    assert body.get("data") is None
    assert body["errors"][0]["message"].startswith("MinorUnits must be a whole number that fits in 64 bits")
    assert await table_counts(db) == before


async def test_a_money_literal_in_range_is_still_read(client, shop):
    _, payment = await _paid(client, shop)
    query = f'mutation {{ refund(input: {{paymentId: "{payment["id"]}", amount: 100}}) {{ __typename }} }}'

    body = await gql(client, query, token=shop.token("staff@example.com"))

    assert body["data"]["refund"]["__typename"] == "Refund"


@pytest.mark.parametrize("raw", ["Payment:99999999999999999999", "Payment:2147483648", "Order:99999999999999999999",
                                 "Refund:9223372036854775808", "Payment:0", "Payment:-1"])
async def test_a_global_id_no_32_bit_row_can_have_is_null_not_an_internal_error(client, shop, raw):
    query = """query($id: ID!) { node(id: $id) { id } payment(id: $id) { id } order(id: $id) { id } }"""

    body = await gql(client, query, {"id": global_id(raw)}, token=shop.token("staff@example.com"))

    assert body == {"data": {"node": None, "payment": None, "order": None}}


async def test_a_mutation_naming_an_overflowing_id_answers_not_found(client, shop):
    query = """mutation($p: ID!) { refund(input: {paymentId: $p}) { __typename } }"""

    body = await gql(client, query, {"p": global_id("Payment:99999999999999999999")},
                     token=shop.token("staff@example.com"))

    assert body["data"]["refund"]["__typename"] == "NotFound"


@pytest.mark.parametrize("raw", ["Payment:１", "Payment: 1", "Payment:1_0"])
async def test_a_global_id_with_other_than_ascii_digits_is_not_read_as_an_id(client, shop, raw):
    body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": global_id(raw)},
                     token=shop.token("staff@example.com"))

    assert body["data"] == {"node": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_cursor_past_any_32_bit_id_is_refused_as_a_bad_cursor(client, shop):
    cursor = base64.b64encode(b"cursor:99999999999999999999").decode()

    body = await gql(client, "query($c: String) { products(after: $c) { totalCount } }", {"c": cursor})

    assert body["errors"][0]["message"] == "not a valid cursor"


@pytest.mark.parametrize(("text", "why"), [("a\x00b", "NUL"), ("a\ud800b", "surrogate"), ("\udfff", "surrogate")])
async def test_unstorable_text_in_variables_is_a_400_and_nothing_is_written(client, db, shop, text, why):
    _, payment = await _paid(client, shop)
    before = await table_counts(db)
    sent = [({"query": ADDRESS_CREATE, "variables": {"name": text}}),
            ({"query": REFUND_REQUEST, "variables": {"p": payment["id"], "reason": text}})]

    answers = [await client.post("/graphql", content=json.dumps(body).encode(), headers={
        **bearer(shop), "Content-Type": "application/json"}) for body in sent]

    assert [why in assert_graphql_refusal(a) for a in answers] == [True, True]
    assert await table_counts(db) == before


async def test_a_nul_in_a_string_literal_is_refused_at_validation_and_nothing_is_written(client, db, shop):
    _, payment = await _paid(client, shop)
    before = await table_counts(db)
    address = ADDRESS_CREATE.replace("($name: String!)", "").replace("$name", '"a\\u0000b"')
    refund_request = REFUND_REQUEST.replace(", $reason: String!", "").replace("$reason", '"late \\u0000"')

    answers = [await gql(client, address, token=shop.token(CUSTOMER)),
               await gql(client, refund_request, {"p": payment["id"]}, token=shop.token(CUSTOMER))]

    assert [a["errors"][0]["extensions"]["code"] for a in answers] == ["BAD_USER_INPUT"] * 2
    assert all(a.get("data") is None for a in answers)
    assert await table_counts(db) == before


async def test_a_lone_surrogate_in_the_query_text_is_a_400(client, shop):
    query = ADDRESS_CREATE.replace("($name: String!)", "").replace("$name", '"a\ud800"')

    response = await client.post("/graphql", content=json.dumps({"query": query}).encode(),
                                 headers={**bearer(shop), "Content-Type": "application/json"})

    assert "surrogate" in assert_graphql_refusal(response)


@pytest.fixture(scope="module")
async def production_url(database_url, shared_db):
    server, task, url = await start_server(create_app(settings_for(database_url, env="production"), db=shared_db))
    yield url
    await stop_server(server, task)


@pytest.fixture
async def production(production_url, db):
    async with httpx.AsyncClient(base_url=production_url, timeout=30) as http:
        yield http


TYPOS = [
    "{ paymnts { totalCount } }",                                  # a field
    "{ products(frist: 1) { totalCount } }",                       # an argument
    "query($f: PaymentFiltr) { payments(filter: $f) { totalCount } }",  # a type
    'mutation { refund(input: {paymentId: "x", amout: 1}) { __typename } }',  # an input field
    "mutation { processPayment(input: {orderId: \"x\", captureMethod: MANUL}) { __typename } }",  # an enum value
]


@pytest.mark.parametrize("query", TYPOS)
async def test_in_production_errors_suggest_no_names_of_the_schema(production, client, query):
    development = await client.post("/graphql", json={"query": query})
    answer = await production.post("/graphql", json={"query": query})

    assert "Did you mean" in json.dumps(development.json())
    assert answer.json()["errors"] and "Did you mean" not in answer.text, answer.text


async def test_in_production_a_deeply_nested_request_is_a_400_too(production):
    deep = b"[" * 100_000 + b"]" * 100_000

    response = await production.post("/graphql", content=b'{"query": "{ me { id } }", "variables": {"a": ' + deep
                                     + b"}}", headers={"Content-Type": "application/json"})

    assert "nested deeper than" in assert_graphql_refusal(response)


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_date_time_with_no_utc_time_is_refused_as_a_variable_and_as_a_literal(client, shop, instant):
    as_variable = await gql(client, "query($d: DateTime) { payments(filter: {createdFrom: $d}) { totalCount } }",
                            {"d": instant}, token=shop.token("staff@example.com"))
    as_literal = await gql(client, f'{{ orders(filter: {{createdTo: "{instant}"}}) {{ totalCount }} }}',
                           token=shop.token("staff@example.com"))

    for body in (as_variable, as_literal):
        assert body.get("data") is None
        assert "Value cannot represent a DateTime" in body["errors"][0]["message"]


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00Z",
                                     "2026-01-01", "2026-01-01T10:00:00.5+05:30"])
async def test_date_times_at_the_ends_of_the_calendar_are_read(client, shop, instant):
    body = await gql(client, "query($d: DateTime) { payments(filter: {createdFrom: $d}) { totalCount } }",
                     {"d": instant}, token=shop.token("staff@example.com"))

    assert body == {"data": {"payments": {"totalCount": 0}}}


async def test_a_subscription_sent_as_a_plain_post_is_a_400_pointing_to_websocket(client, shop):
    response = await client.post("/graphql", json={"query": 'subscription { paymentUpdated(id: "x") { id } }'},
                                 headers=bearer(shop))

    assert "subscriptions are not allowed" in assert_graphql_refusal(response)


@pytest.mark.parametrize("message", ["1", "null", '"str"', "[" * 100_000 + "]" * 100_000,
                                     json.dumps({"id": "1", "type": "subscribe", "payload": {
                                         "query": "subscription($i: ID!) { paymentUpdated(id: $i) { id } }",
                                         "variables": {"i": "a\u0000"}}})])
async def test_a_websocket_message_that_is_not_a_clean_json_object_closes_with_4400(served, shop, message):
    ws = await connect(served.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {shop.token(CUSTOMER)}"}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"

    await ws.send(message)

    with pytest.raises(ConnectionClosedError) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
