"""Reading disputes: staff's alone (a chargeback names the buyer's bank's claim; the buyer and
the sellers learn of it elsewhere). Anyone else finds none, as if there were none."""
from __future__ import annotations

from db import dispute_queries
from domain.disputes.model import Dispute, DisputeFilter
from domain.identity import Role
from domain.payments import Payment
from gql.resolvers.auth import require_actor


async def disputes_page(context, flt: DisputeFilter, *, before_id: int | None,
                        limit: int) -> tuple[list[Dispute], int]:
    require_actor(context, Role.STAFF, Role.ADMIN)
    return await dispute_queries.disputes_page(context.db, flt, before_id=before_id, limit=limit)


async def dispute(context, dispute_id: int) -> Dispute | None:
    actor = require_actor(context)
    return await context.loaders.disputes.load(dispute_id) if actor.is_staff else None


async def payment_disputes(context, payment: Payment) -> list[Dispute]:
    actor = context.actor
    if actor is None or not actor.is_staff:
        return []
    return await context.loaders.disputes_by_payment.load(payment.pk)


async def dispute_payment(context, d: Dispute) -> Payment | None:
    return await context.loaders.payments.load(d.payment_id)
