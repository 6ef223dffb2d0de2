"""Releasing sellers' holds: a seller's share of a capture becomes available once its hold ends.

Each capture credits every seller's net share to `seller_held`; one release entry per
(capture, seller), `release:<payment uuid>:<seller id>`, moves what is still held to
`seller_available`. The holds themselves are derived from the journal (`domain.ledger.holds`).

The release date is the capture's time plus HOLD_DAYS, as CONTRACT.md defines HOLD_DAYS. STYLE.md
also waits for the order's delivery, but nothing records a delivery yet (`Order.delivered_at` is
never set), and waiting for it would hold every share forever. When deliveries are recorded,
pass `holds(..., release_dates={capture ref: max(capture + hold, delivered_at)})` here and make
`Ledger.due_captures` wait for the delivery too; an undelivered order's share then stays held.

Safe with several workers at once: `due_captures` locks the captures' payment rows (FOR UPDATE
SKIP LOCKED on PostgreSQL, the one write transaction on SQLite). The payment row is the lock
because a refund settles under it and spends the same hold: a release and a refund built from
the same view would both spend it. A worker that finds a payment locked skips it until its next
pass; one that gets the lock after another worker released re-reads the journal, finds nothing
held and appends nothing, so the (kind, ref) unique constraint is a last line of defence that
is never hit (a unique violation would abort the whole batch on PostgreSQL).
"""
from __future__ import annotations

from datetime import datetime

from domain.ledger import due_holds, holds, release_entry
from domain.payments.consequences import Policy
from domain.ports import UnitOfWork


async def release_due_holds(now: datetime, uow: UnitOfWork, policy: Policy, limit: int = 200) -> int:
    """Release every hold whose date has passed, for at most `limit` captures; how many released."""
    released = 0
    async with uow:
        for ref in await uow.ledger.due_captures(now - policy.hold_period, limit):
            family = await uow.ledger.family(ref)  # read after the lock: another worker's releases show
            for hold in due_holds(holds(family, hold_period=policy.hold_period), now):
                released += await uow.ledger.append(release_entry(hold, now))
        await uow.commit()
    return released
