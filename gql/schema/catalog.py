"""Products, carts and the cart mutation's result."""
from __future__ import annotations


import strawberry

from domain.catalog.model import Cart as DomainCart
from domain.catalog.model import Product as DomainProduct
from gql.resolvers import users as user_resolvers
from gql.schema.errors import result
from gql.schema.money import Money
from gql.schema.relay import Node, to_global_id
from gql.schema.users import Seller


@strawberry.type
class Product(Node):
    legacy_id: int
    sku: str
    name: str
    price: Money
    available: int = strawberry.field(description="Units that can be bought now: stock less reservations.")
    in_stock: bool
    seller_id: strawberry.Private[int]

    @strawberry.field
    async def seller(self, info: strawberry.Info) -> Seller:
        return Seller(legacy_id=self.seller_id, name=await user_resolvers.seller_name(info.context, self.seller_id))

    @classmethod
    def from_domain(cls, product: DomainProduct) -> Product:
        return cls(id=strawberry.ID(to_global_id("Product", product.id)), legacy_id=product.id, sku=product.sku,
                   name=product.name, price=Money.from_domain(product.price), available=product.available,
                   in_stock=product.available > 0, seller_id=product.seller_id)


@strawberry.type
class CartLine:
    product: Product
    quantity: int
    total: Money


@strawberry.type
class Cart(Node):
    lines: list[CartLine]
    item_count: int
    currency: str | None
    total: Money | None

    @classmethod
    def from_domain(cls, cart: DomainCart) -> Cart:
        total = cart.total
        return cls(
            id=strawberry.ID(to_global_id("Cart", cart.user_id)),
            lines=[CartLine(product=Product.from_domain(line.product), quantity=line.quantity,
                            total=Money.from_domain(line.total)) for line in cart.lines],
            item_count=cart.item_count, currency=cart.currency,
            total=Money.from_domain(total) if total else None,
        )


@strawberry.input
class CartSetItemInput:
    product_id: strawberry.ID
    quantity: int = strawberry.field(description="The line's new quantity; 0 removes it.")


CartSetItemResult = result("CartSetItemResult", Cart)
