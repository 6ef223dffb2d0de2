"""The Connect provider port: what the marketplace asks of a provider for sellers' money.

Stripe Connect (providers/stripe/connect.py) and the dummy gateway (providers/dummy_connect.py)
implement it. Every call that creates something carries an idempotency key made from our own
record's id, so a call retried after a timeout creates nothing twice. A refusal is an answer
(`Refused`); a timeout or 5xx raises ProviderUnavailableError (the outcome is unknown: retry
with the same key).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.money import Money


@dataclass(frozen=True, slots=True)
class AccountState:
    provider_ref: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements: tuple[str, ...]  # currently due
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class OnboardingSession:
    account_ref: str
    client_secret: str        # for the embedded onboarding component (Stripe's Account Session)
    url: str | None = None    # a hosted page to redirect to (Stripe's Account Link), when asked for


@dataclass(frozen=True, slots=True)
class NewAccount:
    idempotency_key: str
    seller_id: int
    email: str | None
    country: str        # ISO 3166-1 alpha-2
    business_type: str  # individual | company


@dataclass(frozen=True, slots=True)
class TransferOrder:
    idempotency_key: str
    account_ref: str
    amount: Money
    source_payment_ref: str | None  # the charge the money came from (Stripe's source_transaction)
    transfer_group: str | None
    description: str


@dataclass(frozen=True, slots=True)
class PayoutOrder:
    idempotency_key: str
    account_ref: str
    amount: Money
    description: str


@dataclass(frozen=True, slots=True)
class Moved:
    """The provider accepted a transfer, reversal or payout."""

    provider_ref: str
    amount: Money
    status: str = "paid"  # payouts: pending | in_transit | paid


@dataclass(frozen=True, slots=True)
class Refused:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ProviderBalance:
    """A connected account's balance at the provider, per currency (available + pending)."""

    amounts: dict[str, int]


class ConnectProvider(Protocol):
    name: str

    async def create_account(self, req: NewAccount) -> AccountState: ...

    async def account(self, account_ref: str) -> AccountState: ...

    async def onboarding_session(self, account_ref: str, *, return_url: str | None = None) -> OnboardingSession: ...

    async def transfer(self, req: TransferOrder) -> Moved | Refused: ...

    async def reverse_transfer(self, idempotency_key: str, transfer_ref: str, amount: Money) -> Moved | Refused: ...

    async def payout(self, req: PayoutOrder) -> Moved | Refused: ...

    async def balance(self, account_ref: str) -> ProviderBalance: ...

    async def payout_status(self, account_ref: str, payout_ref: str) -> tuple[str, str | None]:
        """A payout's status at the provider (pending, in_transit, paid, failed, canceled) and its
        failure code: for payouts whose event never came."""
        ...
