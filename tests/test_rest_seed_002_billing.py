"""Seed 002's Stripe customer and subscription paths over real HTTP: every documented key with its
type, the {"error": …} shape, auth (someone else's objects answer 404), and 503 without Stripe.
The app and its fake Stripe are tests/test_stripe_webhooks.py's."""
from __future__ import annotations

import pytest

from tests.graphql import Shop

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
BASE = "/api/v1/payments/stripe"
CUSTOMER, OTHER, STAFF = "customer@example.com", "customer2@example.com", "staff@example.com"
# The seed's documented responses: every key and its JSON type.
CUSTOMER_SHAPE = {"customer_id": str, "email": str, "name": str}
SUBSCRIPTION_SHAPE = {"subscription_id": str, "status": str, "current_period_start": int,
                      "current_period_end": int, "latest_invoice": str}
CANCELED_SHAPE = {"subscription_id": str, "status": str, "canceled_at": int}


def auth(shop: Shop, email: str = CUSTOMER) -> dict:
    return {"Authorization": f"Bearer {shop.token(email)}"}


def shaped(body: dict, shape: dict) -> bool:
    return set(body) == set(shape) and all(type(body[k]) is t for k, t in shape.items())


async def post(http, path: str, body, headers: dict):
    return await http.post(f"{BASE}/{path}/", json=body, headers=headers)


async def new_customer(http, shop: Shop, email: str = CUSTOMER) -> str:
    made = await post(http, "create-customer", {"email": email, "name": "Ada"}, auth(shop, email))
    assert made.status_code == 200, made.text
    return made.json()["customer_id"]


async def new_subscription(http, shop: Shop, fake, email: str = CUSTOMER) -> str:
    made = await post(http, "create-subscription", {"customer_id": await new_customer(http, shop, email),
                                                    "price_id": fake.billing.price()}, auth(shop, email))
    assert made.status_code == 200, made.text
    return made.json()["subscription_id"]


async def test_create_customer_answers_the_seeds_object(http, shop, fake):
    response = await post(http, "create-customer", {"email": "user@example.com", "name": "John Doe",
                                                    "metadata": {"organization_id": "org_123"}}, auth(shop))

    assert response.status_code == 200
    body = response.json()
    assert shaped(body, CUSTOMER_SHAPE)
    assert body["customer_id"].startswith("cus_") and (body["email"], body["name"]) == ("user@example.com", "John Doe")
    assert fake.billing.customers[body["customer_id"]]["metadata"] == {"organization_id": "org_123"}


async def test_create_subscription_answers_the_seeds_object(http, shop, fake):
    customer_id = await new_customer(http, shop)

    response = await post(http, "create-subscription", {"customer_id": customer_id, "price_id": fake.billing.price(),
                                                        "metadata": {"plan": "pro", "billing_cycle": "monthly"}},
                          auth(shop))

    assert response.status_code == 200
    body = response.json()
    assert shaped(body, SUBSCRIPTION_SHAPE)
    assert body["subscription_id"].startswith("sub_") and body["status"] == "active"
    assert body["current_period_end"] > body["current_period_start"] and body["latest_invoice"].startswith("in_")


async def test_cancel_subscription_answers_the_seeds_object_and_again_the_same(http, shop, fake):
    subscription_id = await new_subscription(http, shop, fake)

    first = await post(http, "cancel-subscription", {"subscription_id": subscription_id}, auth(shop))
    again = await post(http, "cancel-subscription", {"subscription_id": subscription_id}, auth(shop))

    assert first.status_code == again.status_code == 200
    assert shaped(first.json(), CANCELED_SHAPE) and first.json() == again.json()
    assert first.json()["status"] == "canceled" and first.json()["subscription_id"] == subscription_id


async def test_staff_may_cancel_anyones_subscription(http, shop, fake):
    subscription_id = await new_subscription(http, shop, fake)

    response = await post(http, "cancel-subscription", {"subscription_id": subscription_id}, auth(shop, STAFF))

    assert response.status_code == 200 and response.json()["status"] == "canceled"


@pytest.mark.parametrize("path", ["create-customer", "create-subscription", "cancel-subscription"])
async def test_every_path_needs_a_bearer_token(http, path):
    response = await post(http, path, {}, {})

    assert response.status_code == 401 and set(response.json()) == {"error"}


async def test_someone_elses_customer_and_subscription_answer_404(http, shop, fake):
    theirs = await new_customer(http, shop, OTHER)
    their_subscription = await new_subscription(http, shop, fake, OTHER)

    subscribe = await post(http, "create-subscription", {"customer_id": theirs, "price_id": fake.billing.price()},
                           auth(shop))
    cancel = await post(http, "cancel-subscription", {"subscription_id": their_subscription}, auth(shop))
    unknown = await post(http, "cancel-subscription", {"subscription_id": "sub_unheard_of"}, auth(shop))

    assert (subscribe.status_code, cancel.status_code, unknown.status_code) == (404, 404, 404)
    assert all(set(r.json()) == {"error"} for r in (subscribe, cancel, unknown))
    assert fake.billing.subscriptions[their_subscription]["status"] == "active"


@pytest.mark.parametrize(("path", "body", "mentions"), [
    ("create-customer", {"email": "not an email"}, "email"),
    ("create-customer", {"metadata": ["not", "an", "object"]}, "metadata"),
    ("create-customer", {"metadata": {"k" * 41: "v"}}, "metadata"),
    ("create-customer", {"name": 7}, "name"),
    ("create-customer", {"name": "4242 4242 4242 4242"}, "name: card numbers"),
    ("create-customer", {"metadata": {"card": "4000-0566-5566-5556"}}, "metadata: card numbers"),
    ("create-subscription", {"price_id": "price_1"}, "customer_id"),
    ("create-subscription", {"customer_id": "cus_1"}, "price_id"),
    ("create-subscription", {"customer_id": "cus_1", "price_id": ""}, "price_id"),
    ("cancel-subscription", {}, "subscription_id"),
    ("cancel-subscription", {"subscription_id": ["sub_1"]}, "subscription_id"),
])
async def test_invalid_input_answers_400_naming_the_field(http, shop, path, body, mentions):
    response = await post(http, path, body, auth(shop))

    assert response.status_code == 400 and set(response.json()) == {"error"}
    assert mentions in response.json()["error"]


async def test_a_body_that_is_not_a_json_object_answers_400(http, shop):
    response = await http.post(f"{BASE}/create-customer/", content=b"[1, 2", headers=auth(shop))

    assert response.status_code == 400 and set(response.json()) == {"error"}


async def test_a_price_stripe_doesnt_know_answers_400(http, shop, fake):
    customer_id = await new_customer(http, shop)

    response = await post(http, "create-subscription", {"customer_id": customer_id, "price_id": "price_nope"},
                          auth(shop))

    assert response.status_code == 400 and "No such price" in response.json()["error"]


async def test_stripe_not_answering_is_503_and_the_same_request_again_creates_one(http, shop, fake):
    customer_id = await new_customer(http, shop)
    body = {"customer_id": customer_id, "price_id": fake.billing.price()}
    fake.fail_next(3)

    down = await post(http, "create-subscription", body, auth(shop))
    again = await post(http, "create-subscription", body, auth(shop))

    assert down.status_code == 503 and set(down.json()) == {"error"}
    assert again.status_code == 200 and len(fake.billing.subscriptions) == 1


@pytest.mark.parametrize("path", ["create-customer", "create-subscription", "cancel-subscription"])
async def test_without_stripe_every_path_answers_503(client, shop, path):
    body = {"customer_id": "cus_1", "price_id": "price_1", "subscription_id": "sub_1"}

    response = await client.post(f"{BASE}/{path}/", json=body, headers=auth(shop))

    assert response.status_code == 503 and "PAYGATE_STRIPE_API_KEY" in response.json()["error"]
