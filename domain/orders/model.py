"""An order: what was bought, from whom, at what price, and where it ships.

Lines keep the price they were sold at and their seller: a later price change or a product
removed from sale never changes an order. The status follows the money (see TRANSITIONS).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import InvalidStateError, ValidationError
from domain.money import Money
from domain.stored import stored


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"        # stock reserved until reserved_until
    AUTHORIZED = "authorized"                  # payment authorized, awaiting capture; stock committed
    PAID = "paid"                              # captured; stock committed
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELED = "canceled"                      # by buyer, seller or staff; reservation released
    EXPIRED = "expired"                        # never paid; reservation released


S = OrderStatus
# The only moves an order makes: a status never goes back.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.AUTHORIZED, S.PAID, S.CANCELED, S.EXPIRED}),
    S.AUTHORIZED: frozenset({S.PAID, S.CANCELED}),
    S.PAID: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.CANCELED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.CANCELED}),
    S.REFUNDED: frozenset({S.CANCELED}),  # a cancel that refunded everything closes the order
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Address:
    id: int | None
    user_id: int
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2

    def __post_init__(self) -> None:
        for name in ("name", "line1", "city", "postal_code"):
            value = getattr(self, name)
            if not value or not value.strip():
                raise ValidationError(f"{name} is required", _camel(name))
            if len(value) > 200:
                raise ValidationError(f"{name} is too long", _camel(name))
        if len(self.country) != 2 or not self.country.isalpha() or not self.country.isupper():
            raise ValidationError("country must be a two-letter ISO 3166 code like 'US'", "country")

    @property
    def pk(self) -> int:
        """The id, once stored (domain.stored)."""
        return stored("address id", self.id)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True, slots=True)
class OrderLine:
    product_id: int
    seller_id: int
    sku: str
    name: str
    unit_price: Money
    quantity: int

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(slots=True)
class Order:
    id: int | None
    uuid: UUID
    number: str | None
    buyer_id: int
    status: OrderStatus
    currency: str
    lines: tuple[OrderLine, ...]
    shipping_address_id: int | None
    reserved_until: datetime
    created_at: datetime
    updated_at: datetime
    cancellation_reason: str | None = None
    delivered_at: datetime | None = None
    history: list[tuple[OrderStatus, OrderStatus]] = field(default_factory=list, compare=False)

    @property
    def pk(self) -> int:
        """The id, once stored (domain.stored)."""
        return stored("order id", self.id)

    @property
    def total(self) -> Money:
        total = Money.zero(self.currency)
        for line in self.lines:
            total = total + line.total
        return total

    @property
    def seller_ids(self) -> frozenset[int]:
        return frozenset(line.seller_id for line in self.lines)

    def is_reservation_live(self, now: datetime) -> bool:
        return self.status is OrderStatus.PENDING_PAYMENT and now < self.reserved_until

    def move_to(self, target: OrderStatus, now: datetime) -> bool:
        """Apply a transition; False when already there (idempotent), InvalidStateError when backwards."""
        if target is self.status and target is not OrderStatus.PARTIALLY_REFUNDED:
            return False
        if target not in TRANSITIONS[self.status]:
            raise InvalidStateError(f"order {self.number} is {self.status}; it cannot become {target}")
        self.history.append((self.status, target))
        self.status = target
        self.updated_at = now
        return True
