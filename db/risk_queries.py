"""Read queries over risk assessments, for GraphQL's data loaders."""
from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from db.engine import Database
from db.risk import RiskAssessmentRow, assessment_from_row
from domain.risk.model import Assessment


async def latest_by_payment_ids(db: Database, payment_ids: Sequence[int]) -> dict[int, Assessment]:
    """Each payment's latest assessment, in one statement (for the GraphQL data loader)."""
    async with db.read_sessions() as session:
        rows = (await session.exec(select(RiskAssessmentRow)
                                   .where(col(RiskAssessmentRow.payment_id).in_(list(payment_ids)))
                                   .order_by(col(RiskAssessmentRow.id)))).all()
    return {row.payment_id: assessment_from_row(row) for row in rows}  # later rows win
