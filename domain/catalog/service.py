"""Cart use cases. Each reads top to bottom and is one transaction."""
from __future__ import annotations

from dataclasses import dataclass

from domain.catalog.model import Cart, check_quantity, with_quantity
from domain.errors import InsufficientStockError, NotFoundError, ValidationError
from domain.identity import Actor, customers_only
from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class SetCartItem:
    actor: Actor
    product_id: int
    quantity: int  # 0 removes the line


async def set_cart_item(cmd: SetCartItem, uow: UnitOfWork) -> Cart:
    customers_only(cmd.actor, "fill a cart")
    check_quantity(cmd.quantity)
    return await uow.transaction(lambda: _set_cart_item(cmd, uow))


async def _set_cart_item(cmd: SetCartItem, uow: UnitOfWork) -> Cart:
    async with uow:
        cart, product = await uow.carts.with_product(cmd.actor.user_id, cmd.product_id)
        if product is None or not product.active:
            raise NotFoundError("product", cmd.product_id)
        if cmd.quantity > 0:
            others = [line for line in cart.lines if line.product.id != product.id]
            # One currency per cart: an order is paid in one currency, and a silent conversion
            # would be a price the buyer never saw.
            if others and others[0].product.price.code != product.price.code:
                raise ValidationError(
                    f"the cart holds {others[0].product.price.code} items; "
                    f"check them out or remove them before adding {product.price.code} items",
                    "productId",
                )
            if cmd.quantity > product.available:
                raise InsufficientStockError(product.id, cmd.quantity, product.available)
        await uow.carts.set_quantity(cmd.actor.user_id, product.id, cmd.quantity)
        await uow.commit()
    return with_quantity(cart, product, cmd.quantity)
