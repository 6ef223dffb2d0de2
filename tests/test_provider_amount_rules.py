"""A provider's own amount rules, asked before anything is written (Providers.check_amount): PayPal
takes HUF in whole units only, so 10.50 HUF is refused on every surface with no order, payment or
attempt recorded and nothing sent to PayPal: GraphQL checkout (a typed ValidationError), seed 004's
create-intent (400 in the seed's shape) and seed 002's create-order (400 {"error"}). Over HTTP
against tests/fake_paypal.py, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from db.payment_tables import PaymentAttemptRow, PaymentRow
from db.tables import CartItemRow, OrderRow, ProductRow
from domain.errors import ValidationError
from domain.money import Money
from tests.graphql import gql
from tests.payments_fixtures import order_for
from tests.test_rest_seed_001 import bearer
from tests.test_stripe_checkout_flow import fill_cart

FORINT_SKU = "HUF-PAPRIKA-01"
CHECKOUT = """mutation { checkout(input: {provider: "paypal", kind: ELEMENTS}) { __typename
  ... on ValidationError { code message field } ... on CheckoutSuccess { order { legacyId } } } }"""


async def add_forint_product(db, shop, price_minor: int = 10_50) -> None:
    async with db.write_sessions() as session, session.begin():
        session.add(ProductRow(seller_id=shop.id_of("seller@example.com"), sku=FORINT_SKU, name="Paprika",
                               price_minor=price_minor, currency="HUF", stock=10))


async def counts(db) -> tuple[int, int, int, int]:
    """(orders, payments, attempts, cart lines)"""
    async with db.read_sessions() as session:
        return tuple([(await session.exec(select(func.count()).select_from(table))).one()  # type: ignore[return-value]
                      for table in (OrderRow, PaymentRow, PaymentAttemptRow, CartItemRow)])


async def test_paypal_refuses_forint_with_a_fraction_and_takes_whole_forint(adapter):
    adapter.check_amount(Money.parse_decimal("10", "HUF"))

    for amount in (Money.parse_decimal("10.50", "HUF"), Money.parse_decimal("10", "KWD")):
        try:
            adapter.check_amount(amount)
        except ValidationError as exc:
            assert exc.field == "amount"
        else:
            raise AssertionError(f"{amount} was taken")


async def test_graphql_checkout_with_paypal_refuses_10_50_huf_with_nothing_written(pp_http, db, shop, paypal):
    await add_forint_product(db, shop)
    await fill_cart(db, shop, {FORINT_SKU: 1})
    before = await counts(db)

    answer = (await gql(pp_http, CHECKOUT, token=shop.token("customer@example.com")))["data"]["checkout"]

    assert answer["__typename"] == "ValidationError" and answer["field"] == "amount", answer
    assert "whole units" in answer["message"]
    assert await counts(db) == before == (0, 0, 0, 1)  # no order, the cart as it was
    assert paypal.calls == []


async def test_graphql_checkout_with_paypal_takes_whole_forint(pp_http, db, shop, paypal):
    await add_forint_product(db, shop, price_minor=1500_00)
    await fill_cart(db, shop, {FORINT_SKU: 1})

    answer = (await gql(pp_http, CHECKOUT, token=shop.token("customer@example.com")))["data"]["checkout"]

    assert answer["__typename"] == "CheckoutSuccess", answer
    (order,) = paypal.orders.values()
    assert order["purchase_units"][0]["amount"] == {"currency_code": "HUF", "value": "1500"}


async def test_seed_004_create_intent_with_paypal_refuses_10_50_huf_with_nothing_written(pp_http, db, shop, paypal):
    await add_forint_product(db, shop)
    order = await order_for(db, shop, {FORINT_SKU: 1})
    before = await counts(db)

    answer = await pp_http.post("/api/payment/create-intent/", json={"order_id": order.pk, "gateway": "paypal"},
                                headers=bearer(shop))

    assert answer.status_code == 400, answer.text
    assert list(answer.json()) == ["detail"] and "whole units" in answer.json()["detail"]
    assert await counts(db) == before
    assert (await counts(db))[1] == 0 and paypal.calls == []


async def test_seed_002_create_order_refuses_10_50_huf_with_nothing_written(pp_http, db, shop, paypal):
    before = await counts(db)

    answer = await pp_http.post("/api/v1/payments/paypal/create-order/", headers=bearer(shop),
                                json={"amount": "10.50", "currency": "HUF"})

    assert answer.status_code == 400, answer.text
    assert list(answer.json()) == ["error"] and "whole units" in answer.json()["error"]
    assert await counts(db) == before == (0, 0, 0, 0)
    assert paypal.calls == []


async def test_a_razorpay_refund_under_one_unit_is_refused_with_nothing_written(rhttp, db, shop, fakes):
    from tests.test_razorpay_flow import paid_intent

    _, intent = await paid_intent(rhttp, db, shop, fakes)
    before = await counts(db)

    answer = await rhttp.post("/api/payment/refund/", headers=bearer(shop, "staff@example.com"),
                              json={"transaction_id": intent["transaction_id"], "reason": "a scratch",
                                    "amount": "0.50"})

    assert answer.status_code == 400, answer.text
    assert list(answer.json()) == ["detail"] and "at least" in answer.json()["detail"]
    assert await counts(db) == before  # no refund attempt recorded
    assert fakes.razorpay.refunds == {}


def test_razorpay_takes_three_decimal_currencies_with_their_last_decimal_0():
    from providers.razorpay import RazorpayProvider

    razorpay = RazorpayProvider("rzp_test_key", "secret")

    razorpay.check_amount(Money.parse_decimal("99.990", "KWD"))
    razorpay.check_amount(Money.parse_decimal("1", "JPY"))
    for refused in (Money.parse_decimal("99.991", "KWD"), Money.parse_decimal("0.99", "INR")):
        try:
            razorpay.check_amount(refused)
        except ValidationError as exc:
            assert exc.field == "amount"
        else:
            raise AssertionError(f"{refused} was taken")


async def test_a_customers_refund_request_razorpay_could_never_refund_is_refused_when_asked(rhttp, db, shop, fakes):
    from db.payment_tables import RefundRequestRow
    from tests.regional_fixtures import payment_row
    from tests.test_razorpay_flow import paid_intent

    _, intent = await paid_intent(rhttp, db, shop, fakes)
    payment_id = (await payment_row(db, intent["transaction_id"])).id

    asked = await rhttp.post(f"/payments/{payment_id}/refund", headers=bearer(shop),
                             json={"amount": "0.50", "reason": "a scratch"})

    assert asked.status_code == 400 and "at least" in asked.json()["detail"], asked.text
    async with db.read_sessions() as session:
        assert (await session.exec(select(func.count()).select_from(RefundRequestRow))).one() == 0
