"""The repository the marketplace's use cases need, inside one unit of work (`uow.market`).

Locks follow db/uow.py's order: payment -> order -> ... -> the rest, and among the rest the
seller's connected account row, which serializes everything that spends a seller's balance
(transfers, claw-backs, payouts).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain.ledger import Account
from domain.marketplace.model import (
    ConnectedAccount,
    HoldRecord,
    PayoutRecord,
    ReversalRecord,
    TransferRecord,
)
from domain.money import Money


class MarketRepository(Protocol):
    # --- connected accounts ---
    async def account_of(self, seller_id: int, *, for_update: bool = False) -> ConnectedAccount | None: ...

    async def account_by_ref(self, provider: str, provider_ref: str) -> ConnectedAccount | None: ...

    async def add_account(self, account: ConnectedAccount) -> ConnectedAccount: ...

    async def save_account(self, account: ConnectedAccount) -> None: ...

    # --- deliveries and holds ---
    async def delivered(self, order_id: int) -> dict[int, datetime]:
        """seller id -> when that seller's lines of the order were delivered."""
        ...

    async def add_delivery(self, order_id: int, seller_id: int, at: datetime) -> bool: ...

    async def add_hold(self, hold: HoldRecord) -> None:
        """Insert unless the (payment, seller) hold exists."""
        ...

    async def add_holds(self, holds: Sequence[HoldRecord], hold_period: timedelta) -> None:
        """`add_hold` each of one order's new holds (not yet delivered), dated from the order's
        deliveries: a seller's lines delivered at `at` make `delivered_at` `at` and `releases_at`
        `holds.releases_at(at, captured_at, hold_period)`."""
        ...

    async def deliver_holds(self, order_id: int, seller_id: int, delivered_at: datetime,
                            releases_at: datetime) -> None:
        """Date the seller's holds of the order's payments that are still waiting for delivery."""
        ...

    async def holds_of_order(self, order_id: int) -> list[HoldRecord]: ...

    async def hold(self, payment_uuid: str, seller_id: int) -> HoldRecord | None: ...

    async def save_hold(self, hold: HoldRecord) -> None: ...

    async def claim_due_holds(self, now: datetime, limit: int) -> list[tuple[str, int]]:
        """(payment uuid, seller id) of held holds whose release date has passed, oldest first,
        their payments locked for this transaction (others' locks skipped)."""
        ...

    # --- transfers and reversals ---
    async def transfer_for(self, payment_uuid: str, seller_id: int) -> TransferRecord | None: ...

    async def transfer(self, transfer_uuid: UUID) -> TransferRecord | None: ...

    async def transfer_by_id(self, transfer_id: int) -> TransferRecord | None: ...

    async def transfer_by_ref(self, provider: str, provider_ref: str) -> TransferRecord | None: ...

    async def add_transfer(self, transfer: TransferRecord) -> TransferRecord: ...

    async def save_transfer(self, transfer: TransferRecord) -> None: ...

    async def unsent(self, older_than: datetime, limit: int) -> tuple[list[TransferRecord], list[PayoutRecord]]:
        """Transfers and payouts booked but never answered by the provider (no reference yet),
        untouched since `older_than`: the worker sends them again with their own keys."""
        ...

    async def payouts_in_transit(self, older_than: datetime, limit: int) -> list[PayoutRecord]:
        """Payouts the provider accepted and hasn't settled by `older_than` (by our books)."""
        ...

    async def unpaid_out_transfers(self, seller_id: int, currency: str) -> list[TransferRecord]: ...

    async def add_reversal(self, reversal: ReversalRecord) -> ReversalRecord: ...

    async def pending_reversals_of(self, transfer_id: int) -> Money | None: ...

    async def claim_pending_reversals(self, limit: int) -> list[ReversalRecord]: ...

    async def reversal(self, reversal_uuid: UUID) -> ReversalRecord | None: ...

    async def save_reversal(self, reversal: ReversalRecord) -> None: ...

    # --- payouts ---
    async def add_payout(self, payout: PayoutRecord) -> PayoutRecord: ...

    async def payout(self, payout_uuid: UUID, *, for_update: bool = False) -> PayoutRecord | None: ...

    async def payout_by_ref(self, provider: str, provider_ref: str) -> PayoutRecord | None: ...

    async def save_payout(self, payout: PayoutRecord) -> None: ...

    async def release_transfers(self, payout_id: int) -> None:
        """A failed payout's transfers are free to be paid out again."""
        ...

    # --- balances and reconciliation ---
    async def balance(self, account: Account) -> Money:
        """The ledger balance of one account, in its natural sign."""
        ...

    async def currencies_of(self, seller_id: int) -> set[str]:
        """Currencies the seller's connected account was ever credited in (by our ledger)."""
        ...

    async def accounts_to_reconcile(self, limit: int, now: datetime) -> list[ConnectedAccount]: ...

    async def record_difference(self, seller_id: int, currency: str, ours: int, theirs: int,
                                at: datetime) -> None: ...
