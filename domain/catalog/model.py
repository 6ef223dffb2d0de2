"""The catalogue as the domain sees it: a product with a price and stock, a cart of lines."""
from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import ValidationError
from domain.money import Money

MAX_LINE_QUANTITY = 10_000  # a cart line past this is a typo or an attack, not an order


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    seller_id: int
    sku: str
    name: str
    price: Money
    stock: int       # units on hand, committed sales already subtracted
    available: int   # stock less what unexpired reservations hold
    active: bool = True


@dataclass(frozen=True, slots=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def total(self) -> Money:
        return self.product.price * self.quantity


@dataclass(frozen=True, slots=True)
class Cart:
    user_id: int
    lines: tuple[CartLine, ...] = field(default=())

    @property
    def currency(self) -> str | None:
        return self.lines[0].product.price.code if self.lines else None

    @property
    def total(self) -> Money | None:
        if not self.lines:
            return None
        total = Money.zero(self.lines[0].product.price.code)
        for line in self.lines:
            total = total + line.total
        return total

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


def with_quantity(cart: Cart, product: Product, quantity: int) -> Cart:
    """The cart once its line of `product` holds `quantity` (0: no line): a new line goes last,
    as the cart lists its lines in the order they were added."""
    lines = [line if line.product.id != product.id else CartLine(product, quantity) for line in cart.lines]
    if not any(line.product.id == product.id for line in cart.lines):
        lines.append(CartLine(product, quantity))
    return Cart(cart.user_id, tuple(line for line in lines if line.quantity > 0))


def check_quantity(quantity: int) -> None:
    if quantity < 0:
        raise ValidationError("quantity must be zero (to remove) or more", "quantity")
    if quantity > MAX_LINE_QUANTITY:
        raise ValidationError(f"quantity must be at most {MAX_LINE_QUANTITY}", "quantity")
