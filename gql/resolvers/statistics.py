"""Staff's reads: payment statistics and the email outbox. Staff and admins only."""
from __future__ import annotations

from db.outbox_queries import OutboxEntry, outbox_page
from db.statistics_queries import payment_statistics
from domain.identity import Role
from domain.payments.statistics import Bucket, CurrencyStatistics, StatisticsFilter
from gql.resolvers.auth import require_actor


async def statistics(context, flt: StatisticsFilter, bucket: Bucket) -> list[CurrencyStatistics]:
    require_actor(context, Role.STAFF, Role.ADMIN)
    return await payment_statistics(context.db, flt, bucket)


async def outbox(context, *, status: str | None, before_id: int | None, limit: int) -> tuple[list[OutboxEntry], int]:
    require_actor(context, Role.STAFF, Role.ADMIN)
    return await outbox_page(context.db, status=status, before_id=before_id, limit=limit)
