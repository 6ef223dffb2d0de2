"""Billing's use cases (domain/billing/service.py and news.py) through the real unit of work, on
SQLite and PostgreSQL, with the Stripe billing adapter talking to tests/fake_stripe_billing.py."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from db import billing_queries
from db.billing_tables import BillingCustomerRow, BillingSubscriptionRow
from db.uow import SqlUnitOfWork
from domain.billing.model import SubscriptionState, SubscriptionStatus
from domain.billing.news import SubscriptionNews, record_subscription_news
from domain.billing.service import (
    SUBSCRIPTION_KEY,
    BillingNotOfferedError,
    CancelSubscription,
    CreateCustomer,
    CreateSubscription,
    cancel_subscription,
    create_customer,
    create_subscription,
    visible_owner,
)
from domain.errors import ConflictError, NotFoundError, ProviderUnavailableError, ValidationError
from providers.stripe import RetryPolicy
from providers.stripe.billing import StripeBilling
from tests.payments_fixtures import customer, staff

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
S = SubscriptionStatus
OTHER = "customer2@example.com"


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def fake(fake_stripe):
    fake_stripe[0].reset()
    return fake_stripe[0]


@pytest.fixture
def billing(fake_stripe, fake) -> StripeBilling:
    return StripeBilling("sk_test_paygate", api_base=fake_stripe[1], retry=RetryPolicy(sleep=_no_sleep))


async def rows(db, table) -> int:
    async with db.read_sessions() as session:
        return (await session.exec(select(func.count()).select_from(table))).one()


async def subscribed(db, shop, billing, fake, email: str = "customer@example.com", **metadata):
    actor = customer(shop, email)
    cus = await create_customer(CreateCustomer(actor, name="Ada"), SqlUnitOfWork(db), billing)
    sub = await create_subscription(CreateSubscription(actor, fake.billing.price(), customer_ref=cus.provider_ref,
                                                       metadata=metadata), SqlUnitOfWork(db), billing)
    return cus, sub


# --- customers ----------------------------------------------------------------------------------

async def test_a_customer_is_made_at_stripe_for_the_caller_with_the_callers_email(db, shop, billing, fake):
    actor = customer(shop)

    made = await create_customer(CreateCustomer(actor, name="Ada", metadata={"org": "7"}), SqlUnitOfWork(db),
                                 billing)

    at_stripe = fake.billing.customers[made.provider_ref]
    assert (made.user_id, made.email, made.name, made.metadata) == (actor.user_id, actor.email, "Ada", {"org": "7"})
    assert (at_stripe["email"], at_stripe["name"], at_stripe["metadata"]) == (actor.email, "Ada", {"org": "7"})
    assert fake.requests[-1][2] == made.idempotency_key


async def test_stripe_refusing_a_customer_leaves_no_record(db, shop, billing, fake):
    with pytest.raises(ValidationError) as refused:
        await create_customer(CreateCustomer(customer(shop), email="not-an-email"), SqlUnitOfWork(db), billing)

    assert refused.value.field == "email"
    assert await rows(db, BillingCustomerRow) == 0


async def test_without_stripe_billing_is_not_offered(db, shop):
    with pytest.raises(BillingNotOfferedError):
        await create_customer(CreateCustomer(customer(shop)), SqlUnitOfWork(db), None)


# --- subscriptions ------------------------------------------------------------------------------

async def test_subscribing_the_callers_customer_records_stripes_state(db, shop, billing, fake):
    cus, sub = await subscribed(db, shop, billing, fake, plan="pro")

    at_stripe = fake.billing.subscriptions[sub.provider_ref]
    assert sub.status is S.ACTIVE and sub.customer_id == cus.id and sub.user_id == cus.user_id
    assert sub.latest_invoice == at_stripe["latest_invoice"]
    assert sub.current_period_end - sub.current_period_start == timedelta(days=30)
    assert at_stripe["metadata"] == {"plan": "pro", SUBSCRIPTION_KEY: str(sub.uuid)}
    assert sub.metadata == {"plan": "pro"}
    assert at_stripe["customer"] == cus.provider_ref


async def test_someone_elses_customer_is_not_found_and_nothing_reaches_stripe(db, shop, billing, fake):
    theirs = await create_customer(CreateCustomer(customer(shop, OTHER)), SqlUnitOfWork(db), billing)
    fake.requests.clear()

    for cmd in (CreateSubscription(customer(shop), fake.billing.price(), customer_ref=theirs.provider_ref),
                CreateSubscription(customer(shop), fake.billing.price(), customer_id=theirs.id),
                CreateSubscription(customer(shop), fake.billing.price(), customer_ref="cus_unheard_of")):
        with pytest.raises(NotFoundError):
            await create_subscription(cmd, SqlUnitOfWork(db), billing)

    assert fake.requests == [] and await rows(db, BillingSubscriptionRow) == 0


async def test_an_unknown_price_is_invalid_input_on_price_id_and_leaves_no_record(db, shop, billing, fake):
    actor = customer(shop)
    cus = await create_customer(CreateCustomer(actor), SqlUnitOfWork(db), billing)

    with pytest.raises(ValidationError) as refused:
        await create_subscription(CreateSubscription(actor, "price_unheard_of", customer_id=cus.id),
                                  SqlUnitOfWork(db), billing)

    assert refused.value.field == "price_id"
    assert await rows(db, BillingSubscriptionRow) == 0


async def test_an_outage_keeps_the_record_and_the_same_request_again_reuses_its_key(db, shop, billing, fake):
    actor = customer(shop)
    cus = await create_customer(CreateCustomer(actor), SqlUnitOfWork(db), billing)
    cmd = CreateSubscription(actor, fake.billing.price(), customer_id=cus.id)
    fake.requests.clear()
    fake.fail_next(3)

    with pytest.raises(ProviderUnavailableError):
        await create_subscription(cmd, SqlUnitOfWork(db), billing)
    kept = await rows(db, BillingSubscriptionRow)
    again = await create_subscription(cmd, SqlUnitOfWork(db), billing)

    assert kept == 1 and await rows(db, BillingSubscriptionRow) == 1
    assert {k for _m, _p, k, _v in fake.requests} == {again.create_key}
    assert again.status is S.ACTIVE and len(fake.billing.subscriptions) == 1


@pytest.mark.parametrize("who", ["owner", "staff"])
async def test_the_owner_or_staff_cancel_a_subscription_at_stripe(db, shop, billing, fake, who):
    _cus, sub = await subscribed(db, shop, billing, fake)
    actor = customer(shop) if who == "owner" else staff(shop)

    canceled = await cancel_subscription(CancelSubscription(actor, subscription_ref=sub.provider_ref),
                                         SqlUnitOfWork(db), billing)

    assert canceled.status is S.CANCELED and canceled.canceled_at is not None
    assert fake.billing.subscriptions[sub.provider_ref]["status"] == "canceled"


async def test_anyone_else_cancelling_gets_not_found_and_stripe_is_not_asked(db, shop, billing, fake):
    _cus, sub = await subscribed(db, shop, billing, fake)
    fake.requests.clear()

    with pytest.raises(NotFoundError):
        await cancel_subscription(CancelSubscription(customer(shop, OTHER), subscription_id=sub.id),
                                  SqlUnitOfWork(db), billing)

    assert fake.requests == [] and fake.billing.subscriptions[sub.provider_ref]["status"] == "active"


async def test_cancelling_a_cancelled_subscription_answers_it_without_asking_stripe(db, shop, billing, fake):
    _cus, sub = await subscribed(db, shop, billing, fake)
    cmd = CancelSubscription(customer(shop), subscription_id=sub.id)
    first = await cancel_subscription(cmd, SqlUnitOfWork(db), billing)
    fake.requests.clear()

    again = await cancel_subscription(cmd, SqlUnitOfWork(db), billing)

    assert fake.requests == [] and again.status is S.CANCELED and again.canceled_at == first.canceled_at


async def test_a_list_shows_the_callers_own_and_staff_see_everyones(db, shop, billing, fake):
    await subscribed(db, shop, billing, fake)
    await subscribed(db, shop, billing, fake, OTHER)

    own, own_total = await billing_queries.subscriptions_page(db, visible_owner(customer(shop)), before_id=None,
                                                              limit=10)
    everyone, total = await billing_queries.subscriptions_page(db, visible_owner(staff(shop)), before_id=None,
                                                               limit=10)

    assert own_total == 1 and [s.user_id for s in own] == [shop.id_of("customer@example.com")]
    assert total == 2 and len(everyone) == 2


# --- news ---------------------------------------------------------------------------------------

def news(event_id: str, sub_ref: str, status: S, as_of: datetime, uuid: str | None = None) -> SubscriptionNews:
    return SubscriptionNews(provider="stripe", event_id=event_id, event_type="customer.subscription.updated",
                            state=SubscriptionState(provider_ref=sub_ref, customer_ref=None, price_ref=None,
                                                    status=status, as_of=as_of, subscription_uuid=uuid))


async def stored(db, sub_id: int):
    async with db.read_sessions() as session:
        return await session.get(BillingSubscriptionRow, sub_id)


async def test_news_for_a_subscription_whose_answer_was_lost_finds_it_by_our_uuid(db, shop, billing, fake):
    actor = customer(shop)
    cus = await create_customer(CreateCustomer(actor), SqlUnitOfWork(db), billing)
    fake.fail_next(3)
    with pytest.raises(ProviderUnavailableError):
        await create_subscription(CreateSubscription(actor, fake.billing.price(), customer_id=cus.id),
                                  SqlUnitOfWork(db), billing)
    async with db.read_sessions() as session:
        row = (await session.exec(select(BillingSubscriptionRow))).one()

    receipt = await record_subscription_news(news("evt_1", "sub_lost", S.ACTIVE, datetime.now(UTC), row.uuid),
                                             SqlUnitOfWork(db))

    assert receipt.event.state.value == "processed"
    assert ((await stored(db, row.id)).provider_ref, (await stored(db, row.id)).status) == ("sub_lost", "active")


async def test_older_news_is_stored_as_ignored_and_moves_nothing_back(db, shop, billing, fake):
    _cus, sub = await subscribed(db, shop, billing, fake)
    later = datetime.fromtimestamp(int(time.time()) + 60, UTC)
    await record_subscription_news(news("evt_new", sub.provider_ref, S.PAST_DUE, later), SqlUnitOfWork(db))

    receipt = await record_subscription_news(news("evt_old", sub.provider_ref, S.ACTIVE, later - timedelta(seconds=30)),
                                             SqlUnitOfWork(db))

    assert receipt.event.state.value == "ignored" and "older" in receipt.event.detail
    assert (await stored(db, sub.id)).status == "past_due"


async def test_news_about_a_subscription_not_ours_is_stored_as_ignored(db, shop):
    receipt = await record_subscription_news(news("evt_x", "sub_dashboard", S.ACTIVE, datetime.now(UTC)),
                                             SqlUnitOfWork(db))

    assert receipt.event.state.value == "ignored" and "sub_dashboard" in receipt.event.detail


async def test_a_customer_stripe_has_not_confirmed_cant_be_subscribed_yet(db, shop, billing, fake):
    actor = customer(shop)
    fake.fail_next(3)
    with pytest.raises(ProviderUnavailableError):
        await create_customer(CreateCustomer(actor), SqlUnitOfWork(db), billing)
    async with db.read_sessions() as session:
        unsent = (await session.exec(select(BillingCustomerRow))).one()

    with pytest.raises(ConflictError):
        await create_subscription(CreateSubscription(actor, fake.billing.price(), customer_id=unsent.id),
                                  SqlUnitOfWork(db), billing)


async def test_an_answer_we_cant_accept_keeps_the_record_since_stripe_may_hold_something(db, shop, billing, fake):
    actor = customer(shop)
    cus = await create_customer(CreateCustomer(actor), SqlUnitOfWork(db), billing)
    fake.tamper = lambda body: {**body, "customer": "cus_else"} if body.get("object") == "subscription" else body

    with pytest.raises(ConflictError):
        await create_subscription(CreateSubscription(actor, fake.billing.price(), customer_id=cus.id),
                                  SqlUnitOfWork(db), billing)

    assert await rows(db, BillingSubscriptionRow) == 1
