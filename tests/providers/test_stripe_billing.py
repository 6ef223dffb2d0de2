"""The Stripe billing adapter (providers/stripe/billing.py) through the official SDK, over HTTP on
loopback: against localstripe for customers and subscriptions (its plans stand for prices, which
localstripe lacks; tests/localstripe_server.py reads `items[0][price]` as the plan), and against
tests/fake_stripe_billing.py for Stripe's rules localstripe lacks (idempotency keys, its refusals,
outages, the API version's item-level periods)."""
from __future__ import annotations

from uuid import uuid4

import httpx
import pytest

from domain.billing.model import SubscriptionStatus
from domain.billing.provider import (
    CancelSubscriptionRequest,
    CreateCustomerRequest,
    CreateSubscriptionRequest,
)
from domain.errors import ConflictError, NotFoundError, ProviderUnavailableError, ValidationError
from paygate.providers import build_billing
from paygate.settings import Settings
from providers.stripe import API_VERSION, RetryPolicy
from providers.stripe.billing import StripeBilling
from tests.providers.conftest import Sleeps  # and its fixtures: localstripe_url, fake_server, fake, sleeps

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
S = SubscriptionStatus


def key(kind: str = "subscription") -> str:
    return f"paygate-{kind}-{uuid4()}"


def billing_at(base: str, sleeps: Sleeps | None = None, api_key: str = "sk_test_paygate") -> StripeBilling:
    return StripeBilling(api_key, api_base=base, retry=RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps()))


async def customer(billing: StripeBilling, email: str = "ada@example.com") -> str:
    answer = await billing.create_customer(CreateCustomerRequest(key("customer"), email, "Ada", {"org": "1"}))
    return answer.provider_ref


async def subscribe(billing: StripeBilling, customer_ref: str, price: str, idempotency_key: str | None = None,
                    metadata: dict | None = None):
    return await billing.create_subscription(CreateSubscriptionRequest(
        customer_ref, price, idempotency_key or key(), metadata or {"paygate_subscription": "ours"}))


# --- against localstripe --------------------------------------------------------------------------

@pytest.fixture
async def local(localstripe_url) -> StripeBilling:
    async with httpx.AsyncClient() as http:
        (await http.delete(f"{localstripe_url}/_config/data")).raise_for_status()
    return billing_at(localstripe_url)


async def local_plan(url: str) -> str:
    async with httpx.AsyncClient(base_url=url, auth=("sk_test_paygate", "")) as http:
        plan = await http.post("/v1/plans", data={"id": f"plan_{uuid4().hex[:8]}", "amount": "1500", "currency": "usd",
                                                  "interval": "month", "product[name]": "Pro"})
        plan.raise_for_status()
        return plan.json()["id"]


async def local_card(url: str, customer_ref: str) -> None:
    """A default payment method, without which localstripe (like Stripe) can't bill the first invoice."""
    async with httpx.AsyncClient(base_url=url, auth=("sk_test_paygate", "")) as http:
        method = await http.post("/v1/payment_methods/pm_card_visa/attach", data={"customer": customer_ref})
        method.raise_for_status()
        (await http.post(f"/v1/customers/{customer_ref}", data={
            "invoice_settings[default_payment_method]": method.json()["id"]})).raise_for_status()


async def test_localstripe_makes_a_customer_with_its_email_and_name(local):
    answer = await local.create_customer(CreateCustomerRequest(key("customer"), "ada@example.com", "Ada"))

    assert answer.provider_ref.startswith("cus_")
    assert (answer.email, answer.name) == ("ada@example.com", "Ada")


async def test_localstripe_subscribes_a_customer_to_a_price_and_cancels_it(local, localstripe_url):
    cus = await customer(local)
    await local_card(localstripe_url, cus)
    plan = await local_plan(localstripe_url)

    created = await subscribe(local, cus, plan, metadata={"paygate_subscription": "abc"})
    fetched = await local.fetch_subscription(created.provider_ref)
    canceled = await local.cancel_subscription(CancelSubscriptionRequest(created.provider_ref, key()))

    assert created.provider_ref.startswith("sub_") and created.status is S.ACTIVE
    assert (created.customer_ref, created.price_ref, created.subscription_uuid) == (cus, plan, "abc")
    assert created.current_period_end > created.current_period_start
    assert created.latest_invoice.startswith("in_")
    assert fetched.status is S.ACTIVE and fetched.provider_ref == created.provider_ref
    assert canceled.status is S.CANCELED


async def test_localstripe_refuses_a_customer_without_a_payment_method_as_invalid_input(local, localstripe_url):
    cus = await customer(local)

    with pytest.raises(ValidationError):
        await subscribe(local, cus, await local_plan(localstripe_url))


# --- against the fake: Stripe's rules ----------------------------------------------------------------

@pytest.fixture
def stripe(fake_server, fake, sleeps) -> StripeBilling:
    return billing_at(fake_server[1], sleeps)


async def test_a_subscription_reads_its_period_from_its_item_as_the_pinned_version_has_it(stripe, fake):
    price = fake.billing.price()

    created = await subscribe(stripe, await customer(stripe), price)

    item = fake.billing.subscriptions[created.provider_ref]["items"]["data"][0]
    assert "current_period_start" not in fake.billing.subscriptions[created.provider_ref]
    assert int(created.current_period_start.timestamp()) == item["current_period_start"]
    assert int(created.current_period_end.timestamp()) == item["current_period_end"]
    assert created.price_ref == price and created.status is S.ACTIVE


async def test_every_create_and_cancel_sends_our_key_and_the_pinned_version(stripe, fake):
    keys = [key("customer"), key(), key()]

    cus = (await stripe.create_customer(CreateCustomerRequest(keys[0], "ada@example.com"))).provider_ref
    sub = await subscribe(stripe, cus, fake.billing.price(), keys[1])
    await stripe.cancel_subscription(CancelSubscriptionRequest(sub.provider_ref, keys[2]))

    assert [(m, k) for m, _p, k, _v in fake.requests] == [("POST", keys[0]), ("POST", keys[1]), ("DELETE", keys[2])]
    assert {v for *_rest, v in fake.requests} == {API_VERSION}


async def test_the_same_key_twice_makes_one_subscription_and_the_same_answer(stripe, fake):
    cus, price, same = await customer(stripe), fake.billing.price(), key()

    first = await subscribe(stripe, cus, price, same)
    second = await subscribe(stripe, cus, price, same)

    assert first == second and len(fake.billing.subscriptions) == 1


async def test_the_same_key_for_another_price_is_a_conflict(stripe, fake):
    cus, same = await customer(stripe), key()
    await subscribe(stripe, cus, fake.billing.price(), same)

    with pytest.raises(ConflictError):
        await subscribe(stripe, cus, fake.billing.price(20_00), same)


@pytest.mark.parametrize(("customer_ref", "price", "field"), [
    ("known", "price_unheard_of", "price_id"),
    ("cus_unheard_of", "known", "customer_id"),
])
async def test_an_unknown_price_or_customer_is_invalid_input_naming_the_field(stripe, fake, customer_ref, price,
                                                                              field):
    real_customer, real_price = await customer(stripe), fake.billing.price()

    with pytest.raises(ValidationError) as refused:
        await subscribe(stripe, real_customer if customer_ref == "known" else customer_ref,
                        real_price if price == "known" else price)

    assert refused.value.field == field and "No such" in refused.value.message
    assert fake.billing.subscriptions == {}


async def test_cancelling_twice_answers_the_cancelled_state_both_times(stripe, fake):
    sub = await subscribe(stripe, await customer(stripe), fake.billing.price())

    first = await stripe.cancel_subscription(CancelSubscriptionRequest(sub.provider_ref, key()))
    again = await stripe.cancel_subscription(CancelSubscriptionRequest(sub.provider_ref, key()))

    assert first.status is again.status is S.CANCELED
    assert first.canceled_at is not None and again.canceled_at == first.canceled_at


async def test_an_unknown_subscription_is_not_found(stripe):
    with pytest.raises(NotFoundError):
        await stripe.fetch_subscription("sub_unheard_of")
    with pytest.raises(NotFoundError):
        await stripe.cancel_subscription(CancelSubscriptionRequest("sub_unheard_of", key()))


async def test_an_outage_is_retried_with_the_same_key_then_provider_unavailable(stripe, fake, sleeps):
    cus, price, same = await customer(stripe), fake.billing.price(), key()
    fake.requests.clear()
    fake.fail_next(3)

    with pytest.raises(ProviderUnavailableError):
        await subscribe(stripe, cus, price, same)
    later = await subscribe(stripe, cus, price, same)

    assert sleeps == [0.25, 0.5] and {k for _m, _p, k, _v in fake.requests} == {same}
    assert later.status is S.ACTIVE and len(fake.billing.subscriptions) == 1


async def test_a_rejected_api_key_is_unavailable_at_once(fake_server, fake, sleeps):
    wrong = billing_at(fake_server[1], sleeps, api_key="rk_live_wrong")

    with pytest.raises(ProviderUnavailableError):
        await wrong.create_customer(CreateCustomerRequest(key("customer"), "ada@example.com"))

    assert sleeps == []


async def test_an_answer_about_another_customer_is_refused_as_a_conflict(stripe, fake):
    cus, price = await customer(stripe), fake.billing.price()
    fake.tamper = lambda body: {**body, "customer": "cus_someone_else"} if body.get("object") == "subscription" else body

    with pytest.raises(ConflictError):
        await subscribe(stripe, cus, price)


def test_billing_is_offered_only_when_stripe_is():
    assert build_billing(Settings(_env_file=None)) is None
    assert isinstance(build_billing(Settings(_env_file=None, stripe_api_key="sk_test_x")), StripeBilling)
