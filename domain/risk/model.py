"""Risk checks before money moves: the signals of one payment attempt, the rules' verdicts, and
the assessment stored with the payment.

Each rule (rules.py) gives a score and a reason; the scores add up, and the thresholds decide:

    total < review_score                 allow   the authorization is sent
    review_score <= total < block_score  review  nothing is sent; staff approve (the buyer then
                                                 pays again, and the approved assessment lets
                                                 it through) or reject (the payment is canceled)
    total >= block_score                 block   nothing is sent; RiskBlockedError

Thresholds come from settings (PAYGATE_RISK_*, paygate/settings.py); the counters the velocity and
card-testing rules read live in the shared store (RiskCounters: Redis when PAYGATE_REDIS_URL is
set, so every process sees the same velocity).
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID, uuid4

from domain.cards import CardInput
from domain.money import Money
from domain.stored import stored


class Decision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


class ReviewState(StrEnum):
    NONE = "none"          # allowed or blocked: nobody needs to look
    PENDING = "pending"    # waiting for staff
    APPROVED = "approved"  # staff let it through: the payment may be sent
    REJECTED = "rejected"  # staff refused it: the payment was canceled


@dataclass(frozen=True, slots=True)
class Thresholds:
    """PAYGATE_RISK_* settings."""

    window_s: int = 600                  # the window every velocity and card-testing count covers
    buyer_attempts: int = 1000           # attempts per buyer in the window before `velocity_buyer`
    card_attempts: int = 1000            # per card fingerprint
    address_attempts: int = 10000        # per client address
    velocity_score: int = 50
    amount_limits: Mapping[str, int] = field(default_factory=dict)  # currency -> max minor units
    amount_score: int = 60
    small_minor: int = 500               # a decline of at most this many minor units is "small"
    card_testing_declines: int = 5       # small declines of distinct cards in the window: card testing
    card_testing_score: int = 100
    country_mismatch_score: int = 30
    review_score: int = 50
    block_score: int = 100


@dataclass(frozen=True, slots=True)
class Signals:
    """What is known of one attempt before it is sent. No card data: the card's fingerprint is a
    keyed hash (card_fingerprint), never the number."""

    buyer_id: int
    amount: Money
    card_fingerprint: str | None = None
    client_address: str | None = None
    billing_country: str | None = None   # ISO 3166 alpha-2, as the buyer gave it
    card_country: str | None = None      # the card's issuing country, where known


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: str
    score: int
    reason: str


@dataclass(slots=True, kw_only=True)
class Assessment:
    id: int | None = None
    uuid: UUID = field(default_factory=uuid4)
    payment_id: int
    decision: Decision
    score: int
    verdicts: tuple[Verdict, ...]
    review: ReviewState
    created_at: datetime
    reviewed_by: int | None = None
    reviewed_at: datetime | None = None

    def __post_init__(self) -> None:
        self.decision = Decision(self.decision)
        self.review = ReviewState(self.review)

    @property
    def pk(self) -> int:
        return stored("risk assessment id", self.id)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(v.reason for v in self.verdicts if v.score > 0)

    def snapshot(self) -> dict[str, object]:
        return {"decision": self.decision.value, "score": self.score, "review": self.review.value,
                "verdicts": [{"rule": v.rule, "score": v.score, "reason": v.reason} for v in self.verdicts]}


def decide(verdicts: tuple[Verdict, ...], thresholds: Thresholds) -> tuple[Decision, int]:
    total = sum(v.score for v in verdicts)
    if total >= thresholds.block_score:
        return Decision.BLOCK, total
    if total >= thresholds.review_score:
        return Decision.REVIEW, total
    return Decision.ALLOW, total


def card_fingerprint(card: CardInput | None, payment_method: str | None, key: bytes) -> str | None:
    """The same card (or saved method) gives the same fingerprint; the number can't be read back
    from it (HMAC-SHA256 under the deployment's key, truncated)."""
    source = str(card.number) if card is not None else payment_method
    if not source:
        return None
    return hmac.new(key, source.encode(), hashlib.sha256).hexdigest()[:32]


class RiskCounters(Protocol):
    """Sliding-window counters shared by every process (paygate/risk_counters.py)."""

    async def hit(self, key: str, member: str, now: datetime, window_s: int) -> int:
        """Record `member` under `key` at `now`; answer how many distinct members the key holds
        within the window ending now."""
        ...

    async def count(self, key: str, now: datetime, window_s: int) -> int:
        """How many distinct members `key` holds within the window ending now."""
        ...
