"""Stripe's webhook over real HTTP: events signed with the SDK's own helper, delivered to the real
app, whose Stripe provider talks to tests/fake_stripe.py. Payments are made through GraphQL's
processPayment with provider "stripe", as a frontend makes them."""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import stripe
from sqlmodel import select

from db.payment_tables import PaymentRow, WebhookEventRow
from db.uow import SqlUnitOfWork
from domain.clock import utc_now
from domain.payments.external import WebhookEvent
from paygate.app import create_app
from tests.conftest import STRIPE_WEBHOOK_SECRET, settings_for, start_server, stop_server
from tests.fake_stripe import FakeStripe
from tests.graphql import gql
from tests.test_rest_seed_001 import captures, state

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
SECRET = STRIPE_WEBHOOK_SECRET
PATH = "/api/v1/payments/webhooks/stripe/"
SEED_001_PATH = "/orders/api/stripe-webhook/"
CUSTOMER = "customer@example.com"

PRODUCTS = "{ products(first: 100) { edges { node { id sku } } } }"
SET_ITEM = "mutation($p: ID!, $q: Int!) { cartSetItem(input: {productId: $p, quantity: $q}) { __typename } }"
CHECKOUT = "mutation { checkout { ... on CheckoutSuccess { order { id legacyId } } } }"
PAY = """
mutation($order: ID!, $pm: String!) {
  processPayment(input: {orderId: $order, provider: "stripe", paymentMethod: $pm}) {
    __typename
    ... on Payment { legacyId status }
    ... on Error { code message }
  }
}"""




async def stripe_payment(http, db, shop, payment_method: str) -> tuple[int, str]:
    """(our payment's id, its PaymentIntent's id), paid through GraphQL against the fake."""
    token = shop.token(CUSTOMER)
    products = await gql(http, PRODUCTS)
    product = next(e["node"]["id"] for e in products["data"]["products"]["edges"]
                   if e["node"]["sku"] == "SAM-MUG-01")
    await gql(http, SET_ITEM, {"p": product, "q": 1}, token=token)
    order = (await gql(http, CHECKOUT, token=token))["data"]["checkout"]["order"]
    paid = (await gql(http, PAY, {"order": order["id"], "pm": payment_method}, token=token))["data"]
    payment_id = paid["processPayment"]["legacyId"]
    return payment_id, await provider_ref(db, payment_id)


async def provider_ref(db, payment_id: int) -> str:
    async with db.read_sessions() as session:
        return (await session.exec(select(PaymentRow.provider_ref).where(PaymentRow.id == payment_id))).one()


async def payment_status(db, payment_id: int) -> str:
    async with db.read_sessions() as session:
        return (await session.exec(select(PaymentRow.status).where(PaymentRow.id == payment_id))).one()


def intent_event(fake: FakeStripe, intent_id: str, kind: str, event_id: str = "evt_1") -> dict:
    intent = {k: v for k, v in fake.intents[intent_id].items() if not k.startswith("_")}
    return {"id": event_id, "object": "event", "type": kind, "api_version": "2026-10-28.endive",
            "created": int(time.time()), "data": {"object": intent}}


def signed(event: dict, secret: str = SECRET, timestamp: int | None = None) -> tuple[bytes, dict]:
    raw = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(raw, secret, timestamp)
    return raw.encode(), {"Content-Type": "application/json", "Stripe-Signature": header}


async def deliver(http, event: dict, path: str = PATH, **signing) -> httpx.Response:
    raw, headers = signed(event, **signing)
    return await http.post(path, content=raw, headers=headers)


def customer_finished_3ds(fake: FakeStripe, intent_id: str) -> None:
    intent = fake.intents[intent_id]
    intent.update(status="succeeded", amount_received=intent["amount"], next_action=None)


async def stored_events(db) -> list[tuple[str, str]]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(WebhookEventRow).order_by(WebhookEventRow.id))).all()
        return [(r.event_id, r.state) for r in rows]


# --- signatures -------------------------------------------------------------------------------

async def test_a_valid_succeeded_event_settles_the_payment_once_and_books_the_capture(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    assert await payment_status(db, payment_id) == "requires_action"
    customer_finished_3ds(fake, intent_id)

    response = await deliver(http, intent_event(fake, intent_id, "payment_intent.succeeded"))

    assert response.status_code == 200
    assert response.json() == {"received": True, "state": "processed", "duplicate": False}
    assert await payment_status(db, payment_id) == "succeeded"
    assert len(await captures(db)) == 1
    assert await stored_events(db) == [("evt_1", "processed")]


@pytest.mark.parametrize("spoil", ["tampered", "wrong secret", "stale", "missing", "garbage"])
async def test_a_bad_signature_answers_400_in_the_seeds_shape_and_changes_nothing(http, db, shop, fake, spoil):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    customer_finished_3ds(fake, intent_id)
    event = intent_event(fake, intent_id, "payment_intent.succeeded")
    raw, headers = signed(event, secret="whsec_other" if spoil == "wrong secret" else SECRET,
                          timestamp=int(time.time()) - 301 if spoil == "stale" else None)
    if spoil == "tampered":
        raw = raw.replace(b'"status": "succeeded"', b'"status": "succeeded" ')
    if spoil == "missing":
        del headers["Stripe-Signature"]
    if spoil == "garbage":
        headers["Stripe-Signature"] = "nonsense"
    before = await state(db)

    response = await http.post(PATH, content=raw, headers=headers)

    assert response.status_code == 400 and set(response.json()) == {"error"}
    assert await state(db) == before
    assert await payment_status(db, payment_id) == "requires_action"


async def test_several_v1_signatures_during_a_secret_roll_are_accepted(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    customer_finished_3ds(fake, intent_id)
    raw, headers = signed(intent_event(fake, intent_id, "payment_intent.succeeded"))
    t, ours = headers["Stripe-Signature"].split(",")
    old = stripe.WebhookSignature._compute_signature(f"{t[2:]}.{raw.decode()}", "whsec_rolled_out")
    headers["Stripe-Signature"] = f"{t},v1={old},{ours}"

    response = await http.post(PATH, content=raw, headers=headers)

    assert response.status_code == 200
    assert await payment_status(db, payment_id) == "succeeded"


async def test_without_a_webhook_secret_every_delivery_is_refused(database_url, shared_db, db):
    app = create_app(settings_for(database_url), db=shared_db)
    server, task, url = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            raw, headers = signed({"id": "evt_x", "type": "payment_intent.succeeded", "data": {"object": {}}})
            seed_002 = await http.post(PATH, content=raw, headers=headers)
            seed_001 = await http.post(SEED_001_PATH, content=raw, headers=headers)
    finally:
        await stop_server(server, task)

    assert seed_002.status_code == 400 and "PAYGATE_STRIPE_WEBHOOK_SECRET" in seed_002.json()["error"]
    assert seed_001.status_code == 400 and "PAYGATE_STRIPE_WEBHOOK_SECRET" in seed_001.json()["detail"]
    assert await stored_events(db) == []


# --- once, and never backwards ------------------------------------------------------------------

async def test_twenty_concurrent_deliveries_of_one_event_make_one_state_change(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    customer_finished_3ds(fake, intent_id)
    event = intent_event(fake, intent_id, "payment_intent.succeeded")

    responses = await asyncio.gather(*(deliver(http, event) for _ in range(20)))

    assert [r.status_code for r in responses] == [200] * 20
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    assert await payment_status(db, payment_id) == "succeeded"
    assert len(await captures(db)) == 1
    assert await stored_events(db) == [("evt_1", "processed")]


async def test_a_payment_failed_after_succeeded_moves_nothing_back(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    customer_finished_3ds(fake, intent_id)
    succeeded = intent_event(fake, intent_id, "payment_intent.succeeded", "evt_ok")
    failed = intent_event(fake, intent_id, "payment_intent.payment_failed", "evt_late")
    failed["data"]["object"].update(status="requires_payment_method", last_payment_error={
        "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."})
    await deliver(http, succeeded)
    before = await state(db)

    response = await deliver(http, failed)

    assert response.status_code == 200 and response.json()["state"] == "ignored"
    after = await state(db)
    assert after == {**before, "webhook_events": before["webhook_events"] + 1}
    assert await payment_status(db, payment_id) == "succeeded"


async def test_a_succeeded_event_for_a_payment_its_own_answer_settled_is_ignored(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_visa")
    assert await payment_status(db, payment_id) == "succeeded"

    response = await deliver(http, intent_event(fake, intent_id, "payment_intent.succeeded"))

    assert response.status_code == 200 and response.json()["state"] == "ignored"
    assert len(await captures(db)) == 1


async def test_a_failed_event_fails_a_payment_waiting_on_the_customer(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    fake.intents[intent_id].update(status="requires_payment_method", last_payment_error={
        "code": "card_declined", "decline_code": "authentication_required", "message": "3DS failed."})

    response = await deliver(http, intent_event(fake, intent_id, "payment_intent.payment_failed"))

    assert response.json()["state"] == "processed"
    assert await payment_status(db, payment_id) == "failed"
    assert await captures(db) == []


async def test_a_canceled_event_ends_a_payment_waiting_on_the_customer(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    fake.intents[intent_id].update(status="canceled", cancellation_reason="abandoned")

    response = await deliver(http, intent_event(fake, intent_id, "payment_intent.canceled"))

    assert response.json()["state"] == "processed"
    assert await payment_status(db, payment_id) == "failed"


async def test_an_event_received_but_never_processed_is_processed_once_on_redelivery(http, db, shop, fake):
    # The process died after storing the event and before acting (or the transaction that acted
    # never committed): the row says received.
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    customer_finished_3ds(fake, intent_id)
    event = intent_event(fake, intent_id, "payment_intent.succeeded")
    uow = SqlUnitOfWork(db)
    async with uow:
        await uow.webhook_events.claim(WebhookEvent(provider="stripe", event_id="evt_1", event_type=event["type"],
                                                    object_ref=intent_id, received_at=utc_now()))
        await uow.commit()

    first = await deliver(http, event)
    again = await deliver(http, event)

    assert first.json() == {"received": True, "state": "processed", "duplicate": False}
    assert again.json() == {"received": True, "state": "processed", "duplicate": True}
    assert await payment_status(db, payment_id) == "succeeded"
    assert len(await captures(db)) == 1


async def test_an_intent_that_is_not_ours_is_stored_as_ignored(http, db, shop, fake):
    event = {"id": "evt_foreign", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_foreign", "object": "payment_intent", "amount": 500, "currency": "usd",
        "status": "succeeded", "amount_received": 500, "metadata": {}}}}

    response = await deliver(http, event)

    assert response.status_code == 200 and response.json()["state"] == "ignored"
    assert await stored_events(db) == [("evt_foreign", "ignored")]


# --- seed 001's address, and types not handled -----------------------------------------------

async def test_seed_001s_address_runs_the_same_handler(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    customer_finished_3ds(fake, intent_id)

    response = await deliver(http, intent_event(fake, intent_id, "payment_intent.succeeded"), SEED_001_PATH)
    bad = await http.post(SEED_001_PATH, content=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})

    assert response.status_code == 200 and await payment_status(db, payment_id) == "succeeded"
    assert bad.status_code == 400 and set(bad.json()) == {"detail"}


async def test_a_completed_checkout_session_of_no_payment_of_ours_is_acknowledged_and_ignored(http, db):
    event = {"id": "evt_cs", "type": "checkout.session.completed",
             "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}}}
    before = await state(db)

    first = await deliver(http, event, SEED_001_PATH)
    again = await deliver(http, event, SEED_001_PATH)

    assert first.status_code == again.status_code == 200
    assert first.json()["state"] == "ignored" and again.json()["duplicate"] is True
    assert await state(db) == {**before, "webhook_events": 1}


# --- charge.refunded: reconciled through Stripe --------------------------------------------------

def charge_refunded(fake: FakeStripe, intent_id: str, event_id: str = "evt_refund") -> dict:
    intent = fake.intents[intent_id]
    return {"id": event_id, "object": "event", "type": "charge.refunded", "data": {"object": {
        "id": "ch_" + intent_id[3:], "object": "charge", "payment_intent": intent_id,
        "amount": intent["amount"], "amount_refunded": intent["amount"], "currency": intent["currency"],
        "refunded": True, "metadata": intent["metadata"]}}}


async def test_a_charge_refunded_before_we_saw_the_capture_settles_the_payment_by_asking_stripe(
        http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    customer_finished_3ds(fake, intent_id)  # and payment_intent.succeeded is still on its way
    fake.requests.clear()

    responses = await asyncio.gather(*(deliver(http, charge_refunded(fake, intent_id)) for _ in range(5)))

    assert [r.status_code for r in responses] == [200] * 5
    assert ("GET", f"/v1/payment_intents/{intent_id}") in [(m, p) for m, p, *_ in fake.requests]
    assert await payment_status(db, payment_id) == "succeeded"
    assert len(await captures(db)) == 1
    assert await stored_events(db) == [("evt_refund", "processed")]


async def test_a_charge_refunded_for_a_settled_payment_changes_nothing(http, db, shop, fake):
    _payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_visa")
    before = await state(db)

    response = await deliver(http, charge_refunded(fake, intent_id))

    assert response.status_code == 200 and response.json()["state"] == "ignored"
    assert await state(db) == {**before, "webhook_events": before["webhook_events"] + 1}
