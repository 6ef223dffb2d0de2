"""Checkout: cart to order with a stock reservation; stock is never oversold."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from db.tables import AuditRow, CartItemRow, ProductRow, StockReservationRow, UserRow
from db.uow import SqlUnitOfWork
from domain.identity import Actor, Role
from domain.orders.model import OrderStatus
from domain.orders.service import Checkout, checkout, expire_reservations
from tests.graphql import gql

CHECKOUT = """
mutation($address: ID) {
  checkout(input: {shippingAddressId: $address}) {
    __typename
    ... on CheckoutSuccess { order { number status uuid legacyId total { amount currency decimal }
                                    lines { sku quantity unitPrice { amount } }
                                    shippingAddress { city country } } }
    ... on Error { code message }
    ... on ValidationError { field }
  }
}"""
ADDRESS = """
mutation { addressCreate(input: {name: "Casey", line1: "1 Main St", city: "Springfield", postalCode: "12345",
                                  country: "US"}) { __typename ... on Address { id } ... on ValidationError { field } } }"""


async def _product(db, sku: str) -> ProductRow:
    async with db.read_sessions() as session:
        return (await session.exec(select(ProductRow).where(ProductRow.sku == sku))).one()


async def _put_in_cart(db, user_id: int, product_id: int, quantity: int) -> None:
    async with db.write_sessions() as session, session.begin():
        session.add(CartItemRow(user_id=user_id, product_id=product_id, quantity=quantity))


async def _available(client, sku: str) -> int:
    body = await gql(client, "{ products(first: 100) { edges { node { sku available } } } }")
    return next(e["node"]["available"] for e in body["data"]["products"]["edges"] if e["node"]["sku"] == sku)


async def test_checkout_turns_the_cart_into_an_order_that_reserves_its_stock(client, db, shop):
    token = shop.token("customer@example.com")
    tent = await _product(db, "SAM-TENT-01")
    await _put_in_cart(db, shop.id_of("customer@example.com"), tent.id, 2)
    address = (await gql(client, ADDRESS, token=token))["data"]["addressCreate"]["id"]

    body = await gql(client, CHECKOUT, {"address": address}, token=token)

    order = body["data"]["checkout"]["order"]
    assert order["number"].startswith("ORD-") and len(order["number"]) == 10
    assert order["status"] == "PENDING_PAYMENT"
    assert order["total"] == {"amount": 37_800, "currency": "EUR", "decimal": "378.00"}
    assert order["lines"] == [{"sku": "SAM-TENT-01", "quantity": 2, "unitPrice": {"amount": 18_900}}]
    assert order["shippingAddress"] == {"city": "Springfield", "country": "US"}
    assert await _available(client, "SAM-TENT-01") == 1
    cart = await gql(client, "{ cart { itemCount } }", token=token)
    assert cart["data"]["cart"]["itemCount"] == 0
    async with db.read_sessions() as session:
        audit = (await session.exec(select(AuditRow).where(AuditRow.action == "order.checkout"))).all()
    assert [(a.object_id, a.actor_id) for a in audit] == [(order["uuid"], shop.id_of("customer@example.com"))]


async def test_an_empty_cart_is_a_validation_error_and_writes_nothing(client, db, shop):
    body = await gql(client, CHECKOUT, token=shop.token("customer@example.com"))

    assert body["data"]["checkout"]["__typename"] == "ValidationError"
    assert body["data"]["checkout"]["field"] == "cart"


async def test_another_customers_address_is_not_found(client, db, shop):
    address = (await gql(client, ADDRESS, token=shop.token("customer@example.com")))["data"]["addressCreate"]["id"]
    mug = await _product(db, "SAM-MUG-01")
    await _put_in_cart(db, shop.id_of("customer2@example.com"), mug.id, 1)

    body = await gql(client, CHECKOUT, {"address": address}, token=shop.token("customer2@example.com"))

    assert body["data"]["checkout"]["__typename"] == "NotFound"
    assert await _available(client, "SAM-MUG-01") == 40


async def test_a_bad_address_is_a_validation_error_on_its_field(client, shop):
    bad = ADDRESS.replace('country: "US"', 'country: "usa"')

    body = await gql(client, bad, token=shop.token("customer@example.com"))

    assert body["data"]["addressCreate"] == {"__typename": "ValidationError", "field": "country"}


async def test_an_expired_reservation_stops_counting_even_if_no_job_ran(client, db, shop):
    last = await _product(db, "SORA-LAST-01")
    buyer = shop.id_of("customer@example.com")
    await _put_in_cart(db, buyer, last.id, 1)
    long_ago = datetime.now(UTC) - timedelta(minutes=31)
    actor = Actor(buyer, "customer@example.com", frozenset({Role.CUSTOMER}))

    await checkout(Checkout(actor, None, long_ago, timedelta(minutes=30)), SqlUnitOfWork(db))

    assert await _available(client, "SORA-LAST-01") == 1


async def test_the_expiry_job_marks_unpaid_orders_expired_and_releases_their_reservations(db, shop):
    last = await _product(db, "SORA-LAST-01")
    buyer = shop.id_of("customer@example.com")
    await _put_in_cart(db, buyer, last.id, 1)
    actor = Actor(buyer, "customer@example.com", frozenset({Role.CUSTOMER}))
    order = await checkout(Checkout(actor, None, datetime.now(UTC) - timedelta(hours=1), timedelta(minutes=30)),
                           SqlUnitOfWork(db))

    expired = await expire_reservations(datetime.now(UTC), SqlUnitOfWork(db))
    again = await expire_reservations(datetime.now(UTC), SqlUnitOfWork(db))

    async with SqlUnitOfWork(db) as uow:
        stored = await uow.orders.get(order.id)
    async with db.read_sessions() as session:
        states = (await session.exec(select(StockReservationRow.state))).all()
    assert (expired, again) == (1, 0)
    assert stored.status is OrderStatus.EXPIRED
    assert states == ["released"]


async def test_fifty_concurrent_checkouts_of_ten_units_make_exactly_ten_orders(db, shop):
    tent = await _product(db, "SAM-TENT-01")
    async with db.write_sessions() as session, session.begin():
        tent = await session.get(ProductRow, tent.id)
        tent.stock = 10
        session.add(tent)
        buyers = [UserRow(email=f"buyer{i}@example.com", name=f"Buyer {i}", roles="customer") for i in range(50)]
        session.add_all(buyers)
        await session.flush()
        session.add_all([CartItemRow(user_id=b.id, product_id=tent.id, quantity=1) for b in buyers])
        ids = [b.id for b in buyers]
    now = datetime.now(UTC)

    async def one(user_id: int):
        actor = Actor(user_id, None, frozenset({Role.CUSTOMER}))
        return await checkout(Checkout(actor, None, now, timedelta(minutes=30)), SqlUnitOfWork(db))

    results = await asyncio.gather(*(one(i) for i in ids), return_exceptions=True)

    orders = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(orders) == 10
    assert {type(r).__name__ for r in refused} == {"InsufficientStockError"}
    async with db.read_sessions() as session:
        reserved = (await session.exec(select(StockReservationRow).where(
            StockReservationRow.product_id == tent.id, StockReservationRow.state == "active"))).all()
    assert sum(r.quantity for r in reserved) == 10
