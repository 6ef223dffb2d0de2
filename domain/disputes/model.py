"""A dispute: a buyer's bank contesting a captured payment (a chargeback), or asking about it first
(an inquiry). Its status only moves forward; RANK is the one table of what may follow what.

    inquiry ──────────────────────────────────────────────┐   (no money moves: the bank only asks)
       │                                                  v
    opened -> evidence_due -> under_review -> won | lost | inquiry_closed
    (a chargeback:   (our answer     (answered; the
     money withheld)  is due by …)    bank decides)

A status of lower rank than the current one is stale news (a delayed `updated` after `closed`)
and is ignored, never applied; a final status is final.

Money: while a chargeback is open (opened, evidence due, under review) the provider holds the
disputed amount back, so it is taken from the payment's shares into the disputes account (the
ledger's `dispute` entry); won (or an inquiry closed after money was taken) gives it back, lost
moves it to chargebacks. `withheld` is what the shares gave, at most what was left to refund:
the payment's own `amount_disputed` counts it, so no refund can spend it twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from domain.money import Money
from domain.stored import stored


class DisputeStatus(StrEnum):
    INQUIRY = "inquiry"                # the bank asks; nothing is withheld (Stripe's warning_*)
    OPENED = "opened"                  # a chargeback; the deadline for our evidence not known yet
    EVIDENCE_DUE = "evidence_due"      # our evidence is due by `evidence_due_by` (needs_response)
    UNDER_REVIEW = "under_review"      # evidence submitted; the bank decides
    WON = "won"                        # decided for us: what was withheld comes back
    LOST = "lost"                      # decided for the buyer: what was withheld is gone
    INQUIRY_CLOSED = "inquiry_closed"  # an inquiry that never became a chargeback

    @property
    def final(self) -> bool:
        return self in FINAL

    @property
    def withholds(self) -> bool:
        """The provider holds the money back in this status (or, lost, for good)."""
        return self in (DisputeStatus.OPENED, DisputeStatus.EVIDENCE_DUE, DisputeStatus.UNDER_REVIEW,
                        DisputeStatus.LOST)


FINAL = frozenset({DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.INQUIRY_CLOSED})
RANK = {DisputeStatus.INQUIRY: 0, DisputeStatus.OPENED: 1, DisputeStatus.EVIDENCE_DUE: 2,
        DisputeStatus.UNDER_REVIEW: 3, DisputeStatus.WON: 4, DisputeStatus.LOST: 4,
        DisputeStatus.INQUIRY_CLOSED: 4}
assert set(RANK) == set(DisputeStatus)  # a new status needs its place


@dataclass(slots=True, kw_only=True)
class Dispute:
    id: int | None = None
    uuid: UUID
    payment_id: int
    provider: str
    provider_ref: str                # the provider's dispute id: unique per provider
    amount: Money                    # what the bank disputes
    status: DisputeStatus
    reason: str | None = None        # the bank's reason code, as the provider names it
    evidence_due_by: datetime | None = None
    withheld: Money                  # taken from the payment's shares while open or lost
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None

    def __post_init__(self) -> None:
        self.status = DisputeStatus(self.status)

    @property
    def pk(self) -> int:
        return stored("dispute id", self.id)

    @classmethod
    def new(cls, *, payment_id: int, provider: str, provider_ref: str, amount: Money, now: datetime) -> Dispute:
        # Born as an inquiry and moved by `advance` with the news's status, so the first news
        # goes through the same rules as every later one.
        return cls(uuid=uuid4(), payment_id=payment_id, provider=provider, provider_ref=provider_ref,
                   amount=amount, status=DisputeStatus.INQUIRY, withheld=Money.zero(amount.code),
                   created_at=now, updated_at=now)

    def advance(self, status: DisputeStatus, *, amount: Money, reason: str | None,
                evidence_due_by: datetime | None, now: datetime) -> str | None:
        """Apply the provider's news; why it changed nothing (stale or final), or None."""
        if self.status.final:
            return f"dispute {self.provider_ref} is {'already ' if status is self.status else ''}{self.status.value}"
        if RANK[status] < RANK[self.status]:
            return f"dispute {self.provider_ref} is {self.status.value}: {status.value} is stale news"
        before = (self.status, self.amount, self.reason, self.evidence_due_by)
        self.status = status
        self.amount = amount
        self.reason = reason or self.reason
        self.evidence_due_by = evidence_due_by or self.evidence_due_by
        if status.final:
            self.closed_at = now
        if (self.status, self.amount, self.reason, self.evidence_due_by) == before:
            return f"dispute {self.provider_ref} is already {status.value}"
        self.updated_at = now
        return None

    def snapshot(self) -> dict[str, object]:
        """What the audit trail keeps."""
        return {"status": self.status.value, "amount": self.amount.decimal, "currency": self.amount.code,
                "withheld": self.withheld.decimal, "reason": self.reason, "provider": self.provider,
                "provider_ref": self.provider_ref,
                "evidence_due_by": self.evidence_due_by.isoformat() if self.evidence_due_by else None}


@dataclass(frozen=True, slots=True)
class DisputeFilter:
    """Staff's filter of the disputes list."""

    statuses: tuple[DisputeStatus, ...] = ()
    payment_id: int | None = None
    provider: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
