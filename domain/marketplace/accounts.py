"""A seller's connected account: created once, onboarded at the provider, its status kept.

The account is recorded before the provider is asked, keyed by its own uuid: a create that timed
out is resumed with the same idempotency key, so the provider never makes two accounts for one
seller. Only sellers have one (a buyer is refused: the seed's 403).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.errors import NotAllowedError, NotFoundError, ValidationError
from domain.identity import Actor, Role
from domain.marketplace.connect import AccountState, ConnectProvider, NewAccount, OnboardingSession
from domain.marketplace.model import ConnectedAccount
from domain.ports import UnitOfWork

BUSINESS_TYPES = ("individual", "company")


def seller_only(actor: Actor) -> None:
    if not actor.has(Role.SELLER):
        raise NotAllowedError("only sellers have a connected account")


@dataclass(frozen=True, slots=True)
class CreateAccount:
    actor: Actor
    country: str = "US"
    business_type: str = "individual"

    def __post_init__(self) -> None:
        if not (isinstance(self.country, str) and len(self.country) == 2 and self.country.isalpha()
                and self.country.isupper()):
            raise ValidationError("country must be a two-letter ISO 3166 code like 'US'", "country")
        if self.business_type not in BUSINESS_TYPES:
            raise ValidationError("business_type must be individual or company", "business_type")


def _apply(account: ConnectedAccount, state: AccountState, now: datetime) -> None:
    account.provider_ref = state.provider_ref
    account.charges_enabled = state.charges_enabled
    account.payouts_enabled = state.payouts_enabled
    account.details_submitted = state.details_submitted
    account.requirements = state.requirements
    account.disabled_reason = state.disabled_reason
    account.updated_at = now


async def create_account(cmd: CreateAccount, uow: UnitOfWork, connect: ConnectProvider,
                         now: datetime) -> tuple[ConnectedAccount, bool]:
    """The seller's account and whether this call created it."""
    seller_only(cmd.actor)
    seller = cmd.actor.user_id

    async def record() -> tuple[ConnectedAccount, bool]:
        async with uow:
            existing = await uow.market.account_of(seller, for_update=True)
            if existing is not None:
                return existing, False
            account = await uow.market.add_account(ConnectedAccount(
                id=None, uuid=uuid.uuid4(), seller_id=seller, provider=connect.name, provider_ref=None,
                country=cmd.country, business_type=cmd.business_type, charges_enabled=False,
                payouts_enabled=False, details_submitted=False, requirements=(), disabled_reason=None,
                created_at=now, updated_at=now))
            await uow.commit()
            return account, True

    account, created = await uow.transaction(record)
    if account.provider_ref is not None:
        return await refreshed(uow, connect, seller, now) or account, created
    # New, or a create whose answer was lost: the same key, so the provider makes one account.
    state = await connect.create_account(NewAccount(f"account-{account.uuid}", seller, cmd.actor.email,
                                                    account.country, account.business_type))
    return await _save_state(uow, seller, state, now), created


async def _save_state(uow: UnitOfWork, seller: int, state: AccountState, now: datetime) -> ConnectedAccount:
    async def block() -> ConnectedAccount:
        async with uow:
            account = await uow.market.account_of(seller, for_update=True)
            if account is None:
                raise NotFoundError("connected account", seller)
            _apply(account, state, now)
            await uow.market.save_account(account)
            await uow.commit()
            return account

    return await uow.transaction(block)


async def refreshed(uow: UnitOfWork, connect: ConnectProvider, seller_id: int,
                    now: datetime) -> ConnectedAccount | None:
    """The seller's account, asked again of the provider while it can't receive money yet: a
    seller who just finished onboarding can be paid without waiting for `account.updated`."""
    async with uow:
        account = await uow.market.account_of(seller_id)
    if account is None or account.provider_ref is None or account.ready:
        return account
    return await _save_state(uow, seller_id, await connect.account(account.provider_ref), now)


async def my_account(actor: Actor, uow: UnitOfWork) -> ConnectedAccount | None:
    seller_only(actor)
    async with uow:
        return await uow.market.account_of(actor.user_id)


async def refresh_status(actor: Actor, uow: UnitOfWork, connect: ConnectProvider, now: datetime) -> ConnectedAccount:
    """The account's status as the provider has it now (and kept)."""
    account = await my_account(actor, uow)
    if account is None or account.provider_ref is None:
        raise NotFoundError("connected account", actor.user_id)
    return await _save_state(uow, actor.user_id, await connect.account(account.provider_ref), now)


async def onboarding_session(actor: Actor, uow: UnitOfWork, connect: ConnectProvider, *,
                             return_url: str | None = None) -> OnboardingSession:
    account = await my_account(actor, uow)
    if account is None or account.provider_ref is None:
        raise NotFoundError("connected account", actor.user_id)
    return await connect.onboarding_session(account.provider_ref, return_url=return_url)


async def apply_account_update(uow: UnitOfWork, provider: str, state: AccountState, now: datetime) -> bool:
    """The provider's `account.updated`: the account's state as it says now; False: not ours."""
    async with uow:
        found = await uow.market.account_by_ref(provider, state.provider_ref)
    if found is None:
        return False
    await _save_state(uow, found.seller_id, state, now)
    return True
