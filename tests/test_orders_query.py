"""Who sees which orders, and what a page of them costs."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from db.tables import CartItemRow, ProductRow
from db.uow import SqlUnitOfWork
from domain.identity import Actor, Role
from domain.orders.service import Checkout, checkout
from gql.schema.relay import to_global_id
from tests.graphql import gql

ORDER = "query($id: ID!) { order(id: $id) { number status } }"
ORDERS = "query($f: OrderFilterInput) { orders(first: 50, filter: $f) { totalCount edges { node { number } } } }"


async def _order_for(db, shop, email: str, sku: str, quantity: int = 1):
    async with db.write_sessions() as session, session.begin():
        product = (await session.exec(select(ProductRow).where(ProductRow.sku == sku))).one()
        session.add(CartItemRow(user_id=shop.id_of(email), product_id=product.id, quantity=quantity))
    actor = Actor(shop.id_of(email), email, frozenset({Role.CUSTOMER}))
    return await checkout(Checkout(actor, None, datetime.now(UTC), timedelta(minutes=30)), SqlUnitOfWork(db))


async def test_the_buyer_sees_their_order_and_another_customer_gets_null(client, db, shop):
    order = await _order_for(db, shop, "customer@example.com", "SAM-MUG-01")
    gid = to_global_id("Order", order.id)

    own = await gql(client, ORDER, {"id": gid}, token=shop.token("customer@example.com"))
    other = await gql(client, ORDER, {"id": gid}, token=shop.token("customer2@example.com"))
    missing = await gql(client, ORDER, {"id": to_global_id("Order", 999_999)}, token=shop.token("customer2@example.com"))

    assert own["data"]["order"] == {"number": order.number, "status": "PENDING_PAYMENT"}
    assert other == missing == {"data": {"order": None}}


async def test_sellers_see_orders_with_their_lines_and_staff_see_all(client, db, shop):
    sam = await _order_for(db, shop, "customer@example.com", "SAM-MUG-01")
    sora = await _order_for(db, shop, "customer2@example.com", "SORA-NOTE-01")

    def numbers(body):
        return {e["node"]["number"] for e in body["data"]["orders"]["edges"]}

    seller = await gql(client, ORDERS, token=shop.token("seller@example.com"))
    seller2 = await gql(client, ORDERS, token=shop.token("seller2@example.com"))
    staff = await gql(client, ORDERS, token=shop.token("staff@example.com"))
    customer = await gql(client, ORDERS, token=shop.token("customer@example.com"))

    assert numbers(seller) == {sam.number}
    assert numbers(seller2) == {sora.number}
    assert numbers(staff) == {sam.number, sora.number}
    assert numbers(customer) == {sam.number}


async def test_orders_filter_by_status_and_by_buyer_for_staff(client, db, shop):
    first = await _order_for(db, shop, "customer@example.com", "SAM-MUG-01")
    await _order_for(db, shop, "customer2@example.com", "SAM-MUG-01")
    staff = shop.token("staff@example.com")

    by_buyer = await gql(client, ORDERS, {"f": {"buyerId": to_global_id("User", shop.id_of("customer@example.com"))}},
                         token=staff)
    paid = await gql(client, ORDERS, {"f": {"status": ["PAID"]}}, token=staff)

    assert [e["node"]["number"] for e in by_buyer["data"]["orders"]["edges"]] == [first.number]
    assert paid["data"]["orders"]["totalCount"] == 0


async def test_a_page_of_orders_costs_the_same_statements_whatever_its_size(client, db, shop, statements):
    staff = shop.token("staff@example.com")
    query = "query($n: Int) { orders(first: $n) { edges { node { number lines { sku } shippingAddress { city } } } } }"
    for _ in range(6):
        await _order_for(db, shop, "customer@example.com", "SAM-MUG-01")

    with statements:
        await gql(client, query, {"n": 1}, token=staff)
    one = statements.count
    with statements:
        await gql(client, query, {"n": 6}, token=staff)

    assert statements.count == one <= 4
