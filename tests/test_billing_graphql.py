"""Billing in GraphQL over real HTTP: customerCreate, billingSubscriptionCreate and
billingSubscriptionCancel with their typed errors, the billingSubscriptions connection (own for
customers, all for staff) and node lookups. The app and its fake Stripe are
tests/test_stripe_webhooks.py's."""
from __future__ import annotations

import pytest

from gql.schema.relay import to_global_id
from tests.graphql import Shop, gql

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
CUSTOMER, OTHER, STAFF = "customer@example.com", "customer2@example.com", "staff@example.com"

CUSTOMER_CREATE = """
mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) {
    __typename
    ... on BillingCustomer { id legacyId uuid providerRef email name metadata { key value } }
    ... on Error { code message }
    ... on ValidationError { field }
  }
}"""
SUBSCRIPTION_FIELDS = """id legacyId uuid providerRef customerId priceId status currentPeriodStart currentPeriodEnd
                         latestInvoice canceledAt metadata { key value }"""
SUBSCRIBE = """
mutation($input: BillingSubscriptionCreateInput!) {
  billingSubscriptionCreate(input: $input) {
    __typename
    ... on BillingSubscription { SUBSCRIPTION_FIELDS }
    ... on Error { code message }
    ... on ValidationError { field }
  }
}""".replace("SUBSCRIPTION_FIELDS", SUBSCRIPTION_FIELDS)
CANCEL = """
mutation($id: ID!) {
  billingSubscriptionCancel(input: {subscriptionId: $id}) {
    __typename
    ... on BillingSubscription { id status canceledAt }
    ... on Error { code message }
  }
}"""
LIST = """
query($first: Int, $after: String) {
  billingSubscriptions(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { legacyId status providerRef } }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { __typename ... on BillingSubscription { legacyId status } } }"


async def customer_create(http, shop: Shop, email: str = CUSTOMER, **input) -> dict:
    answer = await gql(http, CUSTOMER_CREATE, {"input": input}, token=shop.token(email))
    return answer["data"]["customerCreate"]


async def subscribe(http, shop: Shop, fake, email: str = CUSTOMER, customer_id: str | None = None,
                    price_id: str | None = None) -> dict:
    customer_id = customer_id or (await customer_create(http, shop, email))["id"]
    answer = await gql(http, SUBSCRIBE, {"input": {
        "customerId": customer_id, "priceId": price_id or fake.billing.price(),
        "metadata": [{"key": "plan", "value": "pro"}]}}, token=shop.token(email))
    return answer["data"]["billingSubscriptionCreate"]


async def test_customer_create_makes_the_callers_customer_at_stripe(http, shop, fake):
    made = await customer_create(http, shop, name="Ada", metadata=[{"key": "org", "value": "7"}])

    assert made["__typename"] == "BillingCustomer"
    assert made["providerRef"] in fake.billing.customers
    assert (made["email"], made["name"], made["metadata"]) == (CUSTOMER, "Ada", [{"key": "org", "value": "7"}])
    assert made["id"] == to_global_id("BillingCustomer", made["legacyId"]) and len(made["uuid"]) == 36


async def test_subscription_create_answers_the_subscription_as_a_node(http, shop, fake):
    made = await subscribe(http, shop, fake)

    assert made["__typename"] == "BillingSubscription" and made["status"] == "ACTIVE"
    assert made["providerRef"] in fake.billing.subscriptions and made["latestInvoice"].startswith("in_")
    assert made["currentPeriodEnd"] > made["currentPeriodStart"]
    assert made["metadata"] == [{"key": "plan", "value": "pro"}]
    node = await gql(http, NODE, {"id": made["id"]}, token=shop.token(CUSTOMER))
    assert node["data"]["node"] == {"__typename": "BillingSubscription", "legacyId": made["legacyId"],
                                    "status": "ACTIVE"}


async def test_someone_elses_customer_is_not_found(http, shop, fake):
    theirs = await customer_create(http, shop, OTHER)

    answer = await subscribe(http, shop, fake, customer_id=theirs["id"])

    assert answer["__typename"] == "NotFound" and fake.billing.subscriptions == {}


async def test_an_unknown_price_is_a_validation_error_on_price_id(http, shop, fake):
    answer = await subscribe(http, shop, fake, price_id="price_unheard_of")

    assert answer["__typename"] == "ValidationError" and answer["field"] == "price_id"


async def test_stripe_not_answering_is_a_conflict_saying_so(http, shop, fake):
    fake.fail_next(3)

    answer = await customer_create(http, shop)

    assert answer["__typename"] == "Conflict" and answer["code"] == "provider_unavailable"


async def test_the_owner_cancels_and_anyone_else_gets_not_found(http, shop, fake):
    made = await subscribe(http, shop, fake)

    stranger = await gql(http, CANCEL, {"id": made["id"]}, token=shop.token(OTHER))
    owner = await gql(http, CANCEL, {"id": made["id"]}, token=shop.token(CUSTOMER))

    assert stranger["data"]["billingSubscriptionCancel"]["__typename"] == "NotFound"
    canceled = owner["data"]["billingSubscriptionCancel"]
    assert canceled["status"] == "CANCELED" and canceled["canceledAt"] is not None


async def test_customers_list_their_own_subscriptions_and_staff_list_all(http, shop, fake):
    mine = await subscribe(http, shop, fake)
    await subscribe(http, shop, fake, OTHER)

    own = (await gql(http, LIST, token=shop.token(CUSTOMER)))["data"]["billingSubscriptions"]
    everyone = (await gql(http, LIST, {"first": 1}, token=shop.token(STAFF)))["data"]["billingSubscriptions"]
    stranger_node = await gql(http, NODE, {"id": mine["id"]}, token=shop.token(OTHER))

    assert own["totalCount"] == 1 and [e["node"]["legacyId"] for e in own["edges"]] == [mine["legacyId"]]
    assert everyone["totalCount"] == 2 and everyone["pageInfo"]["hasNextPage"] is True
    assert stranger_node["data"]["node"] is None


async def test_without_a_token_the_list_is_refused_at_the_top_level(http):
    answer = await gql(http, LIST, expect_status=401)

    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_without_stripe_the_mutations_say_billing_is_not_offered(client, shop):
    answer = await gql(client, CUSTOMER_CREATE, {"input": {}}, token=shop.token(CUSTOMER))

    made = answer["data"]["customerCreate"]
    assert made["__typename"] == "ValidationError" and made["field"] == "provider"
