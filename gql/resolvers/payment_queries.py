"""Reading payments, refunds, refund requests, the ledger, holds, the audit log and payment methods.

Thin: who may read what is decided in domain/ (payments.access) and by `require_actor`; the rows
come from db/'s read queries and the request's data loaders.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from db import market_queries, payment_queries
from db.payment_queries import AuditFilter, LedgerFilter
from domain.audit import AuditRecord
from domain.identity import Role
from domain.ledger import EntryKind, Hold, JournalEntry, holds
from domain.orders import access as order_access
from domain.orders.model import Address, Order
from domain.payments import Attempt, AttemptKind, Payment, access
from domain.payments.access import HoldFilter, PaymentFilter, RefundFilter, RefundRequestFilter
from domain.payments.refund_requests import RefundRequest
from domain.users import User
from gql.resolvers.auth import require_actor


async def payment(context, payment_id: int) -> Payment | None:
    """A payment the caller may see; None for one they may not, exactly as for a missing one."""
    require_actor(context)
    found = await context.loaders.payments.load(payment_id)
    return found if found and await _visible(context, found) else None


async def _visible(context, p: Payment) -> bool:
    order = await context.loaders.orders.load(p.order_id) if access.needs_order(context.actor, p) else None
    return access.can_see(context.actor, p, order)


async def payments_page(context, flt: PaymentFilter, *, before_id: int | None, limit: int,
                        as_seller: bool) -> tuple[list[Payment], int]:
    actor = require_actor(context)
    return await payment_queries.payments_page(context.db, access.scope_for(actor, as_seller=as_seller), flt,
                                               before_id=before_id, limit=limit)


def visible_order(context, found: Order | None) -> Order | None:
    """A payment's order as its `order` field answers it: None unless the caller may see it."""
    return found if found and order_access.can_see(context.actor, found) else None


async def payment_order(context, p: Payment) -> Order | None:
    return visible_order(context, await context.loaders.orders.load(p.order_id))


def may_see_buyer(context, p: Payment) -> bool:
    """The buyer's record is for the buyer and staff, as `User` nodes are; sellers get None."""
    actor = context.actor
    return actor is not None and (actor.user_id == p.buyer_id or actor.is_staff)


async def payment_buyer(context, p: Payment) -> User | None:
    return await context.loaders.users.load(p.buyer_id) if may_see_buyer(context, p) else None


async def page_relations(context, payments: list[Payment], *, orders: bool,
                         buyers: bool) -> tuple[dict[int, Order] | None, dict[int, User] | None]:
    """A page's orders (with lines) and buyers, read in one batch each and at once, instead of a
    loader call per payment (200 coroutines on a page of 100). Only the buyers the caller may
    see are read; the fields still decide visibility (`visible_order`, `may_see_buyer`)."""
    order_ids = sorted({p.order_id for p in payments if p.order_id is not None}) if orders else []
    buyer_ids = sorted({p.buyer_id for p in payments if may_see_buyer(context, p)}) if buyers else []
    found_orders, found_buyers = await payment_queries.orders_and_buyers(context.db, order_ids, buyer_ids)
    return found_orders if orders else None, found_buyers if buyers else None


async def order_payments(context, order: Order) -> list[Payment]:
    return visible_payments(context, order, await context.loaders.payments_by_order.load(order.id))


def visible_payments(context, order: Order, found: list[Payment]) -> list[Payment]:
    """An order's payments as its `payments` field answers them: those the caller may see."""
    return [p for p in found if access.can_see(context.actor, p, order)]


async def orders_relations(context, orders: list[Order], *, payments: bool, addresses: bool,
                           buyers: bool) -> tuple[dict[int, list[Payment]] | None, dict[int, Address] | None,
                                                  dict[int, User] | None]:
    """An orders page's payments, shipping addresses and (when its payments' buyers are selected)
    those buyers, in one batch each instead of a loader call per order. Visibility stays with the
    fields (`visible_payments`, `may_see_buyer`)."""
    order_ids = [o.pk for o in orders] if payments else []
    address_ids = sorted({o.shipping_address_id for o in orders if o.shipping_address_id is not None}) \
        if addresses else []
    found_payments, found_addresses = await payment_queries.payments_and_addresses(context.db, order_ids,
                                                                                   address_ids)
    found_buyers = None
    if payments and buyers:
        by_id = {o.pk: o for o in orders}
        buyer_ids = sorted({p.buyer_id for o_id, ps in found_payments.items()
                            for p in visible_payments(context, by_id[o_id], ps) if may_see_buyer(context, p)})
        found_buyers = (await payment_queries.orders_and_buyers(context.db, [], buyer_ids))[1]
    return (found_payments if payments else None, found_addresses if addresses else None, found_buyers)


async def refund(context, attempt_id: int) -> tuple[Payment, Attempt] | None:
    require_actor(context)
    found = await context.loaders.payments_by_refund.load(attempt_id)
    if found is None or not await _visible(context, found):
        return None
    attempt = next((a for a in found.attempts if a.id == attempt_id), None)
    return (found, attempt) if attempt and attempt.kind is AttemptKind.REFUND else None


async def refunds_page(context, flt: RefundFilter, *, before_id: int | None, limit: int,
                       as_seller: bool) -> tuple[list[tuple[Payment, Attempt]], int]:
    actor = require_actor(context)
    return await payment_queries.refunds_page(context.db, access.scope_for(actor, as_seller=as_seller), flt,
                                              before_id=before_id, limit=limit)


async def refund_request(context, request_id: int) -> RefundRequest | None:
    actor = require_actor(context)
    found = await context.loaders.refund_requests.load(request_id)
    return found if found and access.can_see_request(actor, found) else None


async def refund_requests_page(context, flt: RefundRequestFilter, *, before_id: int | None,
                               limit: int) -> tuple[list[RefundRequest], int]:
    """Staff see every request; anyone else the requests they made."""
    actor = require_actor(context)
    return await payment_queries.refund_requests_page(context.db, access.requests_scope(actor), flt,
                                                      before_id=before_id, limit=limit)


async def transactions_page(context, *, kinds: tuple[EntryKind, ...], created_from: datetime | None,
                            created_to: datetime | None, owner_id: int | None, ref: str | None,
                            before_id: int | None, limit: int) -> tuple[list[tuple[int, JournalEntry]], int]:
    require_actor(context, Role.STAFF, Role.ADMIN)
    flt = LedgerFilter(kinds=kinds, created_from=created_from, created_to=created_to, owner_id=owner_id, ref=ref)
    return await payment_queries.transactions_page(context.db, flt, before_id=before_id, limit=limit)


@dataclass(frozen=True, slots=True)
class HoldRow:
    cursor_id: int
    hold: Hold
    payment_id: int | None  # None only if the capture's payment is gone (it never is)
    releases_at: datetime | None  # the marketplace's: delivery + HOLD_DAYS, None until delivered


async def holds_page(context, flt: HoldFilter, *, before_id: int | None,
                     limit: int) -> tuple[list[HoldRow], int]:
    """A seller's own holds, or anyone's for staff; derived from the journal, never stored."""
    actor = require_actor(context, Role.SELLER, Role.STAFF, Role.ADMIN)
    page = await payment_queries.holds_page(context.db, access.holds_seller(actor), flt, before_id=before_id,
                                            limit=limit)
    period = context.services.policy.hold_period
    derived = {(h.capture_ref, h.seller_id): h for h in holds(page.entries, hold_period=period)}
    # The money comes from the journal; when it releases, from the marketplace's holds (delivery
    # plus HOLD_DAYS), so this field and seed 000's stripe/holds/ tell the same date.
    dates = await market_queries.release_dates(context.db, [h.payment_id for h in derived.values()])
    rows = []
    for key in page.keys:
        hold = derived[(key.capture_ref, key.seller_id)]
        at = dates.get((hold.payment_id, hold.seller_id), hold.releases_at)
        rows.append(HoldRow(key.posting_id, hold, page.payment_ids.get(hold.payment_id),
                            at))
    return rows, page.total


async def audit_page(context, *, actions: tuple[str, ...], object_type: str | None, object_id: str | None,
                     actor_id: int | None, created_from: datetime | None, created_to: datetime | None,
                     before_id: int | None, limit: int) -> tuple[list[tuple[int, AuditRecord]], int]:
    require_actor(context, Role.STAFF, Role.ADMIN)
    flt = AuditFilter(actions=actions, object_type=object_type, object_id=object_id, actor_id=actor_id,
                      created_from=created_from, created_to=created_to)
    return await payment_queries.audit_page(context.db, flt, before_id=before_id, limit=limit)


@dataclass(frozen=True, slots=True)
class PaymentMethodInfo:
    provider: str
    name: str
    kind: str
    capabilities: tuple[str, ...]
    public_config: tuple[tuple[str, str], ...]


# What a checkout page may show of each provider. Public values only, named one by one: a
# provider's secret keys live in the same settings, so nothing is copied from there wholesale.
_DUMMY_TEST_CARDS = (
    ("test_card.succeeds", "4242 4242 4242 4242"),
    ("test_card.requires_3ds", "4000 0025 0000 3155"),
    ("test_card.card_declined", "4000 0000 0000 0002"),
    ("test_card.insufficient_funds", "4000 0000 0000 9995"),
    ("test_payment_method.succeeds", "pm_card_visa"),
)
_METHODS: Mapping[str, tuple[str, str]] = {
    # provider -> (display name, kind); its public values come from the provider registry
    "dummy": ("Test card (dummy gateway)", "card"),
    "stripe": ("Card (Stripe)", "card"),
    "paypal": ("PayPal", "wallet"),
    "razorpay": ("Razorpay", "card"),
    "flutterwave": ("Flutterwave", "card"),
}


async def payment_methods(context) -> list[PaymentMethodInfo]:
    """The providers this process offers, with what a client needs to use them (never a secret)."""
    require_actor(context)
    providers = context.services.providers
    found = []
    for name in providers:
        provider = providers[name]
        display, kind = _METHODS.get(name, (name, "other"))
        config = sorted(providers.public_config(name).items())
        if name == "dummy":
            config += _DUMMY_TEST_CARDS
        found.append(PaymentMethodInfo(name, display, kind, tuple(sorted(c.value for c in provider.capabilities)),
                                       tuple(config)))
    return found
