"""Payouts: a seller's connected balance sent to their bank, and the provider's news about it.

Booked before the provider is asked (seller_transferred -> payouts_in_transit) under the
seller's account row lock, after reading the balance under that lock: payouts racing each other
never spend more than the account holds. What the seller owes (available below zero) is kept
back. The provider's refusal books the money back; a later `payout.paid` / `payout.failed` /
`payout.canceled` moves the payout forward once and never backwards.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import (
    InvalidStateError,
    NotAllowedError,
    NotFoundError,
    ProviderUnavailableError,
    ValidationError,
)
from domain.identity import Actor, Role
from domain.ledger import EntryKind, Payout, payout_entry, payout_failure_entry, payout_paid_entry
from domain.ledger import accounts as acc
from domain.marketplace.accounts import refreshed
from domain.marketplace.connect import ConnectProvider, Moved, PayoutOrder
from domain.marketplace.model import PayoutRecord, PayoutStatus
from domain.money import Money
from domain.ports import UnitOfWork
from domain.text import free_text

MAX_DESCRIPTION = 200


@dataclass(frozen=True, slots=True)
class RequestPayout:
    actor: Actor
    currency: str
    amount: Money | None = None    # admins only: None pays out everything payable
    seller_id: int | None = None   # admins only: whose balance; a seller pays out their own
    description: str = ""


async def payable(uow: UnitOfWork, seller_id: int, code: str) -> Money:
    """What a payout may take now: the connected balance less what the seller owes."""
    transferred = await uow.market.balance(acc.seller_transferred(seller_id, code))
    available = await uow.market.balance(acc.seller_available(seller_id, code))
    debt = max(-available.minor, 0)
    return Money.of(max(transferred.minor - debt, 0), code)


async def create_payout(cmd: RequestPayout, uow: UnitOfWork, connect: ConnectProvider, now: datetime) -> PayoutRecord:
    actor = cmd.actor
    if cmd.amount is not None or (cmd.seller_id is not None and cmd.seller_id != actor.user_id):
        if not actor.is_admin:
            raise NotAllowedError("only admins name a payout's amount or seller")
    elif not actor.has(Role.SELLER):
        raise NotAllowedError("only sellers and admins create payouts")
    if cmd.seller_id is None and not actor.has(Role.SELLER):
        raise ValidationError("name the seller whose balance is paid out (seller_id)", "seller_id")
    seller_id = cmd.seller_id if cmd.seller_id is not None else actor.user_id
    description = free_text(cmd.description, "description", max_length=MAX_DESCRIPTION, required=False)
    if cmd.amount is not None and cmd.amount.code != cmd.currency:
        raise ValidationError("amount and currency disagree", "currency")

    await refreshed(uow, connect, seller_id, now)

    async def book() -> tuple[PayoutRecord, str]:
        async with uow:
            account = await uow.market.account_of(seller_id, for_update=True)
            if account is None:
                raise (NotFoundError("connected account", seller_id) if actor.is_admin else
                       InvalidStateError("create a connected account first (POST stripe/account/)"))
            if not account.ready or account.provider_ref is None:
                raise InvalidStateError("the connected account can't receive payouts yet: finish onboarding")
            most = await payable(uow, seller_id, cmd.currency)
            amount = cmd.amount or most
            if amount.minor <= 0:
                raise InvalidStateError(f"no {cmd.currency} balance to pay out")
            if amount > most:
                raise InvalidStateError(f"{amount} asked, {most} can be paid out")
            record = PayoutRecord(id=None, uuid=uuid.uuid4(), seller_id=seller_id, amount=amount,
                                  status=PayoutStatus.PENDING, provider=account.provider, provider_ref=None,
                                  description=description, failure_code=None, requested_by=actor.user_id,
                                  created_at=now, updated_at=now)
            await uow.ledger.append(payout_entry(Payout(str(record.uuid), seller_id, amount), now, balance=most))
            record = await uow.market.add_payout(record)
            # The transfers it pays out, oldest first, as far as the amount goes.
            left = amount.minor
            for transfer in await uow.market.unpaid_out_transfers(seller_id, cmd.currency):
                net = transfer.amount.minor - transfer.reversed.minor
                if net <= 0 or net > left:
                    continue
                left -= net
                transfer.payout_id = record.pk
                await uow.market.save_transfer(transfer)
                record.transfer_ids.append(transfer.pk)
            await uow.commit()
            return record, account.provider_ref

    record, account_ref = await uow.transaction(book)
    return await send_payout(uow, connect, record, account_ref, now)


async def send_payout(uow: UnitOfWork, connect: ConnectProvider, record: PayoutRecord, account_ref: str,
                      now: datetime) -> PayoutRecord:
    """Ask the provider for a booked payout (again, with its own key, after no answer)."""
    try:
        answer = await connect.payout(PayoutOrder(f"payout-{record.uuid}", account_ref, record.amount,
                                                  record.description or f"payout {record.uuid}"))
    except ProviderUnavailableError:
        return record  # pending; the provider's event (or reconciliation) settles it
    if isinstance(answer, Moved):
        status = PayoutStatus.PAID if answer.status == "paid" else PayoutStatus.IN_TRANSIT
        return await apply_payout_status(uow, record.uuid, status, now, provider_ref=answer.provider_ref) or record
    return await apply_payout_status(uow, record.uuid, PayoutStatus.FAILED, now, failure_code=answer.code) or record


async def apply_payout_status(uow: UnitOfWork, payout_uuid: uuid.UUID, status: PayoutStatus, now: datetime, *,
                              provider_ref: str | None = None, failure_code: str | None = None) -> PayoutRecord | None:
    """Move a payout forward (the provider's answer or event): booked once, never backwards."""

    async def block() -> PayoutRecord | None:
        async with uow:
            payout = await move_payout(uow, payout_uuid, status, now, provider_ref=provider_ref,
                                       failure_code=failure_code)
            await uow.commit()
            return payout

    return await uow.transaction(block)


async def check_payouts(uow: UnitOfWork, connect: ConnectProvider, now: datetime, *,
                        older_than: timedelta = timedelta(hours=1), limit: int = 100) -> int:
    """Payouts still in transit an hour after their last news, asked about at the provider (an
    event lost on the way): settled as the provider says, forward only (the worker's
    `check-payouts`). How many moved."""
    async with uow:
        waiting = await uow.market.payouts_in_transit(now - older_than, limit)
        accounts = {s: await uow.market.account_of(s) for s in {p.seller_id for p in waiting}}
    moved = 0
    for payout in waiting:
        account = accounts.get(payout.seller_id)
        if account is None or account.provider_ref is None or payout.provider_ref is None:
            continue
        try:
            status, failure = await connect.payout_status(account.provider_ref, payout.provider_ref)
        except (ProviderUnavailableError, NotFoundError):
            continue
        target = {"paid": PayoutStatus.PAID, "failed": PayoutStatus.FAILED,
                  "canceled": PayoutStatus.CANCELED}.get(status)
        if target is None:
            continue
        done = await apply_payout_status(uow, payout.uuid, target, now, failure_code=failure)
        moved += done is not None and done.status is not payout.status
    return moved


async def move_payout(uow: UnitOfWork, payout_uuid: uuid.UUID, status: PayoutStatus, now: datetime, *,
                      provider_ref: str | None = None, failure_code: str | None = None) -> PayoutRecord | None:
    """`apply_payout_status` inside the caller's transaction (a webhook's): the seller's account,
    then the payout, locked; False-y `moved` when the payout was there already or past it."""
    found = await uow.market.payout(payout_uuid)
    if found is None:
        return None
    await uow.market.account_of(found.seller_id, for_update=True)
    payout = await uow.market.payout(payout_uuid, for_update=True)
    if payout is None:
        return None
    if provider_ref and payout.provider_ref is None:
        payout.provider_ref = provider_ref
    before = payout.status
    if payout.move_to(status, now):
        booked = Payout(str(payout.uuid), payout.seller_id, payout.amount)
        if status is PayoutStatus.PAID:
            await uow.ledger.append(payout_paid_entry(booked, now))
        elif status in (PayoutStatus.FAILED, PayoutStatus.CANCELED):
            if before is PayoutStatus.PAID:  # returned by the bank after it was paid
                await uow.ledger.append(payout_paid_entry(booked, now).reversal(
                    EntryKind.REVERSAL, f"payout_returned:{payout.uuid}", now))
            await uow.ledger.append(payout_failure_entry(booked, now))
            payout.failure_code = failure_code or payout.failure_code
            await uow.market.release_transfers(payout.pk)
    payout.updated_at = now
    await uow.market.save_payout(payout)
    return payout


