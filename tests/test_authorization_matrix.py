"""Who may touch which object, on every surface, as one table: every REST route and every GraphQL
query field, mutation, subscription and `node` type that takes an object, asked by the object's
owner, another customer, a seller of the order and one not in it, staff, and nobody (no token).

Each row builds a fresh object per caller (a mutation that succeeds must not spoil the next
caller's try), asks, and reads the answer as one word: `ok`, `not_found`, `not_allowed`,
`forbidden` (a role the action never takes), `unauthenticated`. A column `missing` asks the owner
about an object that doesn't exist: whoever may not see an object must get exactly that answer,
body for body on REST (the seed's shape), so an object's existence never leaks.

The table is checked against the app itself: every route of the app and every field of the schema
taking an id must have a row here (or, for a route that takes no object, a reason in
NO_OBJECT_ROUTES), so a new route or field without a row fails this module.

The app is tests/conftest.py's with Stripe against tests/fake_stripe.py, so that seeds 000 and 002
(Stripe only) answer too.
"""
from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLObjectType
from starlette.routing import Mount, Route, WebSocketRoute
from websockets.asyncio.client import connect

from db.uow import SqlUnitOfWork
from domain.outgoing_webhooks.delivery import SendResult, record_result
from gql.schema import build_schema
from gql.schema.relay import from_global_id, to_global_id
from paygate.app import create_app
from tests.conftest import settings_for
from tests.graphql import Shop, gql

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

OWNER, OTHER, SELLER_OF, SELLER_NOT, STAFF, ADMIN, ANONYMOUS, MISSING = (
    "owner", "other_customer", "seller_of", "seller_not", "staff", "admin", "anonymous", "missing")
CALLERS = (OWNER, OTHER, SELLER_OF, SELLER_NOT, STAFF, ADMIN, ANONYMOUS, MISSING)
EMAILS = {OWNER: "customer@example.com", OTHER: "customer2@example.com", SELLER_OF: "seller@example.com",
          SELLER_NOT: "seller2@example.com", STAFF: "staff@example.com", ADMIN: "admin@example.com",
          MISSING: "customer@example.com"}
SKU = "SAM-MUG-01"  # sold by seller@example.com
PAN, THREE_D_SECURE = "4242424242424242", "4000002500003155"
NO_ID = 2**31 - 1  # the largest id a 32-bit column holds: never one of this test's rows


def expect(owner, other, seller_of, seller_not, staff, anonymous, missing="not_found",
           admin: str | None = None) -> dict[str, str]:
    """An admin (admin@example.com, role admin only) is answered as staff unless the row says."""
    return {OWNER: owner, OTHER: other, SELLER_OF: seller_of, SELLER_NOT: seller_not, STAFF: staff,
            ADMIN: staff if admin is None else admin, ANONYMOUS: anonymous, MISSING: missing}


# Who may act, in words: "private" objects are seen by their buyer, the sellers in their order and
# staff; "buyer's" ones by the buyer (and staff where said).
PRIVATE = expect("ok", "not_found", "ok", "not_found", "ok", "unauthenticated")
BUYER_AND_STAFF = expect("ok", "not_found", "not_found", "not_found", "ok", "unauthenticated")
BUYER_ONLY = expect("ok", "not_found", "not_found", "not_found", "not_found", "unauthenticated")
# What a role never does is refused before the object is looked up: the answer says nothing of it.
CUSTOMERS_ONLY = expect("ok", "not_found", "forbidden", "forbidden", "forbidden", "unauthenticated")
# Shopping decided by its use case (domain/identity.customers_only): NotAllowed in the union,
# before the object is looked up.
CUSTOMERS_DECIDE = expect("ok", "not_found", "not_allowed", "not_allowed", "not_allowed", "unauthenticated")
# The marketplace (seed 000's Connect paths): a seller's own payout or account, seen by them and
# staff; a buyer is refused as a role (403), another seller finds nothing.
SELLERS_OWN = expect("forbidden", "forbidden", "ok", "not_found", "ok", "unauthenticated", "forbidden")
SELLER_AND_STAFF_SEE = expect("not_found", "not_found", "ok", "not_found", "ok", "unauthenticated")
# What the sellers of an order do to it (deliver, transfer): its buyer sees it but may not.
SELLERS_OF_IT = expect("forbidden", "not_found", "ok", "not_found", "ok", "unauthenticated")
SELLERS_OF_IT_DECIDE = expect("not_allowed", "not_found", "ok", "not_found", "ok", "unauthenticated")
STAFF_ONLY = expect("forbidden", "forbidden", "forbidden", "forbidden", "ok", "unauthenticated", "forbidden")
# Staff's actions decided by their use case (domain/payments/service.py, refund_requests.py):
# refused as NotAllowed in the mutation's union, before the object is looked up.
STAFF_DECIDES = expect("not_allowed", "not_allowed", "not_allowed", "not_allowed", "ok", "unauthenticated",
                       "not_allowed")
# Merchants' webhooks are an admin's alone (domain/outgoing_webhooks/endpoints.admins_only).
ADMIN_DECIDES = expect("not_allowed", "not_allowed", "not_allowed", "not_allowed", "not_allowed", "unauthenticated",
                       "not_allowed", admin="ok")
ADMIN_SEES = expect("not_found", "not_found", "not_found", "not_found", "not_found", "not_found", admin="ok")


# --- the world each row's object lives in -----------------------------------------------------

class World:
    """Builds objects through the public APIs, as their owner (customer@example.com) would."""

    def __init__(self, http: httpx.AsyncClient, shop: Shop, fake, url: str, db=None) -> None:
        self.http, self.shop, self.fake, self.url, self.db = http, shop, fake, url, db
        self.paypal: Any = None  # tests/fake_paypal.py's, where PayPal is served
        self._product: str | None = None

    def token(self, caller: str) -> str | None:
        return self.shop.token(EMAILS[caller]) if caller in EMAILS else None

    def headers(self, caller: str) -> dict[str, str]:
        token = self.token(caller)
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def gql(self, query: str, variables: dict | None = None, caller: str = OWNER) -> dict:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                        headers=self.headers(caller))
        assert response.status_code in (200, 401, 403), response.text
        return response.json()

    async def product(self) -> str:
        if self._product is None:
            products = await gql(self.http, "{ products(first: 100) { edges { node { id sku } } } }")
            self._product = next(e["node"]["id"] for e in products["data"]["products"]["edges"]
                                 if e["node"]["sku"] == SKU)
        return self._product

    async def fill_cart(self, caller: str = OWNER) -> None:
        if caller in EMAILS:
            await self.gql("mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) { __typename } }",
                           {"p": await self.product()}, caller)

    async def pending_order(self) -> dict:
        await self.fill_cart()
        made = await self.gql("mutation { checkout { __typename ... on CheckoutSuccess { order "
                              "{ id legacyId uuid number } } } }")
        return made["data"]["checkout"]["order"]

    async def _pay(self, order: dict, number: str = PAN, capture: str = "AUTOMATIC") -> dict:
        paid = await self.gql("""
            mutation($o: ID!, $n: String!, $c: CaptureMethodEnum) {
              processPayment(input: {orderId: $o, captureMethod: $c,
                                     card: {number: $n, expMonth: 12, expYear: 2034, cvc: "123"}}) {
                __typename ... on Payment { id legacyId uuid number status }
              }
            }""", {"o": order["id"], "n": number, "c": capture})
        payment = paid["data"]["processPayment"]
        assert payment["__typename"] == "Payment", paid
        return payment

    async def paid_order(self) -> dict:
        order = await self.pending_order()
        return {"order": order, "payment": await self._pay(order)}

    async def payment(self) -> dict:
        return (await self.paid_order())["payment"]

    async def authorized_payment(self) -> dict:
        return await self._pay(await self.pending_order(), capture="MANUAL")

    async def payment_awaiting_3ds(self) -> dict:
        payment = await self._pay(await self.pending_order(), number=THREE_D_SECURE)
        assert payment["status"] == "REQUIRES_ACTION", payment
        return payment

    async def refund(self) -> dict:
        payment = await self.payment()
        made = await self.gql("""mutation($p: ID!) { refund(input: {paymentId: $p, amount: 100, reason: "dent"}) {
                                   __typename ... on Refund { id legacyId } } }""", {"p": payment["id"]}, STAFF)
        return made["data"]["refund"]

    async def refund_request(self) -> dict:
        payment = await self.payment()
        made = await self.gql("""mutation($p: ID!) { refundRequest(input: {paymentId: $p, amount: 100,
                                   reason: "dented"}) { __typename ... on RefundRequest { id legacyId } } }""",
                              {"p": payment["id"]})
        return made["data"]["refundRequest"]

    async def address(self) -> dict:
        made = await self.gql("""mutation { addressCreate(input: {name: "Ada", line1: "1 Main St", city: "Springfield",
                                   postalCode: "12345", country: "US"}) { __typename ... on Address { id legacyId } } }""")
        return made["data"]["addressCreate"]

    async def cart(self) -> dict:
        await self.fill_cart()
        return {"id": to_global_id("Cart", self.shop.id_of(EMAILS[OWNER]))}

    async def user(self) -> dict:
        return {"id": to_global_id("User", self.shop.id_of(EMAILS[OWNER]))}

    async def stripe_intent(self) -> dict:
        made = await self.http.post("/api/v1/payments/stripe/create-payment-intent/",
                                    json={"amount": 29.99, "currency": "usd"}, headers=self.headers(OWNER))
        assert made.status_code == 200, made.text
        return {"ref": made.json()["payment_intent_id"]}

    async def paypal_order(self) -> dict:
        made = await self.http.post("/api/v1/payments/paypal/create-order/",
                                    json={"amount": 29.99, "currency": "USD"}, headers=self.headers(OWNER))
        assert made.status_code == 200, made.text
        self.paypal.approve(made.json()["order_id"])
        return {"paypalRef": made.json()["order_id"]}

    async def seed_003_paypal_order(self) -> dict:
        """An order opened at PayPal by seed 003's process (and approved by its buyer), to complete."""
        order = await self.pending_order()
        opened = await self.http.post(f"/payments/process?order_id={order['legacyId']}", headers=self.headers(OWNER),
                                      json={"payment_method": "paypal", "payment_details": {}})
        assert opened.status_code == 202, opened.text
        paypal_ref = opened.json()["next_action"]["paypal_order_id"]
        self.paypal.approve(paypal_ref)
        return {**order, "paypalRef": paypal_ref}

    async def paypal_capture(self) -> dict:
        order = await self.paypal_order()
        captured = await self.http.post("/api/v1/payments/paypal/capture-order/", json={"order_id": order["paypalRef"]},
                                        headers=self.headers(OWNER))
        assert captured.json()["captured"] is True, captured.text
        unit = self.paypal.orders[order["paypalRef"]]["purchase_units"][0]
        return {"paypalRef": unit["payments"]["captures"][0]["id"]}

    async def billing_customer(self) -> dict:
        made = await self.gql("mutation { customerCreate(input: {}) { __typename ... on BillingCustomer "
                              "{ id legacyId providerRef } } }")
        return {**made["data"]["customerCreate"], "price": self.fake.billing.price()}

    async def billing_subscription(self) -> dict:
        customer = await self.billing_customer()
        made = await self.gql("""mutation($c: ID!, $p: String!) { billingSubscriptionCreate(input: {customerId: $c,
                                   priceId: $p}) { __typename ... on BillingSubscription { id legacyId providerRef } } }""",
                              {"c": customer["id"], "p": self.fake.billing.price()})
        return made["data"]["billingSubscriptionCreate"]

    async def webhook_endpoint(self) -> dict:
        made = await self.gql("""mutation { webhookEndpointCreate(input: {url: "https://merchant.example/hook",
                                   eventTypes: ["payment.succeeded"]}) { __typename ... on WebhookEndpoint { id legacyId
                                   uuid } } }""", caller=ADMIN)
        return made["data"]["webhookEndpointCreate"]

    async def webhook_delivery(self) -> dict:
        """A delivery made by the job's fan-out and attempted once (its endpoint refused it), as the
        job would have done: nothing is sent from here."""
        endpoint = await self.webhook_endpoint()
        await self.payment()
        now = datetime.now(UTC)
        async with SqlUnitOfWork(self.db) as uow:
            await uow.webhook_deliveries.fan_out(now, 100)
            claimed = await uow.webhook_deliveries.claim_due(now, now, 100)
            await uow.commit()
        for one in claimed:
            await record_result(one.delivery_id, SendResult(None, "ConnectError", 1), SqlUnitOfWork(self.db), now)
        page = await self.gql("query($e: ID!) { webhookDeliveries(first: 1, endpointId: $e) { edges { node "
                              "{ id legacyId endpointId } } } }", {"e": endpoint["id"]}, caller=ADMIN)
        return page["data"]["webhookDeliveries"]["edges"][0]["node"]

    async def product_node(self) -> dict:
        return {"id": await self.product()}

    async def buyer_with_a_payment(self) -> dict:
        """The owner as a user, with an order, a payment and their audit rows."""
        await self.payment()
        return await self.user()

    async def seller_with_a_sale(self) -> dict:
        await self.payment()  # a sale of seller@example.com's, with its hold
        return {"id": to_global_id("User", self.shop.id_of(EMAILS[SELLER_OF]))}

    async def paid_and_refunded(self) -> dict:
        paid = await self.paid_order()
        await self.gql("mutation($p: ID!) { refund(input: {paymentId: $p, amount: 100, reason: \"x\"}) "
                       "{ __typename } }", {"p": paid["payment"]["id"]}, STAFF)
        return paid

    async def payment_with_request(self) -> dict:
        paid = await self.paid_order()
        await self.gql("mutation($p: ID!) { refundRequest(input: {paymentId: $p, amount: 100, reason: \"dent\"}) "
                       "{ __typename } }", {"p": paid["payment"]["id"]})
        return paid

    # --- the marketplace: seller@example.com (SELLER_OF) is paid on Stripe Connect (the fake) ---

    async def connected_seller(self) -> dict:
        """SELLER_OF's connected account, onboarded at the fake's Connect."""
        made = await self.http.post("/api/payments/stripe/account/", json={}, headers=self.headers(SELLER_OF))
        assert made.status_code in (200, 201), made.text
        self.fake.connect.complete_onboarding(made.json()["account_id"])
        return {"id": to_global_id("User", self.shop.id_of(EMAILS[SELLER_OF]))}

    async def delivered_and_released(self) -> dict:
        """A paid order of SELLER_OF's, delivered, its hold released early by staff."""
        await self.connected_seller()
        paid = await self.paid_order()
        await self.http.post(f"/api/payments/orders/{paid['order']['uuid']}/deliver/", json={},
                             headers=self.headers(STAFF))
        seller = to_global_id("User", self.shop.id_of(EMAILS[SELLER_OF]))
        released = await self.gql("mutation($p: ID!, $s: ID!) { holdRelease(input: {paymentId: $p, sellerId: $s}) "
                                  "{ __typename } }", {"p": paid["payment"]["id"], "s": seller}, STAFF)
        assert released["data"]["holdRelease"]["__typename"] == "SellerHold", released
        return paid

    async def transferred(self) -> dict:
        paid = await self.delivered_and_released()
        moved = await self.http.post("/api/payments/transfer/", json={"transaction_id": paid["payment"]["uuid"]},
                                     headers=self.headers(SELLER_OF))
        assert moved.status_code == 200, moved.text
        transfer = moved.json()["transfer"]
        found = await self.gql("{ transfers(first: 1) { edges { node { id legacyId uuid } } } }", caller=SELLER_OF)
        node = found["data"]["transfers"]["edges"][0]["node"]
        assert node["uuid"] == transfer["transfer_id"]
        return {**node, "seller": {"id": to_global_id("User", transfer["seller_id"])}}

    async def payout(self) -> dict:
        await self.transferred()
        made = await self.gql("mutation { payout(input: {currency: \"USD\"}) { __typename ... on Payout "
                              "{ id legacyId uuid } ... on Error { message } } }", caller=SELLER_OF)
        payout = made["data"]["payout"]
        assert payout["__typename"] == "Payout", made
        return {k: v for k, v in payout.items() if k != "__typename"}

    async def seller_with_a_payout(self) -> dict:
        await self.payout()
        return {"id": to_global_id("User", self.shop.id_of(EMAILS[SELLER_OF]))}

    async def held_sale(self) -> dict:
        paid = await self.paid_order()
        return {**paid, "seller": {"id": to_global_id("User", self.shop.id_of(EMAILS[SELLER_OF]))}}
    async def disputed_payment(self) -> dict:
        """The owner's Stripe payment, disputed by the buyer's bank (Stripe's signed webhook)."""
        from tests.test_stripe_webhooks import deliver

        order = await self.pending_order()
        paid = await self.gql("""mutation($o: ID!) { processPayment(input: {orderId: $o, provider: "stripe",
            paymentMethod: "pm_card_visa"}) { __typename ... on Payment { id legacyId } } }""", {"o": order["id"]})
        payment = paid["data"]["processPayment"]
        intent = next(i for i in reversed(self.fake.intents.values())
                      if i["metadata"].get("order_id") == str(order["legacyId"]))
        dispute = self.fake.disputes.open(intent)
        event = self.fake.event(dispute, "charge.dispute.created", f"evt_{dispute['id']}")
        assert (await deliver(self.http, event)).json()["state"] == "processed"
        found = await self.gql("query($p: ID!) { disputes(filter: {paymentId: $p}) { edges { node { id } } } }",
                               {"p": payment["id"]}, STAFF)
        return {"payment": payment, "id": found["data"]["disputes"]["edges"][0]["node"]["id"]}

    async def held_payment(self) -> dict:
        """The owner's payment held by the risk checks for review (EUR is limited in this module's app)."""
        products = await gql(self.http, "{ products(first: 100) { edges { node { id sku } } } }")
        lamp = next(e["node"]["id"] for e in products["data"]["products"]["edges"] if e["node"]["sku"] == "SAM-LAMP-01")
        await self.gql("mutation($p: ID!) { cartSetItem(input: {productId: $p, quantity: 1}) { __typename } }",
                       {"p": lamp})
        made = await self.gql("mutation { checkout { __typename ... on CheckoutSuccess { order { id } } } }")
        held = await self.gql("""mutation($o: ID!) { processPayment(input: {orderId: $o, card: {number: "4242424242424242",
            expMonth: 12, expYear: 2034, cvc: "123"}}) { __typename } }""", {"o": made["data"]["checkout"]["order"]["id"]})
        assert held["data"]["processPayment"]["__typename"] == "RiskReview", held
        found = await self.gql("{ payments(first: 1) { edges { node { id } } } }")
        return {"id": found["data"]["payments"]["edges"][0]["node"]["id"]}

    async def transaction(self) -> dict:
        """A seed 004 payment created for the owner's order, not processed yet."""
        order = await self.pending_order()
        made = await self.http.post("/api/payment/create-intent/", json={"order_id": order["legacyId"]},
                                    headers=self.headers(OWNER))
        assert made.status_code == 200, made.text
        return {"number": made.json()["transaction_id"]}


def missing(obj: dict) -> dict:
    """The same object with every identifier replaced by one that names nothing."""
    def swap(key: str, value: Any) -> Any:
        match key:
            case _ if isinstance(value, dict):
                return missing(value)
            case "id":
                return to_global_id(from_global_id(value)[0], NO_ID)
            case "legacyId":
                return NO_ID
            case "uuid":
                return str(uuid.UUID(int=1))
            case "number":
                return "TXN-FFFFFFFFFFFF"
            case "providerRef" | "ref":
                return value[:4] + "missing0000"
            case "paypalRef":  # PayPal's ids are capitals and digits
                return value[:4] + "MISSING0000"
        return value
    return {k: swap(k, v) for k, v in obj.items()}


def identifiers(obj: dict) -> list[str]:
    found = []
    for key, value in obj.items():
        if isinstance(value, dict):
            found += identifiers(value)
        elif key in ("id", "legacyId", "uuid", "number", "providerRef", "ref"):
            found.append(str(value))
    return sorted(found, key=len, reverse=True)


def without_ids(body: Any, obj: dict) -> str:
    """The body as text with the object's identifiers (those asked by, and the others) blanked."""
    text = json.dumps(body)
    for ident in identifiers(obj):
        text = re.sub(rf"\b{re.escape(ident)}\b", "<id>", text)
    return text


# --- reading answers as one word --------------------------------------------------------------

ERROR_CODES = {"UNAUTHENTICATED": "unauthenticated", "FORBIDDEN": "forbidden", "NOT_FOUND": "not_found"}


def graphql_word(body: dict, field_name: str) -> str:
    if body.get("errors"):
        code = (body["errors"][0].get("extensions") or {}).get("code", "")
        return ERROR_CODES.get(code, f"error {code}: {body['errors'][0]['message']}")
    value = body["data"][field_name]
    if value is None:
        return "not_found"
    typename = value.get("__typename") if isinstance(value, dict) else None
    if "totalCount" in value:
        return "sees" if value["totalCount"] else "empty"
    if typename in UNION_WORDS:
        return UNION_WORDS[typename]
    return typename if typename in OTHER_ERRORS else "ok"  # the success type (or a decline: an answer)


UNION_WORDS = {"NotFound": "not_found", "NotAllowed": "not_allowed"}
OTHER_ERRORS = ("ValidationError", "Conflict", "InsufficientStock", "RefundExceedsCaptured")


@dataclass
class Rest:
    """A REST answer: its word, and the body a 404 must share with a missing object's."""
    word: str
    body: Any = None


def rest_word(response: httpx.Response, shape: str) -> Rest:
    if response.status_code in (200, 201, 202):
        return Rest("ok")
    words = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}
    word = words.get(response.status_code, f"{response.status_code}: {response.text[:200]}")
    body = response.json()
    if word == "not_found" and set(body) != {shape}:
        word = f"404 not in the seed's shape ({shape}): {body}"
    return Rest(word, body)


# --- the rows ---------------------------------------------------------------------------------

Ask = Callable[[World, dict, str], Awaitable[Any]]


@dataclass
class Row:
    name: str
    make: Callable[[World], Awaitable[dict]]
    ask: Ask
    expected: dict[str, str]
    covers: tuple[str, ...] = ()  # what of the app it stands for: "GET /path", "Query.x", "node Order"

    @property
    def only_reads(self) -> bool:
        """Every caller may ask about the same object: the question changes nothing."""
        return self.covers[0].startswith(("Query.", "node ", "Subscription.", "GET "))


def graphql_field(kind: str, name: str, query: str, variables: Callable[[dict], dict]) -> Ask:
    """`kind` is the root type; a checkout needs something in the caller's own cart first."""
    async def ask(world: World, obj: dict, caller: str) -> str:
        if (kind, name) == ("mutation", "checkout"):
            await world.fill_cart(caller)
        return graphql_word(await world.gql(query, variables(obj), caller), name)
    return ask


def node_row(type_name: str, make, expected: dict[str, str]) -> Row:
    query = "query($id: ID!) { node(id: $id) { __typename id } }"
    return Row(f"node {type_name}", make, graphql_field("query", "node", query, lambda o: {"id": o["id"]}),
               expected, covers=(f"node {type_name}",))


def rest(method: str, path: str, shape: str, body: Callable[[dict], dict] | None = None,
         cart: bool = False) -> Ask:
    async def ask(world: World, obj: dict, caller: str) -> Rest:
        if cart:
            await world.fill_cart(caller)
        url = path.format(**flat(obj))
        sent = body(obj) if body else None
        response = await world.http.request(method, url, json=sent, headers=world.headers(caller))
        return rest_word(response, shape)
    return ask


def flat(obj: dict) -> dict:
    out = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update({f"{key}_{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def live(name: str) -> Ask:
    async def ask(world: World, obj: dict, caller: str) -> str:
        query = f"subscription($id: ID!) {{ {name}(id: $id) {{ __typename id }} }}"
        async with connect(world.url.replace("http", "ws") + "/graphql",
                           subprotocols=["graphql-transport-ws"]) as ws:
            token = world.token(caller)
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {token}"} if token else {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": query, "variables": {"id": obj["id"]}}}))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message["type"] == "next":
                    return graphql_word(message["payload"], name)
                if message["type"] == "error":
                    return graphql_word({"errors": message["payload"]}, name)
                if message["type"] == "complete":
                    return "not_found"
    return ask


CARD_DATA = {"card_number": PAN, "expiry_month": 12, "expiry_year": 2034, "cvv": "123"}
SEED_003_CARD = {"card_number": PAN, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
W = World

ROWS: list[Row] = [
    # --- GraphQL queries ---
    Row("Query.order", W.pending_order,
        graphql_field("query", "order", "query($id: ID!) { order(id: $id) { id } }", lambda o: {"id": o["id"]}),
        PRIVATE, covers=("Query.order",)),
    Row("Query.payment", W.payment,
        graphql_field("query", "payment", "query($id: ID!) { payment(id: $id) { id } }", lambda o: {"id": o["id"]}),
        PRIVATE, covers=("Query.payment",)),
    # Filters naming someone else's objects show nothing of theirs: each caller's own scope decides.
    Row("Query.orders(filter.buyerId)", W.buyer_with_a_payment,
        graphql_field("query", "orders", "query($u: ID!) { orders(filter: {buyerId: $u}) { totalCount } }",
                      lambda o: {"u": o["id"]}),
        expect("sees", "empty", "sees", "empty", "sees", "unauthenticated", "sees"),
        covers=("Query.orders",)),
    Row("Query.payments(filter.orderId)", W.paid_order,
        graphql_field("query", "payments", "query($o: ID!) { payments(filter: {orderId: $o}) { totalCount } }",
                      lambda o: {"o": o["order"]["id"]}),
        expect("sees", "empty", "sees", "empty", "sees", "unauthenticated", "empty"),
        covers=("Query.payments",)),
    Row("Query.refunds(filter.paymentId)", W.paid_and_refunded,
        graphql_field("query", "refunds", "query($p: ID!) { refunds(filter: {paymentId: $p}) { totalCount } }",
                      lambda o: {"p": o["payment"]["id"]}),
        expect("sees", "empty", "sees", "empty", "sees", "unauthenticated", "empty"),
        covers=("Query.refunds",)),
    Row("Query.refundRequests(filter.paymentId)", W.payment_with_request,
        graphql_field("query", "refundRequests",
                      "query($p: ID!) { refundRequests(filter: {paymentId: $p}) { totalCount } }",
                      lambda o: {"p": o["payment"]["id"]}),
        expect("sees", "empty", "empty", "empty", "sees", "unauthenticated", "empty"),
        covers=("Query.refundRequests",)),
    Row("Query.transactions(filter.ownerId)", W.buyer_with_a_payment,
        graphql_field("query", "transactions",
                      "query($u: ID!) { transactions(filter: {ownerId: $u}) { totalCount } }",
                      lambda o: {"u": o["id"]}),
        expect("forbidden", "forbidden", "forbidden", "forbidden", "empty", "unauthenticated", "forbidden"),
        covers=("Query.transactions",)),
    Row("Query.holds(filter.sellerId)", W.seller_with_a_sale,
        graphql_field("query", "holds", "query($s: ID!) { holds(filter: {sellerId: $s}) { totalCount } }",
                      lambda o: {"s": o["id"]}),
        expect("forbidden", "forbidden", "sees", "empty", "sees", "unauthenticated", "forbidden"),
        covers=("Query.holds",)),
    Row("Query.auditLog(filter.actorId)", W.buyer_with_a_payment,
        graphql_field("query", "auditLog", "query($u: ID!) { auditLog(filter: {actorId: $u}) { totalCount } }",
                      lambda o: {"u": o["id"]}),
        expect("forbidden", "forbidden", "forbidden", "forbidden", "sees", "unauthenticated", "forbidden"),
        covers=("Query.auditLog",)),
    # Disputes are staff's: the list refuses other roles, a dispute's node is nobody else's to see.
    Row("Query.disputes(filter.paymentId)", W.disputed_payment,
        graphql_field("query", "disputes", "query($p: ID!) { disputes(filter: {paymentId: $p}) { totalCount } }",
                      lambda o: {"p": o["payment"]["id"]}),
        expect("forbidden", "forbidden", "forbidden", "forbidden", "sees", "unauthenticated", "forbidden"),
        covers=("Query.disputes",)),
    # A job belongs to no user (STAFF_ONLY_LISTS): staff and admins see the queue, nobody else.
    Row("Query.backgroundJobs", W.buyer_with_a_payment,
        graphql_field("query", "backgroundJobs", "{ backgroundJobs { totalCount } }", lambda o: {}),
        expect("forbidden", "forbidden", "forbidden", "forbidden", "empty", "unauthenticated", "forbidden"),
        covers=("Query.backgroundJobs",)),
    # Products are public: a seller's catalogue is for everyone.
    Row("Query.products(sellerId)", W.seller_with_a_sale,
        graphql_field("query", "products", "query($s: ID!) { products(sellerId: $s) { totalCount } }",
                      lambda o: {"s": o["id"]}),
        expect("sees", "sees", "sees", "sees", "sees", "sees", "empty"), covers=("Query.products",)),
    # --- node, every type implementing Node ---
    node_row("Order", W.pending_order, PRIVATE),
    node_row("Payment", W.payment, PRIVATE),
    node_row("Refund", W.refund, PRIVATE),
    node_row("RefundRequest", W.refund_request, BUYER_AND_STAFF),
    node_row("Address", W.address, BUYER_AND_STAFF),
    node_row("Cart", W.cart, expect("ok", "not_found", "not_found", "not_found", "not_found", "not_found")),
    node_row("User", W.user, expect("ok", "not_found", "not_found", "not_found", "ok", "not_found")),
    node_row("Product", W.product_node, expect("ok", "ok", "ok", "ok", "ok", "ok")),
    node_row("BillingCustomer", W.billing_customer, BUYER_AND_STAFF),
    node_row("BillingSubscription", W.billing_subscription, BUYER_AND_STAFF),
    node_row("Dispute", W.disputed_payment, expect("not_found", "not_found", "not_found", "not_found", "ok",
                                                   "unauthenticated")),
    node_row("WebhookEndpoint", W.webhook_endpoint, ADMIN_SEES),
    node_row("WebhookDelivery", W.webhook_delivery, ADMIN_SEES),
    # --- GraphQL mutations ---
    Row("Mutation.cartSetItem", W.product_node,
        graphql_field("mutation", "cartSetItem", "mutation($p: ID!) { cartSetItem(input: {productId: $p, "
                      "quantity: 1}) { __typename } }", lambda o: {"p": o["id"]}),
        expect("ok", "ok", "not_allowed", "not_allowed", "not_allowed", "unauthenticated"),
        covers=("Mutation.cartSetItem",)),
    Row("Mutation.checkout(shippingAddressId)", W.address,
        graphql_field("mutation", "checkout", "mutation($a: ID!) { checkout(input: {shippingAddressId: $a}) "
                      "{ __typename } }", lambda o: {"a": o["id"]}),
        CUSTOMERS_DECIDE,
        covers=("Mutation.checkout",)),
    Row("Mutation.checkout(orderId, provider)", W.pending_order,
        graphql_field("mutation", "checkout", "mutation($o: ID!) { checkout(input: {orderId: $o, "
                      "provider: \"stripe\"}) { __typename } }", lambda o: {"o": o["id"]}),
        CUSTOMERS_DECIDE,
        covers=("Mutation.checkout",)),
    Row("Mutation.processPayment", W.pending_order,
        graphql_field("mutation", "processPayment", """mutation($o: ID!) { processPayment(input: {orderId: $o,
            card: {number: "4242424242424242", expMonth: 12, expYear: 2034, cvc: "123"}}) { __typename } }""",
                      lambda o: {"o": o["id"]}),
        CUSTOMERS_DECIDE, covers=("Mutation.processPayment",)),
    Row("Mutation.paymentConfirm", W.payment_awaiting_3ds,
        graphql_field("mutation", "paymentConfirm", "mutation($p: ID!) { paymentConfirm(input: {paymentId: $p}) "
                      "{ __typename } }", lambda o: {"p": o["id"]}),
        BUYER_AND_STAFF, covers=("Mutation.paymentConfirm",)),
    # The world's payment is the dummy gateway's, which has no checkout to complete: its buyer and
    # staff get past authorization to that refusal; everyone else learns nothing of the payment.
    Row("Mutation.paymentComplete", W.payment_awaiting_3ds,
        graphql_field("mutation", "paymentComplete", "mutation($p: ID!) { paymentComplete(input: {paymentId: $p, "
                      "razorpayPaymentId: \"pay_x\"}) { __typename } }", lambda o: {"p": o["id"]}),
        expect("ValidationError", "not_found", "not_found", "not_found", "ValidationError", "unauthenticated"),
        covers=("Mutation.paymentComplete",)),
    Row("Mutation.capture", W.authorized_payment,
        graphql_field("mutation", "capture", "mutation($p: ID!) { capture(input: {paymentId: $p}) { __typename } }",
                      lambda o: {"p": o["id"]}),
        STAFF_DECIDES, covers=("Mutation.capture",)),
    Row("Mutation.cancel", W.paid_order,
        graphql_field("mutation", "cancel", "mutation($o: ID!) { cancel(input: {orderId: $o, reason: \"x\"}) "
                      "{ __typename } }", lambda o: {"o": o["order"]["id"]}),
        PRIVATE, covers=("Mutation.cancel",)),
    # --- the marketplace ---
    Row("Query.connectedAccount(sellerId)", W.connected_seller,
        graphql_field("query", "connectedAccount", "query($s: ID) { connectedAccount(sellerId: $s) { uuid } }",
                      lambda o: {"s": o["id"]}),
        SELLER_AND_STAFF_SEE, covers=("Query.connectedAccount",)),
    Row("Query.payout", W.payout,
        graphql_field("query", "payout", "query($id: ID!) { payout(id: $id) { uuid } }", lambda o: {"id": o["id"]}),
        SELLER_AND_STAFF_SEE, covers=("Query.payout",)),
    Row("Query.payouts(filter.sellerId)", W.seller_with_a_payout,
        graphql_field("query", "payouts", "query($s: ID!) { payouts(filter: {sellerId: $s}) { totalCount } }",
                      lambda o: {"s": o["id"]}),
        expect("empty", "empty", "sees", "empty", "sees", "unauthenticated", "empty"), covers=("Query.payouts",)),
    node_row("Payout", W.payout, SELLER_AND_STAFF_SEE),
    node_row("Transfer", W.transferred, SELLER_AND_STAFF_SEE),
    Row("Mutation.transfer", W.delivered_and_released,
        graphql_field("mutation", "transfer", "mutation($p: ID!) { transfer(input: {paymentId: $p}) { __typename } }",
                      lambda o: {"p": o["payment"]["id"]}),
        SELLERS_OF_IT_DECIDE, covers=("Mutation.transfer",)),
    Row("Mutation.payout(sellerId)", W.transferred,
        graphql_field("mutation", "payout", "mutation($s: ID!) { payout(input: {sellerId: $s}) { __typename } }",
                      lambda o: {"s": o["seller"]["id"]}),
        expect("not_allowed", "not_allowed", "ok", "not_allowed", "not_allowed", "unauthenticated", "not_allowed",
               admin="ok"),  # admins pay out any seller (seed 000)
        covers=("Mutation.payout",)),
    Row("Mutation.orderMarkDelivered", W.paid_order,
        graphql_field("mutation", "orderMarkDelivered",
                      "mutation($o: ID!) { orderMarkDelivered(input: {orderId: $o}) { __typename } }",
                      lambda o: {"o": o["order"]["id"]}),
        SELLERS_OF_IT_DECIDE, covers=("Mutation.orderMarkDelivered",)),
    Row("Mutation.holdRelease", W.held_sale,
        graphql_field("mutation", "holdRelease", "mutation($p: ID!, $s: ID!) { holdRelease(input: {paymentId: $p, "
                      "sellerId: $s}) { __typename } }",
                      lambda o: {"p": o["payment"]["id"], "s": o["seller"]["id"]}),
        STAFF_DECIDES, covers=("Mutation.holdRelease",)),
    Row("Mutation.refund", W.payment,
        graphql_field("mutation", "refund", "mutation($p: ID!) { refund(input: {paymentId: $p, reason: \"x\"}) "
                      "{ __typename } }", lambda o: {"p": o["id"]}),
        STAFF_DECIDES, covers=("Mutation.refund",)),
    Row("Mutation.refundRequest", W.payment,
        graphql_field("mutation", "refundRequest", "mutation($p: ID!) { refundRequest(input: {paymentId: $p, "
                      "reason: \"dented\"}) { __typename } }", lambda o: {"p": o["id"]}),
        CUSTOMERS_DECIDE, covers=("Mutation.refundRequest",)),
    Row("Mutation.refundRequestApprove", W.refund_request,
        graphql_field("mutation", "refundRequestApprove", "mutation($r: ID!) { refundRequestApprove(input: "
                      "{id: $r}) { __typename } }", lambda o: {"r": o["id"]}),
        STAFF_DECIDES, covers=("Mutation.refundRequestApprove",)),
    Row("Mutation.refundRequestReject", W.refund_request,
        graphql_field("mutation", "refundRequestReject", "mutation($r: ID!) { refundRequestReject(input: "
                      "{id: $r}) { __typename } }", lambda o: {"r": o["id"]}),
        STAFF_DECIDES, covers=("Mutation.refundRequestReject",)),
    Row("Mutation.riskReviewApprove", W.held_payment,
        graphql_field("mutation", "riskReviewApprove", "mutation($p: ID!) { riskReviewApprove(input: "
                      "{paymentId: $p}) { __typename } }", lambda o: {"p": o["id"]}),
        STAFF_DECIDES, covers=("Mutation.riskReviewApprove",)),
    Row("Mutation.riskReviewReject", W.held_payment,
        graphql_field("mutation", "riskReviewReject", "mutation($p: ID!) { riskReviewReject(input: "
                      "{paymentId: $p}) { __typename } }", lambda o: {"p": o["id"]}),
        STAFF_DECIDES, covers=("Mutation.riskReviewReject",)),
    Row("Mutation.billingSubscriptionCreate", W.billing_customer,
        graphql_field("mutation", "billingSubscriptionCreate", "mutation($c: ID!, $p: String!) { "
                      "billingSubscriptionCreate(input: {customerId: $c, priceId: $p}) { __typename } }",
                      lambda o: {"c": o["id"], "p": o["price"]}),
        BUYER_ONLY, covers=("Mutation.billingSubscriptionCreate",)),
    Row("Mutation.billingSubscriptionCancel", W.billing_subscription,
        graphql_field("mutation", "billingSubscriptionCancel", "mutation($s: ID!) { billingSubscriptionCancel("
                      "input: {subscriptionId: $s}) { __typename } }", lambda o: {"s": o["id"]}),
        BUYER_AND_STAFF, covers=("Mutation.billingSubscriptionCancel",)),
    Row("Mutation.webhookEndpointUpdate", W.webhook_endpoint,
        graphql_field("mutation", "webhookEndpointUpdate", "mutation($e: ID!) { webhookEndpointUpdate(input: {id: $e}) { __typename } }",
                      lambda o: {"e": o["id"]}),
        ADMIN_DECIDES, covers=("Mutation.webhookEndpointUpdate",)),
    Row("Mutation.webhookEndpointDisable", W.webhook_endpoint,
        graphql_field("mutation", "webhookEndpointDisable", "mutation($e: ID!) { webhookEndpointDisable(input: {id: $e}) { __typename } }",
                      lambda o: {"e": o["id"]}),
        ADMIN_DECIDES, covers=("Mutation.webhookEndpointDisable",)),
    Row("Mutation.webhookEndpointEnable", W.webhook_endpoint,
        graphql_field("mutation", "webhookEndpointEnable", "mutation($e: ID!) { webhookEndpointEnable(input: {id: $e}) { __typename } }",
                      lambda o: {"e": o["id"]}),
        ADMIN_DECIDES, covers=("Mutation.webhookEndpointEnable",)),
    Row("Mutation.webhookEndpointRotateSecret", W.webhook_endpoint,
        graphql_field("mutation", "webhookEndpointRotateSecret", "mutation($e: ID!) { webhookEndpointRotateSecret(input: {id: $e}) { __typename } }",
                      lambda o: {"e": o["id"]}),
        ADMIN_DECIDES, covers=("Mutation.webhookEndpointRotateSecret",)),
    Row("Mutation.webhookEndpointDelete", W.webhook_endpoint,
        graphql_field("mutation", "webhookEndpointDelete", "mutation($e: ID!) { webhookEndpointDelete(input: {id: $e}) { __typename } }",
                      lambda o: {"e": o["id"]}),
        ADMIN_DECIDES, covers=("Mutation.webhookEndpointDelete",)),
    Row("Mutation.webhookDeliveryRetry", W.webhook_delivery,
        graphql_field("mutation", "webhookDeliveryRetry", "mutation($d: ID!) { webhookDeliveryRetry(input: {id: $d}) "
                      "{ __typename } }", lambda o: {"d": o["id"]}),
        ADMIN_DECIDES, covers=("Mutation.webhookDeliveryRetry",)),
    Row("Query.webhookDeliveries(endpointId)", W.webhook_delivery,
        graphql_field("query", "webhookDeliveries", "query($e: ID!) { webhookDeliveries(endpointId: $e) "
                      "{ totalCount } }", lambda o: {"e": o["endpointId"]}),
        expect("forbidden", "forbidden", "forbidden", "forbidden", "forbidden", "unauthenticated", "forbidden",
               admin="sees"), covers=("Query.webhookDeliveries",)),
    # --- GraphQL subscriptions, over graphql-transport-ws ---
    Row("Subscription.paymentUpdated", W.payment, live("paymentUpdated"),
        PRIVATE, covers=("Subscription.paymentUpdated",)),
    Row("Subscription.orderUpdated", W.pending_order, live("orderUpdated"),
        PRIVATE, covers=("Subscription.orderUpdated",)),
    # --- seed 000, /api/payments/ ({"error": …}) ---
    Row("seed 000 retry", W.pending_order,
        rest("GET", "/api/payments/checkout_session/retry/{uuid}/", "error"),
        CUSTOMERS_ONLY,
        covers=("GET /api/payments/checkout_session/retry/{order_id}/",)),
    Row("seed 000 cancel", W.paid_order,
        rest("POST", "/api/payments/orders/{order_uuid}/cancel/", "error"),
        PRIVATE, covers=("POST /api/payments/orders/{order_id}/cancel/",)),
    # --- seed 001, /orders/api/ ({"detail": …}) ---
    Row("seed 000 payout detail", W.payout, rest("GET", "/api/payments/payouts/{uuid}/", "error"),
        SELLERS_OWN, covers=("GET /api/payments/payouts/{payout_id}/",)),
    Row("seed 000 payout orders", W.payout, rest("GET", "/api/payments/payouts/{uuid}/orders/", "error"),
        SELLERS_OWN, covers=("GET /api/payments/payouts/{payout_id}/orders/",)),
    Row("seed 000 transfer", W.delivered_and_released,
        rest("POST", "/api/payments/transfer/", "error", lambda o: {"transaction_id": o["payment"]["uuid"]}),
        SELLERS_OF_IT, covers=("POST /api/payments/transfer/",)),
    Row("seed 000 deliver", W.paid_order, rest("POST", "/api/payments/orders/{order_uuid}/deliver/", "error"),
        SELLERS_OF_IT, covers=("POST /api/payments/orders/{order_id}/deliver/",)),
    Row("seed 001 payment detail", W.payment, rest("GET", "/orders/api/payments/{legacyId}/", "detail"),
        BUYER_ONLY, covers=("GET /orders/api/payments/{id}/",)),
    Row("seed 001 create-stripe-order", W.address,
        rest("POST", "/orders/api/create-stripe-order/", "detail", lambda o: {"shipping_address": o["legacyId"]},
             cart=True),
        CUSTOMERS_ONLY,
        covers=("POST /orders/api/create-stripe-order/",)),
    # --- seed 002, /api/v1/payments/stripe/ ({"error": …}) ---
    Row("seed 002 confirm-payment", W.stripe_intent,
        rest("POST", "/api/v1/payments/stripe/confirm-payment/", "error", lambda o: {"payment_intent_id": o["ref"]}),
        BUYER_AND_STAFF, covers=("POST /api/v1/payments/stripe/confirm-payment/",)),
    Row("seed 002 retrieve-payment", W.stripe_intent,
        rest("POST", "/api/v1/payments/stripe/retrieve-payment/", "error",
             lambda o: {"payment_intent_id": o["ref"]}),
        BUYER_AND_STAFF, covers=("POST /api/v1/payments/stripe/retrieve-payment/",)),
    Row("seed 002 create-subscription", W.billing_customer,
        rest("POST", "/api/v1/payments/stripe/create-subscription/", "error",
             lambda o: {"customer_id": o["providerRef"], "price_id": o["price"]}),
        BUYER_ONLY, covers=("POST /api/v1/payments/stripe/create-subscription/",)),
    Row("seed 002 cancel-subscription", W.billing_subscription,
        rest("POST", "/api/v1/payments/stripe/cancel-subscription/", "error",
             lambda o: {"subscription_id": o["providerRef"]}),
        BUYER_AND_STAFF, covers=("POST /api/v1/payments/stripe/cancel-subscription/",)),
    # --- seed 003, /payments/ (FastAPI's {"detail": …}) ---
    Row("seed 003 process", W.pending_order,
        rest("POST", "/payments/process?order_id={legacyId}", "detail",
             lambda o: {"payment_method": "card", "payment_details": SEED_003_CARD}),
        CUSTOMERS_ONLY, covers=("POST /payments/process",)),
    Row("seed 003 process, opened at PayPal", W.pending_order,
        rest("POST", "/payments/process?order_id={legacyId}", "detail",
             lambda o: {"payment_method": "paypal", "payment_details": {}}),
        CUSTOMERS_ONLY, covers=("POST /payments/process",)),
    # Completing is the buyer's: the checkout's answer belongs to the payment they opened.
    Row("seed 003 process, completed with PayPal's approval", W.seed_003_paypal_order,
        rest("POST", "/payments/process?order_id={legacyId}", "detail",
             lambda o: {"payment_method": "paypal", "payment_details": {"paypal_order_id": o["paypalRef"]}}),
        BUYER_ONLY, covers=("POST /payments/process",)),
    Row("seed 003 order history", W.paid_order, rest("GET", "/payments/order/{order_legacyId}", "detail"),
        BUYER_AND_STAFF, covers=("GET /payments/order/{order_id}",)),
    Row("seed 003 payment detail", W.payment, rest("GET", "/payments/{legacyId}", "detail"),
        BUYER_AND_STAFF, covers=("GET /payments/{payment_id}",)),
    # Staff see the payment, but asking for a refund is a customer's: refused once it is found.
    Row("seed 003 refund request", W.payment,
        rest("POST", "/payments/{legacyId}/refund", "detail", lambda o: {"reason": "dented"}),
        expect("ok", "not_found", "not_found", "not_found", "forbidden", "unauthenticated"),
        covers=("POST /payments/{payment_id}/refund",)),
    Row("seed 003 admin refund", W.payment,
        rest("POST", "/payments/admin/{legacyId}/refund", "detail", lambda o: {"amount": "1.00", "reason": "x"}),
        STAFF_ONLY, covers=("POST /payments/admin/{payment_id}/refund",)),
    Row("seed 002 paypal capture-order", W.paypal_order,
        rest("POST", "/api/v1/payments/paypal/capture-order/", "error", lambda o: {"order_id": o["paypalRef"]}),
        BUYER_AND_STAFF, covers=("POST /api/v1/payments/paypal/capture-order/",)),
    Row("seed 002 paypal get-order", W.paypal_order,
        rest("POST", "/api/v1/payments/paypal/get-order/", "error", lambda o: {"order_id": o["paypalRef"]}),
        BUYER_AND_STAFF, covers=("POST /api/v1/payments/paypal/get-order/",)),
    Row("seed 002 paypal refund-payment", W.paypal_capture,
        rest("POST", "/api/v1/payments/paypal/refund-payment/", "error",
             lambda o: {"capture_id": o["paypalRef"], "amount": 1, "currency": "USD"}),
        STAFF_ONLY, covers=("POST /api/v1/payments/paypal/refund-payment/",)),
    # --- seed 004, /api/payment/ ({"detail": …} for not found) ---
    Row("seed 004 transaction detail", W.payment, rest("GET", "/api/payment/transactions/{number}/", "detail"),
        BUYER_AND_STAFF, covers=("GET /api/payment/transactions/{transaction_id}/",)),
    Row("seed 004 create-intent", W.pending_order,
        rest("POST", "/api/payment/create-intent/", "detail", lambda o: {"order_id": o["legacyId"]}),
        CUSTOMERS_ONLY, covers=("POST /api/payment/create-intent/",)),
    Row("seed 004 process", W.transaction,
        rest("POST", "/api/payment/process/", "detail",
             lambda o: {"transaction_id": o["number"], "payment_method": "card", "payment_data": CARD_DATA}),
        BUYER_ONLY, covers=("POST /api/payment/process/",)),
    Row("seed 004 refund", W.payment,
        rest("POST", "/api/payment/refund/", "detail", lambda o: {"transaction_id": o["number"], "reason": "x"}),
        BUYER_AND_STAFF, covers=("POST /api/payment/refund/",)),
]


# Routes that take no object of anyone's: what they touch is the caller's own (cart, list) or
# the provider's signed news. Listed so that a new route must be placed in one table or the other.
NO_OBJECT_ROUTES = {
    "POST /api/payments/checkout_session/": "the caller's own cart",
    "POST /api/payments/stripe_webhook/": "Stripe's signature is the caller",
    "POST /api/payments/stripe_webhook/connect/": "Stripe's signature (the Connect endpoint's) is the caller",
    "GET /orders/api/payments/": "the caller's own payments",
    "POST /orders/api/stripe-webhook/": "Stripe's signature is the caller",
    "POST /orders/api/payment-webhook/": "the gateway's signature is the caller",
    "POST /api/v1/payments/stripe/create-payment-intent/": "a new payment of the caller's",
    "POST /api/v1/payments/stripe/create-customer/": "a new customer of the caller's",
    "GET /api/payment/configurations/": "the deployment's gateways",
    "GET /payments/methods": "the deployment's payment methods",
    "GET /payments/admin/all": "every payment: staff and admins only, whoever's it is",
    "GET /payments/admin/statistics": "figures over every payment: staff and admins only",
    "POST /payments/webhooks/{provider}": "the provider's signature is the caller",
    "GET /api/payment/transactions/": "the caller's own payments",
    "POST /api/v1/payments/webhooks/stripe/": "Stripe's signature is the caller",
    "POST /webhooks/razorpay/": "Razorpay's signature is the caller",
    "POST /webhooks/flutterwave/": "Flutterwave's secret hash (or signature) is the caller",
    "POST /api/v1/payments/paypal/create-order/": "a new payment of the caller's",
    "POST /api/v1/payments/webhooks/paypal/": "PayPal's signature is the caller",
    "POST /dummy/3ds/{ref}": "the dummy bank's page, no caller (development and tests)",
    "POST /dummy/checkout/{ref}": "the dummy's checkout page, no caller (development and tests)",
    "POST /dummy/connect/{ref}/onboard": "the dummy's onboarding form, no caller (development and tests)",
    "GET /api/payments/stripe/account/": "the calling seller's own account",
    "POST /api/payments/stripe/account/": "the calling seller's own account",
    "POST /api/payments/stripe/create-session/": "the calling seller's own account",
    "GET /api/payments/stripe/account-status/": "the calling seller's own account",
    "GET /api/payments/stripe/holds/": "the calling seller's own holds (staff: everyone's)",
    "POST /api/payments/payout/": "the calling seller's own balance (admins: a seller's, by id)",
    "GET /api/payments/payouts/": "the calling seller's own payouts",
    "GET /api/payments/admin/payouts/": "admins' listing of everything",
    "GET /api/payments/admin/transactions/": "admins' listing of everything",
    "GET /graphql": "GraphiQL", "POST /graphql": "the GraphQL rows", "GET /healthz": "", "GET /readyz": "",
    "GET /openapi.json": "", "GET /metrics": "",
    "GET /admin/": "the admin dashboard's static page: it holds no data, its scripts ask GraphQL with a token",
    "GET /graphiql/{name}": "GraphiQL's own scripts and styles, public files (development and tests)",
}
# Fields taking an id that name no object of anyone's own.
NO_OBJECT_FIELDS: dict[str, str] = {
    "Query.marketplaceReport": "admins' totals: the filter's ids narrow them and name no object"}
# Fields that take no id but read what only staff may see: they need a row all the same.
STAFF_ONLY_LISTS: dict[str, str] = {
    "Query.backgroundJobs": "the job queue: periodic runs and deferred jobs of every user's objects",
}


# --- the tests --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def app_url(database_url, shared_db, fake_stripe, fake_paypal_server):
    """conftest's app (Stripe against its fake), with PayPal against tests/fake_paypal.py too, and a
    risk limit on EUR payments, so that a payment can be held for review (W.held_payment); the other
    rows pay in USD."""
    from tests.conftest import STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET, start_server, stop_server
    from tests.fake_paypal import CLIENT_ID, CLIENT_SECRET

    settings = settings_for(database_url, stripe_api_key="sk_test_paygate", stripe_api_base=fake_stripe[1],
                            stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
                            stripe_publishable_key=STRIPE_PUBLISHABLE_KEY, paypal_client_id=CLIENT_ID,
                            paypal_client_secret=CLIENT_SECRET, paypal_api_base=fake_paypal_server[1],
                            risk_amount_limits={"EUR": 1000})
    server, task, url = await start_server(create_app(settings, db=shared_db))
    yield url
    await stop_server(server, task)


@pytest.fixture
def world(http, shop, fake, app_url, db, fake_paypal_server) -> World:
    made = World(http, shop, fake, app_url, db)
    made.paypal = fake_paypal_server[0]
    return made


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_each_caller_gets_what_the_table_says_and_others_get_what_a_missing_object_gets(world, row):
    answers: dict[str, Any] = {}
    asked: dict[str, dict] = {}
    shared = await row.make(world) if row.only_reads else None
    for caller in CALLERS:
        obj = shared or await row.make(world)
        asked[caller] = missing(obj) if caller == MISSING else obj
        answers[caller] = await row.ask(world, asked[caller], OWNER if caller == MISSING else caller)

    words = {caller: a.word if isinstance(a, Rest) else a for caller, a in answers.items()}
    wrong = {caller: f"{row.expected[caller]} expected, got {words[caller]}" for caller in CALLERS
             if words[caller] != row.expected[caller]}
    assert not wrong, wrong
    # On REST, "not found" is the very body a missing object gets, but for the id asked about:
    # neither existence nor an internal id leaks.
    bodies = {caller: without_ids(a.body, asked[caller]) for caller, a in answers.items()
              if isinstance(a, Rest) and a.word == "not_found"}
    assert len(set(bodies.values())) <= 1, bodies


def _unwrap(kind):
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def _takes_an_id(arg_type, seen: set[str] | None = None) -> bool:
    seen = seen if seen is not None else set()
    kind = _unwrap(arg_type)
    if getattr(kind, "name", None) == "ID":
        return True
    if isinstance(kind, GraphQLInputObjectType) and kind.name not in seen:
        seen.add(kind.name)
        return any(_takes_an_id(f.type, seen) for f in kind.fields.values())
    return False


def test_every_schema_field_taking_an_id_and_every_node_type_has_a_row():
    schema = build_schema(production=False)._schema
    wanted = set()
    for root in ("Query", "Mutation", "Subscription"):
        root_type: GraphQLObjectType = schema.type_map[root]
        for name, fld in root_type.fields.items():
            if name != "node" and any(_takes_an_id(arg.type) for arg in fld.args.values()):
                wanted.add(f"{root}.{name}")
    node = schema.type_map["Node"]
    wanted |= {f"node {t.name}" for t in schema.get_implementations(node).objects}

    covered = {c for row in ROWS for c in row.covers if not c.startswith(("GET ", "POST "))}

    assert covered == (wanted | set(STAFF_ONLY_LISTS)) - set(NO_OBJECT_FIELDS)


def test_every_route_of_the_app_has_a_row_or_a_reason_to_have_none(database_url):
    app = create_app(settings_for(database_url, stripe_api_key="sk_test_x", gateway_webhook_secret="s"))
    # The seeds' routes live under their API's mount (rest_compat.mounts): walk into it.
    flat = [(mount.path, route) for mount in app.routes if isinstance(mount, Mount) for route in mount.routes]
    flat += [("", route) for route in app.routes]
    routes = {f"{method} {prefix}{route.path}" for prefix, route in flat if isinstance(route, Route)
              for method in route.methods - {"HEAD"}}
    routes |= {f"WS {route.path}" for route in app.routes if isinstance(route, WebSocketRoute)} - {"WS /graphql"}

    covered = {c for row in ROWS for c in row.covers if c.startswith(("GET ", "POST "))}

    assert not covered & set(NO_OBJECT_ROUTES)
    assert covered | set(NO_OBJECT_ROUTES) == routes
