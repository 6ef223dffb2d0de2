"""A seller's debt: money the platform lost after the seller's share left their hold.

A seller's debt is their `seller_available` balance below zero, in the journal where everyone
can see it: `seller_debt(...)` reads it, the next transfer keeps it back and payouts never pay it
out (domain/marketplace/transfers.py, payouts.py).

`record_lost_dispute_debt` is the entry point for the disputes work (branch `risk`): a dispute
lost after the seller's share was released, transferred or paid out becomes the seller's debt.
"""
from __future__ import annotations

from datetime import datetime

from domain.ledger import accounts as acc
from domain.ledger.clawbacks import seller_debt_entry
from domain.money import Money
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
