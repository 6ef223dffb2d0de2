"""Whole purchases through Stripe's pages, over real HTTP: the app (its Stripe provider pointed at
tests/fake_stripe.py) opens the page, the test plays the customer on the fake, and Stripe's
signed webhook tells the app how it ended. Seeds 000 (Embedded Checkout), 001 (hosted Checkout)
and 002 (PaymentIntents for Stripe.js), and GraphQL's checkout with a provider."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from sqlmodel import select

from db.payment_tables import PaymentRow
from db.tables import AddressRow, CartItemRow, OrderRow, ProductRow
from db.uow import SqlUnitOfWork
from domain.identity import Actor, Role
from domain.ledger import EntryKind
from domain.orders.model import Order
from domain.orders.service import Checkout, checkout, expire_reservations
from domain.payments.checkout import OpenPayment, open_payment
from domain.payments.consequences import Policy
from domain.payments.give_back import void_abandoned
from domain.payments.provider import CheckoutKind, Providers
from domain.payments.reconcile import claim_open_payments
from providers.stripe import StripeProvider
from providers.stripe.errors import RetryPolicy
from tests.conftest import STRIPE_PUBLISHABLE_KEY
from tests.fake_stripe import FakeStripe
from tests.graphql import gql
from tests.payments_fixtures import assert_ledger_balances
from tests.test_rest_seed_001 import assert_shape, bearer
from tests.test_stripe_webhooks import signed

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
PUBLISHABLE = STRIPE_PUBLISHABLE_KEY
CUSTOMER, OTHER = "customer@example.com", "customer2@example.com"
SEED_000, SEED_001, SEED_002 = "/api/payments", "/orders/api", "/api/v1/payments"
SEED_CLIENT_SECRET = {"clientSecret": "cs_test_a1b2_secret_c3d4"}
SEED_STRIPE_ORDER = {"id": "cs_test_123456", "url": "https://checkout.stripe.com/c/pay/cs_test_123456"}
SEED_INTENT = {"payment_intent_id": "pi_1234567890", "client_secret": "pi_1234567890_secret_abc123",
               "status": "requires_payment_method", "amount": 2999, "currency": "usd"}
POLICY = Policy(fee_bps=1000, hold_period=timedelta(days=7))
SEED_CONFIRMED = {"confirmed": True, "payment_intent_id": "pi_1234567890"}
SEED_RETRIEVED = {"payment_intent_id": "pi_1234567890", "status": "succeeded", "amount": 2999, "currency": "usd",
                  "created": 1640995200, "metadata": {"course_id": "123"}}




async def fill_cart(db, shop, items: dict[str, int], email: str = CUSTOMER) -> None:
    async with db.write_sessions() as session, session.begin():
        for sku, quantity in items.items():
            product = (await session.exec(select(ProductRow).where(ProductRow.sku == sku))).one()
            session.add(CartItemRow(user_id=shop.id_of(email), product_id=product.id, quantity=quantity))


async def stock(db, sku: str) -> tuple[int, int]:
    """(units on the shelf, units held by live reservations) of a product."""
    from db.tables import StockReservationRow
    async with db.read_sessions() as session:
        product = (await session.exec(select(ProductRow).where(ProductRow.sku == sku))).one()
        held = (await session.exec(select(StockReservationRow.quantity).where(
            StockReservationRow.product_id == product.id, StockReservationRow.state == "active"))).all()
    return product.stock, sum(held)


async def only_order(db) -> OrderRow:
    async with db.read_sessions() as session:
        (order,) = (await session.exec(select(OrderRow))).all()
        return order


async def payment_of(db, ref: str) -> PaymentRow:
    async with db.read_sessions() as session:
        return (await session.exec(select(PaymentRow).where(PaymentRow.provider_ref == ref))).one()


async def deliver(http, event: dict, path: str) -> httpx.Response:
    raw, headers = signed(event)
    return await http.post(path, content=raw, headers=headers)


def session_id(fake: FakeStripe) -> str:
    (ident,) = fake.sessions
    return ident


async def entry_kinds(db) -> list[EntryKind]:
    return [e.kind for e in await assert_ledger_balances(db)]


# --- seed 000: Embedded Checkout from the cart ----------------------------------------------------

async def test_an_embedded_checkout_runs_from_cart_to_paid_order_with_stock_committed_and_ledger_posted(
        http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 2})
    shelf_before, _ = await stock(db, "SAM-MUG-01")

    opened = await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))

    assert opened.status_code == 200, opened.text
    assert_shape(opened.json(), SEED_CLIENT_SECRET)
    session = fake.sessions[session_id(fake)]
    assert opened.json()["clientSecret"] == session["client_secret"]
    order = await only_order(db)
    assert order.status == "pending_payment" and await stock(db, "SAM-MUG-01") == (shelf_before, 2)
    assert session["metadata"]["order_id"] == str(order.id) and session["amount_total"] > 0

    completed = fake.complete_session(session["id"])
    answer = await deliver(http, fake.event(completed, "checkout.session.completed"), f"{SEED_000}/stripe_webhook/")

    assert answer.status_code == 200 and answer.json()["state"] == "processed"
    assert (await only_order(db)).status == "paid"
    assert await stock(db, "SAM-MUG-01") == (shelf_before - 2, 0)
    payment = await payment_of(db, session["id"])
    assert payment.status == "succeeded" and payment.captured_minor == session["amount_total"]
    assert await entry_kinds(db) == [EntryKind.CAPTURE]


async def test_twenty_concurrent_deliveries_of_the_completion_pay_the_order_once(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    event = fake.event(fake.complete_session(session_id(fake)), "checkout.session.completed", "evt_twenty")

    answers = await asyncio.gather(*(deliver(http, event, f"{SEED_000}/stripe_webhook/") for _ in range(20)))

    assert all(a.status_code == 200 for a in answers)
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert await entry_kinds(db) == [EntryKind.CAPTURE]
    assert (await only_order(db)).status == "paid"


async def test_an_expired_session_releases_the_stock_and_ends_the_order(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 3})
    shelf, _ = await stock(db, "SAM-MUG-01")
    await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))

    expired = fake.expire_session(session_id(fake))
    answer = await deliver(http, fake.event(expired, "checkout.session.expired"), f"{SEED_000}/stripe_webhook/")
    late = await deliver(http, fake.event(expired, "checkout.session.completed", "evt_late"),
                         f"{SEED_000}/stripe_webhook/")

    assert answer.status_code == 200 and answer.json()["state"] == "processed"
    assert (await only_order(db)).status == "expired"
    assert await stock(db, "SAM-MUG-01") == (shelf, 0)
    assert (await payment_of(db, expired["id"])).status == "failed"
    assert late.status_code == 200 and late.json()["state"] == "ignored"  # nothing open: nothing moves back
    assert (await only_order(db)).status == "expired"
    assert await entry_kinds(db) == []


async def test_retry_answers_the_open_sessions_secret_and_refuses_a_paid_order(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    first = (await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))).json()
    order = await only_order(db)
    retry_url = f"{SEED_000}/checkout_session/retry/{order.uuid}/"

    again = await http.get(retry_url, headers=bearer(shop))
    someone_else = await http.get(retry_url, headers=bearer(shop, OTHER))
    completed = fake.complete_session(session_id(fake))
    after_paying = await http.get(retry_url, headers=bearer(shop))

    assert again.status_code == 200 and again.json() == first and len(fake.sessions) == 1
    assert someone_else.status_code == 404 and set(someone_else.json()) == {"error"}
    assert after_paying.status_code == 409 and set(after_paying.json()) == {"error"}
    assert (await payment_of(db, completed["id"])).status == "succeeded"  # asked Stripe, booked it


async def test_checkout_session_errors_are_clear_for_an_empty_cart_missing_stock_and_no_token(http, db, shop):
    empty = await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    await fill_cart(db, shop, {"SAM-MUG-01": 10_000})
    too_many = await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    anonymous = await http.post(f"{SEED_000}/checkout_session/")

    assert empty.status_code == 400 and "empty" in empty.json()["error"]
    assert too_many.status_code == 409 and set(too_many.json()) == {"error"}
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"error"}


async def test_cancelling_a_paid_order_refunds_it_through_stripe_and_the_ledger(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    shelf, _ = await stock(db, "SAM-MUG-01")
    await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    completed = fake.complete_session(session_id(fake))
    await deliver(http, fake.event(completed, "checkout.session.completed"), f"{SEED_000}/stripe_webhook/")
    order = await only_order(db)

    canceled = await http.post(f"{SEED_000}/orders/{order.uuid}/cancel/", headers=bearer(shop),
                               json={"cancellation_reason": "changed my mind"})

    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert body["order_id"] == str(UUID(order.uuid)) and body["status"] == "canceled" and body["refunded"] is True
    (refund,) = fake.refunds.values()
    assert refund["payment_intent"] == completed["payment_intent"] and refund["amount"] == completed["amount_total"]
    assert body["refund"] == {"refund_id": refund["id"], "amount": refund["amount"], "currency": "usd",
                              "status": "succeeded"}
    assert await entry_kinds(db) == [EntryKind.CAPTURE, EntryKind.REFUND]
    assert await stock(db, "SAM-MUG-01") == (shelf, 0)


async def test_cancelling_an_unpaid_order_expires_its_open_page_and_releases_the_stock(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 2})
    shelf, _ = await stock(db, "SAM-MUG-01")
    await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    order = await only_order(db)

    stranger = await http.post(f"{SEED_000}/orders/{order.uuid}/cancel/", headers=bearer(shop, OTHER), json={})
    canceled = await http.post(f"{SEED_000}/orders/{order.uuid}/cancel/", headers=bearer(shop), json={})

    assert stranger.status_code == 404
    assert canceled.status_code == 200 and canceled.json()["refund"] is None
    assert fake.sessions[session_id(fake)]["status"] == "expired"
    assert (await only_order(db)).status == "canceled" and await stock(db, "SAM-MUG-01") == (shelf, 0)


async def test_staff_may_cancel_a_customers_order_and_a_bad_uuid_is_404(http, db, shop):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    order = await only_order(db)

    bad = await http.post(f"{SEED_000}/orders/not-a-uuid/cancel/", headers=bearer(shop), json={})
    by_staff = await http.post(f"{SEED_000}/orders/{order.uuid}/cancel/", headers=bearer(shop, "staff@example.com"),
                               json={"cancellation_reason": "fraud check"})

    assert bad.status_code == 404 and set(bad.json()) == {"error"}
    assert by_staff.status_code == 200 and by_staff.json()["cancellation_reason"] == "fraud check"


# --- seed 001: hosted Checkout ------------------------------------------------------------------

async def test_create_stripe_order_answers_the_seeds_id_and_url_and_the_webhook_pays_the_order(http, db, shop, fake):
    async with db.write_sessions() as session, session.begin():
        address = AddressRow(user_id=shop.id_of(CUSTOMER), name="A Buyer", line1="1 Main St", city="Springfield",
                             postal_code="12345", country="US")
        session.add(address)
    await fill_cart(db, shop, {"SAM-MUG-01": 1})

    created = await http.post(f"{SEED_001}/create-stripe-order/", headers=bearer(shop),
                              json={"shipping_address": address.id})

    assert created.status_code == 200, created.text
    assert_shape(created.json(), SEED_STRIPE_ORDER)
    session = fake.sessions[created.json()["id"]]
    assert created.json()["url"] == session["url"] and session["ui_mode"] == "hosted_page"
    assert (await only_order(db)).shipping_address_id == address.id
    completed = fake.complete_session(session["id"])
    answer = await deliver(http, fake.event(completed, "checkout.session.completed"), f"{SEED_001}/stripe-webhook/")
    assert answer.status_code == 200 and (await only_order(db)).status == "paid"


async def test_create_stripe_order_refuses_someone_elses_address_and_a_missing_one(http, db, shop):
    async with db.write_sessions() as session, session.begin():
        theirs = AddressRow(user_id=shop.id_of(OTHER), name="B", line1="2 Main St", city="X", postal_code="1",
                            country="US")
        session.add(theirs)
    await fill_cart(db, shop, {"SAM-MUG-01": 1})

    not_theirs = await http.post(f"{SEED_001}/create-stripe-order/", headers=bearer(shop),
                                 json={"shipping_address": theirs.id})
    missing = await http.post(f"{SEED_001}/create-stripe-order/", headers=bearer(shop), json={})

    assert not_theirs.status_code == 404 and set(not_theirs.json()) == {"detail"}
    assert missing.status_code == 400 and set(missing.json()) == {"detail"}


# --- seed 002: PaymentIntents for Stripe.js -------------------------------------------------------

async def test_a_payment_intent_for_29_99_is_2999_cents_and_confirming_books_it_as_platform_revenue(
        http, db, shop, fake):
    created = await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop), json={
        "amount": 29.99, "currency": "usd", "metadata": {"course_id": "123", "description": "Course enrollment"}})

    assert created.status_code == 200, created.text
    assert_shape(created.json(), SEED_INTENT)
    assert created.json()["amount"] == 2999 and created.json()["status"] == "requires_payment_method"
    intent_id = created.json()["payment_intent_id"]
    assert fake.intents[intent_id]["amount"] == 2999 and fake.intents[intent_id]["metadata"]["course_id"] == "123"

    fake.customer_confirms(intent_id)
    confirmed = await http.post(f"{SEED_002}/stripe/confirm-payment/", headers=bearer(shop),
                                json={"payment_intent_id": intent_id})
    retrieved = await http.post(f"{SEED_002}/stripe/retrieve-payment/", headers=bearer(shop),
                                json={"payment_intent_id": intent_id})

    assert confirmed.status_code == 200 and confirmed.json() == {"confirmed": True, "payment_intent_id": intent_id}
    assert_shape(confirmed.json(), SEED_CONFIRMED)
    assert retrieved.status_code == 200
    assert_shape({**retrieved.json(), "metadata": {}}, {**SEED_RETRIEVED, "metadata": {}})  # metadata: the client's
    assert retrieved.json()["status"] == "succeeded"
    assert retrieved.json()["metadata"] == {"course_id": "123", "description": "Course enrollment"}
    assert await entry_kinds(db) == [EntryKind.CAPTURE]


async def test_a_declined_card_in_the_element_leaves_the_intent_open_for_another_card(http, db, shop, fake):
    created = (await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop),
                               json={"amount": 10, "currency": "usd"})).json()
    intent_id = created["payment_intent_id"]

    declined = fake.customer_confirms(intent_id, "pm_card_visa_chargeDeclined")
    failed = await deliver(http, fake.event(declined, "payment_intent.payment_failed", "evt_failed"),
                           f"{SEED_002}/webhooks/stripe/")
    still_open = await payment_of(db, intent_id)
    paid = fake.customer_confirms(intent_id)
    succeeded = await deliver(http, fake.event(paid, "payment_intent.succeeded", "evt_ok"),
                              f"{SEED_002}/webhooks/stripe/")

    assert failed.status_code == 200 and still_open.status == "requires_action"
    assert still_open.decline_code == "generic_decline"
    assert succeeded.status_code == 200 and (await payment_of(db, intent_id)).status == "succeeded"
    assert (await payment_of(db, intent_id)).captured_minor == 1000


@pytest.mark.parametrize("body, why", [
    ({"amount": 29.999, "currency": "usd"}, "decimal"),
    ({"amount": 10.5, "currency": "jpy"}, "decimal"),
    ({"amount": -1, "currency": "usd"}, "positive"),
    ({"amount": True, "currency": "usd"}, "number"),
    ({"amount": "lots", "currency": "usd"}, "decimal"),
    ({"amount": 10, "currency": "usdollars"}, "currency"),
    ({"amount": 10, "currency": "usd", "metadata": {"nested": {"no": 1}}}, "metadata"),
    ({"amount": 10, "currency": "usd", "metadata": {"order_id": "7"}}, "paygate's own"),
    ({"amount": 10, "currency": "usd", "metadata": {f"k{i}": "v" for i in range(47)}}, "metadata"),
    ({"amount": 100000000000000000, "currency": "usd"}, "at most"),
    ({"amount": 1000000.00, "currency": "usd"}, "at most"),
])
async def test_a_bad_amount_currency_or_metadata_is_400_and_nothing_reaches_stripe(http, db, shop, fake, body, why):
    answer = await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop), json=body)

    assert answer.status_code == 400 and set(answer.json()) == {"error"}
    assert why in answer.json()["error"]
    assert fake.intents == {}


async def test_amounts_keep_each_currencys_exponent(http, shop, fake):
    yen = await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop),
                          json={"amount": 1500, "currency": "jpy"})
    dinar = await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop),
                            json={"amount": 1.234, "currency": "kwd"})

    assert yen.json()["amount"] == 1500 and fake.intents[yen.json()["payment_intent_id"]]["amount"] == 1500
    assert dinar.json()["amount"] == 1234 and fake.intents[dinar.json()["payment_intent_id"]]["amount"] == 1234


async def test_another_users_payment_intent_answers_404_and_no_token_401(http, shop):
    created = (await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop),
                               json={"amount": 5, "currency": "usd"})).json()
    ask = {"payment_intent_id": created["payment_intent_id"]}

    theirs = await http.post(f"{SEED_002}/stripe/retrieve-payment/", headers=bearer(shop, OTHER), json=ask)
    confirm = await http.post(f"{SEED_002}/stripe/confirm-payment/", headers=bearer(shop, OTHER), json=ask)
    anonymous = await http.post(f"{SEED_002}/stripe/retrieve-payment/", json=ask)
    staff = await http.post(f"{SEED_002}/stripe/retrieve-payment/", headers=bearer(shop, "staff@example.com"),
                            json=ask)

    assert theirs.status_code == 404 and confirm.status_code == 404 and set(theirs.json()) == {"error"}
    assert anonymous.status_code == 401
    assert staff.status_code == 200


# --- GraphQL ------------------------------------------------------------------------------------

CHECKOUT = """
mutation($kind: CheckoutKind!) {
  checkout(input: {provider: "stripe", kind: $kind, returnUrl: "https://shop.example/done"}) {
    __typename
    ... on CheckoutSuccess { clientSecret publishableKey redirectUrl order { status } payment { status checkout } }
    ... on Error { code message }
  }
}"""


async def test_graphql_checkout_with_stripe_answers_what_stripe_js_needs(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})

    answer = await gql(http, CHECKOUT, {"kind": "ELEMENTS"}, token=shop.token(CUSTOMER))

    result = answer["data"]["checkout"]
    assert result["__typename"] == "CheckoutSuccess", result
    (intent,) = fake.intents.values()
    assert result["clientSecret"] == intent["client_secret"] and result["publishableKey"] == PUBLISHABLE
    assert result["order"]["status"] == "PENDING_PAYMENT"
    assert result["payment"] == {"status": "REQUIRES_ACTION", "checkout": "elements"}


async def test_graphql_checkout_on_the_dummy_gateway_opens_its_own_page(http, db, shop):
    # The dummy gateway has pages of its own (seed 000's embedded checkout without Stripe).
    await fill_cart(db, shop, {"SAM-MUG-01": 1})

    answer = await gql(http, CHECKOUT.replace('"stripe"', '"dummy"'), {"kind": "ELEMENTS"},
                       token=shop.token(CUSTOMER))

    assert answer["data"]["checkout"]["__typename"] == "CheckoutSuccess", answer


def test_a_provider_without_pages_is_refused_as_invalid_input_before_any_order():
    from domain.errors import ValidationError
    from domain.payments.provider import Capability
    from providers.online import OnlineGateway

    with pytest.raises(ValidationError) as refused:
        Providers([OnlineGateway()]).require("online", Capability.CHECKOUT)

    assert refused.value.field == "provider"


# --- abandoned pages --------------------------------------------------------------------------

def worker_stripe(fake_stripe) -> Providers:
    return Providers([StripeProvider("sk_test_paygate", api_base=fake_stripe[1])])


async def test_an_element_left_open_on_an_expired_order_is_canceled_at_stripe_by_the_worker(
        http, db, shop, fake, fake_stripe):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    await gql(http, CHECKOUT, {"kind": "ELEMENTS"}, token=shop.token(CUSTOMER))
    (intent_id,) = fake.intents
    later = datetime.now(UTC) + timedelta(minutes=31)

    expired = await expire_reservations(later, SqlUnitOfWork(db))
    voided = await void_abandoned(SqlUnitOfWork(db), worker_stripe(fake_stripe), POLICY, limit=10,
                                  clock=lambda: later)
    again = await void_abandoned(SqlUnitOfWork(db), worker_stripe(fake_stripe), POLICY, limit=10,
                                 clock=lambda: later)

    assert (expired, voided, again) == (1, 1, 0)
    assert fake.intents[intent_id]["status"] == "canceled"
    assert (await payment_of(db, intent_id)).status == "canceled"


async def test_a_direct_payment_intent_nobody_paid_for_a_day_is_canceled_and_a_fresh_one_is_kept(
        http, db, shop, fake, fake_stripe):
    old = (await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop),
                           json={"amount": 5, "currency": "usd"})).json()["payment_intent_id"]
    tomorrow = datetime.now(UTC) + timedelta(hours=25)
    fresh = (await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop),
                             json={"amount": 6, "currency": "usd"})).json()["payment_intent_id"]
    async with db.write_sessions() as session, session.begin():  # the fresh one was opened "tomorrow"
        row = (await session.exec(select(PaymentRow).where(PaymentRow.provider_ref == fresh))).one()
        row.created_at = tomorrow
        session.add(row)

    voided = await void_abandoned(SqlUnitOfWork(db), worker_stripe(fake_stripe), POLICY, limit=10,
                                  clock=lambda: tomorrow)

    assert voided == 1
    assert fake.intents[old]["status"] == "canceled" and fake.intents[fresh]["status"] == "requires_payment_method"
    assert (await payment_of(db, old)).status == "canceled"
    assert (await payment_of(db, fresh)).status == "requires_action"


REFUND = """
mutation($payment: ID!, $amount: MinorUnits) {
  refund(input: {paymentId: $payment, amount: $amount, reason: "damaged"}) {
    __typename
    ... on Refund { amount { amount } status }
    ... on Error { code message }
  }
}"""


async def test_staff_refund_part_of_an_embedded_checkout_payment_through_stripe_and_the_ledger(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 2})
    await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    completed = fake.complete_session(session_id(fake))
    await deliver(http, fake.event(completed, "checkout.session.completed"), f"{SEED_000}/stripe_webhook/")
    payment = await payment_of(db, completed["id"])
    payment_gid = (await gql(http, "{ payments(first: 1) { edges { node { id } } } }",
                             token=shop.token("staff@example.com")))["data"]["payments"]["edges"][0]["node"]["id"]

    answer = await gql(http, REFUND, {"payment": payment_gid, "amount": 100}, token=shop.token("staff@example.com"))
    too_much = await gql(http, REFUND, {"payment": payment_gid, "amount": payment.captured_minor},
                         token=shop.token("staff@example.com"))

    assert answer["data"]["refund"] == {"__typename": "Refund", "amount": {"amount": 100}, "status": "SUCCEEDED"}
    assert too_much["data"]["refund"]["__typename"] == "RefundExceedsCaptured"
    (refund,) = fake.refunds.values()
    assert refund["payment_intent"] == completed["payment_intent"] and refund["amount"] == 100
    assert await entry_kinds(db) == [EntryKind.CAPTURE, EntryKind.REFUND]
    assert (await only_order(db)).status == "partially_refunded"


RESUME = """
mutation($order: ID!) {
  checkout(input: {provider: "stripe", kind: ELEMENTS, orderId: $order}) {
    __typename
    ... on CheckoutSuccess { clientSecret order { id } payment { status } }
    ... on Error { code message }
  }
}"""


async def test_graphql_checkout_of_a_pending_order_resumes_its_payment_after_a_lost_answer(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    fake.fail_next(3)
    token = shop.token(CUSTOMER)

    lost = (await gql(http, CHECKOUT.replace("clientSecret", "clientSecret order { id }"), {"kind": "ELEMENTS"},
                      token=token))["data"]["checkout"]
    order_gid = lost["order"]["id"]
    resumed = (await gql(http, RESUME, {"order": order_gid}, token=token))["data"]["checkout"]
    again = (await gql(http, RESUME, {"order": order_gid}, token=token))["data"]["checkout"]
    stranger = (await gql(http, RESUME, {"order": order_gid}, token=shop.token(OTHER)))["data"]["checkout"]

    assert lost["clientSecret"] is None and lost["payment"]["status"] == "REQUIRES_PAYMENT_METHOD"
    (intent,) = fake.intents.values()
    assert resumed["clientSecret"] == intent["client_secret"] == again["clientSecret"]
    assert resumed["payment"]["status"] == "REQUIRES_ACTION" and resumed["order"]["id"] == order_gid
    assert stranger["__typename"] == "NotFound"


async def test_a_setup_session_elsewhere_on_the_account_is_acknowledged_as_not_ours(http, db):
    setup = {"id": "cs_test_setup", "object": "checkout.session", "mode": "setup", "status": "expired",
             "amount_total": None, "currency": None, "payment_status": "no_payment_required", "metadata": {}}

    answer = await deliver(http, FakeStripe.event(setup, "checkout.session.expired", "evt_setup"),
                           f"{SEED_000}/stripe_webhook/")

    assert answer.status_code == 200 and answer.json()["state"] == "ignored"


async def order_whose_page_answer_was_lost(db, shop, fake, fake_stripe, return_url: str) -> Order:
    """A pending order whose Embedded Checkout Stripe made, every answer about it lost (as GraphQL's
    checkout leaves it; the seeds' own checkout puts the cart back instead)."""
    buyer = Actor(shop.id_of(CUSTOMER), CUSTOMER, frozenset({Role.CUSTOMER}))
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    order = await checkout(Checkout(buyer, None, datetime.now(UTC), timedelta(minutes=30)), SqlUnitOfWork(db))
    provider = StripeProvider("sk_test_paygate", api_base=fake_stripe[1], retry=RetryPolicy(sleep=_no_sleep))
    fake.lose_next(3)  # Stripe makes the session; every answer about it is lost
    try:
        await open_payment(OpenPayment(buyer, order.id, "stripe", CheckoutKind.EMBEDDED, return_url=return_url),
                           SqlUnitOfWork(db), Providers([provider]), POLICY)
    finally:
        await provider.close()
    return order


async def _no_sleep(_s: float) -> None:
    return None


async def test_a_lost_answer_then_a_retry_with_other_urls_opens_a_new_page_and_never_two_live_ones(
        http, db, shop, fake, fake_stripe):
    order = await order_whose_page_answer_was_lost(db, shop, fake, fake_stripe, "https://shop.example/thanks")
    made_while_lost = len(fake.sessions)

    retried = await http.get(f"{SEED_000}/checkout_session/retry/{order.uuid}/", headers=bearer(shop))

    assert made_while_lost == 1
    assert retried.status_code == 200, retried.text
    first, second = fake.sessions.values()
    assert retried.json() == {"clientSecret": second["client_secret"]}
    async with db.read_sessions() as s:
        payments = (await s.exec(select(PaymentRow).order_by(PaymentRow.id))).all()
    assert [(p.status, p.decline_code, p.provider_ref) for p in payments] == [
        ("failed", "not_reopened", None), ("requires_action", None, second["id"])]
    assert first["status"] == "open"  # unreachable (nobody has its secret); it expires unpaid


async def test_a_lost_answer_then_the_same_retry_answers_the_page_stripe_made(http, db, shop, fake, fake_stripe):
    # What the retry route sends by default, so the request is the same as the first one.
    base = str(http.base_url).rstrip("/")
    order = await order_whose_page_answer_was_lost(db, shop, fake, fake_stripe,
                                                   f"{base}/checkout/return?session_id={{CHECKOUT_SESSION_ID}}")

    retried = await http.get(f"{SEED_000}/checkout_session/retry/{order.uuid}/", headers=bearer(shop))

    (session,) = fake.sessions.values()
    assert retried.status_code == 200 and retried.json() == {"clientSecret": session["client_secret"]}


async def test_resuming_an_element_after_a_declined_card_answers_the_same_intent(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    token = shop.token(CUSTOMER)
    first = (await gql(http, CHECKOUT.replace("clientSecret", "clientSecret order { id }"), {"kind": "ELEMENTS"},
                       token=token))["data"]["checkout"]
    (intent_id,) = fake.intents
    fake.customer_confirms(intent_id, "pm_card_visa_chargeDeclined")

    resumed = (await gql(http, RESUME, {"order": first["order"]["id"]}, token=token))["data"]["checkout"]

    assert resumed["__typename"] == "CheckoutSuccess", resumed
    assert resumed["clientSecret"] == first["clientSecret"] and len(fake.intents) == 1
    assert resumed["payment"]["status"] == "REQUIRES_ACTION"


async def test_a_closed_orders_page_is_never_handed_out_again(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    order = await only_order(db)
    await expire_reservations(datetime.now(UTC) + timedelta(minutes=31), SqlUnitOfWork(db))

    retried = await http.get(f"{SEED_000}/checkout_session/retry/{order.uuid}/", headers=bearer(shop))

    assert retried.status_code == 409 and set(retried.json()) == {"error"}
    assert len(fake.sessions) == 1


async def test_only_the_buyer_reads_a_payments_client_secret_and_page_address(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    await gql(http, CHECKOUT, {"kind": "HOSTED"}, token=shop.token(CUSTOMER))
    query = "{ payments(first: 5) { edges { node { clientSecret redirectUrl } } } }"

    seen = {who: (await gql(http, query, token=shop.token(who)))["data"]["payments"]["edges"]
            for who in (CUSTOMER, "seller@example.com", "staff@example.com")}

    (session,) = fake.sessions.values()
    assert seen[CUSTOMER] == [{"node": {"clientSecret": None, "redirectUrl": session["url"]}}]
    assert seen["staff@example.com"] == [{"node": {"clientSecret": None, "redirectUrl": None}}]
    assert seen["seller@example.com"] == [{"node": {"clientSecret": None, "redirectUrl": None}}]  # sells the mug


async def test_a_page_without_a_return_address_is_refused_before_any_order_is_made(http, db, shop, fake):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    mutation = CHECKOUT.replace(', returnUrl: "https://shop.example/done"', "")

    answer = (await gql(http, mutation, {"kind": "EMBEDDED"}, token=shop.token(CUSTOMER)))["data"]["checkout"]

    assert answer["__typename"] == "ValidationError" and "send the customer back" in answer["message"]
    async with db.read_sessions() as session:
        assert (await session.exec(select(OrderRow))).all() == []
        assert (await session.exec(select(PaymentRow))).all() == []
    assert fake.requests == []


async def test_a_card_number_in_metadata_is_refused_before_anything_is_stored(http, db, shop, fake):
    answer = await http.post(f"{SEED_002}/stripe/create-payment-intent/", headers=bearer(shop), json={
        "amount": 10, "currency": "usd", "metadata": {"note": "my card 4242 4242 4242 4242"}})

    assert answer.status_code == 400 and "card numbers" in answer.json()["error"]
    assert fake.intents == {}
    async with db.read_sessions() as session:
        assert (await session.exec(select(PaymentRow))).all() == []


async def test_voids_left_unanswered_by_an_outage_are_not_sent_again_by_the_abandoned_job(
        http, db, shop, fake, fake_stripe):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    await gql(http, CHECKOUT, {"kind": "ELEMENTS"}, token=shop.token(CUSTOMER))
    later = datetime.now(UTC) + timedelta(minutes=31)
    await expire_reservations(later, SqlUnitOfWork(db))
    fake.fail_next(100)

    first = await void_abandoned(SqlUnitOfWork(db), worker_stripe(fake_stripe), POLICY, limit=10, clock=lambda: later)
    second = await void_abandoned(SqlUnitOfWork(db), worker_stripe(fake_stripe), POLICY, limit=10, clock=lambda: later)

    assert (first, second) == (1, 0)  # the unanswered void is reconciliation's now
    (intent,) = fake.intents.values()
    assert intent["status"] == "requires_payment_method"


async def test_an_open_page_is_asked_about_every_ten_minutes_not_every_minute(http, db, shop, fake, fake_stripe):
    await fill_cart(db, shop, {"SAM-MUG-01": 1})
    await gql(http, CHECKOUT, {"kind": "ELEMENTS"}, token=shop.token(CUSTOMER))
    now = datetime.now(UTC)

    soon = await claim_open_payments(now + timedelta(minutes=2), SqlUnitOfWork(db), worker_stripe(fake_stripe))
    later = await claim_open_payments(now + timedelta(minutes=11), SqlUnitOfWork(db), worker_stripe(fake_stripe))
    again = await claim_open_payments(now + timedelta(minutes=13), SqlUnitOfWork(db), worker_stripe(fake_stripe))

    (payment,) = [(await payment_of(db, ref)).id for ref in fake.intents]
    assert (soon, later, again) == ([], [payment], [])
