"""What a list costs in SQL statements does not grow with its length: every GraphQL list field
(each connection of the schema, and the cart's lines) and every REST list route, asked for with
all the relations a client may follow (addresses, lines, payments, attempts, refunds, buyers,
sellers, ledger postings), is read with the same statements for one round of business as for
four. An N+1 (a relation read per item instead of through a per-request loader) fails it.

Counted with SQLAlchemy's `before_cursor_execute` on the test engine (tests/conftest.py's
StatementCounter), over real HTTP, against the app with Stripe on tests/fake_stripe.py (for
billing subscriptions). The table is checked against the schema and the app's routes, so a new
list without a row fails here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType
from starlette.routing import Route

from db.uow import SqlUnitOfWork
from domain.outgoing_webhooks.delivery import deliver_due
from gql.schema import build_schema
from paygate.webhook_sender import HttpxWebhookSender
from rest_compat import apis
from tests.test_authorization_matrix import ADMIN, OTHER, OWNER, SELLER_OF, STAFF, World

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
MONEY = "{ amount currency }"
ORDER = f"number total {MONEY} lines {{ sku sellerId total {MONEY} }} shippingAddress {{ city }}"
PAYMENT = f"""number card {{ last4 }} attempts {{ kind status amount {MONEY} }} refunds {{ number amount {MONEY} }}
              buyer {{ email }} order {{ {ORDER} }}"""
# The cart of customer2 gets one more of these per round (one currency per cart).
CART_SKUS = ("SAM-MUG-01", "SAM-KNIFE-01", "SORA-NOTE-01", "SORA-LAST-01")
ROUNDS = len(CART_SKUS)


@dataclass(frozen=True)
class Listing:
    name: str          # the root field, or "GET /path"
    query: str = ""    # GraphQL: the whole query, every relation followed
    caller: str = STAFF


def connection(field: str, node: str, args: str = "first: 100") -> Listing:
    return Listing(field, f"{{ {field}({args}) {{ totalCount edges {{ node {{ {node} }} }} }} }}")


LISTINGS = [
    connection("products", f"sku price {MONEY} available seller {{ legacyId name }}"),
    connection("orders", f"{ORDER} payments {{ {PAYMENT} }}"),
    connection("payments", PAYMENT),
    connection("refunds", f"number paymentId amount {MONEY} status"),
    connection("refundRequests", f"paymentId amount {MONEY} status"),
    connection("transactions", f"kind ref entries {{ account ownerId side amount {MONEY} }}"),
    connection("holds", f"paymentId sellerId amount {MONEY} held {MONEY} status"),
    connection("auditLog", "action objectType objectId actorId"),
    connection("billingSubscriptions", "status customerId priceId metadata { key value }"),
    connection("backgroundJobs", "legacyId name state attempts lastError runAfter createdAt updatedAt"),
    Listing("webhookEndpoints", "{ webhookEndpoints(first: 100) { totalCount edges { node { url eventTypes "
            "enabled secret } } } }", caller=ADMIN),
    Listing("webhookDeliveries", "{ webhookDeliveries(first: 100) { totalCount edges { node { eventId eventType "
            "status attempts { statusCode error } } } } }", caller=ADMIN),
    Listing("webhookEventTypes", "{ webhookEventTypes }"),
    Listing("cart", f"{{ cart {{ itemCount lines {{ quantity total {MONEY} product {{ sku seller {{ name }} }} }} }} }}",
            caller=OTHER),
    Listing("paymentMethods", "{ paymentMethods { id provider capabilities publicConfig { key value } } }"),
    Listing("GET /orders/api/payments/", caller=OWNER),
    Listing("GET /api/payment/transactions/", caller=OWNER),
    Listing("GET /api/payment/configurations/", caller=OWNER),
    connection("emailOutbox", "legacyId kind toAddress subject status tries createdAt"),
    Listing("GET /payments/methods", caller=OWNER),
    Listing("GET /payments/admin/all"),
    Listing("GET /payments/admin/statistics"),
    connection("transfers", f"uuid paymentUuid amount {MONEY} nettedDebt {MONEY} status"),
    connection("payouts", f"uuid amount {MONEY} status transfers {{ uuid amount {MONEY} }}"),
    Listing("GET /api/payments/stripe/account/", caller=SELLER_OF),
    Listing("GET /api/payments/stripe/account-status/", caller=SELLER_OF),
    Listing("GET /api/payments/stripe/holds/"),
    Listing("GET /api/payments/payouts/"),
    Listing("GET /api/payments/admin/payouts/", caller=ADMIN),
    Listing("GET /api/payments/admin/transactions/", caller=ADMIN),
]
# One account whatever the business: the same answer, at the same cost.
NOT_GROWING = ("paymentMethods", "GET /api/payment/configurations/", "products", "GET /api/payments/stripe/account/",
               "GET /api/payments/stripe/account-status/",
               "backgroundJobs",  # a round of business defers no job
               "webhookEventTypes", "GET /payments/methods")


async def one_round(world: World, n: int) -> None:
    """An order shipped to a new address, paid, partly refunded, with a refund request; a billing
    subscription; one more line in customer2's cart."""
    address = await world.address()
    await world.fill_cart()
    made = await world.gql("mutation($a: ID!) { checkout(input: {shippingAddressId: $a}) { __typename "
                           "... on CheckoutSuccess { order { id } } } }", {"a": address["id"]})
    payment = await world._pay(made["data"]["checkout"]["order"])
    await world.gql("mutation($p: ID!) { refund(input: {paymentId: $p, amount: 100, reason: \"dent\"}) "
                    "{ __typename } }", {"p": payment["id"]}, STAFF)
    await world.gql("mutation($p: ID!) { refundRequest(input: {paymentId: $p, amount: 100, reason: \"dent\"}) "
                    "{ __typename } }", {"p": payment["id"]})
    await world.billing_subscription()
    await world.payout()  # a sale of seller@'s, delivered, released, transferred and paid out
    # The admin's first request records the admin's user (paygate/auth.py): not a list's cost.
    await world.http.get("/api/payments/admin/payouts/", headers=world.headers(ADMIN))
    products = await world.gql("{ products(first: 100) { edges { node { id sku } } } }")
    product = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == CART_SKUS[n])
    await world.gql("mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) { __typename } }",
                    {"p": product}, OTHER)
    # A merchant's endpoint where nothing listens (port 9, discard, refuses on loopback): each
    # delivery gets an attempt in its log, the refused connection's.
    await world.gql("""mutation { webhookEndpointCreate(input: {url: "http://127.0.0.1:9/hook",
                       eventTypes: ["payment.succeeded", "refund.succeeded"]}) { __typename } }""", caller=ADMIN)
    sender = HttpxWebhookSender(timeout_s=2)
    await deliver_due(lambda: SqlUnitOfWork(world.db), sender, datetime.now(UTC))
    await sender.close()


async def cost(world: World, statements, listing: Listing) -> tuple[int, str]:
    with statements:
        if listing.query:
            body = await world.gql(listing.query, caller=listing.caller)
            assert "errors" not in body, body
            answer = str(body["data"])
        else:
            response = await world.http.get(listing.name.split(" ", 1)[1], headers=world.headers(listing.caller),
                                            params={"page_size": "100"})
            assert response.status_code == 200, response.text
            answer = response.text
    return statements.count, answer


@pytest.fixture
def world(http, shop, fake, app_url, db) -> World:
    return World(http, shop, fake, app_url, db)


async def test_every_list_costs_the_same_statements_for_one_round_of_business_as_for_four(world, statements):
    await one_round(world, 0)
    small = {listing.name: await cost(world, statements, listing) for listing in LISTINGS}
    for n in range(1, ROUNDS):
        await one_round(world, n)

    large = {listing.name: await cost(world, statements, listing) for listing in LISTINGS}

    grew = {name: (small[name][0], large[name][0]) for name in small if large[name][0] != small[name][0]}
    assert not grew, f"statements (one round, {ROUNDS} rounds): {grew}"
    # ... and the lists did grow, with their relations present (or the comparison proves nothing).
    unchanged = [name for name in small if large[name][1] == small[name][1] and name not in NOT_GROWING]
    assert not unchanged, unchanged
    assert "shippingAddress': {'city'" in large["orders"][1] and "'refunds': [{'number'" in large["payments"][1]


def _is_list(kind) -> bool:
    while isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList) or (isinstance(kind, GraphQLObjectType) and kind.name.endswith("Connection"))


def test_every_list_field_of_the_schema_and_every_rest_list_route_has_a_row():
    schema = build_schema(production=False)._schema
    lists = {name for name, fld in schema.type_map["Query"].fields.items() if _is_list(fld.type)}
    lists.add("cart")  # a Cart, whose lines are the list
    routes = {f"GET {route.path}" for api in apis() for route in api.routes
              if isinstance(route, Route) and "GET" in route.methods and "{" not in route.path}

    assert {listing.name for listing in LISTINGS} == lists | routes
