"""The root types: Query and Mutation (CONTRACT.md, GraphQL)."""
from __future__ import annotations

import strawberry

from domain.errors import NotFoundError, PaymentsError
from gql.resolvers import catalog as catalog_resolvers
from gql.resolvers import orders as order_resolvers
from gql.resolvers import users as user_resolvers
from gql.schema import (
    billing,
    jobs,
    market_fields,
    orders,
    outgoing_webhooks,
    payment_mutations,
    payment_queries,
    statistics,
)
from gql.schema.catalog import Cart, CartSetItemInput, CartSetItemResult, Product
from gql.schema.errors import expected_error
from gql.schema.relay import Connection, Node, connection, from_global_id, global_id_of, page_request
from gql.schema.users import User


@strawberry.type
class Query:
    @strawberry.field(description="The caller.")
    async def me(self, info: strawberry.Info) -> User | None:
        user = await user_resolvers.me(info.context)
        return User.from_domain(user) if user else None

    @strawberry.field(description="Any object by its global id, if the caller may see it.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        type_name, legacy_id = from_global_id(id)
        resolve = NODE_RESOLVERS.get(type_name)
        return await resolve(info.context, legacy_id) if resolve and legacy_id is not None else None

    @strawberry.field(description="Products for sale, by ascending id.")
    async def products(self, info: strawberry.Info, first: int | None = None, after: str | None = None,
                       seller_id: strawberry.ID | None = None, currency: str | None = None,
                       in_stock: bool | None = None) -> Connection[Product]:
        req = page_request(first, after)
        seller = global_id_of("User", seller_id) if seller_id is not None else None
        if seller_id is not None and seller is None:
            return connection([], [], req, 0)
        rows, total = await catalog_resolvers.products_page(
            info.context, after_id=req.after_id, limit=req.limit, seller_id=seller, currency=currency,
            in_stock=in_stock)
        return connection([Product.from_domain(p) for p in rows], [p.id for p in rows], req, total)

    @strawberry.field(description="The caller's cart.")
    async def cart(self, info: strawberry.Info) -> Cart:
        return Cart.from_domain(await catalog_resolvers.cart(info.context))

    order = strawberry.field(resolver=orders.resolve_order)
    orders = strawberry.field(resolver=orders.resolve_orders)
    payment = strawberry.field(resolver=payment_queries.resolve_payment,
                               description="A payment by its global id; null when missing or not the caller's to see.")
    payments = strawberry.field(resolver=payment_queries.resolve_payments,
                                description="Payments, newest first: a buyer's own, a seller's sales, all for staff.")
    refunds = strawberry.field(resolver=payment_queries.resolve_refunds,
                               description="Refunds (refund attempts), newest first, seen as their payments are.")
    refund_requests = strawberry.field(resolver=payment_queries.resolve_refund_requests,
                                       description="Refund requests, newest first: the caller's own; all for staff.")
    transactions = strawberry.field(resolver=payment_queries.resolve_transactions,
                                    description="Ledger journal entries with their postings, newest first. Staff only.")
    holds = strawberry.field(
        resolver=payment_queries.resolve_holds,
        description="Sellers' held shares of captures, newest first: a seller's own; all for staff.")
    payment_methods = strawberry.field(resolver=payment_queries.resolve_payment_methods,
                                       description="The ways to pay offered to the caller, with public configuration.")
    audit_log = strawberry.field(resolver=payment_queries.resolve_audit_log,
                                 description="Every recorded change, newest first. Staff only.")
    billing_subscriptions = strawberry.field(
        resolver=billing.resolve_billing_subscriptions,
        description="Billing subscriptions, newest first: the caller's own; all for staff.")
    payment_statistics = strawberry.field(
        resolver=statistics.resolve_payment_statistics,
        description="Volumes, success rates, revenue over time and refund rate, per currency. Staff only.")
    email_outbox = strawberry.field(
        resolver=statistics.resolve_email_outbox,
        description="Emails to customers and admins, newest first: sent, waiting or failed. Staff only.")
    background_jobs = strawberry.field(
        resolver=jobs.resolve_background_jobs,
        description="Background jobs (periodic runs and deferred jobs), newest first. Staff only.")
    webhook_endpoints = strawberry.field(resolver=outgoing_webhooks.resolve_webhook_endpoints,
                                         description="Merchants' webhook endpoints, newest first. Admins only.")
    webhook_deliveries = strawberry.field(
        resolver=outgoing_webhooks.resolve_webhook_deliveries,
        description="Webhook deliveries with their attempts (the delivery log), newest first. Admins only.")
    webhook_event_types = strawberry.field(resolver=outgoing_webhooks.resolve_webhook_event_types,
                                           description="The event types an endpoint may subscribe to.")
    connected_account = strawberry.field(resolver=market_fields.resolve_connected_account)
    transfers = strawberry.field(resolver=market_fields.resolve_transfers)
    payout = strawberry.field(resolver=market_fields.resolve_payout)
    payouts = strawberry.field(resolver=market_fields.resolve_payouts)
    marketplace_report = strawberry.field(resolver=market_fields.resolve_marketplace_report)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Set the quantity of one product in the caller's cart (0 removes it).")
    async def cart_set_item(self, info: strawberry.Info, input: CartSetItemInput) -> CartSetItemResult:
        product_id = global_id_of("Product", input.product_id)
        try:
            if product_id is None:
                raise NotFoundError("product", input.product_id)
            cart = await catalog_resolvers.cart_set_item(info.context, product_id, input.quantity)
        except PaymentsError as exc:
            return expected_error(exc)
        return Cart.from_domain(cart)

    address_create = strawberry.mutation(resolver=orders.address_create, description="Save a shipping address.")
    checkout = strawberry.mutation(resolver=orders.checkout)
    process_payment = strawberry.mutation(resolver=payment_mutations.process_payment)
    payment_confirm = strawberry.mutation(resolver=payment_mutations.payment_confirm)
    payment_complete = strawberry.mutation(resolver=payment_mutations.payment_complete)
    capture = strawberry.mutation(resolver=payment_mutations.capture)
    cancel = strawberry.mutation(resolver=payment_mutations.cancel)
    refund = strawberry.mutation(resolver=payment_mutations.refund)
    refund_request = strawberry.mutation(resolver=payment_mutations.refund_request)
    refund_request_approve = strawberry.mutation(resolver=payment_mutations.refund_request_approve)
    refund_request_reject = strawberry.mutation(resolver=payment_mutations.refund_request_reject)
    customer_create = strawberry.mutation(resolver=billing.customer_create)
    billing_subscription_create = strawberry.mutation(resolver=billing.billing_subscription_create)
    billing_subscription_cancel = strawberry.mutation(resolver=billing.billing_subscription_cancel)
    webhook_endpoint_create = strawberry.mutation(resolver=outgoing_webhooks.webhook_endpoint_create)
    webhook_endpoint_update = strawberry.mutation(resolver=outgoing_webhooks.webhook_endpoint_update)
    webhook_endpoint_disable = strawberry.mutation(resolver=outgoing_webhooks.webhook_endpoint_disable)
    webhook_endpoint_enable = strawberry.mutation(resolver=outgoing_webhooks.webhook_endpoint_enable)
    webhook_endpoint_rotate_secret = strawberry.mutation(resolver=outgoing_webhooks.webhook_endpoint_rotate_secret)
    webhook_endpoint_delete = strawberry.mutation(resolver=outgoing_webhooks.webhook_endpoint_delete)
    webhook_delivery_retry = strawberry.mutation(resolver=outgoing_webhooks.webhook_delivery_retry)
    connected_account_create = strawberry.mutation(resolver=market_fields.connected_account_create)
    onboarding_session_create = strawberry.mutation(resolver=market_fields.onboarding_session_create)
    transfer = strawberry.mutation(resolver=market_fields.transfer)
    payout = strawberry.mutation(resolver=market_fields.payout)
    order_mark_delivered = strawberry.mutation(resolver=market_fields.order_mark_delivered)
    hold_release = strawberry.mutation(resolver=market_fields.hold_release)


async def _product_node(context, legacy_id: int) -> Product | None:
    product = await catalog_resolvers.product(context, legacy_id)
    return Product.from_domain(product) if product and product.active else None


async def _user_node(context, legacy_id: int) -> User | None:
    user = await user_resolvers.user(context, legacy_id)
    return User.from_domain(user) if user else None


async def _cart_node(context, legacy_id: int) -> Cart | None:
    if context.actor is None or context.actor.user_id != legacy_id:
        return None
    return Cart.from_domain(await catalog_resolvers.cart(context))


async def _address_node(context, legacy_id: int) -> orders.Address | None:
    found = await order_resolvers.address(context, legacy_id)
    return orders.Address.from_domain(found) if found else None


async def _order_node(context, legacy_id: int) -> orders.Order | None:
    found = await order_resolvers.order(context, legacy_id)
    return orders.Order.from_domain(found) if found else None


NODE_RESOLVERS = {"Product": _product_node, "User": _user_node, "Cart": _cart_node, "Address": _address_node,
                  "Order": _order_node,
                  "Payment": payment_queries.payment_node, "Refund": payment_queries.refund_node,
                  "RefundRequest": payment_queries.refund_request_node,
                  "BillingSubscription": billing.subscription_node, "BillingCustomer": billing.customer_node,
                  "WebhookEndpoint": outgoing_webhooks.endpoint_node,
                  "WebhookDelivery": outgoing_webhooks.delivery_node,
                  "Payout": market_fields.payout_node, "Transfer": market_fields.transfer_node}
