"""Subscriptions are news for merchants once Stripe confirmed them: created with their status,
then each move (here: canceled), in order; one Stripe refused is never news. Against the fake
Stripe of tests/fake_stripe.py, delivered by the job to a verifying receiver on loopback."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from db.uow import SqlUnitOfWork
from domain.billing.service import (
    CancelSubscription,
    CreateCustomer,
    CreateSubscription,
    cancel_subscription,
    create_customer,
    create_subscription,
)
from domain.errors import ValidationError
from domain.outgoing_webhooks.delivery import deliver_due
from paygate.webhook_sender import HttpxWebhookSender
from tests.conftest import start_server, stop_server
from tests.payments_fixtures import customer
from tests.test_billing import billing, fake  # noqa: F401 -- fixtures
from tests.test_outgoing_webhooks import endpoint_for
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    server, task, url = await start_server(hook.app())
    hook.url = url
    yield hook
    await stop_server(server, task)


async def test_a_subscription_confirmed_then_canceled_is_told_in_order_and_a_refused_one_never(
        db, shop, billing, fake, receiver):  # noqa: F811
    await endpoint_for(db, shop, receiver, "subscription.created", "subscription.active", "subscription.canceled")
    actor = customer(shop)
    cus = await create_customer(CreateCustomer(actor, name="Ada"), SqlUnitOfWork(db), billing)
    with pytest.raises(ValidationError):
        await create_subscription(CreateSubscription(actor, "price_unheard_of", customer_id=cus.pk),
                                  SqlUnitOfWork(db), billing)

    sub = await create_subscription(CreateSubscription(actor, fake.billing.price(), customer_id=cus.pk),
                                    SqlUnitOfWork(db), billing)
    await cancel_subscription(CancelSubscription(actor, subscription_id=sub.pk), SqlUnitOfWork(db), billing)
    sender = HttpxWebhookSender(timeout_s=5)
    await deliver_due(lambda: SqlUnitOfWork(db), sender, datetime.now(UTC))
    await sender.close()

    assert receiver.types() == ["subscription.created", "subscription.active", "subscription.canceled"]
    assert {r.data["id"] for r in receiver.received} == {sub.pk}
    assert receiver.received[0].data["provider_ref"] == sub.provider_ref
    assert all(r.verified_by for r in receiver.received)
