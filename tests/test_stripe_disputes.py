"""Stripe's `charge.dispute.*` events over real HTTP: signed with the SDK's helper, delivered to the
real app; the payment made through GraphQL against tests/fake_stripe.py, whose disputes follow
Stripe's Dispute object. Staff read the dispute on GraphQL; nobody else does."""
from __future__ import annotations

import pytest

from db.ledger_queries import all_entries
from domain.ledger import EntryKind, balance_of
from domain.ledger.accounts import chargebacks, disputes, seller_held
from domain.money import Money
from gql.schema.relay import to_global_id
from tests.fake_stripe import FakeStripe
from tests.graphql import gql
from tests.test_stripe_webhooks import deliver, stored_events, stripe_payment

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

DISPUTES = """query($p: ID) { disputes(filter: {paymentId: $p}) { totalCount edges { node {
  status reason provider providerRef evidenceDueBy amount { amount currency } withheld { amount }
  payment { legacyId amountDisputed { amount } amountRefundable { amount } } } } } }"""
PAYMENT_DISPUTES = "query($id: ID!) { payment(id: $id) { disputes { status } } }"
REFUND = """mutation($p: ID!) { refund(input: {paymentId: $p, amount: 100}) { __typename
  ... on Error { code } } }"""


def dispute_event(fake: FakeStripe, dispute_id: str, kind: str, event_id: str) -> dict:
    return fake.event(fake.disputes.disputes[dispute_id], kind, event_id)


async def _ledger(db, code: str = "USD"):
    entries = await all_entries(db)
    return entries, lambda account: balance_of(entries, account)


async def test_a_chargeback_withholds_the_amount_once_and_a_won_one_gives_it_back(http, db, shop, fake):
    _, intent_id = await stripe_payment(http, db, shop, "pm_card_visa")
    seller = shop.id_of("seller@example.com")
    dispute = fake.disputes.open(fake.intents[intent_id], status="needs_response")

    created = await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.created", "evt_d1"))
    withdrawn = await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.funds_withdrawn", "evt_d2"))
    again = await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.created", "evt_d1"))
    _, balance = await _ledger(db)
    open_balances = (balance(disputes("USD")), balance(seller_held(seller, "USD")))
    fake.disputes.move(dispute["id"], "won")
    closed = await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.closed", "evt_d3"))
    reinstated = await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.funds_reinstated", "evt_d4"))

    assert [r.status_code for r in (created, withdrawn, again, closed, reinstated)] == [200] * 5
    assert created.json()["state"] == "processed" and again.json()["duplicate"] is True
    assert withdrawn.json()["state"] == "ignored"  # the status says nothing new
    assert open_balances == (Money.of(1499, "USD"), Money.of(0, "USD"))
    entries, balance = await _ledger(db)
    assert balance(disputes("USD")) == Money.of(0, "USD")
    assert balance(seller_held(seller, "USD")) == Money.of(1349, "USD")
    kinds = [e.kind for e in entries]
    assert (kinds.count(EntryKind.DISPUTE), kinds.count(EntryKind.DISPUTE_REINSTATED)) == (1, 1)
    assert ("evt_d4", "ignored") in await stored_events(db)


async def test_a_lost_chargeback_is_gone_staff_see_it_and_refunds_of_it_are_refused(http, db, shop, fake):
    payment_id, intent_id = await stripe_payment(http, db, shop, "pm_card_visa")
    dispute = fake.disputes.open(fake.intents[intent_id], status="needs_response", reason="fraudulent")
    await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.created", "evt_d1"))
    fake.disputes.move(dispute["id"], "under_review")
    await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.updated", "evt_d2"))
    fake.disputes.move(dispute["id"], "lost")

    closed = await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.closed", "evt_d3"))
    stale = await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.updated", "evt_d2b")
                          | {"data": {"object": {**fake.disputes.disputes[dispute["id"]], "status": "under_review"}}})

    assert closed.json()["state"] == "processed" and stale.json()["state"] == "ignored"
    _, balance = await _ledger(db)
    assert balance(chargebacks("USD")) == Money.of(1499, "USD") and balance(disputes("USD")) == Money.of(0, "USD")
    staff = shop.token("staff@example.com")
    payment_gid = to_global_id("Payment", payment_id)
    seen = (await gql(http, DISPUTES, {"p": payment_gid}, token=staff))["data"]["disputes"]
    assert seen["totalCount"] == 1
    node = seen["edges"][0]["node"]
    assert (node["status"], node["reason"], node["provider"], node["providerRef"]) == (
        "LOST", "fraudulent", "stripe", dispute["id"])
    assert node["amount"] == {"amount": 1499, "currency": "USD"} and node["withheld"] == {"amount": 1499}
    assert node["payment"]["amountDisputed"] == {"amount": 1499} and node["payment"]["amountRefundable"] == {"amount": 0}
    refused = (await gql(http, REFUND, {"p": payment_gid}, token=staff))["data"]["refund"]
    assert refused["__typename"] == "RefundExceedsCaptured"
    buyer = shop.token("customer@example.com")
    assert (await gql(http, PAYMENT_DISPUTES, {"id": payment_gid}, token=buyer))["data"]["payment"]["disputes"] == []
    assert (await gql(http, PAYMENT_DISPUTES, {"id": payment_gid}, token=staff))["data"]["payment"]["disputes"] == [
        {"status": "LOST"}]
    forbidden = await http.post("/graphql", json={"query": DISPUTES, "variables": {"p": payment_gid}},
                                headers={"Authorization": f"Bearer {buyer}"})
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_inquiry_withholds_nothing_and_a_status_stripe_never_sent_is_refused_with_409(http, db, shop, fake):
    _, intent_id = await stripe_payment(http, db, shop, "pm_card_visa")
    dispute = fake.disputes.open(fake.intents[intent_id], status="warning_needs_response")

    inquiry = await deliver(http, dispute_event(fake, dispute["id"], "charge.dispute.created", "evt_d1"))
    odd = dispute_event(fake, dispute["id"], "charge.dispute.updated", "evt_d2")
    odd["data"]["object"]["status"] = "charge_refunded"
    refused = await deliver(http, odd)

    assert inquiry.json()["state"] == "processed"
    assert refused.status_code == 409 and set(refused.json()) == {"error"}
    entries, _ = await _ledger(db)
    assert [e.kind for e in entries] == [EntryKind.CAPTURE]


async def test_a_dispute_of_a_payment_that_is_not_ours_is_acknowledged_and_ignored(http, db, shop, fake):
    _, intent_id = await stripe_payment(http, db, shop, "pm_card_visa")
    dispute = fake.disputes.open(fake.intents[intent_id])
    event = dispute_event(fake, dispute["id"], "charge.dispute.created", "evt_d1")
    event["data"]["object"]["payment_intent"] = None

    response = await deliver(http, event)

    assert response.status_code == 200 and response.json()["state"] == "ignored"
