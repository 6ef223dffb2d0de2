"""The double-entry ledger: pure, append-only, balanced by construction (STYLE.md §3).

  accounts   who a balance belongs to and which side it grows on
  journal    postings and entries; `(kind, ref)` is an entry's identity and idempotency key
  entries    one builder per money movement (capture, release, refund, transfer, payout, ...)
  disputes   a dispute's steps: funds taken into `disputes`, given back (won) or lost
  balances   balances, the trial balance, capture views and holds, all derived from entries

No storage and no clock here: the caller passes the time and persists what the builders return.
"""
from domain.ledger.accounts import Account, AccountClass, AccountKind, Owner, Side
from domain.ledger.balances import (
    CaptureView,
    Hold,
    SellerPosition,
    balance_of,
    balances,
    capture_view,
    capture_views,
    due_holds,
    holds,
    trial_balance,
)
from domain.ledger.disputes import (
    dispute_entry,
    dispute_lost_entry,
    dispute_reinstated_entry,
    taken_from_shares,
)
from domain.ledger.entries import (
    Capture,
    Payout,
    PayoutSource,
    SellerShare,
    Transfer,
    allocate,
    capture_entry,
    direct_capture_entry,
    payout_entry,
    payout_failure_entry,
    payout_paid_entry,
    provider_fee_entry,
    refund_entry,
    refund_failure_entry,
    release_entry,
    transfer_entry,
)
from domain.ledger.journal import (
    EntryKind,
    JournalEntry,
    Posting,
    capture_ref,
    dispute_ref,
    payment_id_of,
    payout_ref,
    refund_ref,
    release_ref,
    transfer_ref,
)

__all__ = [
    "Account",
    "AccountClass",
    "AccountKind",
    "Capture",
    "CaptureView",
    "EntryKind",
    "Hold",
    "JournalEntry",
    "Owner",
    "Payout",
    "PayoutSource",
    "Posting",
    "SellerPosition",
    "SellerShare",
    "Side",
    "Transfer",
    "allocate",
    "balance_of",
    "balances",
    "capture_entry",
    "capture_ref",
    "capture_view",
    "capture_views",
    "direct_capture_entry",
    "dispute_entry",
    "dispute_lost_entry",
    "dispute_ref",
    "dispute_reinstated_entry",
    "due_holds",
    "holds",
    "payment_id_of",
    "payout_entry",
    "payout_failure_entry",
    "payout_paid_entry",
    "payout_ref",
    "provider_fee_entry",
    "refund_entry",
    "refund_failure_entry",
    "refund_ref",
    "release_entry",
    "release_ref",
    "taken_from_shares",
    "transfer_entry",
    "transfer_ref",
    "trial_balance",
]
