"""Risk assessments in SQL (domain/risk): one row per screening, stored with its payment; the
latest one of a payment speaks for it. The verdicts are kept whole (rule, score, reason) as JSON."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.tables import partial
from db.write_batch import WriteBatch
from domain.risk.model import Assessment, Verdict


class RiskAssessmentRow(SQLModel, table=True):
    __tablename__ = "risk_assessments"
    __table_args__ = (
        CheckConstraint("decision IN ('allow','review','block')", name="ck_risk_assessments_decision"),
        CheckConstraint("review IN ('none','pending','approved','rejected')", name="ck_risk_assessments_review"),
        Index("ix_risk_assessments_payment", "payment_id", "id"),
        # A staff queue of the assessments waiting for review; most never do (review 'none').
        Index("ix_risk_assessments_review", "created_at", **partial("review = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    payment_id: int = Field(foreign_key="payments.id")
    decision: str = Field(max_length=8)
    score: int
    verdicts: list[dict[str, object]] = Field(sa_type=JSON)
    review: str = Field(max_length=10)
    reviewed_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    reviewed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


def assessment_from_row(row: RiskAssessmentRow) -> Assessment:
    return Assessment(id=row.id, uuid=UUID(row.uuid), payment_id=row.payment_id, decision=row.decision,
                      score=row.score, review=row.review, created_at=aware(row.created_at),
                      verdicts=tuple(Verdict(str(v["rule"]), int(str(v["score"])), str(v["reason"]))
                                     for v in row.verdicts),
                      reviewed_by=row.reviewed_by, reviewed_at=aware(row.reviewed_at) if row.reviewed_at else None)


_INSERT_ASSESSMENT = insert(RiskAssessmentRow.__table__)


class SqlRiskAssessments:
    def __init__(self, session: AsyncSession, batch: WriteBatch | None = None) -> None:
        self.session = session
        self.batch = batch or WriteBatch.at_once(session)

    async def add(self, assessment: Assessment) -> None:
        # One Core INSERT built once (issue 16: the ORM's flush cost more than the statement),
        # deferred: nothing in the creating transaction needs its id (a later read of assessments,
        # `latest`, sends the batch first), so on PostgreSQL it goes as a CTE of the next statement
        # (the authorization attempt's INSERT) instead of a round trip of its own.
        await self.batch.defer(_INSERT_ASSESSMENT, {
            "uuid": str(assessment.uuid), "payment_id": assessment.payment_id,
            "decision": assessment.decision.value, "score": assessment.score,
            "verdicts": [{"rule": v.rule, "score": v.score, "reason": v.reason} for v in assessment.verdicts],
            "review": assessment.review.value, "created_at": assessment.created_at})

    async def latest(self, payment_id: int) -> Assessment | None:
        row = (await self.session.exec(select(RiskAssessmentRow).where(RiskAssessmentRow.payment_id == payment_id)
                                       .order_by(col(RiskAssessmentRow.id).desc()).limit(1)
                                       .execution_options(populate_existing=True))).first()
        return assessment_from_row(row) if row is not None else None

    async def save(self, assessment: Assessment) -> None:
        row = (await self.session.exec(select(RiskAssessmentRow).where(RiskAssessmentRow.id == assessment.pk))).one()
        row.review = assessment.review.value
        row.reviewed_by = assessment.reviewed_by
        row.reviewed_at = assessment.reviewed_at
        self.session.add(row)
        await self.session.flush()

