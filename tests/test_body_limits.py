"""Every request body is limited in size (413) and, when JSON, in depth and text (400), before any
route reads it: REST, GraphQL and signed webhooks alike."""
from __future__ import annotations

import asyncio
import json

import pytest
import stripe

from paygate.body_limits import MAX_BODY_BYTES
from rest_compat.json_body import MAX_DEPTH, BadJson, read_json
from tests.bad_input import table_counts
from tests.conftest import STRIPE_WEBHOOK_SECRET
from tests.test_rest_seed_004 import auth

REFUND = "/api/payment/refund/"
CANCEL = "/api/payments/orders/00000000-0000-0000-0000-000000000000/cancel/"
WEBHOOK = "/api/v1/payments/webhooks/stripe/"


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def padded_to(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    head, tail = b'{"transaction_id": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def test_a_body_over_one_mebibyte_is_a_413_in_the_surfaces_shape(client, shop):
    too_large = padded_to(MAX_BODY_BYTES + 1)

    answers = [await client.post(REFUND, content=too_large, headers=auth(shop)),
               await client.post(CANCEL, content=too_large, headers=auth(shop)),
               await client.post("/graphql", content=too_large, headers={"Content-Type": "application/json"})]

    assert [a.status_code for a in answers] == [413, 413, 413]
    assert [list(a.json()) for a in answers] == [["detail"], ["error"], ["errors"]]


async def test_a_streamed_body_without_a_length_is_cut_at_the_limit_too(client, shop):
    async def chunks():
        for _ in range(20):
            yield b"x" * (MAX_BODY_BYTES // 10)

    response = await client.post(REFUND, content=chunks(), headers=auth(shop))

    assert response.status_code == 413
    assert response.json() == {"detail": f"request body is larger than {MAX_BODY_BYTES} bytes"}


async def test_a_body_of_exactly_the_limit_reaches_its_route(client, shop):
    response = await client.post(REFUND, content=padded_to(MAX_BODY_BYTES), headers=auth(shop))

    assert response.status_code == 400
    assert response.json() == {"detail": "transaction_id: must be at most 64 characters."}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
async def test_json_nested_deeper_than_the_limit_is_a_400_on_every_surface(client, shop, depth):
    body = nested(depth)

    graphql = f'{{"query": "{{ me {{ id }} }}", "variables": {{"a": {body}}}}}'

    answers = [await client.post(REFUND, content=body, headers=auth(shop)),
               await client.post(CANCEL, content=body, headers=auth(shop)),
               await client.post("/graphql", content=graphql, headers={"Content-Type": "application/json"})]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert answers[0].json() == {"detail": f"request body is nested deeper than {MAX_DEPTH} levels"}
    assert answers[1].json() == {"error": f"request body is nested deeper than {MAX_DEPTH} levels"}
    assert "nested deeper than" in answers[2].json()["errors"][0]["message"]


async def test_json_at_the_depth_limit_reaches_its_route(client, shop):
    body = {"transaction_id": "TXN-NOPE", "note": json.loads(nested(MAX_DEPTH - 1))}

    response = await client.post(REFUND, json=body, headers=auth(shop))

    assert response.status_code == 404  # the route read it, and found no such transaction


def signed(raw: str) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(raw, STRIPE_WEBHOOK_SECRET)}


async def test_a_signed_stripe_event_nested_100000_deep_is_a_400_and_nothing_is_stored(http, db):
    raw = f'{{"id": "evt_deep", "type": "customer.created", "data": {{"object": {{"x": {nested(100_000)}}}}}}}'
    before = await table_counts(db)

    response = await http.post(WEBHOOK, content=raw, headers=signed(raw))

    assert response.status_code == 400
    assert response.json() == {"error": f"request body is nested deeper than {MAX_DEPTH} levels"}
    assert await table_counts(db) == before


async def test_a_signed_stripe_event_as_deep_and_large_as_stripe_sends_is_still_acknowledged(http, db):
    event = {"id": "evt_ok", "type": "customer.created", "object": "event",
             "data": {"object": {"id": "cus_1", "object": "customer", "metadata": {"note": "x" * 200_000},
                                 "nested": json.loads(nested(20, '{"a": "b"}'))}}}
    raw = json.dumps(event)

    response = await http.post(WEBHOOK, content=raw, headers=signed(raw))

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "ignored"


@pytest.mark.parametrize(("raw", "message"), [
    ("NaN", "NaN is not a JSON number"),
    ('{"a": -Infinity}', "-Infinity is not a JSON number"),
    (nested(MAX_DEPTH + 1), f"request body is nested deeper than {MAX_DEPTH} levels"),
    ('{"a": {"b": [1, "x\\u0000"]}}', "a.b[1]: must not contain NUL characters."),
    ('{"k\\u0000": 1}', "k\ufffd (a key): must not contain NUL characters."),
    ('{"a": "\\ud800"}', "a: must not contain unpaired surrogates (U+D800 to U+DFFF); send valid Unicode."),
    ('"\\udfff\\ud800"', "request body: must not contain unpaired surrogates (U+D800 to U+DFFF); send valid Unicode."),
    (b'{"a": "\xed\xa0\x80"}', "a: must not contain unpaired surrogates (U+D800 to U+DFFF); send valid Unicode."),
    (b'{"a": "\xff"}', "request body is not valid JSON"),
])
def test_the_json_reader_refuses_with_a_message_naming_the_place(raw, message):
    with pytest.raises(BadJson) as refused:
        read_json(raw)

    assert str(refused.value) == message


def test_the_json_reader_keeps_surrogate_pairs_and_exact_numbers():
    value = read_json('{"emoji": "\\ud83d\\ude00", "amount": 29.99, "deep": ' + nested(MAX_DEPTH - 1) + "}",
                      exact_numbers=True)

    assert value["emoji"] == "😀" and value["amount"] == "29.99"


async def test_a_client_waiting_for_100_continue_is_refused_before_it_sends_the_body(served, shop):
    host, port = served.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"POST {REFUND} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {MAX_BODY_BYTES * 2}\r\nExpect: 100-continue\r\n"
                 f"Authorization: Bearer {shop.token('customer@example.com')}\r\n\r\n".encode())
    await writer.drain()

    status_line = await asyncio.wait_for(reader.readline(), 10)

    writer.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
