"""Seed 001 under /orders/api/ over real HTTP: the seed's examples key for key and type for type,
DRF-style pages, and the generic online gateway's signed webhook acting once and never backwards."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, text
from sqlmodel import select

from db.ledger_queries import all_entries
from db.payment_tables import LedgerEntryRow, PaymentAttemptRow, PaymentRow, WebhookEventRow
from db.tables import AuditRow, OrderRow, ProductRow
from db.uow import SqlUnitOfWork
from domain.ledger import EntryKind
from domain.payments.external import ExternalOutcome, ExternalPaymentEvent, record_external_payment
from domain.payments.service import PayOrder, RefundPayment, pay_order, refund_payment
from paygate.app import create_app
from tests.conftest import settings_for, start_server, stop_server
from tests.payments_fixtures import (
    POLICY,
    VISA,
    assert_ledger_balances,
    customer,
    order_for,
    providers,
    staff,
)

SECRET = "gateway-test-secret"
BASE = "/orders/api"

# The seed's documented examples, copied verbatim.
SEED_LIST = json.loads("""{
  "count": 2, "next": null, "previous": null,
  "results": [
    {"id": 1, "order": 1, "user": 1, "amount": "1598.00", "method": "COD", "status": "pending",
     "transaction_id": null, "created_at": "2023-01-15T14:30:00Z", "updated_at": "2023-01-15T14:30:00Z"},
    {"id": 2, "order": 2, "user": 1, "amount": "899.00", "method": "ONLINE", "status": "completed",
     "transaction_id": "txn_123456789", "created_at": "2023-01-20T10:15:00Z",
     "updated_at": "2023-01-20T10:20:00Z"}
  ]}""")
SEED_DETAIL = json.loads("""{
  "id": 1, "order": 1, "user": 1, "amount": "1598.00", "method": "COD", "status": "pending",
  "transaction_id": null, "created_at": "2023-01-15T14:30:00Z", "updated_at": "2023-01-15T14:30:00Z"}""")
SEED_CREATE_STRIPE_ORDER = {"shipping_address": 1}
SEED_WEBHOOK = json.loads("""{
  "event_type": "payment.completed", "payment_id": "txn_123456789", "order_reference": "1",
  "amount": "1598.00", "status": "completed", "timestamp": "2023-01-15T15:30:00Z"}""")
SEED_WEBHOOK_RESPONSE = {"status": "success", "message": "Payment confirmed"}

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def json_types(examples: list) -> set[type]:
    # null in an example stands for "null here, a value otherwise" (the seed shows both for
    # transaction_id, and DRF's next/previous are links once there is another page).
    found = {type(e) for e in examples}
    return found | {str} if type(None) in found else found


def assert_shape(actual, *examples) -> None:
    """Same keys as the seed's example(s), recursively, and values of the types it shows."""
    if isinstance(examples[0], dict):
        assert isinstance(actual, dict) and set(actual) == set(examples[0]), (actual, examples[0])
        for key in actual:
            assert_shape(actual[key], *[e[key] for e in examples])
    elif isinstance(examples[0], list):
        assert isinstance(actual, list)
        for item in actual:
            assert_shape(item, *[i for e in examples for i in e])
    else:
        assert type(actual) in json_types(list(examples)), (actual, examples)


def bearer(shop, email: str = "customer@example.com") -> dict:
    return {"Authorization": f"Bearer {shop.token(email)}"}


def signed(body: dict, secret: str = SECRET) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json",
                 "X-Webhook-Signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()}


def event(order, payment_id: str = "txn_123456789", kind: str = "completed",
          amount: str | None = None) -> dict:
    return {**SEED_WEBHOOK, "event_type": f"payment.{kind}", "status": kind, "payment_id": payment_id,
            "order_reference": str(order.id), "amount": amount or order.total.decimal}


@pytest.fixture(scope="module")
async def gateway_url(database_url, shared_db) -> AsyncIterator[str]:
    """A server with GATEWAY_WEBHOOK_SECRET set (the shared one has none)."""
    app = create_app(settings_for(database_url, gateway_webhook_secret=SECRET), db=shared_db)
    server, task, url = await start_server(app)
    yield url
    await stop_server(server, task)


@pytest.fixture
async def http(gateway_url, db) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        yield client


async def deliver(http: httpx.AsyncClient, body: dict, secret: str = SECRET) -> httpx.Response:
    raw, headers = signed(body, secret)
    return await http.post(f"{BASE}/payment-webhook/", content=raw, headers=headers)


async def state(db) -> dict:
    """Everything a webhook may change: rows per table, orders' statuses, products' stock."""
    async with db.read_sessions() as session:
        counts = {row.__tablename__: (await session.exec(select(func.count()).select_from(row))).one()
                  for row in (PaymentRow, PaymentAttemptRow, LedgerEntryRow, WebhookEventRow)}
        orders = dict((await session.exec(select(OrderRow.id, OrderRow.status))).all())
        stock = dict((await session.exec(select(ProductRow.sku, ProductRow.stock))).all())
    return {**counts, "orders": orders, "stock": stock}


async def order_status(db, order_id: int) -> str:
    async with db.read_sessions() as session:
        return (await session.exec(select(OrderRow.status).where(OrderRow.id == order_id))).one()


async def captures(db) -> list:
    return [e for e in await all_entries(db) if e.kind is EntryKind.CAPTURE]


async def stored_events(db) -> list[WebhookEventRow]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(WebhookEventRow).order_by(WebhookEventRow.id))).all())


async def card_payment(db, shop, email: str = "customer@example.com", gateway=None):
    order = await order_for(db, shop, {"SAM-MUG-01": 1}, email)
    return await pay_order(PayOrder(customer(shop, email), order.id, "dummy", card=VISA), SqlUnitOfWork(db),
                           gateway or providers(), POLICY)


async def failed_online_payments(db, order, count: int) -> None:
    for n in range(count):
        await record_external_payment(ExternalPaymentEvent(
            provider="online", event_id=f"payment.failed:txn_{n}", event_type="payment.failed",
            outcome=ExternalOutcome.FAILED, order_id=order.id, provider_ref=f"txn_{n}",
            amount=order.total.decimal), SqlUnitOfWork(db), POLICY)


# --- the seed's examples ---------------------------------------------------------------------


async def test_the_payment_list_answers_the_seeds_example_key_for_key_and_type_for_type(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    await deliver(http, event(order))
    await card_payment(db, shop)

    response = await http.get(f"{BASE}/payments/", headers=bearer(shop))

    assert response.status_code == 200
    body = response.json()
    assert_shape(body, SEED_LIST)
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    online, card = sorted(body["results"], key=lambda p: p["id"])
    buyer = shop.id_of("customer@example.com")
    assert (online["order"], online["user"], online["amount"]) == (order.id, buyer, "29.98")
    assert (online["method"], online["status"], online["transaction_id"]) == ("ONLINE", "completed",
                                                                             "txn_123456789")
    assert (card["method"], card["status"], card["amount"]) == ("ONLINE", "completed", "14.99")
    assert [p["id"] for p in body["results"]] == [card["id"], online["id"]]  # newest first
    assert all(TIMESTAMP.match(p[k]) for p in body["results"] for k in ("created_at", "updated_at"))


async def test_the_payment_detail_answers_the_seeds_example_key_for_key_and_type_for_type(http, db, shop):
    payment = await card_payment(db, shop)

    response = await http.get(f"{BASE}/payments/{payment.id}/", headers=bearer(shop))

    assert response.status_code == 200
    body = response.json()
    assert_shape(body, SEED_DETAIL)
    assert body == {"id": payment.id, "order": payment.order_id, "user": payment.buyer_id, "amount": "14.99",
                    "method": "ONLINE", "status": "completed", "transaction_id": payment.provider_ref,
                    "created_at": body["created_at"], "updated_at": body["updated_at"]}
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["updated_at"])


async def test_create_stripe_order_answers_503_saying_stripe_is_not_configured(http, shop):
    url = f"{BASE}/create-stripe-order/"

    response = await http.post(url, json=SEED_CREATE_STRIPE_ORDER, headers=bearer(shop))
    anonymous = await http.post(url, json=SEED_CREATE_STRIPE_ORDER)

    assert response.status_code == 503
    assert set(response.json()) == {"detail"} and "Stripe is not configured" in response.json()["detail"]
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"detail"}


async def test_the_stripe_webhook_refuses_every_delivery_without_a_webhook_secret(http, db):
    # The Stripe webhook itself is tested in tests/test_stripe_webhooks.py.
    headers = {"stripe-signature": "t=1,v1=x"}
    before = await state(db)

    response = await http.post(f"{BASE}/stripe-webhook/", content=b"{}", headers=headers)

    assert response.status_code == 400
    assert "PAYGATE_STRIPE_WEBHOOK_SECRET" in response.json()["detail"]
    assert await state(db) == before


async def test_the_seeds_webhook_example_confirms_the_order_like_a_card_payment(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    before = await state(db)

    response = await deliver(http, {**SEED_WEBHOOK, "order_reference": str(order.id), "amount": "29.98"})

    assert response.status_code == 200
    assert_shape(response.json(), SEED_WEBHOOK_RESPONSE)
    assert response.json() == SEED_WEBHOOK_RESPONSE
    (payment,) = (await http.get(f"{BASE}/payments/", headers=bearer(shop))).json()["results"]
    assert (payment["order"], payment["method"], payment["status"], payment["transaction_id"]) == (
        order.id, "ONLINE", "completed", "txn_123456789")
    assert await order_status(db, order.id) == "paid"
    assert (await state(db))["stock"]["SAM-MUG-01"] == before["stock"]["SAM-MUG-01"] - 2
    assert len(await captures(db)) == 1
    await assert_ledger_balances(db)
    assert [(e.provider, e.event_id, e.state) for e in await stored_events(db)] == [
        ("online", "payment.completed:txn_123456789", "processed")]


async def test_an_amount_in_a_zero_decimal_currency_is_read_in_the_orders_exponent(http, db, shop):
    order = await order_for(db, shop, {"SORA-TEA-01": 2})

    response = await deliver(http, event(order, amount="3000"))

    assert response.status_code == 200
    (payment,) = (await http.get(f"{BASE}/payments/", headers=bearer(shop))).json()["results"]
    assert payment["amount"] == "3000"


# --- pages -----------------------------------------------------------------------------------


async def test_following_next_links_walks_every_payment_newest_first_and_previous_walks_back(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    await failed_online_payments(db, order, 23)
    await card_payment(db, shop, "customer2@example.com")

    pages, url = [], f"{BASE}/payments/?page_size=10"
    while url:
        pages.append((await http.get(url, headers=bearer(shop))).json())
        url = pages[-1]["next"]
    back, url = [], pages[-1]["previous"]
    while url:
        back.append((await http.get(url, headers=bearer(shop))).json())
        url = back[-1]["previous"]

    ids = [p["id"] for page in pages for p in page["results"]]
    assert [len(page["results"]) for page in pages] == [10, 10, 3]
    assert all(page["count"] == 23 for page in pages)
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 23
    assert {p["status"] for page in pages for p in page["results"]} == {"failed"}
    assert pages[1]["next"].startswith("http://") and "page=3" in pages[1]["next"]
    assert "page_size=10" in pages[1]["next"]
    assert back == pages[1::-1]


async def test_a_page_size_above_100_is_read_as_100_and_a_bad_one_as_the_default_of_10(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})
    await failed_online_payments(db, order, 12)

    large = (await http.get(f"{BASE}/payments/?page_size=1000", headers=bearer(shop))).json()
    bad = (await http.get(f"{BASE}/payments/?page_size=zero", headers=bearer(shop))).json()

    assert len(large["results"]) == 12 and large["next"] is None
    assert len(bad["results"]) == 10 and "page=2" in bad["next"]


@pytest.mark.parametrize("page", ["2", "0", "-1", "abc", "1.5", "99999999999999999999999"])
async def test_a_page_out_of_range_or_not_a_number_is_404_invalid_page(http, db, shop, page):
    await card_payment(db, shop)

    response = await http.get(f"{BASE}/payments/", params={"page": page}, headers=bearer(shop))

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


async def test_an_empty_list_is_one_page_with_no_links(http, shop):
    response = await http.get(f"{BASE}/payments/", headers=bearer(shop))

    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


async def test_listing_without_a_token_is_401_in_the_seeds_error_shape(http):
    response = await http.get(f"{BASE}/payments/")

    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


# --- detail ----------------------------------------------------------------------------------


async def test_another_users_payment_is_404_like_a_missing_one(http, db, shop):
    payment = await card_payment(db, shop)

    other = await http.get(f"{BASE}/payments/{payment.id}/", headers=bearer(shop, "customer2@example.com"))
    missing = await http.get(f"{BASE}/payments/{payment.id + 1000}/", headers=bearer(shop))
    not_an_id = await http.get(f"{BASE}/payments/abc/", headers=bearer(shop))
    too_large = await http.get(f"{BASE}/payments/99999999999/", headers=bearer(shop))

    for response in (other, missing, not_an_id, too_large):
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


async def test_a_fully_refunded_payment_reads_refunded(http, db, shop):
    gateway = providers()
    payment = await card_payment(db, shop, gateway=gateway)
    await refund_payment(RefundPayment(staff(shop), payment.id), SqlUnitOfWork(db), gateway, POLICY)

    response = await http.get(f"{BASE}/payments/{payment.id}/", headers=bearer(shop))

    assert response.json()["status"] == "refunded"


# --- the generic gateway's webhook -----------------------------------------------------------


async def test_the_same_event_delivered_20_times_at_once_confirms_one_payment_with_one_capture(
        http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    raw, headers = signed(event(order))
    before = await effects(db)

    responses = await asyncio.gather(*[http.post(f"{BASE}/payment-webhook/", content=raw, headers=headers)
                                       for _ in range(20)])

    assert [(r.status_code, r.json()) for r in responses] == [(200, SEED_WEBHOOK_RESPONSE)] * 20
    listed = (await http.get(f"{BASE}/payments/", headers=bearer(shop))).json()
    assert listed["count"] == 1 and listed["results"][0]["status"] == "completed"
    assert await order_status(db, order.id) == "paid"
    # Acted on exactly once: one payment, one attempt, one capture, the two audit rows of one
    # payment, and the event stored once as processed; a delivery that acted again (even one
    # that found the payment confirmed and changed nothing else) would leave it otherwise.
    after = await effects(db)
    assert {table: after[table] - before[table] for table in COUNTED} == {
        "payments": 1, "payment_attempts": 1, "ledger_entries": 1, "webhook_events": 1}
    assert after["audit"][len(before["audit"]):] == ["payment.create", "payment.authorize.succeeded"]
    [stored] = await stored_events(db)
    assert (stored.state, stored.detail) == ("processed", None)
    await assert_ledger_balances(db)


COUNTED = ("payments", "payment_attempts", "ledger_entries", "webhook_events")


async def effects(db) -> dict:
    """Rows a delivery may add, and the audit log's actions in order."""
    async with db.read_sessions() as session:
        counts = {row.__tablename__: (await session.exec(select(func.count()).select_from(row))).one()
                  for row in (PaymentRow, PaymentAttemptRow, LedgerEntryRow, WebhookEventRow)}
        audit = list((await session.exec(select(AuditRow.action).order_by(AuditRow.id))).all())
    return {**counts, "audit": audit}


async def test_a_redelivered_event_is_acknowledged_alike_and_changes_nothing(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    first = await deliver(http, event(order))
    after_first = await state(db)

    again = await deliver(http, event(order))

    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert await state(db) == after_first


@pytest.mark.parametrize("signature", [None, "", "not-hex", "0" * 64, "wrong-secret"])
async def test_a_missing_or_bad_signature_is_400_and_changes_nothing(http, db, shop, signature):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    raw, headers = signed(event(order), secret="another-secret" if signature == "wrong-secret" else SECRET)
    if signature is None:
        del headers["X-Webhook-Signature"]
    elif signature != "wrong-secret":
        headers["X-Webhook-Signature"] = signature
    before = await state(db)

    response = await http.post(f"{BASE}/payment-webhook/", content=raw, headers=headers)

    assert response.status_code == 400 and set(response.json()) == {"detail"}
    assert await state(db) == before


async def test_a_body_changed_after_signing_is_400_and_changes_nothing(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    raw, headers = signed(event(order))
    before = await state(db)

    tampered = raw.replace(b"txn_", b"txm_")

    response = await http.post(f"{BASE}/payment-webhook/", content=tampered, headers=headers)

    assert response.status_code == 400
    assert await state(db) == before


async def test_without_a_gateway_secret_configured_every_event_is_400_and_changes_nothing(client, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    raw, headers = signed(event(order))
    before = await state(db)

    response = await client.post(f"{BASE}/payment-webhook/", content=raw, headers=headers)

    assert response.status_code == 400 and "not configured" in response.json()["detail"]
    assert await state(db) == before


async def test_an_amount_other_than_the_orders_total_is_400_and_only_kept_as_a_failed_event(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    before = await state(db)

    response = await deliver(http, event(order, amount="29.97"))

    assert response.status_code == 400 and "29.98" in response.json()["detail"]
    after = await state(db)
    assert {**after, "webhook_events": 0} == before
    assert [(e.state, "29.97" in e.detail) for e in await stored_events(db)] == [("failed", True)]


async def test_a_refused_event_delivered_again_after_a_fix_is_acted_on(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    await deliver(http, event(order, amount="2998"))

    fixed = await deliver(http, event(order))

    assert fixed.json() == SEED_WEBHOOK_RESPONSE
    assert await order_status(db, order.id) == "paid"
    assert [e.state for e in await stored_events(db)] == ["processed"]


@pytest.mark.parametrize("amount", ["29.980", "-29.98", "abc", "2.998e1"])
async def test_a_malformed_or_over_precise_amount_is_400_and_moves_no_money(http, db, shop, amount):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})

    response = await deliver(http, event(order, amount=amount))

    assert response.status_code == 400
    assert await order_status(db, order.id) == "pending_payment" and await captures(db) == []


@pytest.mark.parametrize("body", [
    {"payment_id": "txn_1", "order_reference": "1", "amount": "1.00"},
    {"event_type": "payment.completed", "order_reference": "1", "amount": "1.00"},
    {"event_type": "payment.completed", "payment_id": "txn_1", "order_reference": "one", "amount": "1.00"},
    {"event_type": "payment.completed", "payment_id": "txn_1", "order_reference": "1"},
    {"event_type": "payment.completed", "payment_id": "txn_1", "order_reference": "1", "amount": "1.00",
     "status": "failed"},
    {"event_type": "payment.completed", "payment_id": "txn_1", "order_reference": "1", "amount": "1.00",
     "timestamp": "yesterday"},
])
async def test_an_event_missing_a_field_or_contradicting_itself_is_400_and_changes_nothing(
        http, db, shop, body):
    before = await state(db)

    response = await deliver(http, body)

    assert response.status_code == 400 and set(response.json()) == {"detail"}
    assert await state(db) == before


async def test_a_signed_body_that_is_not_json_is_400(http):
    raw = b"event_type=payment.completed"
    signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()

    headers = {"X-Webhook-Signature": signature}

    response = await http.post(f"{BASE}/payment-webhook/", content=raw, headers=headers)

    assert response.status_code == 400


async def test_an_event_for_an_unknown_order_is_404(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})

    response = await deliver(http, {**event(order), "order_reference": str(order.id + 1000)})

    assert response.status_code == 404 and set(response.json()) == {"detail"}
    assert await order_status(db, order.id) == "pending_payment"


async def test_a_failure_after_the_completion_moves_nothing_back(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    await deliver(http, event(order))
    after_completion = await state(db)

    late = await deliver(http, event(order, kind="failed"))

    assert late.status_code == 200 and late.json()["status"] == "success"
    assert "ignored" in late.json()["message"]
    assert {**await state(db), "webhook_events": 1} == after_completion
    (payment,) = (await http.get(f"{BASE}/payments/", headers=bearer(shop))).json()["results"]
    assert payment["status"] == "completed"
    assert await order_status(db, order.id) == "paid"


async def test_a_failure_is_recorded_and_the_order_can_still_be_paid_by_the_gateway(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})

    failed = await deliver(http, event(order, payment_id="txn_first", kind="failed"))
    paid = await deliver(http, event(order, payment_id="txn_second"))

    assert failed.json() == {"status": "success", "message": "Payment failure recorded"}
    assert paid.json() == SEED_WEBHOOK_RESPONSE
    listed = (await http.get(f"{BASE}/payments/", headers=bearer(shop))).json()["results"]
    assert [(p["transaction_id"], p["status"]) for p in listed] == [("txn_second", "completed"),
                                                                   ("txn_first", "failed")]
    assert await order_status(db, order.id) == "paid" and len(await captures(db)) == 1


async def test_a_second_completed_payment_for_a_paid_order_is_409_and_changes_nothing(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    await deliver(http, event(order))
    after_first = await state(db)

    second = await deliver(http, event(order, payment_id="txn_other"))

    assert second.status_code == 409 and "already has a completed payment" in second.json()["detail"]
    assert {**await state(db), "webhook_events": 1} == after_first


async def test_an_event_type_we_dont_act_on_is_acknowledged_and_stored_as_ignored(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})

    response = await deliver(http, {**event(order), "event_type": "payment.pending", "status": "pending"})

    assert response.status_code == 200 and response.json()["status"] == "success"
    assert [e.state for e in await stored_events(db)] == ["ignored"]
    assert await order_status(db, order.id) == "pending_payment"


async def lapse_reservation(db, order) -> None:
    past = order.created_at.replace(year=2000)
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE orders SET reserved_until = :t WHERE id = :id"),
                           {"t": past, "id": order.id})
        await conn.execute(text("UPDATE stock_reservations SET expires_at = :t WHERE order_id = :id"),
                           {"t": past, "id": order.id})


async def test_a_completion_arriving_after_the_reservation_lapsed_stands_while_the_goods_are_there(
        http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    await lapse_reservation(db, order)

    response = await deliver(http, event(order))

    assert response.json() == SEED_WEBHOOK_RESPONSE
    assert await order_status(db, order.id) == "paid"


async def test_a_completion_after_the_lapsed_goods_went_to_another_buyer_is_409_and_changes_nothing(
        http, db, shop):
    order = await order_for(db, shop, {"SORA-LAST-01": 1})
    await lapse_reservation(db, order)
    await order_for(db, shop, {"SORA-LAST-01": 1}, "customer2@example.com")
    before = await state(db)

    response = await deliver(http, event(order))

    assert response.status_code == 409 and set(response.json()) == {"detail"}
    assert {**await state(db), "webhook_events": 0} == before
    assert [e.state for e in await stored_events(db)] == ["failed"]
