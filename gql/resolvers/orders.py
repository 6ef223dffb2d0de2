"""Orders, addresses and checkout: thin calls into domain/ and db/'s read queries."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from db import order_queries
from domain.errors import PaymentDeclinedError
from domain.money import Money
from domain.orders import access
from domain.orders.access import OrderFilter
from domain.orders.cancel import CancelOrder, cancel_order
from domain.orders.model import Address, Order
from domain.orders.service import Checkout, CreateAddress, checkout, create_address
from domain.payments.checkout import OpenPayment, ResumePayment, open_payment, resume_payment
from domain.payments.model import Payment
from domain.payments.provider import Capability, CheckoutKind, check_page_urls
from domain.payments.status import PaymentStatus
from gql.resolvers.auth import require_actor


async def order(context, order_id: int) -> Order | None:
    actor = require_actor(context)
    found = await context.loaders.orders.load(order_id)
    return found if found and access.can_see(actor, found) else None


async def orders_page(context, flt: OrderFilter, *, before_id: int | None, limit: int,
                      as_seller: bool) -> tuple[list[Order], int]:
    actor = require_actor(context)
    return await order_queries.orders_page(context.db, access.scope_for(actor, as_seller=as_seller), flt,
                                           before_id=before_id, limit=limit)


async def address(context, address_id: int) -> Address | None:
    actor = require_actor(context)
    found = await context.loaders.addresses.load(address_id)
    return found if found and access.can_see_address(actor, found) else None


async def shipping_address(context, order: Order) -> Address | None:
    if order.shipping_address_id is None:
        return None
    return await context.loaders.addresses.load(order.shipping_address_id)


async def add_address(context, **fields) -> Address:
    actor = require_actor(context)  # the use case decides who may
    return await create_address(CreateAddress(actor=actor, **fields), context.new_uow())


async def check_out_at_provider(context, shipping_address_id: int | None, provider: str, kind: str,
                                return_url: str | None, cancel_url: str | None) -> tuple[Order, Payment]:
    """Check out, then open the order's payment at the provider. Refused there, the order is
    canceled at once (its stock back on sale) and the refusal answered as a decline."""
    actor = require_actor(context)  # the use case decides who may
    providers, policy = context.services.providers, context.services.policy
    providers.require(provider, Capability.CHECKOUT)  # before an order is made for nothing
    check_page_urls(CheckoutKind(kind), return_url, cancel_url)
    order = await check_out(context, shipping_address_id,
                            accepts=lambda total: providers.check_amount(provider, total))
    cmd = OpenPayment(actor, order.pk, provider, CheckoutKind(kind), return_url=return_url, cancel_url=cancel_url)
    payment = await open_payment(cmd, context.new_uow(), providers, policy)
    if payment.status is PaymentStatus.FAILED:
        await cancel_order(CancelOrder(actor, order.pk, f"{provider} refused to open the payment"),
                           context.new_uow(), providers, policy)
        raise PaymentDeclinedError(payment.decline_code or "declined", payment.decline_message or "")
    return order, payment


async def resume_at_provider(context, order_id: int, provider: str, kind: str, return_url: str | None,
                             cancel_url: str | None) -> tuple[Order, Payment]:
    actor = require_actor(context)  # the use case decides who may
    providers, policy = context.services.providers, context.services.policy
    cmd = ResumePayment(actor, order_id, provider, CheckoutKind(kind), return_url=return_url, cancel_url=cancel_url)
    payment = await resume_payment(cmd, context.new_uow(), providers, policy)
    if payment.status is PaymentStatus.FAILED:
        raise PaymentDeclinedError(payment.decline_code or "declined", payment.decline_message or "")
    return await context.loaders.orders.load(order_id), payment


def publishable_key(context, provider: str) -> str | None:
    # Public by design (Stripe's pk_…, Razorpay's key id go into every browser); the only provider
    # keys ever answered.
    public = context.services.providers.public_config(provider)
    return public.get("publishable_key") or public.get("key_id")


async def check_out(context, shipping_address_id: int | None,
                    accepts: Callable[[Money], None] | None = None) -> Order:
    actor = require_actor(context)  # the use case decides who may
    cmd = Checkout(actor=actor, shipping_address_id=shipping_address_id, now=datetime.now(UTC),
                   reservation=context.services.policy.reservation, accepts=accepts)
    return await checkout(cmd, context.new_uow())
