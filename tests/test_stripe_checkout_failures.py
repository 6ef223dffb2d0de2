"""When Stripe fails while a cart becomes a payment page (seeds 000 and 001), the buyer is never
stranded: the cart is left as it was, the stock goes back on sale, the same request works once
Stripe does, and an order whose payment got no answer can still be canceled. Bad input is
answered before "Stripe is not configured". Stripe is tests/fake_stripe.py over real HTTP."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from db.tables import AddressRow, CartItemRow, OrderRow, ProductRow
from db.uow import SqlUnitOfWork
from domain.orders.service import Checkout, checkout
from domain.payments.checkout import OpenPayment, open_payment
from domain.payments.provider import CheckoutKind, Providers
from domain.payments.status import AttemptStatus
from providers.stripe import StripeProvider
from providers.stripe.errors import RetryPolicy
from tests.payments_fixtures import POLICY, customer
from tests.test_rest_seed_001 import bearer
from tests.test_stripe_checkout_flow import fill_cart, stock

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
SEED_000, SEED_001, SEED_002 = "/api/payments", "/orders/api", "/api/v1/payments"
MUG = "SAM-MUG-01"
NOT_FOUND = {"type": "invalid_request_error", "code": "resource_missing",
             "message": "Unrecognized request URL (POST: /v1/checkout/sessions)."}
BAD_PARAMETER = {"type": "invalid_request_error", "code": "parameter_invalid_integer", "param": "expires_at",
                 "message": "Invalid integer: expires_at"}


async def cart_of(db, shop) -> list[tuple[str, int]]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(ProductRow.sku, CartItemRow.quantity)
                                   .join(ProductRow, ProductRow.id == CartItemRow.product_id)
                                   .where(CartItemRow.user_id == shop.id_of("customer@example.com")))).all()
    return sorted((sku, quantity) for sku, quantity in rows)


async def order_statuses(db) -> list[str]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(OrderRow.status).order_by(OrderRow.id))).all())


async def an_address(db, shop) -> int:
    async with db.write_sessions() as session, session.begin():
        address = AddressRow(user_id=shop.id_of("customer@example.com"), name="A Buyer", line1="1 Main St",
                             city="Springfield", postal_code="12345", country="US")
        session.add(address)
        await session.flush()
        return address.id


async def test_no_answer_from_stripe_leaves_the_cart_as_it_was_and_the_same_request_later_opens_the_page(
        http, db, shop, fake):
    await fill_cart(db, shop, {MUG: 2})
    fake.fail_next(3)  # every try of the adapter's retry loop

    lost = await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))
    cart_after_failure, stock_after_failure = await cart_of(db, shop), await stock(db, MUG)
    again = await http.post(f"{SEED_000}/checkout_session/", headers=bearer(shop))

    assert lost.status_code == 503 and set(lost.json()) == {"error"}
    assert cart_after_failure == [(MUG, 2)]
    assert stock_after_failure[1] == 0  # no reservation holds the stock
    assert again.status_code == 200, again.text
    (session,) = fake.sessions.values()
    assert again.json() == {"clientSecret": session["client_secret"]}
    assert await order_statuses(db) == ["canceled", "pending_payment"] and await cart_of(db, shop) == []


@pytest.mark.parametrize("status, error", [(404, None), (404, NOT_FOUND), (400, BAD_PARAMETER)],
                         ids=["plain 404", "stripe 404", "stripe 400"])
async def test_a_page_stripe_refuses_is_a_refusal_and_leaves_the_cart_as_it_was(http, db, shop, fake, status,
                                                                                error):
    address = await an_address(db, shop)
    await fill_cart(db, shop, {MUG: 1})
    fake.refuse_next(status, error)

    refused = await http.post(f"{SEED_001}/create-stripe-order/", headers=bearer(shop),
                              json={"shipping_address": address})

    assert refused.status_code == 502 and "refused" in refused.json()["detail"]
    assert await cart_of(db, shop) == [(MUG, 1)]
    assert (await stock(db, MUG))[1] == 0
    assert await order_statuses(db) == ["canceled"]
    assert len([r for r in fake.requests if r[1] == "/v1/checkout/sessions"]) == 1  # a refusal isn't retried


@pytest.fixture
async def stripe(fake_stripe) -> AsyncIterator[StripeProvider]:
    async def no_sleep(_s: float) -> None:
        return None

    provider = StripeProvider("sk_test_paygate", api_base=fake_stripe[1], retry=RetryPolicy(sleep=no_sleep))
    yield provider
    await provider.close()


async def test_the_buyer_cancels_an_order_whose_payment_page_got_no_answer(http, db, shop, fake, stripe):
    await fill_cart(db, shop, {MUG: 1})
    buyer = customer(shop)
    order = await checkout(Checkout(buyer, None, datetime.now(UTC), timedelta(minutes=30)), SqlUnitOfWork(db))
    fake.fail_next(3)
    payment = await open_payment(OpenPayment(buyer, order.id, "stripe", CheckoutKind.EMBEDDED,
                                             return_url="https://shop.example/return"),
                                 SqlUnitOfWork(db), Providers([stripe]), POLICY)

    canceled = await http.post(f"{SEED_000}/orders/{order.uuid}/cancel/", headers=bearer(shop),
                               json={"cancellation_reason": "changed my mind"})

    assert payment.provider_ref is None and payment.attempts[0].status is AttemptStatus.UNKNOWN
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled" and canceled.json()["refunded"] is False
    assert (await stock(db, MUG))[1] == 0


@pytest.mark.parametrize("path, body", [
    (f"{SEED_002}/stripe/create-payment-intent/", {"amount": "abc", "currency": "usd"}),
    (f"{SEED_002}/stripe/confirm-payment/", {"payment_intent_id": 12}),
    (f"{SEED_002}/stripe/retrieve-payment/", {"payment_intent_id": "pi_\u0000\ud800"}),
    (f"{SEED_000}/checkout_session/", {"return_url": "not a url"}),
    (f"{SEED_001}/create-stripe-order/", {"shipping_address": "home"}),
], ids=["seed 002 amount", "seed 002 intent id", "seed 002 NUL in an id", "seed 000 return_url", "seed 001 address"])
async def test_bad_input_is_400_even_where_stripe_is_not_configured(client, shop, path, body):
    # json.dumps escapes what httpx can't encode (a lone surrogate), as a client's JSON may.
    answer = await client.post(path, headers={**bearer(shop), "Content-Type": "application/json"},
                               content=json.dumps(body))

    assert answer.status_code == 400, answer.text
