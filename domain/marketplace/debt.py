"""A seller's debt: money the platform lost after the seller's share left their hold.

A seller's debt is their `seller_available` balance below zero, in the journal where everyone
can see it: `seller_debt(...)` reads it, the next transfer keeps it back and payouts never pay it
out (domain/marketplace/transfers.py, payouts.py).

`LostDisputeDebts` is the disputes' `on_lost` seam (the default of `record_dispute`); `record_lost_dispute_debt`
books a debt for a loss the journal has not charged to the seller yet. A dispute
lost after the seller's share was released, transferred or paid out becomes the seller's debt.
"""
from __future__ import annotations

from datetime import datetime

from domain.disputes.model import Dispute
from domain.ledger import AccountKind, JournalEntry
from domain.ledger import accounts as acc
from domain.ledger.accounts import Side
from domain.ledger.clawbacks import seller_debt_entry
from domain.money import Money
from domain.payments.model import Payment
from domain.ports import UnitOfWork


async def seller_debt(uow: UnitOfWork, seller_id: int, code: str) -> Money:
    """What the seller owes the platform in `code` (zero when they owe nothing)."""
    available = await uow.market.balance(acc.seller_available(seller_id, code))
    return Money.of(max(-available.minor, 0), code)


async def record_lost_dispute_debt(uow: UnitOfWork, *, seller_id: int, amount: Money, dispute_id: str,
                                   now: datetime) -> bool:
    """Book a lost dispute's `amount` (the seller's part of it) against the seller, inside the
    caller's transaction (the payment locked). Idempotent per (dispute, seller): False when it
    was booked already. The provider took the money from the platform's balance, so provider
    clearing goes down and the seller's available balance with it, below zero if need be."""
    ref = f"dispute_lost:{dispute_id}:{seller_id}"
    return await uow.ledger.append(seller_debt_entry(seller_id, amount, ref, now))


class LostDisputeDebts:
    """The disputes' `on_lost` seam (domain/disputes/service.py `LostDisputes`), the default of
    `record_dispute`: runs in the dispute's transaction, the payment locked.

    One model, no double charge: the dispute's own `dispute` entry (domain/ledger/disputes.py)
    already took each seller's part out of their hold, and the part their hold no longer had
    (released, transferred or paid out) out of their available balance, below zero if need be,
    exactly as a refund after payout does. Lost, that negative balance is the seller's debt: the
    next transfer keeps it back and payouts never pay it out (transfers.py, payouts.py). Booking
    `record_lost_dispute_debt` on top would charge the seller twice, so this records who owes
    what in the audit trail (staff-visible), and books nothing more."""

    async def lost(self, dispute: Dispute, payment: Payment, taken: JournalEntry, uow: UnitOfWork,
                   now: datetime) -> None:
        from_available: dict[int, int] = {}
        for p in taken.postings:
            if p.account.kind is AccountKind.SELLER_AVAILABLE and p.side is Side.DEBIT:
                seller = p.account.seller_id
                from_available[seller] = from_available.get(seller, 0) + p.amount.minor
        for seller, minor in sorted(from_available.items()):
            owed = await seller_debt(uow, seller, _code(taken))
            await uow.audit.record(None, "seller.debt", "seller_debt", dispute.uuid, None,
                                   {"seller_id": seller, "lost": Money.of(minor, owed.code).decimal,
                                    "owed": owed.decimal, "currency": owed.code,
                                    "payment": payment.number}, now)


def _code(entry: JournalEntry) -> str:
    (code,) = entry.currencies
    return code
