"""One builder per money movement; each returns a single balanced JournalEntry or raises.

Builders are pure: they take small frozen inputs (or a view derived from the journal) and the
time, and decide nothing about storage. Who may do what, and locking the payment while a refund
or release is built from its view, is the calling use case's job.

Money flows (Dr = debit, Cr = credit):

  capture          Dr provider_clearing (gross)   Cr seller_held (each seller's net)
                   Dr provider_fees (fee)         Cr platform_fees (sum of fees)
                                                  Cr provider_clearing (provider fee)
  direct capture   Dr provider_clearing           Cr platform_fees (no order: all the platform's)
  provider_fee     Dr provider_fees               Cr provider_clearing
  release          Dr seller_held                 Cr seller_available
  refund           Dr seller_held / available     Cr customer_refunds
                   Dr platform_fees
  transfer         Dr seller_available            Cr seller_transferred
  payout           Dr seller_transferred|avail.   Cr payouts_in_transit
  payout_paid      Dr payouts_in_transit          Cr payouts_paid
  payout_failed    Dr payouts_in_transit          Cr the payout's source
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import (
    InvalidAmountError,
    InvalidStateError,
    RefundExceedsCapturedError,
    UnbalancedEntryError,
    ValidationError,
)
from domain.ledger import accounts as acc
from domain.ledger.accounts import Account, AccountKind, Side
from domain.ledger.balances import CaptureView, Hold
from domain.ledger.journal import (
    EntryKind,
    JournalEntry,
    Posting,
    capture_ref,
    payout_ref,
    refund_ref,
    release_ref,
    transfer_ref,
)
from domain.money import Money

MAX_BPS = 10_000


def _positive(amount: Money, what: str) -> None:
    if not isinstance(amount, Money) or amount.minor <= 0:
        raise InvalidAmountError(f"{what} must be a positive amount, got {amount!r}")


def _identifier(value: str, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string", field)


def _seller(seller_id: int) -> None:
    if type(seller_id) is not int or seller_id <= 0:
        raise ValidationError(f"seller id must be a positive int, got {seller_id!r}", "seller_id")


@dataclass(frozen=True, slots=True)
class SellerShare:
    """What the buyer paid for one seller's lines of an order, before the platform's fee."""

    seller_id: int
    gross: Money

    def __post_init__(self) -> None:
        _seller(self.seller_id)
        _positive(self.gross, "a seller's share")

    def platform_fee(self, fee_bps: int) -> Money:
        # Per seller, rounded half up: each seller can check their own fee against their share.
        return self.gross.basis_points(fee_bps)


@dataclass(frozen=True, slots=True)
class Capture:
    payment_id: str
    shares: tuple[SellerShare, ...]  # one per seller
    fee_bps: int                     # PLATFORM_FEE_BPS at capture time
    captured_at: datetime
    provider_fee: Money | None = None  # when known at capture; else a provider_fee entry later

    def __post_init__(self) -> None:
        _identifier(self.payment_id, "payment_id")
        object.__setattr__(self, "shares", tuple(sorted(self.shares, key=lambda s: s.seller_id)))
        if not self.shares:
            raise ValidationError("a capture needs at least one seller's share", "shares")
        if len({s.seller_id for s in self.shares}) != len(self.shares):
            raise ValidationError("one share per seller: merge a seller's lines first", "shares")
        if len({s.gross.code for s in self.shares}) != 1:
            raise ValidationError("an order is paid in one currency", "currency")
        if type(self.fee_bps) is not int or not 0 <= self.fee_bps <= MAX_BPS:
            raise ValidationError(f"fee must be 0..{MAX_BPS} basis points", "fee_bps")
        fee = self.provider_fee
        gross = self.gross
        fits = fee is None or fee.minor == 0 or (fee.code == gross.code and 0 < fee.minor <= gross.minor)
        if not fits:
            raise InvalidAmountError(f"provider fee {self.provider_fee} does not fit a {self.gross} capture")

    @property
    def gross(self) -> Money:
        total = Money.zero(self.shares[0].gross.code)
        for share in self.shares:
            total = total + share.gross
        return total


def capture_entry(capture: Capture) -> JournalEntry:
    # Fees are rounded per seller and each seller's net is their share less that fee, so the
    # credits add up to the gross exactly: no remainder is left over to place.
    code = capture.gross.code
    postings = [Posting.debit(acc.provider_clearing(code), capture.gross)]
    if capture.provider_fee is not None and capture.provider_fee.minor:
        # Gross in and the provider's fee out, as the provider's own statement reads; the
        # platform bears the fee, the sellers' nets do not change.
        postings += [Posting.debit(acc.provider_fees(code), capture.provider_fee),
                     Posting.credit(acc.provider_clearing(code), capture.provider_fee)]
    fees = Money.zero(code)
    for share in capture.shares:
        fee = share.platform_fee(capture.fee_bps)
        fees = fees + fee
        if (net := share.gross - fee).minor:
            postings.append(Posting.credit(acc.seller_held(share.seller_id, code), net))
    if fees.minor:
        postings.append(Posting.credit(acc.platform_fees(code), fees))
    return JournalEntry.balanced(EntryKind.CAPTURE, capture_ref(capture.payment_id), capture.captured_at,
                                 postings)


def direct_capture_entry(payment_id: str, amount: Money, captured_at: datetime) -> JournalEntry:
    """A payment for no order (seed 002's PaymentIntents for a course, a top-up): the platform
    sold it itself, so all of it is the platform's revenue, on the account its fees earn into;
    refunds then take it all back from there (refund_entry, with no sellers in the view)."""
    _identifier(payment_id, "payment_id")
    _positive(amount, "a capture")
    return JournalEntry.balanced(EntryKind.CAPTURE, capture_ref(payment_id), captured_at,
                                 [Posting.debit(acc.provider_clearing(amount.code), amount),
                                  Posting.credit(acc.platform_fees(amount.code), amount)])


def provider_fee_entry(payment_id: str, fee: Money, created_at: datetime) -> JournalEntry:
    """A fee the provider reports after the capture (Stripe's balance transaction, for one)."""
    _positive(fee, "a provider fee")
    ref = capture_ref(payment_id)
    return JournalEntry.balanced(
        EntryKind.PROVIDER_FEE, ref, created_at,
        (Posting.debit(acc.provider_fees(fee.code), fee),
         Posting.credit(acc.provider_clearing(fee.code), fee)),
        parent_ref=ref)


def release_entry(hold: Hold, created_at: datetime, *, early: bool = False) -> JournalEntry:
    """Make what is left of a hold available to its seller; `early` lets staff release before the date."""
    if hold.status != "held":
        raise InvalidStateError(f"seller {hold.seller_id}'s hold on {hold.capture_ref} is {hold.status}")
    if created_at < hold.releases_at and not early:
        raise InvalidStateError(f"the hold on {hold.capture_ref} releases at {hold.releases_at.isoformat()}")
    code = hold.held.code
    return JournalEntry.balanced(
        EntryKind.RELEASE, release_ref(hold.payment_id, hold.seller_id), created_at,
        (Posting.debit(acc.seller_held(hold.seller_id, code), hold.held),
         Posting.credit(acc.seller_available(hold.seller_id, code), hold.held)),
        parent_ref=hold.capture_ref)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` units in proportion to `weights`, exactly (largest remainder, Hamilton).

    Each part is floor(total * w / W) or one more; the units left after flooring go to the
    largest fractional remainders, ties to the earlier weight. With 0 <= total <= W no part
    exceeds its weight, so refunding what is left, part by part, never overdraws a part.
    """
    whole = sum(weights)
    if any(w < 0 for w in weights) or not 0 <= total <= whole:
        raise InvalidAmountError(f"cannot allocate {total} over {list(weights)}")
    if total == 0:
        return [0] * len(weights)
    parts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:total - sum(parts)]:
        parts[i] += 1
    return parts


def take_from_shares(view: CaptureView, parts: Sequence[int], code: str) -> list[Posting]:
    """The debits taking `parts` (one per seller of the capture, then the platform's fee) back out
    of the capture's shares: a seller's part from what is still held first, the rest from what is
    available (below zero if it was transferred: the seller's debt). Refunds and disputes share it."""
    *seller_parts, fee_part = parts
    postings: list[Posting] = []
    for seller, part in zip(view.sellers, seller_parts, strict=True):
        from_held = min(part, max(seller.held.minor, 0))
        if from_held:
            postings.append(Posting.debit(acc.seller_held(seller.seller_id, code), Money.of(from_held, code)))
        if part - from_held:
            postings.append(Posting.debit(acc.seller_available(seller.seller_id, code),
                                          Money.of(part - from_held, code)))
    if fee_part:
        postings.append(Posting.debit(acc.platform_fees(code), Money.of(fee_part, code)))
    return postings


def refund_entry(view: CaptureView, refund_id: str, amount: Money, buyer_id: int | None,
                 created_at: datetime) -> JournalEntry:
    """Return `amount` to the buyer, taken from the sellers and the platform's fee in proportion.

    The split is over what is still refundable of each part (every seller's net, then the
    platform fee), by `allocate`; so successive partial refunds always end, at the full amount,
    with every part exactly zero. A seller's part comes out of the hold first and out of
    available money once the hold was released (available may then go negative: the seller owes
    us). The provider's fee is not refunded: providers keep it, and the platform bears it.
    """
    _identifier(refund_id, "refund_id")
    _positive(amount, "a refund")
    if amount.code != view.gross.code:
        raise ValidationError(f"{view.ref} was captured in {view.gross.code}, not {amount.code}", "currency")
    if amount > view.refundable:
        raise RefundExceedsCapturedError(f"{amount} exceeds the {view.refundable} left of {view.ref}")
    fee_left = view.platform_fee_refundable
    weights = [s.refundable.minor for s in view.sellers] + [fee_left.minor]
    if sum(weights) != view.refundable.minor:
        raise UnbalancedEntryError(f"{view.ref}: the parts left do not add up to what is refundable")
    code = amount.code
    postings = take_from_shares(view, allocate(amount.minor, weights), code)
    postings.append(Posting.credit(acc.customer_refunds(buyer_id, code), amount))
    return JournalEntry.balanced(EntryKind.REFUND, refund_ref(refund_id), created_at, postings,
                                 parent_ref=view.ref)


def refund_failure_entry(view: CaptureView, refund: JournalEntry, created_at: datetime) -> JournalEntry:
    """Undo a refund the provider failed after reporting success; same ref, kind refund_failed.

    Money taken from a hold goes back to it, unless the hold was released meanwhile: then it
    goes to available, since a hold is released once and would keep it forever.
    """
    if refund.kind is not EntryKind.REFUND or refund.parent_ref != view.ref:
        raise ValidationError(f"{refund.kind} {refund.ref} is not a refund of {view.ref}", "ref")
    undo: dict[tuple[Account, Side], int] = {}  # merged: held and available may both go to available
    for p in refund.postings:
        account = p.account
        if account.kind is AccountKind.SELLER_HELD and view.seller(account.seller_id).released_at is not None:
            account = acc.seller_available(account.seller_id, account.currency)
        key = (account, p.side.opposite)
        undo[key] = undo.get(key, 0) + p.amount.minor
    postings = (Posting(account, Money.of(minor, account.currency), side)
                for (account, side), minor in undo.items())
    return JournalEntry.balanced(EntryKind.REFUND_FAILED, refund.ref, created_at, postings,
                                 parent_ref=view.ref)


@dataclass(frozen=True, slots=True)
class Transfer:
    transfer_id: str
    seller_id: int
    amount: Money

    def __post_init__(self) -> None:
        _identifier(self.transfer_id, "transfer_id")
        _seller(self.seller_id)
        _positive(self.amount, "a transfer")


def transfer_entry(transfer: Transfer, created_at: datetime, *, available: Money) -> JournalEntry:
    """Move released money to the seller's connected account; `available` is their balance now."""
    if transfer.amount > available:
        raise InvalidStateError(
            f"seller {transfer.seller_id} has {available} available, not {transfer.amount}")
    code = transfer.amount.code
    return JournalEntry.balanced(
        EntryKind.TRANSFER, transfer_ref(transfer.transfer_id), created_at,
        (Posting.debit(acc.seller_available(transfer.seller_id, code), transfer.amount),
         Posting.credit(acc.seller_transferred(transfer.seller_id, code), transfer.amount)))


class PayoutSource(StrEnum):
    CONNECTED = "connected"  # from the seller's connected account (after a transfer)
    PLATFORM = "platform"    # straight from the seller's available money (no connected account)


@dataclass(frozen=True, slots=True)
class Payout:
    payout_id: str
    seller_id: int
    amount: Money
    source: PayoutSource = PayoutSource.CONNECTED

    def __post_init__(self) -> None:
        _identifier(self.payout_id, "payout_id")
        _seller(self.seller_id)
        _positive(self.amount, "a payout")

    @property
    def source_account(self) -> Account:
        make = acc.seller_transferred if self.source is PayoutSource.CONNECTED else acc.seller_available
        return make(self.seller_id, self.amount.code)


def payout_entry(payout: Payout, created_at: datetime, *, balance: Money) -> JournalEntry:
    """Start a payout; `balance` is the source account's balance now."""
    if payout.amount > balance:
        raise InvalidStateError(f"{payout.source_account.key} holds {balance}, not {payout.amount}")
    return JournalEntry.balanced(
        EntryKind.PAYOUT, payout_ref(payout.payout_id), created_at,
        (Posting.debit(payout.source_account, payout.amount),
         Posting.credit(acc.payouts_in_transit(payout.seller_id, payout.amount.code), payout.amount)))


def payout_paid_entry(payout: Payout, created_at: datetime) -> JournalEntry:
    ref = payout_ref(payout.payout_id)
    return JournalEntry.balanced(
        EntryKind.PAYOUT_PAID, ref, created_at,
        (Posting.debit(acc.payouts_in_transit(payout.seller_id, payout.amount.code), payout.amount),
         Posting.credit(acc.payouts_paid(payout.seller_id, payout.amount.code), payout.amount)),
        parent_ref=ref)


def payout_failure_entry(payout: Payout, created_at: datetime) -> JournalEntry:
    """The bank refused a payout in transit: the money goes back to where it was paid from.

    A payout returned after it was paid is first undone with `paid.reversal(...)`.
    """
    ref = payout_ref(payout.payout_id)
    return JournalEntry.balanced(
        EntryKind.PAYOUT_FAILED, ref, created_at,
        (Posting.debit(acc.payouts_in_transit(payout.seller_id, payout.amount.code), payout.amount),
         Posting.credit(payout.source_account, payout.amount)),
        parent_ref=ref)
