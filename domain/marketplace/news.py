"""Stripe Connect's events (or any Connect provider's), acted on once and never backwards.

    account.updated                      the account's state, read again from the provider (so an
                                         old event delivered late can't undo a newer state)
    payout.paid, .failed, .canceled      the payout moves forward (domain/marketplace/payouts.py);
                                         a late event for a payout already past it changes nothing
    transfer.reversed                    a reversal made at the provider (its dashboard) that we
                                         didn't ask for: the difference between its
                                         `amount_reversed` and what we know is booked back
    anything else                        stored as ignored

Each event is stored by its id and acted on in the same transaction (domain/payments/external.py
`act_once`): a redelivery is a duplicate and changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import PaymentsError, ProviderUnavailableError
from domain.ledger.clawbacks import transfer_reversal_entry
from domain.marketplace.connect import AccountState, ConnectProvider
from domain.marketplace.model import PayoutStatus, TransferStatus
from domain.marketplace.payouts import move_payout
from domain.money import Money
from domain.payments.external import EventReceipt, WebhookEvent, act_once
from domain.payments.model import Payment
from domain.ports import UnitOfWork

PAYOUT_EVENTS = {"payout.paid": PayoutStatus.PAID, "payout.failed": PayoutStatus.FAILED,
                 "payout.canceled": PayoutStatus.CANCELED}
HANDLED = frozenset({"account.updated", "transfer.reversed", *PAYOUT_EVENTS})


@dataclass(frozen=True, slots=True)
class ConnectNews:
    event: WebhookEvent
    account_ref: str | None = None
    object_ref: str | None = None          # the payout's or transfer's id
    amount_reversed: int | None = None     # transfer.reversed: the transfer's cumulative reversals
    failure_code: str | None = None


async def record_connect_news(news: ConnectNews, uow: UnitOfWork, connect: ConnectProvider,
                              now: datetime) -> EventReceipt:
    kind = news.event.event_type
    state: AccountState | None = None
    if kind == "account.updated" and news.account_ref:
        async with uow:
            ours = await uow.market.account_by_ref(connect.name, news.account_ref)
        if ours is not None:
            try:  # the account as it is now: an event's payload may be older than another's
                state = await connect.account(news.account_ref)
            except (ProviderUnavailableError, PaymentsError):
                state = None

    async def act() -> tuple[Payment | None, str | None]:
        if kind == "account.updated":
            return None, await _account(uow, connect, news, state, now)
        if kind in PAYOUT_EVENTS:
            return None, await _payout(uow, connect, news, PAYOUT_EVENTS[kind], now)
        if kind == "transfer.reversed":
            return None, await _reversed(uow, connect, news, now)
        return None, f"event type {kind!r} is not handled"

    async def no_payment() -> Payment | None:
        return None

    return await act_once(news.event, uow, now, act, no_payment)


async def _account(uow: UnitOfWork, connect: ConnectProvider, news: ConnectNews, state: AccountState | None,
                   now: datetime) -> str | None:
    found = await uow.market.account_by_ref(connect.name, news.account_ref or "")
    if found is None:
        return "not one of our sellers' accounts"
    if state is None:
        return "the provider did not answer: the account is read again on its next event or status check"
    account = await uow.market.account_of(found.seller_id, for_update=True)
    if account is None:
        return "not one of our sellers' accounts"
    account.charges_enabled, account.payouts_enabled = state.charges_enabled, state.payouts_enabled
    account.details_submitted, account.requirements = state.details_submitted, state.requirements
    account.disabled_reason, account.updated_at = state.disabled_reason, now
    await uow.market.save_account(account)
    return None


async def _payout(uow: UnitOfWork, connect: ConnectProvider, news: ConnectNews, status: PayoutStatus,
                  now: datetime) -> str | None:
    found = await uow.market.payout_by_ref(connect.name, news.object_ref or "")
    if found is None:
        return "not one of our payouts"
    before = found.status
    moved = await move_payout(uow, found.uuid, status, now, failure_code=news.failure_code)
    if moved is None or moved.status is before:
        return f"the payout is {before} already"
    return None


async def _reversed(uow: UnitOfWork, connect: ConnectProvider, news: ConnectNews, now: datetime) -> str | None:
    found = await uow.market.transfer_by_ref(connect.name, news.object_ref or "")
    if found is None or news.amount_reversed is None:
        return "not one of our transfers"
    await uow.market.account_of(found.seller_id, for_update=True)
    transfer = await uow.market.transfer_by_id(found.pk)
    if transfer is None:
        return "not one of our transfers"
    asked = await uow.market.pending_reversals_of(transfer.pk) or Money.zero(transfer.amount.code)
    extra = news.amount_reversed - transfer.reversed.minor - asked.minor
    if extra <= 0:
        return "every reversal of this transfer is booked already"
    amount = Money.of(extra, transfer.amount.code)
    await uow.ledger.append(transfer_reversal_entry(
        transfer.seller_id, amount, f"transfer_reversed:{transfer.uuid}:{news.amount_reversed}", now))
    transfer.reversed = transfer.reversed + amount
    if transfer.reversed >= transfer.amount:
        transfer.status = TransferStatus.REVERSED
    transfer.updated_at = now
    await uow.market.save_transfer(transfer)
    return None
