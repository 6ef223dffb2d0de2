"""Orders, their lines and addresses; the checkout and addressCreate mutations; order queries."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.errors import NotFoundError, PaymentsError
from domain.orders.access import OrderFilter
from domain.orders.model import Address as DomainAddress
from domain.orders.model import Order as DomainOrder
from domain.orders.model import OrderLine as DomainOrderLine
from domain.orders.model import OrderStatus as DomainOrderStatus
from domain.payments.model import Payment as DomainPayment
from domain.stored import stored
from domain.users import User as DomainUser
from gql.resolvers import orders as order_resolvers
from gql.resolvers import payment_queries as payment_resolvers
from gql.schema.errors import expected_error, result
from gql.schema.money import Money
from gql.schema.relay import Connection, Node, connection, global_id_of, page_request, to_global_id
from gql.schema.selection import selects

if TYPE_CHECKING:  # resolved lazily: gql/schema/payments.py imports this module
    from gql.schema.payments import Payment

NOT_FETCHED = object()  # a relation a list didn't read: its resolver loads it

# GraphQL's copies of the domain's enums (strawberry.enum would mark the domain's own classes). mypy
# can't read an enum built by a call as a type: it is told the domain enum, whose members and values
# the copy has one for one.
if TYPE_CHECKING:
    OrderStatus = DomainOrderStatus
else:
    OrderStatus = strawberry.enum(Enum("OrderStatus", {s.name: s.value for s in DomainOrderStatus}))


@strawberry.type
class Address(Node):
    legacy_id: int
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str

    @classmethod
    def from_domain(cls, a: DomainAddress) -> Address:
        return cls(id=strawberry.ID(to_global_id("Address", a.pk)), legacy_id=a.pk, name=a.name, line1=a.line1,
                   line2=a.line2, city=a.city, postal_code=a.postal_code, country=a.country)


@strawberry.type
class OrderLine:
    product_id: strawberry.ID
    seller_id: strawberry.ID
    sku: str
    name: str
    unit_price: Money
    quantity: int
    total: Money


@strawberry.type
class Order(Node):
    legacy_id: int
    uuid: str
    number: str
    status: OrderStatus
    buyer_id: strawberry.ID
    total: Money
    lines: list[OrderLine]
    reserved_until: datetime
    created_at: datetime
    updated_at: datetime
    cancellation_reason: str | None
    shipping_address_id: strawberry.Private[int | None]
    domain: strawberry.Private[DomainOrder]

    # Set by a list that read its orders' relations in batches (`with_relations`); unset, the
    # fields go through the loaders. As on Payment: sync resolvers that answer at once from the
    # batch, or hand graphql-core the loader's awaitable.
    fetched_address: strawberry.Private[object] = NOT_FETCHED
    fetched_payments: strawberry.Private[object] = NOT_FETCHED
    fetched_buyers: strawberry.Private[Mapping[int, DomainUser] | None] = None

    @strawberry.field
    def shipping_address(self, info: strawberry.Info) -> Address | None:
        if self.domain.shipping_address_id is None:
            return None
        if self.fetched_address is NOT_FETCHED:
            return self._load_address(info)  # type: ignore[return-value]
        return Address.from_domain(self.fetched_address) if self.fetched_address else None  # type: ignore[arg-type]

    async def _load_address(self, info: strawberry.Info) -> Address | None:
        found = await order_resolvers.shipping_address(info.context, self.domain)
        return Address.from_domain(found) if found else None

    @strawberry.field(description="The order's payments, oldest first (a declined one, then one that succeeded).")
    def payments(self, info: strawberry.Info) -> list[Annotated[Payment, strawberry.lazy("gql.schema.payments")]]:
        if self.fetched_payments is NOT_FETCHED:
            return self._load_payments(info)  # type: ignore[return-value]
        found = payment_resolvers.visible_payments(info.context, self.domain, self.fetched_payments)  # type: ignore[arg-type]
        return self._payment_nodes(found, self.fetched_buyers)

    async def _load_payments(self, info: strawberry.Info) -> list[Payment]:
        return self._payment_nodes(await payment_resolvers.order_payments(info.context, self.domain), None)

    def _payment_nodes(self, found: list[DomainPayment], buyers: Mapping[int, DomainUser] | None) -> list[Payment]:
        from gql.schema.payments import Payment  # payments.py imports this module

        # Each payment's order is this one (the same row): its `order` field needs no read.
        mine = {self.domain.pk: self.domain}
        return [Payment.from_domain(p).with_relations(mine, buyers) for p in found]

    def with_relations(self, payments: Mapping[int, list[DomainPayment]] | None,
                       addresses: Mapping[int, DomainAddress] | None,
                       buyers: Mapping[int, DomainUser] | None) -> Order:
        """Answer `payments` and `shippingAddress` from a list's batches (None: not read)."""
        if payments is not None:
            self.fetched_payments = payments.get(self.domain.pk, [])
            self.fetched_buyers = buyers
        if addresses is not None and self.domain.shipping_address_id is not None:
            self.fetched_address = addresses.get(self.domain.shipping_address_id)
        return self

    @classmethod
    def from_domain(cls, o: DomainOrder) -> Order:
        return _OrderOf(o)


class _OrderOf(Order):
    """An Order whose fields are derived from the domain order when a query reads them (global
    ids, the total, the lines with their Money): see gql/schema/payments.py, `_PaymentOf`."""

    def __init__(self, o: DomainOrder) -> None:
        self.domain = o
        self.legacy_id = o.pk
        self.shipping_address_id = o.shipping_address_id
        self.reserved_until, self.created_at, self.updated_at = o.reserved_until, o.created_at, o.updated_at
        self.cancellation_reason = o.cancellation_reason

    @property
    def id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("Order", self.legacy_id))

    @property
    def uuid(self) -> str:  # type: ignore[override]
        return str(self.domain.uuid)

    @property
    def number(self) -> str:  # type: ignore[override]
        return stored("order number", self.domain.number)

    @property
    def status(self) -> OrderStatus:  # type: ignore[override]
        return OrderStatus(self.domain.status.value)

    @property
    def buyer_id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("User", self.domain.buyer_id))

    @property
    def total(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self.domain.total)

    @property
    def lines(self) -> list[OrderLine]:  # type: ignore[override]
        return [_LineOf(line) for line in self.domain.lines]


class _LineOf(OrderLine):
    """An order line read field by field from the domain's (its global ids only when asked)."""

    def __init__(self, line: DomainOrderLine) -> None:
        self._line = line
        self.sku, self.name, self.quantity = line.sku, line.name, line.quantity

    @property
    def product_id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("Product", self._line.product_id))

    @property
    def seller_id(self) -> strawberry.ID:  # type: ignore[override]
        return strawberry.ID(to_global_id("User", self._line.seller_id))

    @property
    def unit_price(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self._line.unit_price)

    @property
    def total(self) -> Money:  # type: ignore[override]
        return Money.from_domain(self._line.total)


@strawberry.input
class AddressInput:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, e.g. US")
    line2: str = ""


@strawberry.enum(description="How the customer completes a payment opened at the provider.")
class CheckoutKind(Enum):
    ELEMENTS = "elements"  # Stripe.js in the shop's own page, with `clientSecret`
    HOSTED = "hosted"  # the provider's page, at `redirectUrl`
    EMBEDDED = "embedded"  # the provider's page inside the shop's (Stripe's initEmbeddedCheckout)


@strawberry.input
class CheckoutInput:
    shipping_address_id: strawberry.ID | None = None
    provider: str | None = strawberry.field(
        default=None, description="Also open the order's payment at this provider (\"stripe\"): the answer "
                                  "then carries what the frontend needs to let the customer pay there.")
    kind: CheckoutKind = CheckoutKind.ELEMENTS
    return_url: str | None = strawberry.field(
        default=None, description="HOSTED and EMBEDDED: where the provider's page sends the customer afterwards.")
    cancel_url: str | None = None
    order_id: strawberry.ID | None = strawberry.field(
        default=None, description="With a provider: this pending order's page again (after a reload, or when "
                                  "the provider's answer was lost) instead of checking the cart out.")


@strawberry.input
class OrderFilterInput:
    status: list[OrderStatus] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    buyer_id: strawberry.ID | None = strawberry.field(default=None, description="Staff only.")
    seller_id: strawberry.ID | None = None
    as_seller: bool = strawberry.field(default=False, description="A seller who also buys: list sales.")


@strawberry.type(description="A new order holding its stock until `order.reservedUntil`; pay it next, or, "
                               "when a provider was named, where the customer pays it.")
class CheckoutSuccess:
    order: Order
    payment: Annotated[Payment, strawberry.lazy("gql.schema.payments")] | None = strawberry.field(
        default=None, description="The order's payment, opened at the provider (when one was named).")
    client_secret: str | None = strawberry.field(
        default=None, description="ELEMENTS and EMBEDDED: for the provider's script (Stripe.js).")
    publishable_key: str | None = strawberry.field(
        default=None, description="The provider's public key for its script (Stripe's pk_…).")
    redirect_url: str | None = strawberry.field(default=None, description="HOSTED: send the customer here.")


AddressCreateResult = result("AddressCreateResult", Address)
CheckoutResult = result("CheckoutResult", CheckoutSuccess)


async def resolve_order(info: strawberry.Info, id: strawberry.ID) -> Order | None:
    """An order by its global id; null when it does not exist or is not the caller's to see."""
    legacy_id = global_id_of("Order", id)
    found = await order_resolvers.order(info.context, legacy_id) if legacy_id is not None else None
    return Order.from_domain(found) if found else None


async def resolve_orders(info: strawberry.Info, first: int | None = None, after: str | None = None,
                         filter: OrderFilterInput | None = None) -> Connection[Order]:
    """The caller's orders, newest first: a buyer's own, a seller's sales, everything for staff."""
    req = page_request(first, after)
    f = filter or OrderFilterInput()
    flt = OrderFilter(
        statuses=tuple(DomainOrderStatus(s.value) for s in f.status or ()),
        created_from=f.created_from, created_to=f.created_to,
        buyer_id=global_id_of("User", f.buyer_id) if f.buyer_id else None,
        seller_id=global_id_of("User", f.seller_id) if f.seller_id else None)
    rows, total = await order_resolvers.orders_page(info.context, flt, before_id=req.after_id, limit=req.limit,
                                                    as_seller=f.as_seller)
    # The extra row only says a next page exists (`connection`): its relations aren't read.
    payments, addresses, buyers = await payment_resolvers.orders_relations(
        info.context, rows[: req.first], payments=selects(info, "payments"),
        addresses=selects(info, "shippingAddress"), buyers=selects(info, "buyer"))
    return connection([Order.from_domain(o).with_relations(payments, addresses, buyers) for o in rows],
                      [o.pk for o in rows], req, total)


async def address_create(info: strawberry.Info, input: AddressInput) -> AddressCreateResult:
    try:
        address = await order_resolvers.add_address(
            info.context, name=input.name, line1=input.line1, line2=input.line2, city=input.city,
            postal_code=input.postal_code, country=input.country)
    except PaymentsError as exc:
        return expected_error(exc)
    return Address.from_domain(address)


async def checkout(info: strawberry.Info, input: CheckoutInput | None = None) -> CheckoutResult:
    """Turn the caller's cart into an order and reserve its stock; with a provider, also open the
    order's payment there. A provider that refuses to open it gives the stock back (the order is
    canceled) and answers PaymentDeclined."""
    from gql.schema.payments import Payment  # the payments schema imports this module's Order

    input = input or CheckoutInput()
    address_gid = input.shipping_address_id
    try:
        address_id = global_id_of("Address", address_gid) if address_gid else None
        if address_gid and address_id is None:
            raise NotFoundError("address", address_gid)
        if input.provider is None:
            order = await order_resolvers.check_out(info.context, address_id)
            return CheckoutSuccess(order=Order.from_domain(order))
        if input.order_id is not None:
            order_id = global_id_of("Order", input.order_id)
            if order_id is None:
                raise NotFoundError("order", input.order_id)
            order, payment = await order_resolvers.resume_at_provider(
                info.context, order_id, input.provider, input.kind.value, input.return_url, input.cancel_url)
        else:
            order, payment = await order_resolvers.check_out_at_provider(
                info.context, address_id, input.provider, input.kind.value, input.return_url, input.cancel_url)
    except PaymentsError as exc:
        return expected_error(exc)
    return CheckoutSuccess(order=Order.from_domain(order), payment=Payment.from_domain(payment),
                           client_secret=payment.client_secret, redirect_url=payment.redirect_url,
                           publishable_key=order_resolvers.publishable_key(info.context, payment.provider))
