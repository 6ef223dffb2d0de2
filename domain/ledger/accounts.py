"""Ledger accounts: who a balance belongs to, in which currency, and which side it grows on.

An account is an identity, not a row of stored totals: its balance is always derived from the
journal (`domain.ledger.balances`). Its `key` ("seller_held:42:USD", "platform_fees:USD") is
stable, so it can be stored, indexed and parsed back.

The ledger keeps the marketplace's custody view: `provider_clearing` is every unit the payment
provider holds for us (the platform's balance and the sellers' connected balances alike), and
money leaving the provider (refunds to buyers, payouts to banks) is recorded on contra accounts
that offset it, so their balances read as "how much was returned / paid out", never negative.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import ValidationError
from domain.money import currency


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


class AccountClass(StrEnum):
    """The accounting nature of a kind, which fixes its normal side."""

    ASSET = "asset"                # debit-normal
    CONTRA_ASSET = "contra_asset"  # credit-normal: offsets an asset
    LIABILITY = "liability"        # credit-normal: owed to someone
    REVENUE = "revenue"            # credit-normal
    EXPENSE = "expense"            # debit-normal

    @property
    def normal_side(self) -> Side:
        return Side.DEBIT if self in (AccountClass.ASSET, AccountClass.EXPENSE) else Side.CREDIT


class Owner(StrEnum):
    """Whose account a kind is, hence what `owner_id` holds."""

    PLATFORM = "platform"  # owner_id is None
    SELLER = "seller"      # owner_id is the seller's user id
    CUSTOMER = "customer"  # owner_id is the buyer's user id, or None for a guest


class AccountKind(StrEnum):
    # money the provider holds for the marketplace after capture, less the provider's fees
    PROVIDER_CLEARING = "provider_clearing"
    # what the providers charge us per payment; the platform bears it, sellers never see it
    PROVIDER_FEES = "provider_fees"
    # the marketplace's commission (PLATFORM_FEE_BPS of each seller's share), earned at capture
    PLATFORM_FEES = "platform_fees"
    # a seller's net share of a capture, on hold until its release date
    SELLER_HELD = "seller_held"
    # released and owed to the seller; negative when refunds after release exceed it (the seller owes us)
    SELLER_AVAILABLE = "seller_available"
    # moved to the seller's connected account at the provider, not yet paid out to their bank
    SELLER_TRANSFERRED = "seller_transferred"
    # a payout sent towards the seller's bank and not yet confirmed paid or failed
    PAYOUTS_IN_TRANSIT = "payouts_in_transit"
    # paid out to the seller's bank: cumulative, offsets provider clearing
    PAYOUTS_PAID = "payouts_paid"
    # returned to a buyer through the provider: cumulative, offsets provider clearing
    CUSTOMER_REFUNDS = "customer_refunds"
    # withdrawn by the provider for disputes still open: taken from the sellers' shares (or the
    # platform's, for a payment of no order) until the dispute ends; offsets provider clearing
    DISPUTES = "disputes"
    # lost to chargebacks: cumulative, offsets provider clearing like refunds do
    CHARGEBACKS = "chargebacks"
    # disputed money nobody's share could cover (more than was left to refund): the platform's loss
    DISPUTE_COSTS = "dispute_costs"

    @property
    def account_class(self) -> AccountClass:
        return _SPEC[self][0]

    @property
    def owner(self) -> Owner:
        return _SPEC[self][1]

    @property
    def normal_side(self) -> Side:
        return self.account_class.normal_side


_SPEC: dict[AccountKind, tuple[AccountClass, Owner]] = {
    AccountKind.PROVIDER_CLEARING: (AccountClass.ASSET, Owner.PLATFORM),
    AccountKind.PROVIDER_FEES: (AccountClass.EXPENSE, Owner.PLATFORM),
    AccountKind.PLATFORM_FEES: (AccountClass.REVENUE, Owner.PLATFORM),
    AccountKind.SELLER_HELD: (AccountClass.LIABILITY, Owner.SELLER),
    AccountKind.SELLER_AVAILABLE: (AccountClass.LIABILITY, Owner.SELLER),
    AccountKind.SELLER_TRANSFERRED: (AccountClass.LIABILITY, Owner.SELLER),
    AccountKind.PAYOUTS_IN_TRANSIT: (AccountClass.LIABILITY, Owner.SELLER),
    AccountKind.PAYOUTS_PAID: (AccountClass.CONTRA_ASSET, Owner.SELLER),
    AccountKind.CUSTOMER_REFUNDS: (AccountClass.CONTRA_ASSET, Owner.CUSTOMER),
    AccountKind.DISPUTES: (AccountClass.CONTRA_ASSET, Owner.PLATFORM),
    AccountKind.CHARGEBACKS: (AccountClass.CONTRA_ASSET, Owner.PLATFORM),
    AccountKind.DISPUTE_COSTS: (AccountClass.EXPENSE, Owner.PLATFORM),
}


@dataclass(frozen=True, slots=True)
class Account:
    kind: AccountKind
    owner_id: int | None
    currency: str  # ISO 4217 code, upper case

    def __post_init__(self) -> None:
        if not isinstance(self.kind, AccountKind):
            raise ValidationError(f"unknown account kind {self.kind!r}", "account")
        if currency(self.currency).code != self.currency:
            raise ValidationError(f"currency must be an upper-case ISO 4217 code, got {self.currency!r}",
                                  "currency")
        owner = self.kind.owner
        if owner is Owner.PLATFORM and self.owner_id is not None:
            raise ValidationError(f"{self.kind} is the platform's and takes no owner", "account")
        if owner is Owner.SELLER and self.owner_id is None:
            raise ValidationError(f"{self.kind} needs a seller id", "account")
        if self.owner_id is not None and (type(self.owner_id) is not int or self.owner_id <= 0):
            raise ValidationError(f"owner id must be a positive int, got {self.owner_id!r}", "account")

    @property
    def seller_id(self) -> int:
        """The seller owning this account; only a seller's account has one (checked when built)."""
        if self.kind.owner is not Owner.SELLER or self.owner_id is None:
            raise ValidationError(f"{self.kind} is not a seller's account", "account")
        return self.owner_id

    @property
    def key(self) -> str:
        if self.owner_id is None:
            return f"{self.kind}:{self.currency}"
        return f"{self.kind}:{self.owner_id}:{self.currency}"

    @property
    def normal_side(self) -> Side:
        return self.kind.normal_side

    @classmethod
    def parse(cls, key: str) -> Account:
        """The inverse of `key`; refuses anything `key` could not have produced."""
        parts = key.split(":")
        try:
            kind = AccountKind(parts[0])
            if len(parts) == 2:
                return cls(kind, None, parts[1])
            if len(parts) == 3 and parts[1].isdigit() and parts[1] == str(int(parts[1])):
                return cls(kind, int(parts[1]), parts[2])
        except ValueError:
            pass  # an unknown kind: reported below like every other malformed key
        raise ValidationError(f"not an account key: {key!r}", "account")

    def __str__(self) -> str:
        return self.key


def provider_clearing(code: str) -> Account:
    return Account(AccountKind.PROVIDER_CLEARING, None, code)


def provider_fees(code: str) -> Account:
    return Account(AccountKind.PROVIDER_FEES, None, code)


def platform_fees(code: str) -> Account:
    return Account(AccountKind.PLATFORM_FEES, None, code)


def seller_held(seller_id: int, code: str) -> Account:
    return Account(AccountKind.SELLER_HELD, seller_id, code)


def seller_available(seller_id: int, code: str) -> Account:
    return Account(AccountKind.SELLER_AVAILABLE, seller_id, code)


def seller_transferred(seller_id: int, code: str) -> Account:
    return Account(AccountKind.SELLER_TRANSFERRED, seller_id, code)


def payouts_in_transit(seller_id: int, code: str) -> Account:
    return Account(AccountKind.PAYOUTS_IN_TRANSIT, seller_id, code)


def payouts_paid(seller_id: int, code: str) -> Account:
    return Account(AccountKind.PAYOUTS_PAID, seller_id, code)


def customer_refunds(buyer_id: int | None, code: str) -> Account:
    return Account(AccountKind.CUSTOMER_REFUNDS, buyer_id, code)


def disputes(code: str) -> Account:
    return Account(AccountKind.DISPUTES, None, code)


def chargebacks(code: str) -> Account:
    return Account(AccountKind.CHARGEBACKS, None, code)


def dispute_costs(code: str) -> Account:
    return Account(AccountKind.DISPUTE_COSTS, None, code)
