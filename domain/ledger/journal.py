"""The journal: append-only, double-entry, balanced by construction.

A `JournalEntry` is one money movement: postings whose debits equal their credits in every
currency. It is checked where it is built (TigerBeetle's habit: assert the invariant at the
source, so a bug is caught before it is stored) and never edited afterwards; a correction is a
new entry, usually `entry.reversal(...)`.

`(kind, ref)` identifies an entry and is its idempotency key: the database keeps it unique, so
recording the same capture twice (a retried webhook, a replayed job) fails instead of doubling
the money. `ref` names the business object the entry follows from ("capture:<payment uuid>",
"refund:<refund uuid>"); `parent_ref` links an entry to the one it follows up (a refund or a
hold release to its capture, a reversal to what it reverses).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import InvalidAmountError, UnbalancedEntryError, ValidationError
from domain.ledger.accounts import Account, Side
from domain.money import Money

MAX_REF_LENGTH = 200  # the database column's width; a longer ref is a bug, not data


class EntryKind(StrEnum):
    CAPTURE = "capture"                      # a buyer paid: sellers' shares held, platform fee earned
    PROVIDER_FEE = "provider_fee"            # a provider fee learnt after the capture was recorded
    RELEASE = "release"                      # a seller's hold for one capture became available
    REFUND = "refund"                        # money returned to the buyer, taken back proportionally
    REFUND_FAILED = "refund_failed"          # the provider could not return it after all
    TRANSFER = "transfer"                    # available money moved to the seller's connected account
    TRANSFER_REVERSAL = "transfer_reversal"  # taken back from the connected account (e.g. to cover a refund)
    PAYOUT = "payout"                        # a payout to the seller's bank started
    PAYOUT_PAID = "payout_paid"              # the bank received it
    PAYOUT_FAILED = "payout_failed"          # the bank refused it: the money goes back where it came from
    REVERSAL = "reversal"                    # a manual correction undoing another entry
    SELLER_DEBT = "seller_debt"              # the provider took money back after it left the seller's hold (a lost dispute)


@dataclass(frozen=True, slots=True)
class Posting:
    account: Account
    amount: Money  # strictly positive: the side says which way it moves
    side: Side

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Money):
            raise InvalidAmountError(f"a posting's amount is Money, not {type(self.amount).__name__}")
        if self.amount.minor <= 0:
            raise InvalidAmountError(f"a posting moves a positive amount, got {self.amount}")
        if self.amount.code != self.account.currency:
            raise ValidationError(f"{self.amount} cannot be posted to {self.account.key}", "currency")
        if not isinstance(self.side, Side):
            raise ValidationError(f"a posting's side is debit or credit, got {self.side!r}", "side")

    @classmethod
    def debit(cls, account: Account, amount: Money) -> Posting:
        return cls(account, amount, Side.DEBIT)

    @classmethod
    def credit(cls, account: Account, amount: Money) -> Posting:
        return cls(account, amount, Side.CREDIT)

    @property
    def signed_minor(self) -> int:
        """The posting's effect on its account's balance, in the account's natural sign."""
        return self.amount.minor if self.side is self.account.normal_side else -self.amount.minor

    def swapped(self) -> Posting:
        return Posting(self.account, self.amount, self.side.opposite)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    kind: EntryKind
    ref: str
    created_at: datetime
    postings: tuple[Posting, ...]
    memo: str | None = None
    parent_ref: str | None = None

    def __post_init__(self) -> None:
        # Validated here rather than only in `balanced` so that an entry read back from the
        # database is checked too: a corrupt row fails loudly instead of skewing balances.
        object.__setattr__(self, "postings", tuple(self.postings))
        if not isinstance(self.kind, EntryKind):
            raise ValidationError(f"unknown entry kind {self.kind!r}", "kind")
        for name in ("ref", "parent_ref"):
            value = getattr(self, name)
            if value is None and name == "parent_ref":
                continue
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_REF_LENGTH:
                raise ValidationError(f"{name} must be a non-empty string of at most {MAX_REF_LENGTH}", name)
        if not isinstance(self.created_at, datetime) or self.created_at.tzinfo is None:
            # Entries are ordered and compared with release dates: a naive time is ambiguous.
            raise ValidationError("created_at must be a timezone-aware datetime", "created_at")
        if not self.postings:
            raise UnbalancedEntryError(f"{self.kind} {self.ref}: an entry needs postings")
        if not all(isinstance(p, Posting) for p in self.postings):
            raise ValidationError("postings must be Posting objects", "postings")
        seen = {(p.account, p.side) for p in self.postings}
        if len(seen) != len(self.postings):
            raise UnbalancedEntryError(f"{self.kind} {self.ref}: an account appears twice on one side")
        imbalance = {code: net for code, net in _net_by_currency(self.postings).items() if net}
        if imbalance:
            detail = ", ".join(f"{code} debits - credits = {net}" for code, net in sorted(imbalance.items()))
            raise UnbalancedEntryError(f"{self.kind} {self.ref} does not balance: {detail}")

    @classmethod
    def balanced(cls, kind: EntryKind, ref: str, created_at: datetime, postings: Iterable[Posting], *,
                 memo: str | None = None, parent_ref: str | None = None) -> JournalEntry:
        """The one way to build an entry; raises UnbalancedEntryError unless it balances."""
        return cls(kind, ref, created_at, tuple(postings), memo, parent_ref)

    def reversal(self, kind: EntryKind, ref: str, created_at: datetime, *,
                 memo: str | None = None) -> JournalEntry:
        """A new entry undoing this one: the same postings with their sides swapped."""
        return JournalEntry.balanced(kind, ref, created_at, (p.swapped() for p in self.postings),
                                     memo=memo, parent_ref=self.ref)

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted({p.account.currency for p in self.postings}))

    def total(self, code: str) -> Money:
        """What the entry moves in one currency (its debits, which equal its credits)."""
        return Money.of(sum(p.amount.minor for p in self.postings
                            if p.side is Side.DEBIT and p.account.currency == code), code)

    def postings_to(self, account: Account) -> tuple[Posting, ...]:
        return tuple(p for p in self.postings if p.account == account)


def capture_ref(payment_id: str) -> str:
    return f"capture:{payment_id}"


def payment_id_of(ref: str) -> str:
    """The payment id inside a capture ref (the inverse of `capture_ref`)."""
    prefix, _, payment_id = ref.partition(":")
    if prefix != "capture" or not payment_id:
        raise ValidationError(f"not a capture ref: {ref!r}", "ref")
    return payment_id


def release_ref(payment_id: str, seller_id: int) -> str:
    return f"release:{payment_id}:{seller_id}"


def refund_ref(refund_id: str) -> str:
    return f"refund:{refund_id}"


def transfer_ref(transfer_id: str) -> str:
    return f"transfer:{transfer_id}"


def payout_ref(payout_id: str) -> str:
    return f"payout:{payout_id}"


def _net_by_currency(postings: Iterable[Posting]) -> dict[str, int]:
    net: dict[str, int] = {}
    for p in postings:
        delta = p.amount.minor if p.side is Side.DEBIT else -p.amount.minor
        net[p.account.currency] = net.get(p.account.currency, 0) + delta
    return net
