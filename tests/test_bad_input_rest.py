"""Bad input to the seeds' REST routes gets the seed's own error, never a 5xx, and writes nothing."""
from __future__ import annotations

import json

import pytest

from gql.schema.relay import to_global_id
from tests.bad_input import table_counts
from tests.payments_fixtures import order_for
from tests.test_rest_seed_004 import BASE as SEED_004
from tests.test_rest_seed_004 import auth, intent_for, post_refund, process

SEED_000 = "/api/payments"
UNSTORABLE = [("a\x00b", "must not contain NUL characters"), ("a\ud800b", "unpaired surrogates"),
              ("\udc00", "unpaired surrogates")]


async def post_json(client, path: str, body: dict, headers: dict[str, str]):
    # json.dumps escapes a lone surrogate as "\ud800", as a client's JSON library sends it; httpx's
    # own encoder would refuse to send it at all.
    return await client.post(path, content=json.dumps(body).encode(), headers={
        **headers, "Content-Type": "application/json"})


async def paid_in(client, db, shop, sku: str) -> str:
    """A customer's payment through seed 004 for one unit of `sku`; its TXN- number."""
    intent = await intent_for(client, shop, await order_for(db, shop, {sku: 1}))
    response = await process(client, shop, intent["transaction_id"])
    assert response.status_code == 200, response.text
    return intent["transaction_id"]


async def order_status(client, shop, order) -> str:
    query = {"query": "query($id: ID!) { order(id: $id) { status } }",
             "variables": {"id": to_global_id("Order", order.id)}}
    response = await client.post("/graphql", json=query, headers=auth(shop))
    return response.json()["data"]["order"]["status"]


@pytest.mark.parametrize(("text", "why"), UNSTORABLE)
async def test_seed_000_cancel_with_unstorable_text_is_a_400_and_the_order_stays_open(client, db, shop, text, why):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    before = await table_counts(db)

    response = await post_json(client, f"{SEED_000}/orders/{order.uuid}/cancel/", {"cancellation_reason": text},
                               auth(shop))

    assert response.status_code == 400
    assert response.json() == {"error": response.json()["error"]}
    assert response.json()["error"].startswith("cancellation_reason:") and why in response.json()["error"]
    assert await table_counts(db) == before
    assert await order_status(client, shop, order) == "PENDING_PAYMENT"


@pytest.mark.parametrize(("text", "why"), UNSTORABLE)
async def test_seed_004_refund_with_unstorable_text_anywhere_is_a_400_and_nothing_moves(client, db, shop, text, why):
    number = await paid_in(client, db, shop, "SAM-MUG-01")
    before = await table_counts(db)

    answers = [await post_json(client, f"{SEED_004}/refund/", body, auth(shop)) for body in (
        {"transaction_id": number, "reason": text}, {"transaction_id": number, "note": {"deep": [text]}},
        {"transaction_id": number, text: "a key"})]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert [why in a.json()["detail"] for a in answers] == [True, True, True]
    assert answers[1].json()["detail"].startswith("note.deep[0]:")
    assert await table_counts(db) == before


# One unit written as Python's Decimal(), a regex's \d or str.strip() would have read it.
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
VARIANTS = [lambda a: " " + a, lambda a: a + " ", lambda a: a + "\n", lambda a: a.translate(FULLWIDTH),
            lambda a: "１．００" if "." in a else "１", lambda a: a.translate(ARABIC_INDIC)]


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
@pytest.mark.parametrize(("sku", "one"), [("SORA-TEA-01", "1"), ("SAM-MUG-01", "1.00")])  # JPY 0, USD 2
async def test_a_refund_amount_in_other_than_plain_ascii_digits_is_a_400(client, db, shop, sku, one, variant):
    number = await paid_in(client, db, shop, sku)
    before = await table_counts(db)

    response = await post_refund(client, shop, {"transaction_id": number, "amount": VARIANTS[variant](one)})

    assert response.status_code == 400, response.text
    assert "is not a decimal amount" in response.json()["detail"]
    assert await table_counts(db) == before


async def test_a_seed_004_order_id_in_other_than_ascii_digits_is_refused(client, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    answers = [await client.post(f"{SEED_004}/create-intent/", json={"order_id": text, "gateway": "dummy"},
                                 headers=auth(shop)) for text in (f"{order.id}".translate(str.maketrans(
                                     "0123456789", "０１２３４５６７８９")), f" {order.id} ", f"{order.id}_0")]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert all(a.json()["detail"] == "order_id: a valid integer is required." for a in answers)
