"""Transfers: a seller's share of one payment moved to their connected account, and claw-backs.

A transfer is booked before the provider is asked (seller_available -> seller_transferred) under
the payment's lock, then the seller's account row's lock; one transfer per payment and seller
(UNIQUE in the database), so transfers racing each other make one. The provider's refusal books
the money back; no answer leaves it pending, and asking again resends it with the same key.

Debt is netted: a seller whose available balance is below their share (a refund after an
earlier transfer, a lost dispute) gets the share less what they owe (`netted_debt`).

A refund after the transfer takes the seller's part out of `seller_available` (the hold was
released); `note_clawbacks`, called where the refund is booked, asks for that part back from the
transfer (a transfer reversal), as much as the connected account still holds; the rest stays
the seller's debt. The worker sends the reversals (`send_pending_reversals`).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain.errors import InvalidStateError, NotAllowedError, NotFoundError, ProviderUnavailableError
from domain.identity import Actor, Role
from domain.ledger import (
    AccountKind,
    EntryKind,
    JournalEntry,
    Transfer,
    capture_ref,
    capture_view,
    transfer_entry,
)
from domain.ledger import accounts as acc
from domain.ledger.clawbacks import transfer_reversal_entry
from domain.marketplace.accounts import refreshed
from domain.marketplace.connect import ConnectProvider, Moved, TransferOrder
from domain.marketplace.holds import release_one
from domain.marketplace.model import (
    HoldStatus,
    ReversalRecord,
    ReversalStatus,
    TransferRecord,
    TransferStatus,
)
from domain.marketplace.payouts import send_payout
from domain.money import Money
from domain.payments.status import PaymentStatus
from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class RequestTransfer:
    actor: Actor
    payment_uuid: str
    transfer_group: str | None = None


@dataclass(frozen=True, slots=True)
class _ToSend:
    transfer: TransferRecord
    account_ref: str
    source_ref: str | None


async def transfer_payment(cmd: RequestTransfer, uow: UnitOfWork, connect: ConnectProvider, hold_period: timedelta,
                           now: datetime) -> list[TransferRecord]:
    """Transfer the caller's share of a delivered payment (staff: every seller's), releasing a hold
    whose date has passed; answers the transfers, existing ones included (idempotent)."""
    actor = cmd.actor
    async with uow:  # the sellers' accounts, fresh from the provider if onboarding just ended
        found = await uow.payments.by_uuid(cmd.payment_uuid)
        order = await uow.orders.get(found.order_id) if found is not None and found.order_id else None
    for seller in sorted(order.seller_ids if order is not None else ()):
        if actor.is_staff or seller == actor.user_id:
            await refreshed(uow, connect, seller, now)

    async def book() -> list[_ToSend]:
        async with uow:
            found = await uow.payments.by_uuid(cmd.payment_uuid)
            if found is None:
                raise NotFoundError("transaction", cmd.payment_uuid)
            payment = await uow.payments.get(found.pk, for_update=True)
            order = await uow.orders.get(found.order_id) if found.order_id is not None else None
            if payment is None or order is None:
                raise NotFoundError("transaction", cmd.payment_uuid)
            if actor.is_staff:
                sellers = sorted(order.seller_ids)
            elif actor.has(Role.SELLER) and actor.user_id in order.seller_ids:
                sellers = [actor.user_id]
            elif payment.buyer_id == actor.user_id:
                raise NotAllowedError("only the payment's sellers or staff transfer it")
            else:
                raise NotFoundError("transaction", cmd.payment_uuid)
            if payment.status is not PaymentStatus.SUCCEEDED:
                raise InvalidStateError(f"payment {payment.number} is {payment.status}: nothing captured to transfer")
            delivered = await uow.market.delivered(order.pk)
            out: list[_ToSend] = []
            for seller in sellers:
                out.append(await _book_one(uow, cmd, payment.provider_ref, order.pk, seller, delivered, hold_period, now))
            await uow.commit()
            return out

    booked = await uow.transaction(book)
    done = []
    for item in booked:
        transfer = item.transfer
        if transfer.status is TransferStatus.PENDING:
            transfer = await _send(item, uow, connect, now)
        done.append(transfer)
    return done


async def _book_one(uow: UnitOfWork, cmd: RequestTransfer, source_ref: str | None, order_id: int, seller: int,
                    delivered: dict[int, datetime], hold_period: timedelta, now: datetime) -> _ToSend:
    existing = await uow.market.transfer_for(cmd.payment_uuid, seller)
    account = await uow.market.account_of(seller, for_update=True)
    if existing is not None:
        return _ToSend(existing, account.provider_ref or "" if account else "", source_ref)
    if seller not in delivered:
        raise InvalidStateError(f"seller {seller} has not delivered this order: mark it delivered first")
    hold = await uow.market.hold(cmd.payment_uuid, seller)
    if hold is not None and hold.status is HoldStatus.HELD:
        if hold.releases_at is None or hold.releases_at > now:
            when = hold.releases_at.isoformat() if hold.releases_at else "delivery"
            raise InvalidStateError(f"seller {seller}'s share is on hold until {when}")
        await release_one(uow, cmd.payment_uuid, seller, now, hold_period)
    if account is None or not account.ready or account.provider_ref is None:
        raise InvalidStateError(f"seller {seller} has no connected account able to receive payouts yet")
    family = await uow.ledger.family(capture_ref(cmd.payment_uuid))
    capture = next((e for e in family if e.ref == capture_ref(cmd.payment_uuid)), None)
    if capture is None:
        raise InvalidStateError("the payment's capture is not booked yet")
    view = capture_view(capture, [e for e in family if e is not capture])
    left = view.seller(seller).refundable
    available = await uow.market.balance(acc.seller_available(seller, left.code))
    amount = min(left, available) if available.minor > 0 else Money.zero(left.code)
    if amount.minor <= 0:
        raise InvalidStateError(f"nothing to transfer to seller {seller}: {left} left of this payment, "
                                f"{available} available (the seller's debt is kept back)")
    record = TransferRecord(
        id=None, uuid=uuid.uuid4(), seller_id=seller, payment_uuid=cmd.payment_uuid, order_id=order_id,
        amount=amount, netted_debt=left - amount, status=TransferStatus.PENDING, provider=account.provider,
        provider_ref=None, transfer_group=cmd.transfer_group or f"order-{order_id}", reversed=Money.zero(left.code),
        payout_id=None, created_at=now, updated_at=now)
    await uow.ledger.append(transfer_entry(Transfer(str(record.uuid), seller, amount), now, available=available))
    record = await uow.market.add_transfer(record)
    return _ToSend(record, account.provider_ref, source_ref)


async def _send(item: _ToSend, uow: UnitOfWork, connect: ConnectProvider, now: datetime) -> TransferRecord:
    transfer = item.transfer
    try:
        answer = await connect.transfer(TransferOrder(
            idempotency_key=f"transfer-{transfer.uuid}", account_ref=item.account_ref, amount=transfer.amount,
            source_payment_ref=item.source_ref, transfer_group=transfer.transfer_group,
            description=f"payment {transfer.payment_uuid}"))
    except ProviderUnavailableError:
        return transfer  # pending: asking again resends it with the same key

    async def settle() -> TransferRecord:
        async with uow:
            await uow.market.account_of(transfer.seller_id, for_update=True)
            current = await uow.market.transfer(transfer.uuid)
            if current is None or current.status is not TransferStatus.PENDING:
                return current or transfer
            if isinstance(answer, Moved):
                current.status, current.provider_ref = TransferStatus.PAID, answer.provider_ref
            else:
                current.status = TransferStatus.FAILED
                await uow.ledger.append(transfer_reversal_entry(
                    current.seller_id, current.amount, f"transfer_failed:{current.uuid}", now))
            current.updated_at = now
            await uow.market.save_transfer(current)
            await uow.commit()
            return current

    return await uow.transaction(settle)


async def send_unsent(uow: UnitOfWork, connect: ConnectProvider, now: datetime, *,
                      older_than: timedelta = timedelta(minutes=1), limit: int = 100) -> int:
    """Transfers and payouts booked but left without the provider's answer (a timeout, a crash
    between booking and asking), sent again with their original keys: the provider makes each
    once (the worker's `resend-unanswered-transfers`). How many got an answer."""
    async with uow:
        transfers, payouts = await uow.market.unsent(now - older_than, limit)
        sources = {t.payment_uuid: await uow.payments.by_uuid(t.payment_uuid) for t in transfers}
        accounts = {s: await uow.market.account_of(s) for s in {t.seller_id for t in transfers}
                    | {p.seller_id for p in payouts}}
    answered = 0
    for transfer in transfers:
        account, payment = accounts.get(transfer.seller_id), sources.get(transfer.payment_uuid)
        if account is None or account.provider_ref is None:
            continue
        sent = await _send(_ToSend(transfer, account.provider_ref, payment.provider_ref if payment else None),
                           uow, connect, now)
        answered += sent.status is not TransferStatus.PENDING
    for payout in payouts:
        account = accounts.get(payout.seller_id)
        if account is None or account.provider_ref is None:
            continue
        done = await send_payout(uow, connect, payout, account.provider_ref, now)
        answered += done.provider_ref is not None or done.status is not payout.status
    return answered


async def note_clawbacks(uow: UnitOfWork, payment_uuid: str, refund: JournalEntry, now: datetime) -> None:
    """Ask back from the transfers what a refund took out of sellers' available money (see the
    module docstring); called inside the transaction that books the refund, the payment locked."""
    for posting in refund.postings:
        if posting.account.kind is not AccountKind.SELLER_AVAILABLE:
            continue
        seller = posting.account.seller_id
        transfer = await uow.market.transfer_for(payment_uuid, seller)
        if transfer is None or transfer.status not in (TransferStatus.PENDING, TransferStatus.PAID):
            continue
        await uow.market.account_of(seller, for_update=True)  # a payout can't spend it meanwhile
        asked = await uow.market.pending_reversals_of(transfer.pk) or Money.zero(transfer.amount.code)
        at_account = await uow.market.balance(acc.seller_transferred(seller, posting.amount.code))
        amount = min(posting.amount, transfer.amount - transfer.reversed - asked, at_account)
        if amount.minor <= 0:
            continue  # paid out already: the seller's available balance below zero is their debt
        reversal = ReversalRecord(id=None, uuid=uuid.uuid4(), transfer_id=transfer.pk, seller_id=seller,
                                  amount=amount, status=ReversalStatus.PENDING, reason=refund.ref,
                                  provider_ref=None, created_at=now, updated_at=now)
        await uow.ledger.append(transfer_reversal_entry(seller, amount, f"transfer_reversal:{reversal.uuid}", now))
        await uow.market.add_reversal(reversal)


async def send_pending_reversals(uow: UnitOfWork, connect: ConnectProvider, now: datetime, limit: int = 100) -> int:
    """Send the claw-backs booked by `note_clawbacks` (the worker's `claw-back-transfers`)."""
    async with uow:
        claimed = await uow.market.claim_pending_reversals(limit)
        await uow.commit()
    sent = 0
    for reversal in claimed:
        async with uow:
            transfer = await uow.market.transfer_by_id(reversal.transfer_id)
        if transfer is None or transfer.provider_ref is None:
            continue  # its transfer is still pending: next pass
        try:
            answer = await connect.reverse_transfer(f"reversal-{reversal.uuid}", transfer.provider_ref,
                                                    reversal.amount)
        except ProviderUnavailableError:
            continue
        sent += await _settle_reversal(uow, replace(reversal), answer, now)
    return sent


async def _settle_reversal(uow: UnitOfWork, reversal: ReversalRecord, answer: object, now: datetime) -> int:
    async def block() -> int:
        async with uow:
            await uow.market.account_of(reversal.seller_id, for_update=True)
            current = await uow.market.reversal(reversal.uuid)
            if current is None or current.status is not ReversalStatus.PENDING:
                return 0
            transfer = await uow.market.transfer_by_id(current.transfer_id)
            if isinstance(answer, Moved):
                current.status, current.provider_ref = ReversalStatus.SUCCEEDED, answer.provider_ref
                if transfer is not None:
                    transfer.reversed = transfer.reversed + current.amount
                    if transfer.reversed >= transfer.amount:
                        transfer.status = TransferStatus.REVERSED
                    transfer.updated_at = now
                    await uow.market.save_transfer(transfer)
            else:
                current.status = ReversalStatus.FAILED  # the money stays at the seller: their debt
                await uow.ledger.append(transfer_reversal_entry(
                    current.seller_id, current.amount, f"transfer_reversal:{current.uuid}", now).reversal(
                    EntryKind.REVERSAL, f"transfer_reversal_failed:{current.uuid}", now))
            current.updated_at = now
            await uow.market.save_reversal(current)
            await uow.commit()
            return 1

    return await uow.transaction(block)
