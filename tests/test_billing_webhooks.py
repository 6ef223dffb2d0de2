"""Stripe's subscription events over real HTTP (customer.subscription.created, .updated, .deleted):
signed with the SDK's own helper, delivered to the real app, acted on once and never backwards.
The app, its fake Stripe and the signing helpers are tests/test_stripe_webhooks.py's."""
from __future__ import annotations

import asyncio
import copy
import time

import pytest
from sqlmodel import select

import tests.test_stripe_webhooks as stripe_app
from db.billing_tables import BillingSubscriptionRow
from db.payment_tables import WebhookEventRow
from tests.graphql import Shop

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
deliver, signed, PATH = stripe_app.deliver, stripe_app.signed, stripe_app.PATH
CUSTOMER = "customer@example.com"


async def subscription(http, shop: Shop, fake) -> str:
    """A subscription made through seed 002's REST paths; Stripe's id for it."""
    headers = {"Authorization": f"Bearer {shop.token(CUSTOMER)}"}
    cus = await http.post("/api/v1/payments/stripe/create-customer/", json={"name": "Ada"}, headers=headers)
    sub = await http.post("/api/v1/payments/stripe/create-subscription/", headers=headers, json={
        "customer_id": cus.json()["customer_id"], "price_id": fake.billing.price()})
    assert sub.status_code == 200, sub.text
    return sub.json()["subscription_id"]


def event(fake, sub_ref: str, kind: str, event_id: str, created: int | None = None, **changes) -> dict:
    obj = copy.deepcopy(fake.billing.subscriptions[sub_ref]) | changes
    return {"id": event_id, "object": "event", "type": f"customer.subscription.{kind}",
            "api_version": "2026-10-28.endive", "created": created or int(time.time()), "data": {"object": obj}}


async def row(db, sub_ref: str) -> BillingSubscriptionRow:
    async with db.read_sessions() as session:
        return (await session.exec(select(BillingSubscriptionRow).where(
            BillingSubscriptionRow.provider_ref == sub_ref))).one()


async def events(db) -> list[tuple[str, str]]:
    async with db.read_sessions() as session:
        return [(r.event_id, r.state) for r in (await session.exec(select(WebhookEventRow).order_by(WebhookEventRow.id)))]


async def test_an_update_moves_the_subscription_to_stripes_new_status(http, db, shop, fake):
    sub = await subscription(http, shop, fake)

    response = await deliver(http, event(fake, sub, "updated", "evt_due", status="past_due",
                                         latest_invoice="in_second"))

    assert response.status_code == 200
    assert response.json() == {"received": True, "state": "processed", "duplicate": False}
    stored = await row(db, sub)
    assert (stored.status, stored.latest_invoice) == ("past_due", "in_second")
    assert await events(db) == [("evt_due", "processed")]


async def test_twenty_concurrent_deliveries_of_one_event_change_the_state_once(http, db, shop, fake):
    sub = await subscription(http, shop, fake)
    due = event(fake, sub, "updated", "evt_once", status="past_due")

    responses = await asyncio.gather(*(deliver(http, due) for _ in range(20)))

    assert [r.status_code for r in responses] == [200] * 20
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    assert {r.json()["state"] for r in responses} == {"processed"}
    assert (await row(db, sub)).status == "past_due"
    assert await events(db) == [("evt_once", "processed")]


async def test_an_older_update_delivered_late_moves_nothing_back(http, db, shop, fake):
    sub = await subscription(http, shop, fake)
    now = int(time.time())
    newer = event(fake, sub, "updated", "evt_newer", now + 20, status="past_due")
    older = event(fake, sub, "updated", "evt_older", now + 10, status="active", latest_invoice="in_old")

    await deliver(http, newer)
    response = await deliver(http, older)

    assert response.json()["state"] == "ignored"
    stored = await row(db, sub)
    assert stored.status == "past_due" and stored.latest_invoice != "in_old"


async def test_deleted_is_final_even_against_a_newer_update(http, db, shop, fake):
    sub = await subscription(http, shop, fake)
    now = int(time.time())

    deleted = await deliver(http, event(fake, sub, "deleted", "evt_deleted", now + 5, status="canceled",
                                        canceled_at=now + 5, ended_at=now + 5))
    revived = await deliver(http, event(fake, sub, "updated", "evt_revived", now + 50, status="active"))

    assert deleted.json()["state"] == "processed" and revived.json()["state"] == "ignored"
    stored = await row(db, sub)
    assert stored.status == "canceled" and stored.canceled_at is not None


async def test_a_subscription_made_in_stripes_dashboard_is_stored_as_ignored(http, db, shop, fake):
    sub = await subscription(http, shop, fake)
    foreign = event(fake, sub, "created", "evt_foreign", id="sub_dashboard", metadata={})

    response = await deliver(http, foreign)

    assert response.status_code == 200 and response.json()["state"] == "ignored"
    assert await events(db) == [("evt_foreign", "ignored")]


async def test_a_subscription_event_with_a_bad_signature_is_refused_and_nothing_is_stored(http, db, shop, fake):
    sub = await subscription(http, shop, fake)
    raw, headers = signed(event(fake, sub, "deleted", "evt_forged", status="canceled"), secret="whsec_other")

    response = await http.post(PATH, content=raw, headers=headers)

    assert response.status_code == 400 and set(response.json()) == {"error"}
    assert await events(db) == [] and (await row(db, sub)).status == "active"
