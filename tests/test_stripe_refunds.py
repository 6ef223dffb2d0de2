"""Stripe refunds that don't succeed at once, through the real app, its Stripe adapter and
tests/fake_stripe.py: a refund Stripe holds as `pending` (docs.stripe.com/refunds: the balance
doesn't cover it) counts against what is left to refund until it ends; it ends `succeeded` or
`failed`, learnt by asking Stripe (the worker's reconciliation) or from `charge.refund.updated` /
`refund.updated`; a failed one gives its amount back to refund again. The books follow: one
refund entry per succeeded refund, none for a failed one, always balanced.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from db.uow import SqlUnitOfWork
from domain.payments.provider import Providers
from domain.payments.reconcile import reconcile_payment
from gql.schema.relay import to_global_id
from providers.stripe import StripeProvider
from tests.fake_stripe import FakeStripe
from tests.graphql import gql
from tests.payments_fixtures import POLICY, assert_ledger_balances
from tests.test_refund_races import refund_entries
from tests.test_stripe_webhooks import deliver, stripe_payment

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
STAFF = "staff@example.com"
PRICE = 14_99  # one enamel mug
REFUND = """
mutation($p: ID!, $amount: MinorUnits) {
  refund(input: {paymentId: $p, amount: $amount, reason: "damaged"}) {
    __typename ... on Refund { id status amount { amount } } ... on Error { code message }
  }
}"""
PAYMENT = """
query($p: ID!) {
  payment(id: $p) { amountRefunded { amount } refunds { status amount { amount } } }
}"""


@pytest.fixture
async def stripe(fake_stripe) -> AsyncIterator[Providers]:
    """The worker's view of Stripe: a provider of its own, pointed at the same fake."""
    provider = StripeProvider("sk_test_paygate", api_base=fake_stripe[1])
    yield Providers([provider])
    await provider.close()


async def refund(http, shop, payment_id: int, amount: int) -> dict:
    answer = await gql(http, REFUND, {"p": to_global_id("Payment", payment_id), "amount": amount},
                       token=shop.token(STAFF))
    return answer["data"]["refund"]


async def seen(http, shop, payment_id: int) -> dict:
    answer = await gql(http, PAYMENT, {"p": to_global_id("Payment", payment_id)}, token=shop.token(STAFF))
    return answer["data"]["payment"]


def only_refund(fake: FakeStripe) -> str:
    [refund_id] = fake.refunds
    return refund_id


async def test_a_pending_refund_counts_against_what_is_left_until_stripe_settles_it(http, db, shop, fake,
                                                                                    stripe):
    payment_id, _ = await stripe_payment(http, db, shop, "pm_card_visa")
    fake.refunds_pending()

    pending = await refund(http, shop, payment_id, 10_00)
    too_much = await refund(http, shop, payment_id, PRICE - 10_00 + 1)
    still_pending = await reconcile_payment(payment_id, SqlUnitOfWork(db), stripe, POLICY, grace=timedelta(0))

    assert (pending["__typename"], pending["status"]) == ("Refund", "PENDING")
    assert too_much["__typename"] == "RefundExceedsCaptured"
    assert still_pending is None  # Stripe says pending still: nothing to book
    assert await refund_entries(db) == 0
    fake.settle_refund(only_refund(fake), "succeeded")

    settled = await reconcile_payment(payment_id, SqlUnitOfWork(db), stripe, POLICY, grace=timedelta(0))

    assert settled is not None and settled.amount_refunded.minor == 10_00
    assert (await seen(http, shop, payment_id))["refunds"] == [{"status": "SUCCEEDED", "amount": {"amount": 10_00}}]
    assert await refund_entries(db) == 1
    await assert_ledger_balances(db)


@pytest.mark.parametrize("event_type", ["charge.refund.updated", "refund.updated", "refund.failed"])
async def test_a_failed_refund_announced_by_webhook_gives_its_amount_back(http, db, shop, fake, event_type):
    payment_id, _ = await stripe_payment(http, db, shop, "pm_card_visa")
    fake.refunds_pending()
    await refund(http, shop, payment_id, PRICE)
    failed = fake.settle_refund(only_refund(fake), "failed", "expired_or_canceled_card")

    response = await deliver(http, fake.event(failed, event_type, "evt_refund_failed"))

    assert response.status_code == 200 and response.json()["state"] == "processed", response.text
    assert (await seen(http, shop, payment_id))["refunds"] == [{"status": "FAILED", "amount": {"amount": PRICE}}]
    assert await refund_entries(db) == 0
    fake.refunds_at_once()
    again = await refund(http, shop, payment_id, PRICE)  # the whole amount is refundable again
    assert (again["__typename"], again["status"]) == ("Refund", "SUCCEEDED")
    assert (await seen(http, shop, payment_id))["amountRefunded"] == {"amount": PRICE}
    assert await refund_entries(db) == 1
    await assert_ledger_balances(db)


async def test_a_pending_refund_that_succeeds_is_booked_once_from_its_webhook(http, db, shop, fake):
    payment_id, _ = await stripe_payment(http, db, shop, "pm_card_visa")
    fake.refunds_pending()
    await refund(http, shop, payment_id, 5_00)
    succeeded = fake.settle_refund(only_refund(fake), "succeeded")

    first = await deliver(http, fake.event(succeeded, "charge.refund.updated", "evt_refund_ok"))
    again = await deliver(http, fake.event(succeeded, "charge.refund.updated", "evt_refund_ok"))

    assert (first.status_code, again.status_code) == (200, 200)
    assert (await seen(http, shop, payment_id))["amountRefunded"] == {"amount": 5_00}
    assert await refund_entries(db) == 1
    await assert_ledger_balances(db)
