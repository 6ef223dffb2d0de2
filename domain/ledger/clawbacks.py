"""Builders for money coming back from a seller: transfer reversals, failed transfers, debts.

  transfer_reversal  Dr seller_transferred   Cr seller_available   (claw-back, or a failed transfer)
  seller_debt        Dr seller_available     Cr provider_clearing  (a lost dispute after release)

A claw-back is booked when it is asked for (reserving the money on the connected account, so a
payout can't spend it) and undone with `.reversal(...)` if the provider refuses it. A seller's
available balance below zero is their debt to the platform: the next transfer keeps it back
(domain/marketplace/transfers.py) and payouts never pay it out.
"""
from __future__ import annotations

from datetime import datetime

from domain.errors import InvalidAmountError
from domain.ledger import accounts as acc
from domain.ledger.journal import EntryKind, JournalEntry, Posting
from domain.money import Money


def _positive(amount: Money) -> None:
    if amount.minor <= 0:
        raise InvalidAmountError(f"a claw-back moves a positive amount, got {amount}")


def transfer_reversal_entry(seller_id: int, amount: Money, ref: str, created_at: datetime) -> JournalEntry:
    """Money back from the seller's connected account to what we owe them (or they owe us)."""
    _positive(amount)
    return JournalEntry.balanced(
        EntryKind.TRANSFER_REVERSAL, ref, created_at,
        (Posting.debit(acc.seller_transferred(seller_id, amount.code), amount),
         Posting.credit(acc.seller_available(seller_id, amount.code), amount)))


def seller_debt_entry(seller_id: int, amount: Money, ref: str, created_at: datetime,
                      parent_ref: str | None = None) -> JournalEntry:
    """The provider took `amount` back from the platform (a chargeback lost after the seller's
    share was released): the seller's available balance carries it, below zero if need be."""
    _positive(amount)
    return JournalEntry.balanced(
        EntryKind.SELLER_DEBT, ref, created_at,
        (Posting.debit(acc.seller_available(seller_id, amount.code), amount),
         Posting.credit(acc.provider_clearing(amount.code), amount)), parent_ref=parent_ref)
