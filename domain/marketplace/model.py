"""Marketplace records: a seller's connected account, holds, transfers, reversals and payouts.

Each status only moves forward (`_FORWARD`): a provider's event twice or out of order changes a
record once and never backwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import InvalidStateError
from domain.money import Money
from domain.stored import stored


class HoldStatus(StrEnum):
    HELD = "held"          # waiting for delivery and HOLD_DAYS, or for staff
    RELEASED = "released"  # made available to the seller
    REFUNDED = "refunded"  # refunded in full before release: nothing left to release


class TransferStatus(StrEnum):
    PENDING = "pending"    # booked and sent; the provider's answer not known yet
    PAID = "paid"          # at the seller's connected account
    FAILED = "failed"      # refused by the provider: the money is available again
    REVERSED = "reversed"  # taken back in full (claw-back)


class ReversalStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PayoutStatus(StrEnum):
    PENDING = "pending"        # booked and sent to the provider
    IN_TRANSIT = "in_transit"  # the provider accepted it; the bank has not confirmed
    PAID = "paid"
    FAILED = "failed"          # the money is back on the connected account
    CANCELED = "canceled"      # likewise


_PAYOUT_FORWARD: dict[PayoutStatus, frozenset[PayoutStatus]] = {
    PayoutStatus.PENDING: frozenset({PayoutStatus.IN_TRANSIT, PayoutStatus.PAID, PayoutStatus.FAILED,
                                     PayoutStatus.CANCELED}),
    PayoutStatus.IN_TRANSIT: frozenset({PayoutStatus.PAID, PayoutStatus.FAILED, PayoutStatus.CANCELED}),
    PayoutStatus.PAID: frozenset({PayoutStatus.FAILED}),  # a bank may return a payout it received
    PayoutStatus.FAILED: frozenset(),
    PayoutStatus.CANCELED: frozenset(),
}


@dataclass(slots=True)
class ConnectedAccount:
    id: int | None
    uuid: UUID
    seller_id: int
    provider: str
    provider_ref: str | None  # None until the provider confirmed it (the call may be retried)
    country: str
    business_type: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements: tuple[str, ...]
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def pk(self) -> int:
        return stored("connected account id", self.id)

    @property
    def ready(self) -> bool:
        return self.provider_ref is not None and self.payouts_enabled


@dataclass(slots=True)
class HoldRecord:
    """One seller's share of one captured payment, with its own state (db: `market_holds`), so the
    release job reads the holds due and nothing else."""

    payment_uuid: str
    seller_id: int
    amount: Money
    status: HoldStatus
    captured_at: datetime
    delivered_at: datetime | None
    releases_at: datetime | None  # delivery + HOLD_DAYS; None until delivered
    released_at: datetime | None = None
    order_id: int | None = None


@dataclass(slots=True)
class TransferRecord:
    id: int | None
    uuid: UUID
    seller_id: int
    payment_uuid: str
    order_id: int | None
    amount: Money
    netted_debt: Money  # what the seller owed and this transfer kept back
    status: TransferStatus
    provider: str
    provider_ref: str | None
    transfer_group: str | None
    reversed: Money
    payout_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def pk(self) -> int:
        return stored("transfer id", self.id)


@dataclass(slots=True)
class ReversalRecord:
    id: int | None
    uuid: UUID
    transfer_id: int
    seller_id: int
    amount: Money
    status: ReversalStatus
    reason: str  # the refund's ref, or "debt"
    provider_ref: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class PayoutRecord:
    id: int | None
    uuid: UUID
    seller_id: int
    amount: Money
    status: PayoutStatus
    provider: str
    provider_ref: str | None
    description: str
    failure_code: str | None
    requested_by: int
    created_at: datetime
    updated_at: datetime
    transfer_ids: list[int] = field(default_factory=list)

    @property
    def pk(self) -> int:
        return stored("payout id", self.id)

    def move_to(self, target: PayoutStatus, now: datetime) -> bool:
        """False when already there or the move would go backwards (a late event): ignored."""
        if target is self.status or target not in _PAYOUT_FORWARD[self.status]:
            return False
        self.status = target
        self.updated_at = now
        return True

    def require_open(self) -> None:
        if self.status in (PayoutStatus.FAILED, PayoutStatus.CANCELED):
            raise InvalidStateError(f"payout {self.uuid} is {self.status}")
