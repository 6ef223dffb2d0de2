"""Staff's review of payments held by the risk checks: thin calls into domain/risk."""
from __future__ import annotations

from domain.payments.model import Payment
from domain.risk.model import Assessment
from domain.risk.service import approve_review, reject_review
from gql.resolvers.auth import require_actor


async def review(context, payment_id: int, approve: bool) -> Payment:
    actor = require_actor(context)  # the use case decides who may
    decide = approve_review if approve else reject_review
    return await decide(actor, payment_id, context.new_uow(), context.services.clock())


async def latest_assessment(context, payment: Payment) -> Assessment | None:
    """The payment's latest risk assessment, for staff; None for anyone else."""
    actor = context.actor
    if actor is None or not actor.is_staff:
        return None
    return await context.loaders.risk_by_payment.load(payment.pk)
