"""Releasing sellers' holds: a seller's share of a capture becomes available once its hold ends.

The hold ends HOLD_DAYS after the seller's lines are delivered (or when staff release it early):
holds have their own state (domain/marketplace/holds.py), so each pass reads the holds due and
nothing else. Safe with several workers at once: the holds' payments are locked FOR UPDATE SKIP
LOCKED on PostgreSQL (the one write transaction on SQLite); the payment row is the lock because a
refund settles under it and spends the same hold. A release re-reads the journal after the lock,
so a hold already released or refunded releases nothing.
"""
from __future__ import annotations

from datetime import datetime

from domain.marketplace import holds
from domain.payments.consequences import Policy
from domain.ports import UnitOfWork


async def release_due_holds(now: datetime, uow: UnitOfWork, policy: Policy, limit: int = 200) -> int:
    """Release every hold whose date has passed, at most `limit`; how many releases were booked."""
    return await holds.release_due_holds(now, uow, policy.hold_period, limit)
