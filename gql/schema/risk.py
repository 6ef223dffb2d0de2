"""The risk checks on GraphQL: a payment's latest assessment (staff), and staff's review mutations."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry

from domain.risk.model import Assessment as DomainAssessment
from domain.risk.model import Decision, ReviewState

if TYPE_CHECKING:
    RiskDecisionEnum = Decision
    RiskReviewStateEnum = ReviewState
else:
    RiskDecisionEnum = strawberry.enum(Enum("RiskDecision", {m.name: m.value for m in Decision}),
                                       description="What the risk checks decided before the provider was asked.")
    RiskReviewStateEnum = strawberry.enum(Enum("RiskReviewState", {m.name: m.value for m in ReviewState}),
                                          description="Staff's review of a payment the risk checks held.")


@strawberry.type(description="One rule's verdict: its score and why.")
class RiskVerdict:
    rule: str
    score: int
    reason: str


@strawberry.type(description="The risk checks' assessment of a payment, before its authorization was sent.")
class RiskAssessment:
    decision: RiskDecisionEnum
    score: int
    review: RiskReviewStateEnum
    verdicts: list[RiskVerdict]
    created_at: datetime
    reviewed_at: datetime | None

    @classmethod
    def from_domain(cls, a: DomainAssessment) -> RiskAssessment:
        return cls(decision=RiskDecisionEnum(a.decision.value), score=a.score,
                   review=RiskReviewStateEnum(a.review.value),
                   verdicts=[RiskVerdict(rule=v.rule, score=v.score, reason=v.reason) for v in a.verdicts],
                   created_at=a.created_at, reviewed_at=a.reviewed_at)


@strawberry.input
class RiskReviewInput:
    payment_id: strawberry.ID
