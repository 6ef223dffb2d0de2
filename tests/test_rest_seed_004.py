"""Seed 004 (/api/payment/) over real HTTP, on SQLite and PostgreSQL: each documented example sent
as the seed shows it and its answer checked key by key and type by type against the seed's own
example, then the errors, each with the rows checked to be untouched.
"""
from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime

import httpx
import jsonschema
from sqlalchemy import text
from sqlmodel import SQLModel, select

from db.payment_tables import LedgerEntryRow, PaymentAttemptRow, PaymentRow
from db.tables import AuditRow
from paygate.app import create_app
from tests.conftest import settings_for, start_server, stop_server
from tests.payments_fixtures import order_for

BASE = "/api/payment"
CUSTOMER, CUSTOMER2, STAFF = "customer@example.com", "customer2@example.com", "staff@example.com"
SEED_CARD = "4111111111111111"
DECLINING_CARD = "4000000000000002"

# --- the seed's examples, as the document shows them ------------------------------------------------

SEED_CONFIGURATIONS = [{
    "id": 1, "gateway": "dummy", "is_active": True, "merchant_id": "dummy_merchant",
    "public_key": "dummy_public_key", "currency": "USD", "created_at": "2025-12-03T10:00:00Z",
    "updated_at": "2025-12-03T10:00:00Z",
}]
SEED_TRANSACTION = {
    "id": 1, "transaction_id": "TXN-A1B2C3D4E5F6", "order": 1, "order_number": "ORD-ABC123", "user": 1,
    "user_email": "user@example.com", "gateway": "dummy", "gateway_transaction_id": "", "amount": "150.00",
    "currency": "USD", "status": "success", "metadata": {"payment_method": "dummy"}, "error_message": "",
    "created_at": "2025-12-03T10:00:00Z", "updated_at": "2025-12-03T10:00:00Z",
}
SEED_TRANSACTIONS = [SEED_TRANSACTION]
SEED_INTENT_REQUEST = {"order_id": 1, "gateway": "dummy"}
SEED_INTENT = {
    "transaction_id": "TXN-A1B2C3D4E5F6", "amount": "150.00", "currency": "USD", "gateway": "dummy",
    "client_secret": "dummy_secret_TXN-A1B2C3D4E5F6", "publishable_key": "dummy_public_key",
}
SEED_PROCESS_REQUEST = {
    "transaction_id": "TXN-A1B2C3D4E5F6", "payment_method": "credit_card",
    "payment_data": {"card_number": "4111111111111111", "expiry_month": "12", "expiry_year": "2027",
                     "cvv": "123"},
}
SEED_PROCESSED = {"message": "Payment processed successfully", "transaction_id": "TXN-A1B2C3D4E5F6",
                  "status": "success"}
SEED_PROCESS_FAILED = {"error": "Payment processing failed"}
SEED_REFUND_REQUEST = {"transaction_id": "TXN-A1B2C3D4E5F6", "reason": "Customer request", "amount": "150.00"}
SEED_REFUND = {
    "id": 1, "refund_id": "REF-A1B2C3D4E5F6", "transaction": 1, "transaction_id": "TXN-A1B2C3D4E5F6",
    "amount": "150.00", "currency": "USD", "status": "refunded", "reason": "Customer request",
    "gateway_refund_id": "", "metadata": {}, "created_at": "2025-12-03T10:00:00Z",
    "updated_at": "2025-12-03T10:00:00Z",
}
SEED_ERROR_DETAIL = {"detail": "Error message"}
SEED_ERROR_CUSTOM = {"error": "Error message"}

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DECIMAL = re.compile(r"^\d+\.\d\d$")


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def assert_shaped_like(actual: object, example: object, where: str = "$") -> None:
    """The same keys as the seed's example and each value of the same JSON type, all the way down."""
    assert json_type(actual) == json_type(example), \
        f"{where}: {json_type(actual)}, the seed shows {json_type(example)}"
    if isinstance(example, dict):
        assert set(actual) == set(example), f"{where}: keys differ by {sorted(set(actual) ^ set(example))}"
        for key, value in example.items():
            assert_shaped_like(actual[key], value, f"{where}.{key}")
    elif isinstance(example, list):
        assert actual, f"{where}: empty, so nothing to compare"
        for i, item in enumerate(actual):
            assert_shaped_like(item, example[0], f"{where}[{i}]")


def assert_formats(obj: dict) -> None:
    for key in ("created_at", "updated_at"):
        assert TIMESTAMP.match(obj[key]), obj[key]
    assert DECIMAL.match(obj["amount"]), obj["amount"]


async def assert_documented(client: httpx.AsyncClient, method: str, path: str,
                            response: httpx.Response) -> None:
    """The answer conforms to what /openapi.json declares for this operation and status."""
    spec = (await client.get("/openapi.json")).json()
    declared = spec["paths"][path][method]["responses"][str(response.status_code)]
    jsonschema.validate(response.json(), declared["content"]["application/json"]["schema"])


# --- helpers ----------------------------------------------------------------------------------------

def auth(shop, email: str = CUSTOMER) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop.token(email)}"}


def card(number: str = SEED_CARD) -> dict[str, str]:
    # The seed's card expires in 12/2027; keep the example valid after that.
    return {**SEED_PROCESS_REQUEST["payment_data"], "card_number": number,
            "expiry_year": str(max(2027, datetime.now(UTC).year + 1))}


async def checked_out(db, shop, email: str = CUSTOMER, quantity: int = 10):
    return await order_for(db, shop, {"SAM-MUG-01": quantity}, email)  # 10 x 14.99 = 149.90 USD


async def intent_for(client, shop, order, email: str = CUSTOMER) -> dict:
    response = await client.post(f"{BASE}/create-intent/", json={"order_id": order.id, "gateway": "dummy"},
                                 headers=auth(shop, email))
    assert response.status_code == 200, response.text
    return response.json()


async def process(client, shop, number: str, card_number: str = SEED_CARD, email: str = CUSTOMER,
                  headers: dict | None = None) -> httpx.Response:
    body = {"transaction_id": number, "payment_method": "credit_card", "payment_data": card(card_number)}
    return await client.post(f"{BASE}/process/", json=body, headers={**auth(shop, email), **(headers or {})})


async def paid(client, db, shop, email: str = CUSTOMER) -> str:
    intent = await intent_for(client, shop, await checked_out(db, shop, email), email)
    response = await process(client, shop, intent["transaction_id"], email=email)
    assert response.status_code == 200, response.text
    return intent["transaction_id"]


async def rows(db) -> dict[str, list]:
    """What a refused request must leave as it was."""
    async with db.read_sessions() as session:
        return {
            "payments": [(p.id, p.status, p.captured_minor, p.refunded_minor, p.updated_at) for p in (
                await session.exec(select(PaymentRow).order_by(PaymentRow.id))).all()],
            "attempts": [(a.id, a.kind, a.status) for a in (
                await session.exec(select(PaymentAttemptRow).order_by(PaymentAttemptRow.id))).all()],
            "ledger": [e.id for e in (await session.exec(select(LedgerEntryRow))).all()],
            "audit": [a.id for a in (await session.exec(select(AuditRow))).all()],
        }


async def post_refund(client, shop, body: dict, email: str = CUSTOMER) -> httpx.Response:
    return await client.post(f"{BASE}/refund/", json=body, headers=auth(shop, email))


async def transaction(client, shop, number: str, email: str = CUSTOMER) -> dict:
    response = await client.get(f"{BASE}/transactions/{number}/", headers=auth(shop, email))
    assert response.status_code == 200, response.text
    return response.json()


# --- the documented examples ------------------------------------------------------------------------

async def test_configurations_answer_the_seeds_example_with_the_dummy_gateway(client, shop):
    response = await client.get(f"{BASE}/configurations/", headers=auth(shop))

    assert response.status_code == 200
    assert_shaped_like(response.json(), SEED_CONFIGURATIONS)
    [dummy] = response.json()
    assert {k: dummy[k] for k in ("id", "gateway", "is_active", "merchant_id", "public_key", "currency")} == {
        "id": 1, "gateway": "dummy", "is_active": True, "merchant_id": "dummy_merchant",
        "public_key": "dummy_public_key", "currency": "USD"}
    assert TIMESTAMP.match(dummy["created_at"]) and TIMESTAMP.match(dummy["updated_at"])
    await assert_documented(client, "get", f"{BASE}/configurations/", response)


async def test_create_intent_answers_the_seeds_example_for_the_callers_order(client, db, shop):
    order = await checked_out(db, shop)

    response = await client.post(f"{BASE}/create-intent/", json={**SEED_INTENT_REQUEST, "order_id": order.id},
                                 headers=auth(shop))

    assert response.status_code == 200, response.text
    intent = response.json()
    assert_shaped_like(intent, SEED_INTENT)
    assert intent["transaction_id"].startswith("TXN-")
    assert intent == {"transaction_id": intent["transaction_id"], "amount": "149.90", "currency": "USD",
                      "gateway": "dummy", "client_secret": f"dummy_secret_{intent['transaction_id']}",
                      "publishable_key": "dummy_public_key"}
    assert [(p[1], p[2]) for p in (await rows(db))["payments"]] == [("requires_payment_method", 0)]
    assert (await rows(db))["attempts"] == []  # nothing was sent to the gateway yet
    assert (await transaction(client, shop, intent["transaction_id"]))["status"] == "pending"
    await assert_documented(client, "post", f"{BASE}/create-intent/", response)


async def test_process_with_the_seeds_card_answers_the_seeds_success(client, db, shop):
    intent = await intent_for(client, shop, await checked_out(db, shop))

    response = await client.post(f"{BASE}/process/", headers=auth(shop), json={
        **SEED_PROCESS_REQUEST, "transaction_id": intent["transaction_id"], "payment_data": card()})

    assert response.status_code == 200, response.text
    assert_shaped_like(response.json(), SEED_PROCESSED)
    assert response.json() == {**SEED_PROCESSED, "transaction_id": intent["transaction_id"]}
    stored = await transaction(client, shop, intent["transaction_id"])
    assert (stored["status"], stored["error_message"]) == ("success", "")
    assert stored["gateway_transaction_id"].startswith("pi_dummy_")
    await assert_documented(client, "post", f"{BASE}/process/", response)


async def test_a_declined_card_answers_the_seeds_failure_body_and_the_transaction_says_why(client, db, shop):
    intent = await intent_for(client, shop, await checked_out(db, shop))

    response = await process(client, shop, intent["transaction_id"], DECLINING_CARD)

    assert response.status_code == 400
    assert response.json() == SEED_PROCESS_FAILED
    stored = await transaction(client, shop, intent["transaction_id"])
    assert (stored["status"], stored["error_message"]) == ("failed", "Your card was declined.")
    await assert_documented(client, "post", f"{BASE}/process/", response)


async def test_transactions_list_only_the_callers_own_newest_first_as_the_seed_shows(client, db, shop):
    first = await paid(client, db, shop)
    second = await paid(client, db, shop)
    await paid(client, db, shop, CUSTOMER2)

    response = await client.get(f"{BASE}/transactions/", headers=auth(shop))

    assert response.status_code == 200
    assert_shaped_like(response.json(), SEED_TRANSACTIONS)
    assert [t["transaction_id"] for t in response.json()] == [second, first]
    assert {(t["user"], t["user_email"], t["status"], t["amount"]) for t in response.json()} == {
        (shop.id_of(CUSTOMER), CUSTOMER, "success", "149.90")}
    for t in response.json():
        assert_formats(t)
    await assert_documented(client, "get", f"{BASE}/transactions/", response)


async def test_a_transactions_details_answer_the_seeds_example(client, db, shop):
    order = await checked_out(db, shop)
    intent = await intent_for(client, shop, order)
    await process(client, shop, intent["transaction_id"])

    response = await client.get(f"{BASE}/transactions/{intent['transaction_id']}/", headers=auth(shop))

    assert response.status_code == 200
    detail = response.json()
    assert_shaped_like(detail, SEED_TRANSACTION)
    assert_formats(detail)
    assert {k: detail[k] for k in ("transaction_id", "order", "order_number", "user", "user_email", "gateway",
                                   "amount", "currency", "status", "metadata", "error_message")} == {
        "transaction_id": intent["transaction_id"], "order": order.id, "order_number": order.number,
        "user": shop.id_of(CUSTOMER), "user_email": CUSTOMER, "gateway": "dummy", "amount": "149.90",
        "currency": "USD", "status": "success", "metadata": {"payment_method": "dummy"}, "error_message": ""}
    await assert_documented(client, "get", f"{BASE}/transactions/{{transaction_id}}/", response)


async def test_the_buyer_refunds_their_transaction_in_full_as_the_seed_shows(client, db, shop):
    number = await paid(client, db, shop)

    response = await client.post(f"{BASE}/refund/", headers=auth(shop),
                                 json={**SEED_REFUND_REQUEST, "transaction_id": number, "amount": "149.90"})

    assert response.status_code == 200, response.text
    refund = response.json()
    assert_shaped_like(refund, SEED_REFUND)
    assert_formats(refund)
    assert refund["refund_id"].startswith("REF-") and refund["gateway_refund_id"].startswith("re_dummy_")
    shown = ("transaction_id", "amount", "currency", "status", "reason", "metadata")
    assert {k: refund[k] for k in shown} == {
        "transaction_id": number, "amount": "149.90", "currency": "USD", "status": "refunded",
        "reason": "Customer request", "metadata": {}}
    assert refund["transaction"] == (await transaction(client, shop, number))["id"]
    assert (await transaction(client, shop, number))["status"] == "refunded"
    await assert_documented(client, "post", f"{BASE}/refund/", response)


async def test_a_partial_refund_then_one_without_amount_refunds_the_rest(client, db, shop):
    number = await paid(client, db, shop)

    part = await client.post(f"{BASE}/refund/", headers=auth(shop),
                             json={"transaction_id": number, "reason": "one mug broke", "amount": "14.99"})
    after_part = (await transaction(client, shop, number))["status"]
    rest = await client.post(f"{BASE}/refund/", headers=auth(shop), json={"transaction_id": number})

    assert (part.status_code, part.json()["amount"], after_part) == (200, "14.99", "partially_refunded")
    assert (rest.status_code, rest.json()["amount"], rest.json()["reason"]) == (200, "134.91", "")
    assert (await transaction(client, shop, number))["status"] == "refunded"


async def test_staff_refund_anyones_transaction(client, db, shop):
    number = await paid(client, db, shop)

    response = await client.post(f"{BASE}/refund/", headers=auth(shop, STAFF),
                                 json={"transaction_id": number, "amount": "10.00"})

    assert (response.status_code, response.json()["status"]) == (200, "refunded")


async def test_an_intent_created_again_before_processing_is_the_same_transaction(client, db, shop):
    order = await checked_out(db, shop)
    first = await intent_for(client, shop, order)

    again = await intent_for(client, shop, order)

    assert again == first
    assert len((await rows(db))["payments"]) == 1


async def test_a_replayed_process_with_the_same_idempotency_key_charges_once(client, db, shop):
    intent = await intent_for(client, shop, await checked_out(db, shop))
    key = {"Idempotency-Key": "3f1c9a52-4b7e-4c1d-9a8e-0d6f2b1e7c44"}

    first = await process(client, shop, intent["transaction_id"], headers=key)
    before = await rows(db)
    replay = await process(client, shop, intent["transaction_id"], headers=key)

    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.content == first.content and replay.headers["idempotent-replayed"] == "true"
    assert await rows(db) == before
    assert [a[1:] for a in before["attempts"]] == [("authorize", "succeeded")]


async def test_no_card_number_reaches_the_database_or_the_log(client, db, shop, caplog):
    caplog.set_level(logging.DEBUG)

    await paid(client, db, shop)
    intent = await intent_for(client, shop, await checked_out(db, shop))
    await process(client, shop, intent["transaction_id"], DECLINING_CARD)

    async with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            stored = repr((await conn.execute(text(f'SELECT * FROM "{table.name}"'))).all())
            assert SEED_CARD not in stored and DECLINING_CARD not in stored, table.name
    assert SEED_CARD not in caplog.text and DECLINING_CARD not in caplog.text


async def test_configurations_offer_a_provider_only_with_its_settings_and_never_a_secret(
        database_url, shared_db, db, shop):
    secrets = {"stripe_api_key": "sk_test_SECRET1", "paypal_client_secret": "PAYPAL-SECRET2",
               "razorpay_key_secret": "RAZORPAY-SECRET3", "flutterwave_secret_key": "FLWSECK-SECRET4"}
    settings = settings_for(database_url, stripe_publishable_key="pk_test_public",
                            paypal_client_id="paypal-client", razorpay_key_id="rzp_test_public", **secrets)
    server, task, url = await start_server(create_app(settings, db=shared_db))
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.get(f"{BASE}/configurations/", headers=auth(shop))
    finally:
        await stop_server(server, task)

    # Only what the provider registry offers, each with its public key, never a secret: PayPal's
    # is its client id (its JS SDK's), Razorpay's its key id; Flutterwave's checkout needs none.
    assert response.status_code == 200
    assert_shaped_like(response.json(), SEED_CONFIGURATIONS * 5)
    assert [(c["id"], c["gateway"], c["public_key"]) for c in response.json()] == [
        (1, "dummy", "dummy_public_key"), (2, "stripe", "pk_test_public"), (3, "paypal", "paypal-client"),
        (4, "razorpay", "rzp_test_public"), (5, "flutterwave", "")]
    assert not any(secret in response.text for secret in secrets.values())


# --- errors -----------------------------------------------------------------------------------------

async def test_every_path_answers_401_in_the_seeds_detail_shape_without_a_valid_token(client, db, shop):
    number = await paid(client, db, shop)
    calls = [("get", f"{BASE}/configurations/"), ("get", f"{BASE}/transactions/"),
             ("get", f"{BASE}/transactions/{number}/"), ("post", f"{BASE}/create-intent/"),
             ("post", f"{BASE}/process/"), ("post", f"{BASE}/refund/")]
    before = await rows(db)

    answers = [await client.request(method, path, json={"transaction_id": number}, headers=headers)
               for method, path in calls for headers in ({}, {"Authorization": "Bearer not-a-token"})]

    assert [a.status_code for a in answers] == [401] * len(answers)
    for answer in answers:
        assert_shaped_like(answer.json(), SEED_ERROR_DETAIL)
    assert await rows(db) == before


async def test_another_users_transaction_is_not_found_and_left_untouched(client, db, shop):
    number = await paid(client, db, shop)
    before = await rows(db)

    detail = await client.get(f"{BASE}/transactions/{number}/", headers=auth(shop, CUSTOMER2))
    processed = await process(client, shop, number, email=CUSTOMER2)
    refunded = await post_refund(client, shop, {"transaction_id": number}, CUSTOMER2)
    listed = await client.get(f"{BASE}/transactions/", headers=auth(shop, CUSTOMER2))
    seller = await client.get(f"{BASE}/transactions/{number}/", headers=auth(shop, "seller@example.com"))

    assert [r.status_code for r in (detail, processed, refunded, seller)] == [404] * 4
    assert detail.json() == processed.json() == refunded.json() == {
        "detail": "No Transaction matches the given query."}
    assert listed.json() == []
    assert await rows(db) == before


async def test_an_unknown_transaction_id_is_not_found(client, db, shop):
    await paid(client, db, shop)
    unknown = ["TXN-000000000000", "TXN-FFFFFFFFFFFF", "not-a-txn", "TXN-%00"]

    answers = [await client.get(f"{BASE}/transactions/{n}/", headers=auth(shop)) for n in unknown]
    answers += [await process(client, shop, n) for n in unknown]
    answers += [await client.post(f"{BASE}/refund/", headers=auth(shop), json={"transaction_id": n})
                for n in unknown]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all(a.json() == {"detail": "No Transaction matches the given query."} for a in answers)


async def test_malformed_json_is_a_400_in_the_detail_shape_and_writes_nothing(client, db, shop):
    await checked_out(db, shop)
    before = await rows(db)

    headers = {**auth(shop), "Content-Type": "application/json"}
    answers = [await client.post(f"{BASE}/{path}/", content=body, headers=headers)
               for path in ("create-intent", "process", "refund")
               for body in (b'{"order_id": 1,', b"[1]", b"")]

    assert [a.status_code for a in answers] == [400] * len(answers)
    for answer in answers:
        assert_shaped_like(answer.json(), SEED_ERROR_DETAIL)
    assert await rows(db) == before


async def test_wrong_types_are_a_400_naming_the_field_and_write_nothing(client, db, shop):
    order = await checked_out(db, shop)
    number = (await intent_for(client, shop, order))["transaction_id"]
    before = await rows(db)
    bad = [
        ("create-intent", {"order_id": "one", "gateway": "dummy"}, "order_id"),
        ("create-intent", {"order_id": True}, "order_id"),
        ("create-intent", {"order_id": [order.id]}, "order_id"),
        ("create-intent", {"order_id": order.id + 0.5}, "order_id"),
        ("create-intent", {"order_id": order.id, "gateway": 1}, "gateway"),
        ("process", {"transaction_id": 1, "payment_method": "credit_card", "payment_data": card()},
         "transaction_id"),
        ("process", {"transaction_id": number, "payment_method": "credit_card", "payment_data": "4111"},
         "payment_data"),
        ("process", {"transaction_id": number, "payment_method": "credit_card",
                     "payment_data": {**card(), "card_number": 4111111111111111}},
         "payment_data.card_number"),
        ("process", {"transaction_id": number, "payment_method": "bitcoin", "payment_data": card()},
         "payment_method"),
        ("refund", {"transaction_id": number, "amount": True}, "amount"),
        ("refund", {"transaction_id": number, "reason": ["a"]}, "reason"),
    ]

    answers = [await client.post(f"{BASE}/{path}/", json=body, headers=auth(shop)) for path, body, _ in bad]

    nul = await post_refund(client, shop, {"transaction_id": number, "reason": "a\x00b"})

    assert [a.status_code for a in answers] == [400] * len(bad)
    for answer, (_, _, field) in zip(answers, bad, strict=True):
        assert answer.json()["detail"].startswith(f"{field}:"), answer.json()
    assert (nul.status_code, nul.json()) == (400, {"detail": "reason: must not contain NUL characters."})
    assert await rows(db) == before


async def test_the_seeds_curl_example_without_payment_data_is_told_what_is_missing(client, db, shop):
    intent = await intent_for(client, shop, await checked_out(db, shop))
    before = await rows(db)

    response = await client.post(f"{BASE}/process/", headers=auth(shop), json={
        "transaction_id": intent["transaction_id"], "payment_method": "credit_card"})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("payment_data: this field is required")
    assert await rows(db) == before


async def test_refund_amounts_that_are_negative_zero_or_too_precise_are_refused_and_write_nothing(client, db,
                                                                                                  shop):
    number = await paid(client, db, shop)
    before = await rows(db)

    answers = [await post_refund(client, shop, {"transaction_id": number, "amount": a})
               for a in ("1.001", "-5.00", "0.00", "", "1e3", "ten")]

    assert [a.status_code for a in answers] == [400] * 6
    for answer in answers:
        assert_shaped_like(answer.json(), SEED_ERROR_DETAIL)
    assert "at most 2 decimal places" in answers[0].json()["detail"]
    assert await rows(db) == before


async def test_a_refund_above_what_is_left_is_refused_and_writes_nothing(client, db, shop):
    number = await paid(client, db, shop)
    await post_refund(client, shop, {"transaction_id": number, "amount": "100.00"})
    before = await rows(db)

    response = await client.post(f"{BASE}/refund/", headers=auth(shop),
                                 json={"transaction_id": number, "amount": "49.91"})

    assert response.status_code == 400
    assert_shaped_like(response.json(), SEED_ERROR_CUSTOM)
    assert "left to refund" in response.json()["error"]
    assert await rows(db) == before
    await assert_documented(client, "post", f"{BASE}/refund/", response)


async def test_processing_a_completed_transaction_again_is_refused_and_charges_nothing(client, db, shop):
    number = await paid(client, db, shop)
    before = await rows(db)

    response = await process(client, shop, number)

    assert response.status_code == 400
    assert_shaped_like(response.json(), SEED_ERROR_CUSTOM)
    assert "succeeded" in response.json()["error"]
    assert await rows(db) == before


async def test_an_intent_for_an_order_already_paid_is_refused_and_writes_nothing(client, db, shop):
    order = await checked_out(db, shop)
    intent = await intent_for(client, shop, order)
    await process(client, shop, intent["transaction_id"])
    before = await rows(db)

    response = await client.post(f"{BASE}/create-intent/", json={"order_id": order.id, "gateway": "dummy"},
                                 headers=auth(shop))

    assert response.status_code == 400
    assert response.json() == {"error": f"order {order.number} is paid, not awaiting payment"}
    assert await rows(db) == before


async def test_an_intent_for_someone_elses_or_a_missing_order_is_not_found(client, db, shop):
    order = await checked_out(db, shop)

    answers = [await client.post(f"{BASE}/create-intent/", json={"order_id": order_id},
                                 headers=auth(shop, email))
               for order_id, email in ((order.id, CUSTOMER2), (order.id + 1000, CUSTOMER), (2**40, CUSTOMER))]

    assert [a.status_code for a in answers] == [404] * 3
    assert answers[0].json() == {"detail": "No Order matches the given query."}
    assert (await rows(db))["payments"] == []


async def test_an_unknown_gateway_is_a_400_listing_the_active_ones(client, db, shop):
    order = await checked_out(db, shop)

    response = await client.post(f"{BASE}/create-intent/", json={"order_id": order.id, "gateway": "stripe"},
                                 headers=auth(shop))

    assert response.status_code == 400
    assert response.json() == {
        "detail": "gateway: 'stripe' is not an active gateway; choose one of ['dummy']."}
    assert (await rows(db))["payments"] == []


async def test_every_route_is_declared_in_openapi_with_its_error_answers(client):
    spec = (await client.get("/openapi.json")).json()

    declared = {(path, method): set(op["responses"]) for path, ops in spec["paths"].items()
                if path.startswith(f"{BASE}/") for method, op in ops.items()}

    expected = {
        (f"{BASE}/configurations/", "get"): {"200", "401"},
        (f"{BASE}/transactions/", "get"): {"200", "401"},
        (f"{BASE}/transactions/{{transaction_id}}/", "get"): {"200", "401", "404"},
        (f"{BASE}/create-intent/", "post"): {"200", "400", "401", "404", "409", "422"},
        (f"{BASE}/process/", "post"): {"200", "202", "400", "401", "404", "409", "422"},
        (f"{BASE}/refund/", "post"): {"200", "202", "400", "401", "404", "409", "422"},
    }
    assert set(declared) == set(expected)
    assert all(expected[op] <= declared[op] for op in expected)  # rate limiting may add its 429


async def test_amounts_follow_the_currencys_exponent_for_a_yen_order(client, db, shop):
    order = await order_for(db, shop, {"SORA-TEA-01": 2}, CUSTOMER)  # 2 x 1500 JPY
    intent = await intent_for(client, shop, order)
    await process(client, shop, intent["transaction_id"])

    too_precise = await client.post(f"{BASE}/refund/", headers=auth(shop),
                                    json={"transaction_id": intent["transaction_id"], "amount": "500.5"})
    refund = await client.post(f"{BASE}/refund/", headers=auth(shop),
                               json={"transaction_id": intent["transaction_id"], "amount": "500"})

    assert (intent["amount"], intent["currency"]) == ("3000", "JPY")
    assert too_precise.status_code == 400 and "at most 0 decimal places" in too_precise.json()["detail"]
    assert (refund.status_code, refund.json()["amount"], refund.json()["currency"]) == (200, "500", "JPY")


async def test_a_card_that_asks_for_3d_secure_answers_202_processing(client, db, shop):
    intent = await intent_for(client, shop, await checked_out(db, shop))

    response = await process(client, shop, intent["transaction_id"], "4000002500003155")

    assert response.status_code == 202
    assert response.json() == {"message": "Payment is being processed",
                               "transaction_id": intent["transaction_id"], "status": "processing"}
    assert (await transaction(client, shop, intent["transaction_id"]))["status"] == "processing"
    await assert_documented(client, "post", f"{BASE}/process/", response)


async def test_two_concurrent_processes_of_one_transaction_charge_it_once(client, db, shop):
    intent = await intent_for(client, shop, await checked_out(db, shop))

    answers = await asyncio.gather(*(process(client, shop, intent["transaction_id"]) for _ in range(2)))

    assert sorted(a.status_code for a in answers) == [200, 400]
    assert [a[1:] for a in (await rows(db))["attempts"]] == [("authorize", "succeeded")]
    assert (await transaction(client, shop, intent["transaction_id"]))["status"] == "success"


async def test_a_body_nested_too_deep_to_parse_is_bad_input_not_a_server_error(client, shop):
    response = await client.post("/api/payment/process/", content=b"[" * 100_000,
                                 headers={"Authorization": f"Bearer {shop.token('customer@example.com')}",
                                          "Content-Type": "application/json"})

    assert response.status_code == 400
    assert "detail" in response.json()
