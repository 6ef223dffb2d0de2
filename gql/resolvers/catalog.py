"""Products and the cart: thin calls into domain/ and db/'s read queries."""
from __future__ import annotations

from db import queries
from domain.catalog.model import Cart, Product
from domain.catalog.service import SetCartItem, set_cart_item
from domain.identity import Role
from gql.resolvers.auth import require_actor


async def products_page(context, *, after_id: int | None, limit: int, seller_id: int | None,
                        currency: str | None, in_stock: bool | None) -> tuple[list[Product], int]:
    return await queries.products_page(context.db, after_id=after_id, limit=limit, seller_id=seller_id,
                                       currency=currency, in_stock=in_stock)


async def product(context, product_id: int) -> Product | None:
    return await context.loaders.products.load(product_id)


# The cart is a buyer's: a seller or staff member who shops does so with the customer role.
async def cart(context) -> Cart:
    actor = require_actor(context, Role.CUSTOMER)
    return await queries.cart_of(context.db, actor.user_id)


async def cart_set_item(context, product_id: int, quantity: int) -> Cart:
    actor = require_actor(context)  # the use case decides who may
    return await set_cart_item(SetCartItem(actor, product_id, quantity), context.new_uow())
