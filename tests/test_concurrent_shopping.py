"""Many customers shopping for one product at once, over HTTP: cart, checkout, pay.

On PostgreSQL these transactions take row locks on the same product; in any order of arrival
none of them may end in an internal error (a deadlock or a serialization failure is retried by
the unit of work), and the product is never sold beyond its stock.
"""
from __future__ import annotations

import asyncio

from sqlmodel import select

from db.tables import ProductRow, StockReservationRow, UserRow
from gql.schema.relay import to_global_id

SET_ITEM = """mutation($p: ID!, $q: Int!) {
  cartSetItem(input: {productId: $p, quantity: $q}) { __typename ... on Error { code } } }"""
CHECKOUT = """mutation { checkout { __typename ... on CheckoutSuccess { order { id } } ... on Error { code } } }"""
PAY = """mutation($order: ID!) {
  processPayment(input: {orderId: $order, card: {number: "4242424242424242", expMonth: 12, expYear: 2034,
                                                 cvc: "123"}}) { __typename ... on Payment { status } } }"""
CUSTOMERS = 24
ROUNDS = 3
STOCK = 40  # fewer units than customers × rounds: some are refused, none is oversold
EXPECTED = {"cartSetItem": {"Cart", "InsufficientStock"}, "checkout": {"CheckoutSuccess", "InsufficientStock"},
            "processPayment": {"Payment"}}


async def _customers_and_product(db, tokens) -> tuple[list[str], int]:
    async with db.write_sessions() as session, session.begin():
        product = (await session.exec(select(ProductRow).where(ProductRow.active).order_by(ProductRow.id))).first()
        product.stock = STOCK
        session.add(product)
        users = [UserRow(email=f"shopper{i}@example.com", name=f"Shopper {i}", roles="customer")
                 for i in range(CUSTOMERS)]
        session.add_all(users)
        await session.flush()
        return [tokens.issue(u.id, u.email, ["customer"]) for u in users], product.id


async def test_customers_shopping_one_product_at_once_get_no_internal_error_and_no_oversell(client, db, shop,
                                                                                           tokens):
    shoppers, product_id = await _customers_and_product(db, tokens)
    product = to_global_id("Product", product_id)
    answers: list[tuple[str, dict]] = []

    async def ask(field: str, query: str, variables: dict, token: str) -> dict:
        response = await client.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        answers.append((field, {"status": response.status_code, **body}))
        return ((body.get("data") or {}).get(field)) or {}

    async def shopper(token: str) -> None:
        for _ in range(ROUNDS):
            if (await ask("cartSetItem", SET_ITEM, {"p": product, "q": 1}, token)).get("__typename") != "Cart":
                return
            checked_out = await ask("checkout", CHECKOUT, {}, token)
            if checked_out.get("__typename") != "CheckoutSuccess":
                return
            await ask("processPayment", PAY, {"order": checked_out["order"]["id"]}, token)

    await asyncio.gather(*(shopper(t) for t in shoppers))

    failures = [(field, a) for field, a in answers
                if a["status"] != 200 or a.get("errors") or (a.get("data") or {}).get(field, {}).get("__typename")
                not in EXPECTED[field]]
    assert failures == []
    async with db.read_sessions() as session:
        stock = (await session.get(ProductRow, product_id)).stock
        sold = sum(r.quantity for r in (await session.exec(select(StockReservationRow).where(
            StockReservationRow.product_id == product_id, StockReservationRow.state == "committed"))).all())
    paid = sum(1 for field, a in answers if field == "processPayment")
    assert stock >= 0 and sold == STOCK - stock == paid
