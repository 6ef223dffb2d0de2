"""Seed 003 with real providers behind it: paying with a Stripe PaymentMethod (against
tests/fake_stripe.py), and POST /payments/webhooks/{provider} running the very handling of each
provider's other webhook path (Stripe's signed events, the generic gateway's HMAC), so an event
delivered on both paths acts once.
"""
from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from db.email_tables import EmailOutboxRow
from paygate.app import create_app
from rest_compat.seed_003 import WEBHOOKS
from tests.conftest import settings_for, start_server, stop_server
from tests.payments_fixtures import order_for
from tests.test_rest_seed_001 import SECRET as GATEWAY_SECRET
from tests.test_rest_seed_001 import event as gateway_event
from tests.test_rest_seed_001 import signed
from tests.test_rest_seed_003 import auth
from tests.test_stripe_webhooks import (
    PATH,
    customer_finished_3ds,
    deliver,
    intent_event,
    payment_status,
    stored_events,
    stripe_payment,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
BASE = "/payments"


@pytest.fixture(scope="module")
async def gateway_server(database_url, shared_db):
    """The app with the generic gateway's webhook secret set (the shared one has none)."""
    server, task, url = await start_server(create_app(settings_for(database_url, gateway_webhook_secret=GATEWAY_SECRET),
                                                      db=shared_db))
    yield url
    await stop_server(server, task)


async def emails(db) -> list[tuple[str, str]]:
    async with db.read_sessions() as session:
        return [(e.kind, e.to_address) for e in (await session.exec(select(EmailOutboxRow))).all()]


async def test_a_customer_pays_with_a_stripe_payment_method(http, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 1})

    methods = await http.get(f"{BASE}/methods", headers=auth(shop))
    response = await http.post(f"{BASE}/process", params={"order_id": order.id}, headers=auth(shop),
                               json={"payment_method": "stripe", "payment_details": {"payment_method_id": "pm_card_visa"}})

    stripe = next(m for m in methods.json()["methods"] if m["method"] == "stripe")
    assert stripe["config"] == {"publishable_key": "pk_test_paygate"}
    assert "sk_test" not in methods.text
    assert response.status_code == 200, response.text
    assert (response.json()["provider"], response.json()["status"]) == ("stripe", "succeeded")
    assert await emails(db) == [("payment_confirmation", "customer@example.com")]


async def test_a_stripe_event_on_the_seed_003_path_acts_once_with_its_other_path(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_authenticationRequired")
    customer_finished_3ds(fake, intent_id)
    event = intent_event(fake, intent_id, "payment_intent.succeeded")

    here = await deliver(http, event, f"{BASE}/webhooks/stripe")
    there = await deliver(http, event, PATH)
    unsigned = await http.post(f"{BASE}/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})

    assert (here.status_code, here.json()) == (200, {"received": True, "state": "processed", "duplicate": False})
    assert (there.status_code, there.json()["duplicate"]) == (200, True)
    assert await payment_status(db, payment_id) == "succeeded"
    assert await stored_events(db) == [("evt_1", "processed")]
    assert await emails(db) == [("payment_confirmation", "customer@example.com")]
    assert unsigned.status_code == 400 and set(unsigned.json()) == {"detail"}


async def test_the_generic_gateways_event_on_the_seed_003_path_confirms_the_order_once(gateway_server, db, shop):
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    raw, headers = signed(gateway_event(order))
    async with httpx.AsyncClient(base_url=gateway_server, timeout=30) as client:
        first = await client.post(f"{BASE}/webhooks/gateway", content=raw, headers=headers)
        again = await client.post("/orders/api/payment-webhook/", content=raw, headers=headers)
        forged = await client.post(f"{BASE}/webhooks/gateway", content=raw,
                                   headers={**headers, "X-Webhook-Signature": "0" * 64})
        history = await client.get(f"{BASE}/order/{order.id}", headers=auth(shop))

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert forged.status_code == 400 and set(forged.json()) == {"detail"}
    assert history.json()["order_status"] == "paid"
    assert [p["status"] for p in history.json()["payments"]] == ["succeeded"]
    assert await emails(db) == [("payment_confirmation", "customer@example.com")]


def test_every_provider_with_a_webhook_path_is_in_the_table():
    assert set(WEBHOOKS) == {"stripe", "gateway", "paypal", "razorpay", "flutterwave"}
