"""Balances, captures and holds, derived from the journal and never stored as the truth.

Every figure here is a fold over entries. The database may cache one (a materialised balance,
a holds table) for speed, but the journal decides: a cache that disagrees is the bug.

- `balances` / `balance_of`: per account, in the account's natural sign (a seller's held money
  and the platform's fees read positive, as does the provider's clearing balance).
- `trial_balance`: debits less credits per currency over all accounts; zero, always.
- `capture_view`: what one capture credited each seller and the platform, and what refunds and
  releases have done to it since: the input the refund and release builders need.
- `holds`: per capture and seller, what is still held and when it is due for release.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import ValidationError
from domain.ledger.accounts import Account, AccountKind, Side
from domain.ledger.journal import EntryKind, JournalEntry, Posting, payment_id_of
from domain.money import Money


def balances(entries: Iterable[JournalEntry]) -> dict[Account, Money]:
    """Every account any entry touched, with its balance in the account's natural sign."""
    totals: dict[Account, int] = {}
    for entry in entries:
        for p in entry.postings:
            totals[p.account] = totals.get(p.account, 0) + p.signed_minor
    return {account: Money.of(minor, account.currency) for account, minor in totals.items()}


def balance_of(entries: Iterable[JournalEntry], account: Account) -> Money:
    minor = sum(p.signed_minor for entry in entries for p in entry.postings if p.account == account)
    return Money.of(minor, account.currency)


def trial_balance(entries: Iterable[JournalEntry]) -> dict[str, Money]:
    """Debits less credits per currency across every account: zero unless the journal is corrupt."""
    net: dict[str, int] = {}
    for entry in entries:
        for p in entry.postings:
            delta = p.amount.minor if p.side is Side.DEBIT else -p.amount.minor
            net[p.account.currency] = net.get(p.account.currency, 0) + delta
    return {code: Money.of(minor, code) for code, minor in net.items()}


@dataclass(frozen=True, slots=True)
class SellerPosition:
    """One seller's part of one capture."""

    seller_id: int
    net: Money                 # credited to the seller at capture (share less platform fee)
    released: Money            # moved from held to available by the release
    released_at: datetime | None
    refunded_held: Money       # refunded out of the hold
    refunded_available: Money  # refunded after release, out of available
    # Taken by disputes still open or lost (given back when won): out of the hold, or available.
    disputed_held: Money | None = None
    disputed_available: Money | None = None

    @property
    def held(self) -> Money:
        return self.net - self.released - self.refunded_held - self._or_zero(self.disputed_held)

    @property
    def refunded(self) -> Money:
        return self.refunded_held + self.refunded_available

    @property
    def disputed(self) -> Money:
        return self._or_zero(self.disputed_held) + self._or_zero(self.disputed_available)

    @property
    def refundable(self) -> Money:
        return self.net - self.refunded - self.disputed

    def _or_zero(self, amount: Money | None) -> Money:
        return amount if amount is not None else Money.zero(self.net.code)


@dataclass(frozen=True, slots=True)
class CaptureView:
    ref: str
    payment_id: str
    captured_at: datetime
    gross: Money                 # what the buyer paid
    platform_fee: Money          # earned at capture
    platform_fee_refunded: Money
    provider_fee: Money          # at capture and learnt later; never refunded by providers
    refunded: Money              # returned to the buyer, net of failed refunds
    sellers: tuple[SellerPosition, ...]  # by seller id
    platform_fee_disputed: Money | None = None  # the platform's part of open or lost disputes

    @property
    def disputed(self) -> Money:
        """Taken from the shares by disputes not won (open or lost): not refundable any more."""
        total = self.platform_fee_disputed or Money.zero(self.gross.code)
        for seller in self.sellers:
            total = total + seller.disputed
        return total

    @property
    def refundable(self) -> Money:
        return self.gross - self.refunded - self.disputed

    @property
    def platform_fee_refundable(self) -> Money:
        return self.platform_fee - self.platform_fee_refunded - (self.platform_fee_disputed
                                                                 or Money.zero(self.gross.code))

    def seller(self, seller_id: int) -> SellerPosition:
        for position in self.sellers:
            if position.seller_id == seller_id:
                return position
        raise ValidationError(f"seller {seller_id} has no share in {self.ref}", "seller_id")


def _debited(p: Posting) -> int:
    return p.amount.minor if p.side is Side.DEBIT else -p.amount.minor


def capture_view(capture: JournalEntry, followers: Iterable[JournalEntry]) -> CaptureView:
    """Fold a capture and the entries that follow it up (parent_ref == capture.ref)."""
    if capture.kind is not EntryKind.CAPTURE:
        raise ValidationError(f"{capture.ref} is a {capture.kind} entry, not a capture", "ref")
    (code,) = capture.currencies  # capture builders emit a single currency
    gross = fee = fee_refunded = provider_fee = refunded = 0
    net: dict[int, int] = {}
    for p in capture.postings:
        kind = p.account.kind
        if kind is AccountKind.PROVIDER_CLEARING and p.side is Side.DEBIT:
            gross += p.amount.minor
        elif kind is AccountKind.PROVIDER_FEES:
            provider_fee += p.signed_minor
        elif kind is AccountKind.PLATFORM_FEES:
            fee += p.signed_minor
        elif kind is AccountKind.SELLER_HELD:
            net[p.account.seller_id] = p.signed_minor
    released = dict.fromkeys(net, 0)
    released_at: dict[int, datetime] = {}
    refunded_held = dict.fromkeys(net, 0)
    refunded_available = dict.fromkeys(net, 0)
    disputed_held = dict.fromkeys(net, 0)
    disputed_available = dict.fromkeys(net, 0)
    fee_disputed = 0
    for entry in followers:
        if entry.parent_ref != capture.ref:
            raise ValidationError(f"{entry.kind} {entry.ref} does not follow {capture.ref}", "parent_ref")
        for p in entry.postings:
            kind = p.account.kind
            if entry.kind is EntryKind.RELEASE and kind is AccountKind.SELLER_HELD:
                released[p.account.seller_id] += _debited(p)
                released_at[p.account.seller_id] = entry.created_at
            elif entry.kind is EntryKind.PROVIDER_FEE and kind is AccountKind.PROVIDER_FEES:
                provider_fee += p.signed_minor
            elif entry.kind in (EntryKind.REFUND, EntryKind.REFUND_FAILED):
                if kind is AccountKind.SELLER_HELD:
                    refunded_held[p.account.seller_id] += _debited(p)
                elif kind is AccountKind.SELLER_AVAILABLE:
                    refunded_available[p.account.seller_id] += _debited(p)
                elif kind is AccountKind.PLATFORM_FEES:
                    fee_refunded += _debited(p)
                elif kind is AccountKind.CUSTOMER_REFUNDS:
                    refunded += p.signed_minor
            elif entry.kind in (EntryKind.DISPUTE, EntryKind.DISPUTE_REINSTATED):
                # The shares' side only: what is in the disputes account, and what was lost from
                # it to chargebacks, is not refundable either way.
                if kind is AccountKind.SELLER_HELD:
                    disputed_held[p.account.seller_id] += _debited(p)
                elif kind is AccountKind.SELLER_AVAILABLE:
                    disputed_available[p.account.seller_id] += _debited(p)
                elif kind is AccountKind.PLATFORM_FEES:
                    fee_disputed += _debited(p)

    def money(minor: int) -> Money:  # one currency throughout
        return Money.of(minor, code)

    return CaptureView(
        ref=capture.ref, payment_id=payment_id_of(capture.ref), captured_at=capture.created_at,
        gross=money(gross), platform_fee=money(fee), platform_fee_refunded=money(fee_refunded),
        provider_fee=money(provider_fee), refunded=money(refunded),
        sellers=tuple(
            SellerPosition(seller_id, money(net[seller_id]), money(released[seller_id]),
                           released_at.get(seller_id), money(refunded_held[seller_id]),
                           money(refunded_available[seller_id]), money(disputed_held[seller_id]),
                           money(disputed_available[seller_id]))
            for seller_id in sorted(net)),
        platform_fee_disputed=money(fee_disputed))


def capture_views(entries: Iterable[JournalEntry]) -> dict[str, CaptureView]:
    """A view of every capture among `entries`, keyed by its ref, in journal order."""
    captures: dict[str, JournalEntry] = {}
    followers: dict[str, list[JournalEntry]] = {}
    for entry in entries:
        if entry.kind is EntryKind.CAPTURE:
            captures[entry.ref] = entry
        elif entry.parent_ref is not None and entry.kind in _FOLLOWS_A_CAPTURE:
            followers.setdefault(entry.parent_ref, []).append(entry)
    return {ref: capture_view(capture, followers.get(ref, ())) for ref, capture in captures.items()}


_FOLLOWS_A_CAPTURE = frozenset({EntryKind.RELEASE, EntryKind.REFUND, EntryKind.REFUND_FAILED,
                                EntryKind.PROVIDER_FEE, EntryKind.DISPUTE, EntryKind.DISPUTE_REINSTATED,
                                EntryKind.DISPUTE_LOST})


@dataclass(frozen=True, slots=True)
class Hold:
    """One seller's share of one capture, from capture until release."""

    capture_ref: str
    payment_id: str
    seller_id: int
    amount: Money              # the seller's net share at capture
    held: Money                # still on hold: less what was refunded from it or released
    releases_at: datetime
    released_at: datetime | None

    @property
    def status(self) -> str:
        if self.released_at is not None:
            return "released"
        return "held" if self.held.minor > 0 else "refunded"

    def is_due(self, now: datetime) -> bool:
        return self.status == "held" and self.releases_at <= now


def holds(entries: Iterable[JournalEntry], *, hold_period: timedelta,
          release_dates: Mapping[str, datetime] | None = None) -> tuple[Hold, ...]:
    """Every hold, soonest release first.

    A hold releases `hold_period` (HOLD_DAYS) after its capture unless `release_dates` names
    another date for the capture's ref (e.g. delivery plus the hold period).
    """
    dates = release_dates or {}
    found = [
        Hold(view.ref, view.payment_id, seller.seller_id, seller.net, seller.held,
             dates.get(view.ref, view.captured_at + hold_period), seller.released_at)
        for view in capture_views(entries).values()
        for seller in view.sellers
    ]
    return tuple(sorted(found, key=lambda h: (h.releases_at, h.capture_ref, h.seller_id)))


def due_holds(all_holds: Iterable[Hold], now: datetime) -> tuple[Hold, ...]:
    return tuple(h for h in all_holds if h.is_due(now))
