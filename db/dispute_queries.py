"""Read queries over disputes: a page (newest first, keyset), and batches by id and by payment for
the request's data loaders; each a constant number of statements."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select

from db.dispute_tables import DisputeRow
from db.disputes import dispute_from_row
from db.engine import Database
from domain.disputes.model import Dispute, DisputeFilter


async def disputes_page(db: Database, flt: DisputeFilter, *, before_id: int | None,
                        limit: int) -> tuple[list[Dispute], int]:
    where = []
    if flt.statuses:
        where.append(col(DisputeRow.status).in_([s.value for s in flt.statuses]))
    if flt.payment_id is not None:
        where.append(DisputeRow.payment_id == flt.payment_id)
    if flt.provider is not None:
        where.append(DisputeRow.provider == flt.provider)
    if flt.created_from is not None:
        where.append(DisputeRow.created_at >= flt.created_from)
    if flt.created_to is not None:
        where.append(DisputeRow.created_at < flt.created_to)
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(DisputeRow).where(*where))).one()
        query = select(DisputeRow).where(*where)
        if before_id is not None:
            query = query.where(col(DisputeRow.id) < before_id)
        rows = (await session.exec(query.order_by(col(DisputeRow.id).desc()).limit(limit))).all()
        return [dispute_from_row(r) for r in rows], total


async def disputes_by_ids(db: Database, ids: Sequence[int]) -> dict[int, Dispute]:
    async with db.read_sessions() as session:
        rows = (await session.exec(select(DisputeRow).where(col(DisputeRow.id).in_(list(ids))))).all()
        return {d.pk: d for d in map(dispute_from_row, rows)}


async def disputes_by_payment_ids(db: Database, payment_ids: Sequence[int]) -> dict[int, list[Dispute]]:
    """Each payment's disputes, oldest first."""
    async with db.read_sessions() as session:
        rows = (await session.exec(select(DisputeRow).where(col(DisputeRow.payment_id).in_(list(payment_ids)))
                                   .order_by(col(DisputeRow.id)))).all()
    found: dict[int, list[Dispute]] = {}
    for row in rows:
        found.setdefault(row.payment_id, []).append(dispute_from_row(row))
    return found
