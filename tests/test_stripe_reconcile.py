"""The worker settles a Stripe authorization whose answer was lost, with no webhook: it finds the
PaymentIntent our request made by the payment's uuid (PaymentIntent search), or learns that
Stripe never got the request. Stripe is tests/fake_stripe.py over real HTTP."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from db.uow import SqlUnitOfWork
from domain.orders.model import OrderStatus
from domain.payments.model import Payment
from domain.payments.provider import CaptureMethod, Providers
from domain.payments.service import PayOrder, pay_order
from domain.payments.status import AttemptStatus, PaymentStatus
from domain.services import Services
from paygate.events import LocalBus
from paygate.worker import run_once
from providers.stripe.adapter import SEARCH_LAG, StripeProvider
from providers.stripe.errors import RetryPolicy
from tests.payments_fixtures import POLICY, customer, order_for

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
GRACE_PASSED = timedelta(minutes=2)  # the reconciliation grace is 60 s


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def _no_sleep(_s: float) -> None:
    return None


@pytest.fixture
async def stripe(fake_stripe) -> AsyncIterator[tuple[StripeProvider, Clock]]:
    fake_stripe[0].reset()
    clock = Clock()
    provider = StripeProvider("sk_test_paygate", api_base=fake_stripe[1], clock=clock,
                              retry=RetryPolicy(sleep=_no_sleep))
    yield provider, clock
    await provider.close()


async def _pay_with_the_answer_lost(db, shop, provider: StripeProvider) -> tuple[object, Payment]:
    order = await order_for(db, shop, {"SAM-MUG-01": 2})
    payment = await pay_order(PayOrder(customer(shop), order.id, "stripe", CaptureMethod.AUTOMATIC,
                                       payment_method="pm_card_visa"),
                              SqlUnitOfWork(db), Providers([provider]), POLICY)
    return order, payment


async def _worker_pass(db, provider: StripeProvider, clock: Clock, after: timedelta) -> None:
    clock.now = datetime.now(UTC) + after
    await run_once(db, Services(lambda: SqlUnitOfWork(db), Providers([provider]), POLICY, LocalBus(), clock=clock))


async def _stored(db, payment_id: int) -> tuple[Payment, OrderStatus]:
    async with SqlUnitOfWork(db) as uow:
        payment = await uow.payments.get(payment_id)
        return payment, (await uow.orders.get(payment.order_id)).status


async def test_an_authorization_charged_at_stripe_whose_answer_was_lost_is_settled_by_one_worker_pass(
        db, shop, fake, stripe):
    provider, clock = stripe
    fake.lose_next(3)  # Stripe charges the card; every answer, retries included, is lost
    _, lost = await _pay_with_the_answer_lost(db, shop, provider)

    await _worker_pass(db, provider, clock, GRACE_PASSED)

    payment, order_status = await _stored(db, lost.id)
    [intent] = fake.intents.values()
    assert (lost.provider_ref, lost.attempts[0].status) == (None, AttemptStatus.UNKNOWN)
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.provider_ref == intent["id"] and intent["status"] == "succeeded"
    assert payment.amount_captured == payment.amount
    assert order_status is OrderStatus.PAID


async def test_a_request_that_never_reached_stripe_stays_open_while_search_may_lag_then_fails(
        db, shop, fake, stripe):
    provider, clock = stripe
    fake.fail_next(3)  # Stripe is down: the request never executes
    _, lost = await _pay_with_the_answer_lost(db, shop, provider)

    await _worker_pass(db, provider, clock, GRACE_PASSED)
    waiting, _ = await _stored(db, lost.id)
    await _worker_pass(db, provider, clock, SEARCH_LAG + GRACE_PASSED)

    payment, order_status = await _stored(db, lost.id)
    assert fake.intents == {}
    assert waiting.attempts[0].status is AttemptStatus.UNKNOWN
    assert payment.status is PaymentStatus.FAILED and payment.decline_code == "not_received"
    assert order_status is OrderStatus.EXPIRED  # its reservation lapsed meanwhile; nothing was charged
