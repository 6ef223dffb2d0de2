"""Ledger entries of a dispute (a chargeback): one builder per step, each balanced or nothing.

While a dispute is open the provider holds the disputed money back from us, so it is taken from
whoever the capture credited (each seller's share, out of the hold first and out of available
money once released; the platform's fee; for a payment of no order, the platform alone) into
the `disputes` account, in proportion to what is left of each part, exactly as a refund is
(entries.allocate). At the end it is given back the way it came (won), or moved to
`chargebacks` (lost): the sellers' parts stay taken, and a seller whose share was already paid
out is left with a negative available balance, a debt (see domain/disputes/service.py's
`LostDisputes` seam).

    dispute             Dr seller_held / seller_available / platform_fees   Cr disputes
                        Dr dispute_costs (what no part could cover: more was disputed than was
                        left to refund, the platform's loss)
    dispute_reinstated  the dispute entry reversed; a hold released meanwhile gets its part back
                        as available money (a hold is released once)
    dispute_lost        Dr disputes   Cr chargebacks

All three share the dispute's ref ("dispute:<uuid>") and follow the capture (parent_ref), so
`capture_view` sees what disputes took, and the database's unique (kind, ref) makes each step
happen once, however often the provider's news arrives.
"""
from __future__ import annotations

from datetime import datetime

from domain.errors import ValidationError
from domain.ledger import accounts as acc
from domain.ledger.accounts import Account, AccountKind, Side
from domain.ledger.balances import CaptureView
from domain.ledger.entries import allocate, take_from_shares
from domain.ledger.journal import EntryKind, JournalEntry, Posting, dispute_ref
from domain.money import Money


def dispute_entry(view: CaptureView, dispute_id: str, amount: Money, created_at: datetime, *,
                  share: Money | None = None) -> JournalEntry:
    """Take `amount` (what the provider withdrew) into `disputes`: `share` of it (by default, as
    much as is left to refund) from the capture's parts, the rest as the platform's cost."""
    if not isinstance(dispute_id, str) or not dispute_id.strip():
        raise ValidationError("a dispute id is a non-empty string", "dispute_id")
    if amount.code != view.gross.code:
        raise ValidationError(f"{view.ref} was captured in {view.gross.code}, not {amount.code}", "currency")
    code = amount.code
    taken = min(amount.minor, max(view.refundable.minor, 0), amount.minor if share is None else share.minor)
    weights = [s.refundable.minor for s in view.sellers] + [view.platform_fee_refundable.minor]
    postings = take_from_shares(view, allocate(taken, weights), code)
    if amount.minor - taken:
        postings.append(Posting.debit(acc.dispute_costs(code), Money.of(amount.minor - taken, code)))
    postings.append(Posting.credit(acc.disputes(code), amount))
    return JournalEntry.balanced(EntryKind.DISPUTE, dispute_ref(dispute_id), created_at, postings,
                                 parent_ref=view.ref)


def taken_from_shares(entry: JournalEntry) -> Money:
    """What a dispute entry took from the capture's parts (its total, less the platform's cost)."""
    (code,) = entry.currencies
    cost = sum(p.amount.minor for p in entry.postings if p.account.kind is AccountKind.DISPUTE_COSTS)
    return Money.of(entry.total(code).minor - cost, code)


def dispute_reinstated_entry(view: CaptureView, dispute: JournalEntry, created_at: datetime) -> JournalEntry:
    """Give a won dispute's money back where it was taken from."""
    if dispute.kind is not EntryKind.DISPUTE or dispute.parent_ref != view.ref:
        raise ValidationError(f"{dispute.kind} {dispute.ref} is not a dispute of {view.ref}", "ref")
    back: dict[tuple[Account, Side], int] = {}  # merged: held and available may both go to available
    for p in dispute.postings:
        account = p.account
        if account.kind is AccountKind.SELLER_HELD and view.seller(account.seller_id).released_at is not None:
            account = acc.seller_available(account.seller_id, account.currency)
        key = (account, p.side.opposite)
        back[key] = back.get(key, 0) + p.amount.minor
    postings = (Posting(account, Money.of(minor, account.currency), side) for (account, side), minor in back.items())
    return JournalEntry.balanced(EntryKind.DISPUTE_REINSTATED, dispute.ref, created_at, postings,
                                 parent_ref=view.ref)


def dispute_lost_entry(dispute: JournalEntry, created_at: datetime) -> JournalEntry:
    """A lost dispute: what the provider withdrew is gone for good."""
    if dispute.kind is not EntryKind.DISPUTE:
        raise ValidationError(f"{dispute.kind} {dispute.ref} is not a dispute", "ref")
    (code,) = dispute.currencies
    amount = dispute.total(code)
    return JournalEntry.balanced(
        EntryKind.DISPUTE_LOST, dispute.ref, created_at,
        (Posting.debit(acc.disputes(code), amount), Posting.credit(acc.chargebacks(code), amount)),
        parent_ref=dispute.parent_ref)
