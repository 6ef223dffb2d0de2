"""Disputes (chargebacks and inquiries) as staff see them: the `disputes` connection, the `Dispute`
node, and `Payment.disputes`."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.disputes.model import Dispute as DomainDispute
from domain.disputes.model import DisputeFilter, DisputeStatus
from gql.resolvers import disputes as resolvers
from gql.schema.money import Money
from gql.schema.relay import Connection, Node, connection, global_id_of, page_request, to_global_id

if TYPE_CHECKING:
    from gql.schema.payments import Payment

    DisputeStatusEnum = DisputeStatus
else:
    DisputeStatusEnum = strawberry.enum(
        Enum("DisputeStatus", {m.name: m.value for m in DisputeStatus}),
        description="Where a dispute stands; it never moves back. Money is withheld from the payment's "
                    "shares while opened, evidence due or under review, given back when won, gone when lost.")

NO_ROW = 0


@strawberry.type(description="A buyer's bank contesting a captured payment (a chargeback), or asking about "
                             "it first (an inquiry). Staff only.")
class Dispute(Node):
    legacy_id: int
    uuid: str
    payment_id: strawberry.ID
    provider: str
    provider_ref: str = strawberry.field(description="The provider's id of the dispute.")
    status: DisputeStatusEnum
    amount: Money = strawberry.field(description="What the bank disputes.")
    withheld: Money = strawberry.field(description="What was taken from the payment's shares for it.")
    reason: str | None
    evidence_due_by: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    domain: strawberry.Private[DomainDispute]

    @strawberry.field(description="The disputed payment.")
    async def payment(self, info: strawberry.Info) -> Annotated[Payment, strawberry.lazy("gql.schema.payments")] | None:
        from gql.schema.payments import Payment

        found = await resolvers.dispute_payment(info.context, self.domain)
        return Payment.from_domain(found) if found else None

    @classmethod
    def from_domain(cls, d: DomainDispute) -> Dispute:
        return cls(id=strawberry.ID(to_global_id("Dispute", d.pk)), legacy_id=d.pk, uuid=str(d.uuid),
                   payment_id=strawberry.ID(to_global_id("Payment", d.payment_id)), provider=d.provider,
                   provider_ref=d.provider_ref, status=DisputeStatusEnum(d.status.value),
                   amount=Money.from_domain(d.amount), withheld=Money.from_domain(d.withheld), reason=d.reason,
                   evidence_due_by=d.evidence_due_by, created_at=d.created_at, updated_at=d.updated_at,
                   closed_at=d.closed_at, domain=d)


@strawberry.input
class DisputeFilterInput:
    status: list[DisputeStatusEnum] | None = None
    payment_id: strawberry.ID | None = None
    provider: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def resolve_disputes(info: strawberry.Info, first: int | None = None, after: str | None = None,
                           filter: DisputeFilterInput | None = None) -> Connection[Dispute]:
    req = page_request(first, after)
    f = filter or DisputeFilterInput()
    payment_id = None if f.payment_id is None else (global_id_of("Payment", f.payment_id) or NO_ROW)
    flt = DisputeFilter(statuses=tuple(DisputeStatus(s.value) for s in f.status or ()), payment_id=payment_id,
                        provider=f.provider, created_from=f.created_from, created_to=f.created_to)
    rows, total = await resolvers.disputes_page(info.context, flt, before_id=req.after_id, limit=req.limit)
    return connection([Dispute.from_domain(d) for d in rows], [d.pk for d in rows], req, total)


async def dispute_node(context, legacy_id: int) -> Dispute | None:
    found = await resolvers.dispute(context, legacy_id)
    return Dispute.from_domain(found) if found else None
