"""The cart mutation end to end over HTTP, on both databases: success and each typed error."""
from __future__ import annotations

import base64

from tests.graphql import gql

SET_ITEM = """
mutation($productId: ID!, $quantity: Int!) {
  cartSetItem(input: {productId: $productId, quantity: $quantity}) {
    __typename
    ... on Cart { itemCount currency total { amount currency decimal } lines { quantity product { sku } } }
    ... on Error { code message }
    ... on ValidationError { field }
    ... on InsufficientStock { productId requested available }
  }
}"""


def product_id(legacy_id: int) -> str:
    return base64.b64encode(f"Product:{legacy_id}".encode()).decode()


async def _product(client, sku: str) -> dict:
    body = await gql(client, "{ products(first: 100) { edges { node { id legacyId sku available } } } }")
    return next(e["node"] for e in body["data"]["products"]["edges"] if e["node"]["sku"] == sku)


async def test_setting_an_item_puts_it_in_the_cart_at_its_price(client, shop):
    mug = await _product(client, "SAM-MUG-01")

    body = await gql(client, SET_ITEM, {"productId": mug["id"], "quantity": 3},
                     token=shop.token("customer@example.com"))

    result = body["data"]["cartSetItem"]
    assert result["__typename"] == "Cart"
    assert result["itemCount"] == 3
    assert result["total"] == {"amount": 4497, "currency": "USD", "decimal": "44.97"}
    assert result["lines"] == [{"quantity": 3, "product": {"sku": "SAM-MUG-01"}}]


async def test_quantity_zero_removes_the_line(client, shop):
    token = shop.token("customer@example.com")
    mug = await _product(client, "SAM-MUG-01")
    await gql(client, SET_ITEM, {"productId": mug["id"], "quantity": 2}, token=token)

    body = await gql(client, SET_ITEM, {"productId": mug["id"], "quantity": 0}, token=token)

    assert body["data"]["cartSetItem"]["itemCount"] == 0
    assert body["data"]["cartSetItem"]["total"] is None


async def test_an_unknown_product_is_not_found(client, shop):
    body = await gql(client, SET_ITEM, {"productId": product_id(999_999), "quantity": 1},
                     token=shop.token("customer@example.com"))

    assert body["data"]["cartSetItem"]["__typename"] == "NotFound"


async def test_an_id_of_another_type_is_not_found(client, shop):
    user_id = base64.b64encode(f"User:{shop.id_of('seller@example.com')}".encode()).decode()

    body = await gql(client, SET_ITEM, {"productId": user_id, "quantity": 1}, token=shop.token("customer@example.com"))

    assert body["data"]["cartSetItem"]["__typename"] == "NotFound"


async def test_more_than_is_in_stock_is_insufficient_stock_and_the_cart_is_unchanged(client, shop):
    token = shop.token("customer@example.com")
    last = await _product(client, "SORA-LAST-01")

    body = await gql(client, SET_ITEM, {"productId": last["id"], "quantity": 2}, token=token)

    assert body["data"]["cartSetItem"] == {
        "__typename": "InsufficientStock", "code": "insufficient_stock",
        "message": body["data"]["cartSetItem"]["message"], "productId": last["id"], "requested": 2, "available": 1}
    cart = await gql(client, "{ cart { itemCount } }", token=token)
    assert cart["data"]["cart"]["itemCount"] == 0


async def test_a_negative_quantity_is_a_validation_error_on_quantity(client, shop):
    mug = await _product(client, "SAM-MUG-01")

    body = await gql(client, SET_ITEM, {"productId": mug["id"], "quantity": -1},
                     token=shop.token("customer@example.com"))

    result = body["data"]["cartSetItem"]
    assert (result["__typename"], result["field"]) == ("ValidationError", "quantity")


async def test_a_second_currency_in_one_cart_is_a_validation_error(client, shop):
    token = shop.token("customer@example.com")
    usd = await _product(client, "SAM-MUG-01")
    jpy = await _product(client, "SORA-TEA-01")
    await gql(client, SET_ITEM, {"productId": usd["id"], "quantity": 1}, token=token)

    body = await gql(client, SET_ITEM, {"productId": jpy["id"], "quantity": 1}, token=token)

    assert body["data"]["cartSetItem"]["__typename"] == "ValidationError"
    assert body["data"]["cartSetItem"]["field"] == "productId"


async def test_each_customer_sees_only_their_own_cart(client, shop):
    mug = await _product(client, "SAM-MUG-01")
    await gql(client, SET_ITEM, {"productId": mug["id"], "quantity": 2}, token=shop.token("customer@example.com"))
    other_cart_id = base64.b64encode(f"Cart:{shop.id_of('customer@example.com')}".encode()).decode()

    own = await gql(client, "{ cart { itemCount } }", token=shop.token("customer2@example.com"))
    via_node = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": other_cart_id},
                         token=shop.token("customer2@example.com"))

    assert own["data"]["cart"]["itemCount"] == 0
    assert via_node["data"]["node"] is None


async def test_products_page_forward_with_cursors_and_count_the_whole_list(client, shop):
    first = await gql(client, "{ products(first: 3) { totalCount pageInfo { hasNextPage endCursor } "
                              "edges { node { sku } } } }")
    page = first["data"]["products"]
    rest = await gql(client, "query($after: String) { products(first: 100, after: $after) { "
                             "pageInfo { hasNextPage hasPreviousPage } edges { node { sku } } } }",
                     {"after": page["pageInfo"]["endCursor"]})

    skus = [e["node"]["sku"] for e in page["edges"]] + [e["node"]["sku"] for e in rest["data"]["products"]["edges"]]
    assert page["totalCount"] == 8 and page["pageInfo"]["hasNextPage"] is True
    assert len(skus) == len(set(skus)) == 8
    assert rest["data"]["products"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
