"""Root Query fields reading payments, refunds, refund requests, the ledger, holds, the audit log
and payment methods, with their filter inputs; and the Node lookups of payments, refunds and
refund requests.

Lists are Relay connections, newest first, paged by keyset cursors like `orders`. A filter naming
an id of the wrong type matches nothing (after the caller's role is checked).
"""
from __future__ import annotations

from datetime import datetime

import strawberry

from domain.ledger import EntryKind
from domain.payments.access import HoldFilter, PaymentFilter, RefundFilter, RefundRequestFilter
from domain.payments.refund_requests import RequestStatus
from domain.payments.status import AttemptStatus, PaymentStatus
from gql.resolvers import payment_queries as resolvers
from gql.schema.ledger import AuditEntry, Hold, LedgerEntryKindEnum, LedgerTransaction, PaymentMethod
from gql.schema.payments import (
    AttemptStatusEnum,
    Payment,
    PaymentStatusEnum,
    Refund,
    RefundRequest,
    RefundRequestStatusEnum,
)
from gql.schema.relay import Connection, connection, global_id_of, page_request
from gql.schema.selection import selects

NO_ROW = 0  # no row has id 0: a filter naming an object of another type matches nothing


def _id(type_name: str, global_id: strawberry.ID | None) -> int | None:
    if global_id is None:
        return None
    legacy_id = global_id_of(type_name, global_id)
    return NO_ROW if legacy_id is None else legacy_id


@strawberry.input
class PaymentFilterInput:
    status: list[PaymentStatusEnum] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    buyer_id: strawberry.ID | None = strawberry.field(default=None, description="Staff only.")
    seller_id: strawberry.ID | None = None
    provider: str | None = None
    order_id: strawberry.ID | None = None
    as_seller: bool = strawberry.field(default=False, description="A seller who also buys: list sales.")


@strawberry.input
class RefundFilterInput:
    status: list[AttemptStatusEnum] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    buyer_id: strawberry.ID | None = strawberry.field(default=None, description="Staff only.")
    seller_id: strawberry.ID | None = None
    provider: str | None = None
    payment_id: strawberry.ID | None = None
    as_seller: bool = strawberry.field(default=False, description="A seller who also buys: list sales' refunds.")


@strawberry.input
class RefundRequestFilterInput:
    status: list[RefundRequestStatusEnum] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    payment_id: strawberry.ID | None = None


@strawberry.input
class LedgerTransactionFilterInput:
    kind: list[LedgerEntryKindEnum] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Entries touching an account of this user (a seller's, a buyer's refunds).")
    ref: str | None = strawberry.field(default=None, description="This entry and the entries following it up.")


@strawberry.input
class HoldFilterInput:
    seller_id: strawberry.ID | None = strawberry.field(default=None, description="Staff: one seller's holds.")
    created_from: datetime | None = strawberry.field(default=None, description="Captured at or after.")
    created_to: datetime | None = strawberry.field(default=None, description="Captured before.")


@strawberry.input
class AuditLogFilterInput:
    action: list[str] | None = strawberry.field(default=None, description='e.g. ["payment.create"]')
    object_type: str | None = None
    object_id: str | None = None
    actor_id: strawberry.ID | None = None
    created_from: datetime | None = strawberry.field(default=None, description="At or after.")
    created_to: datetime | None = strawberry.field(default=None, description="Before.")


async def resolve_payment(info: strawberry.Info, id: strawberry.ID) -> Payment | None:
    legacy_id = global_id_of("Payment", id)
    return await payment_node(info.context, legacy_id) if legacy_id is not None else None


async def resolve_payments(info: strawberry.Info, first: int | None = None, after: str | None = None,
                           filter: PaymentFilterInput | None = None) -> Connection[Payment]:
    req = page_request(first, after)
    f = filter or PaymentFilterInput()
    flt = PaymentFilter(
        statuses=tuple(PaymentStatus(s.value) for s in f.status or ()), created_from=f.created_from,
        created_to=f.created_to, buyer_id=_id("User", f.buyer_id), seller_id=_id("User", f.seller_id),
        provider=f.provider, order_id=_id("Order", f.order_id))
    rows, total = await resolvers.payments_page(info.context, flt, before_id=req.after_id, limit=req.limit,
                                                as_seller=f.as_seller)
    # The extra row only says a next page exists (`connection`): its relations aren't read.
    orders, buyers = await resolvers.page_relations(info.context, rows[: req.first], orders=selects(info, "order"),
                                                    buyers=selects(info, "buyer"))
    return connection([Payment.from_domain(p).with_relations(orders, buyers) for p in rows],
                      [p.pk for p in rows], req, total)


async def resolve_refunds(info: strawberry.Info, first: int | None = None, after: str | None = None,
                          filter: RefundFilterInput | None = None) -> Connection[Refund]:
    req = page_request(first, after)
    f = filter or RefundFilterInput()
    flt = RefundFilter(
        statuses=tuple(AttemptStatus(s.value) for s in f.status or ()), created_from=f.created_from,
        created_to=f.created_to, buyer_id=_id("User", f.buyer_id), seller_id=_id("User", f.seller_id),
        provider=f.provider, payment_id=_id("Payment", f.payment_id))
    rows, total = await resolvers.refunds_page(info.context, flt, before_id=req.after_id, limit=req.limit,
                                               as_seller=f.as_seller)
    return connection([Refund.from_domain(p, a) for p, a in rows], [a.pk for _, a in rows], req, total)


async def resolve_refund_requests(info: strawberry.Info, first: int | None = None, after: str | None = None,
                                  filter: RefundRequestFilterInput | None = None) -> Connection[RefundRequest]:
    req = page_request(first, after)
    f = filter or RefundRequestFilterInput()
    flt = RefundRequestFilter(statuses=tuple(RequestStatus(s.value) for s in f.status or ()),
                              created_from=f.created_from, created_to=f.created_to,
                              payment_id=_id("Payment", f.payment_id))
    rows, total = await resolvers.refund_requests_page(info.context, flt, before_id=req.after_id, limit=req.limit)
    return connection([RefundRequest.from_domain(r) for r in rows], [r.pk for r in rows], req, total)


async def resolve_transactions(info: strawberry.Info, first: int | None = None, after: str | None = None,
                               filter: LedgerTransactionFilterInput | None = None) -> Connection[LedgerTransaction]:
    req = page_request(first, after)
    f = filter or LedgerTransactionFilterInput()
    rows, total = await resolvers.transactions_page(
        info.context, kinds=tuple(EntryKind(k.value) for k in f.kind or ()), created_from=f.created_from,
        created_to=f.created_to, owner_id=_id("User", f.owner_id), ref=f.ref, before_id=req.after_id, limit=req.limit)
    return connection([LedgerTransaction.from_domain(i, e) for i, e in rows], [i for i, _ in rows], req, total)


async def resolve_holds(info: strawberry.Info, first: int | None = None, after: str | None = None,
                        filter: HoldFilterInput | None = None) -> Connection[Hold]:
    req = page_request(first, after)
    f = filter or HoldFilterInput()
    flt = HoldFilter(seller_id=_id("User", f.seller_id), created_from=f.created_from, created_to=f.created_to)
    rows, total = await resolvers.holds_page(info.context, flt, before_id=req.after_id, limit=req.limit)
    return connection([Hold.from_domain(r.hold, r.payment_id, r.releases_at) for r in rows], [r.cursor_id for r in rows],
                      req, total)


async def resolve_audit_log(info: strawberry.Info, first: int | None = None, after: str | None = None,
                            filter: AuditLogFilterInput | None = None) -> Connection[AuditEntry]:
    req = page_request(first, after)
    f = filter or AuditLogFilterInput()
    rows, total = await resolvers.audit_page(
        info.context, actions=tuple(f.action or ()), object_type=f.object_type, object_id=f.object_id,
        actor_id=_id("User", f.actor_id), created_from=f.created_from, created_to=f.created_to, before_id=req.after_id,
        limit=req.limit)
    return connection([AuditEntry.from_domain(i, r) for i, r in rows], [i for i, _ in rows], req, total)


async def resolve_payment_methods(info: strawberry.Info) -> list[PaymentMethod]:
    return [PaymentMethod.from_info(m) for m in await resolvers.payment_methods(info.context)]


async def payment_node(context, legacy_id: int) -> Payment | None:
    found = await resolvers.payment(context, legacy_id)
    return Payment.from_domain(found) if found else None


async def refund_node(context, legacy_id: int) -> Refund | None:
    found = await resolvers.refund(context, legacy_id)
    return Refund.from_domain(*found) if found else None


async def refund_request_node(context, legacy_id: int) -> RefundRequest | None:
    found = await resolvers.refund_request(context, legacy_id)
    return RefundRequest.from_domain(found) if found else None
