"""The marketplace's records in SQL: the domain's MarketRepository (domain/marketplace/ports.py).

Rows are locked FOR NO KEY UPDATE on PostgreSQL (db/uow.py says why); SQLite's one write
transaction already excludes every other writer.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import DateTime, Integer, String, bindparam, case, func, text, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.market_tables import (
    MarketAccountRow,
    MarketDeliveryRow,
    MarketDifferenceRow,
    MarketHoldRow,
    MarketPayoutRow,
    MarketReversalRow,
    MarketTransferRow,
)
from db.outgoing_webhooks import SqlOutgoingEvents
from db.payment_tables import LedgerPostingRow, PaymentRow
from db.row_ids import pk
from db.write_batch import WriteBatch
from domain.ledger import Account, AccountKind
from domain.marketplace.holds import releases_at
from domain.marketplace.model import (
    ConnectedAccount,
    HoldRecord,
    HoldStatus,
    PayoutRecord,
    PayoutStatus,
    ReversalRecord,
    ReversalStatus,
    TransferRecord,
    TransferStatus,
)
from domain.money import Money
from domain.outgoing_webhooks.payloads import payout_data, transfer_data


def _maybe(value: datetime | None) -> datetime | None:
    return aware(value) if value is not None else None


def account_from_row(row: MarketAccountRow) -> ConnectedAccount:
    return ConnectedAccount(
        id=row.id, uuid=UUID(row.uuid), seller_id=row.seller_id, provider=row.provider, provider_ref=row.provider_ref,
        country=row.country, business_type=row.business_type, charges_enabled=row.charges_enabled,
        payouts_enabled=row.payouts_enabled, details_submitted=row.details_submitted,
        requirements=tuple(row.requirements or ()), disabled_reason=row.disabled_reason,
        created_at=aware(row.created_at), updated_at=aware(row.updated_at))


def hold_from_row(row: MarketHoldRow) -> HoldRecord:
    return HoldRecord(payment_uuid=row.payment_uuid, seller_id=row.seller_id,
                      amount=Money.of(row.amount_minor, row.currency), status=HoldStatus(row.status),
                      captured_at=aware(row.captured_at), delivered_at=_maybe(row.delivered_at),
                      releases_at=_maybe(row.releases_at), released_at=_maybe(row.released_at),
                      order_id=row.order_id)


def transfer_from_row(row: MarketTransferRow) -> TransferRecord:
    money = lambda minor: Money.of(minor, row.currency)  # noqa: E731
    return TransferRecord(
        id=row.id, uuid=UUID(row.uuid), seller_id=row.seller_id, payment_uuid=row.payment_uuid,
        order_id=row.order_id, amount=money(row.amount_minor), netted_debt=money(row.netted_minor),
        status=TransferStatus(row.status), provider=row.provider, provider_ref=row.provider_ref,
        transfer_group=row.transfer_group, reversed=money(row.reversed_minor), payout_id=row.payout_id,
        created_at=aware(row.created_at), updated_at=aware(row.updated_at))


def reversal_from_row(row: MarketReversalRow) -> ReversalRecord:
    return ReversalRecord(id=row.id, uuid=UUID(row.uuid), transfer_id=row.transfer_id, seller_id=row.seller_id,
                          amount=Money.of(row.amount_minor, row.currency), status=ReversalStatus(row.status),
                          reason=row.reason, provider_ref=row.provider_ref, created_at=aware(row.created_at),
                          updated_at=aware(row.updated_at))


def payout_from_row(row: MarketPayoutRow, transfer_ids: list[int] | None = None) -> PayoutRecord:
    return PayoutRecord(
        id=row.id, uuid=UUID(row.uuid), seller_id=row.seller_id, amount=Money.of(row.amount_minor, row.currency),
        status=PayoutStatus(row.status), provider=row.provider, provider_ref=row.provider_ref,
        description=row.description, failure_code=row.failure_code, requested_by=row.requested_by,
        created_at=aware(row.created_at), updated_at=aware(row.updated_at), transfer_ids=list(transfer_ids or []))


# domain/marketplace/holds.py `releases_at` in SQL (GREATEST ignores NULLs: an undelivered
# share has no release date, hence the CASE). One statement for every seller of the capture.
_ADD_HOLDS_POSTGRESQL = text("""INSERT INTO market_holds (payment_uuid, order_id, seller_id, currency, amount_minor,
  status, captured_at, delivered_at, releases_at)
SELECT :payment_uuid, :order_id, s.seller_id, :currency, s.amount_minor, 'held', :captured_at, d.delivered_at,
  CASE WHEN d.delivered_at IS NULL THEN NULL ELSE GREATEST(d.delivered_at, :captured_at) + CAST(:hold AS interval) END
FROM unnest(CAST(:sellers AS integer[]), CAST(:amounts AS bigint[])) AS s(seller_id, amount_minor)
LEFT JOIN market_deliveries d ON d.order_id = :order_id AND d.seller_id = s.seller_id
ON CONFLICT (payment_uuid, seller_id) DO NOTHING""").bindparams(
    bindparam("payment_uuid", type_=String), bindparam("order_id", type_=Integer), bindparam("currency", type_=String),
    bindparam("captured_at", type_=DateTime(timezone=True)), bindparam("hold"), bindparam("sellers"),
    bindparam("amounts"))

# Core, built once (the buyer's flow reads it at every capture): no ORM session needed for it.
_DELIVERIES = MarketDeliveryRow.__table__
_DELIVERED = core_select(_DELIVERIES.c.seller_id, _DELIVERIES.c.delivered_at).where(
    _DELIVERIES.c.order_id == bindparam("b_order"))


class SqlMarket:
    def __init__(self, session: AsyncSession, is_sqlite: bool, outbox: SqlOutgoingEvents | None = None,
                 batch: WriteBatch | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.batch = batch or WriteBatch.at_once(session)
        # Merchants' webhooks: transfers' and payouts' moves, written in this transaction.
        self.outbox = outbox if outbox is not None else SqlOutgoingEvents(session)

    def _locked(self, query, for_update: bool):
        return query.with_for_update(key_share=True) if for_update and not self.is_sqlite else query

    async def _first(self, query):
        return (await self.session.exec(query)).first()

    # --- connected accounts ---

    async def account_of(self, seller_id: int, *, for_update: bool = False) -> ConnectedAccount | None:
        row = await self._first(self._locked(select(MarketAccountRow).where(MarketAccountRow.seller_id == seller_id),
                                             for_update))
        return account_from_row(row) if row else None

    async def account_by_ref(self, provider: str, provider_ref: str) -> ConnectedAccount | None:
        row = await self._first(select(MarketAccountRow).where(MarketAccountRow.provider == provider,
                                                               MarketAccountRow.provider_ref == provider_ref))
        return account_from_row(row) if row else None

    async def add_account(self, account: ConnectedAccount) -> ConnectedAccount:
        row = MarketAccountRow(uuid=str(account.uuid), seller_id=account.seller_id, provider=account.provider,
                               provider_ref=account.provider_ref, country=account.country,
                               business_type=account.business_type, requirements=list(account.requirements),
                               created_at=account.created_at, updated_at=account.updated_at)
        self.session.add(row)
        await self.session.flush()
        account.id = row.id
        return account

    async def save_account(self, account: ConnectedAccount) -> None:
        await self.session.exec(update(MarketAccountRow).where(MarketAccountRow.id == account.pk).values(
            provider_ref=account.provider_ref, charges_enabled=account.charges_enabled,
            payouts_enabled=account.payouts_enabled, details_submitted=account.details_submitted,
            requirements=list(account.requirements), disabled_reason=account.disabled_reason,
            updated_at=account.updated_at))

    # --- deliveries and holds ---

    async def delivered(self, order_id: int) -> dict[int, datetime]:
        rows = (await self.session.exec(_DELIVERED, params={"b_order": order_id})).all()  # type: ignore[call-overload]
        return {seller: aware(at) for seller, at in rows}

    async def add_delivery(self, order_id: int, seller_id: int, at: datetime) -> bool:
        exists = await self._first(select(MarketDeliveryRow.id).where(MarketDeliveryRow.order_id == order_id,
                                                                      MarketDeliveryRow.seller_id == seller_id))
        if exists is not None:
            return False
        self.session.add(MarketDeliveryRow(order_id=order_id, seller_id=seller_id, delivered_at=at))
        await self.session.flush()
        return True

    async def deliver_holds(self, order_id: int, seller_id: int, delivered_at: datetime,
                            releases_at: datetime) -> None:
        await self.session.exec(update(MarketHoldRow).where(
            MarketHoldRow.order_id == order_id, MarketHoldRow.seller_id == seller_id,
            MarketHoldRow.delivered_at.is_(None)).values(delivered_at=delivered_at, releases_at=releases_at))

    async def add_hold(self, hold: HoldRecord) -> None:
        # One statement: the UNIQUE (payment_uuid, seller_id) keeps the first hold of a share.
        insert = (sqlite_dialect if self.is_sqlite else postgresql_dialect).insert(MarketHoldRow.__table__)
        await self.session.exec(insert.values(  # type: ignore[call-overload]
            payment_uuid=hold.payment_uuid, order_id=hold.order_id, seller_id=hold.seller_id,
            currency=hold.amount.code, amount_minor=hold.amount.minor, status=hold.status.value,
            captured_at=hold.captured_at, delivered_at=hold.delivered_at, releases_at=hold.releases_at)
            .on_conflict_do_nothing(index_elements=["payment_uuid", "seller_id"]))

    async def add_holds(self, holds: Sequence[HoldRecord], hold_period: timedelta) -> None:
        if not holds:
            return
        if self.batch.defers:  # PostgreSQL: one INSERT … SELECT with the deliveries, deferred
            first = holds[0]
            await self.batch.defer(_ADD_HOLDS_POSTGRESQL, {
                "payment_uuid": first.payment_uuid, "order_id": first.order_id, "currency": first.amount.code,
                "captured_at": first.captured_at, "hold": hold_period,
                "sellers": [h.seller_id for h in holds], "amounts": [h.amount.minor for h in holds]},
                writes=("market_holds",), reads=("market_deliveries",), appends=True)
            return
        delivered = await self.delivered(holds[0].order_id) if holds[0].order_id is not None else {}
        for hold in holds:
            at = delivered.get(hold.seller_id)
            await self.add_hold(replace(hold, delivered_at=at, releases_at=None if at is None
                                        else releases_at(at, hold.captured_at, hold_period)))

    async def holds_of_order(self, order_id: int) -> list[HoldRecord]:
        rows = (await self.session.exec(select(MarketHoldRow).where(MarketHoldRow.order_id == order_id))).all()
        return [hold_from_row(r) for r in rows]

    async def hold(self, payment_uuid: str, seller_id: int) -> HoldRecord | None:
        row = await self._first(select(MarketHoldRow).where(MarketHoldRow.payment_uuid == payment_uuid,
                                                            MarketHoldRow.seller_id == seller_id))
        return hold_from_row(row) if row else None

    async def save_hold(self, hold: HoldRecord) -> None:
        await self.session.exec(update(MarketHoldRow).where(
            MarketHoldRow.payment_uuid == hold.payment_uuid, MarketHoldRow.seller_id == hold.seller_id).values(
            status=hold.status.value, released_at=hold.released_at, releases_at=hold.releases_at))

    async def claim_due_holds(self, now: datetime, limit: int) -> list[tuple[str, int]]:
        # Reads the (status, releases_at) index: the cost follows the holds due, not the history.
        query = (select(MarketHoldRow.payment_uuid, MarketHoldRow.seller_id)
                 .join(PaymentRow, PaymentRow.uuid == MarketHoldRow.payment_uuid)
                 .where(MarketHoldRow.status == HoldStatus.HELD.value, col(MarketHoldRow.releases_at) <= now)
                 .order_by(MarketHoldRow.releases_at, MarketHoldRow.id).limit(limit))
        if not self.is_sqlite:  # the payment row is the lock refunds settle under (releases.py)
            query = query.with_for_update(of=PaymentRow, skip_locked=True)
        return [(uuid, seller) for uuid, seller in (await self.session.exec(query)).all()]

    # --- transfers and reversals ---

    async def transfer_for(self, payment_uuid: str, seller_id: int) -> TransferRecord | None:
        row = await self._first(select(MarketTransferRow).where(MarketTransferRow.payment_uuid == payment_uuid,
                                                                MarketTransferRow.seller_id == seller_id))
        return transfer_from_row(row) if row else None

    async def transfer(self, transfer_uuid: UUID) -> TransferRecord | None:
        row = await self._first(select(MarketTransferRow).where(MarketTransferRow.uuid == str(transfer_uuid)))
        return transfer_from_row(row) if row else None

    async def transfer_by_id(self, transfer_id: int) -> TransferRecord | None:
        row = await self.session.get(MarketTransferRow, transfer_id)
        return transfer_from_row(row) if row else None

    async def transfer_by_ref(self, provider: str, provider_ref: str) -> TransferRecord | None:
        row = await self._first(select(MarketTransferRow).where(MarketTransferRow.provider == provider,
                                                                MarketTransferRow.provider_ref == provider_ref))
        return transfer_from_row(row) if row else None

    async def add_transfer(self, transfer: TransferRecord) -> TransferRecord:
        row = MarketTransferRow(
            uuid=str(transfer.uuid), seller_id=transfer.seller_id, payment_uuid=transfer.payment_uuid,
            order_id=transfer.order_id, currency=transfer.amount.code, amount_minor=transfer.amount.minor,
            netted_minor=transfer.netted_debt.minor, reversed_minor=transfer.reversed.minor,
            status=transfer.status.value, provider=transfer.provider, provider_ref=transfer.provider_ref,
            transfer_group=transfer.transfer_group, payout_id=transfer.payout_id, created_at=transfer.created_at,
            updated_at=transfer.updated_at)
        self.session.add(row)
        await self.session.flush()
        transfer.id = row.id
        await self.outbox.status_changed("transfer", row.id, None, transfer.status.value,
                                         lambda: transfer_data(transfer), transfer.created_at)
        return transfer

    async def save_transfer(self, transfer: TransferRecord) -> None:
        before = (await self.session.exec(select(MarketTransferRow.status).where(
            MarketTransferRow.id == transfer.pk))).one()
        await self.session.exec(update(MarketTransferRow).where(MarketTransferRow.id == transfer.pk).values(
            status=transfer.status.value, provider_ref=transfer.provider_ref,
            reversed_minor=transfer.reversed.minor, payout_id=transfer.payout_id, updated_at=transfer.updated_at))
        await self.outbox.status_changed("transfer", transfer.pk, before, transfer.status.value,
                                         lambda: transfer_data(transfer), transfer.updated_at)

    async def unsent(self, older_than: datetime, limit: int) -> tuple[list[TransferRecord], list[PayoutRecord]]:
        transfers = (await self.session.exec(select(MarketTransferRow).where(
            MarketTransferRow.status == TransferStatus.PENDING.value, MarketTransferRow.provider_ref.is_(None),
            col(MarketTransferRow.updated_at) <= older_than).order_by(MarketTransferRow.id).limit(limit))).all()
        payouts = (await self.session.exec(select(MarketPayoutRow).where(
            MarketPayoutRow.status == PayoutStatus.PENDING.value, MarketPayoutRow.provider_ref.is_(None),
            col(MarketPayoutRow.updated_at) <= older_than).order_by(MarketPayoutRow.id).limit(limit))).all()
        return [transfer_from_row(r) for r in transfers], [payout_from_row(r) for r in payouts]

    async def payouts_in_transit(self, older_than: datetime, limit: int) -> list[PayoutRecord]:
        rows = (await self.session.exec(select(MarketPayoutRow).where(
            MarketPayoutRow.status.in_([PayoutStatus.PENDING.value, PayoutStatus.IN_TRANSIT.value]),
            MarketPayoutRow.provider_ref.is_not(None), col(MarketPayoutRow.updated_at) <= older_than)
            .order_by(MarketPayoutRow.updated_at, MarketPayoutRow.id).limit(limit))).all()
        return [payout_from_row(r) for r in rows]

    async def unpaid_out_transfers(self, seller_id: int, currency: str) -> list[TransferRecord]:
        rows = (await self.session.exec(select(MarketTransferRow).where(
            MarketTransferRow.seller_id == seller_id, MarketTransferRow.currency == currency,
            MarketTransferRow.payout_id.is_(None),
            MarketTransferRow.status == TransferStatus.PAID.value).order_by(MarketTransferRow.id))).all()
        return [transfer_from_row(r) for r in rows]

    async def add_reversal(self, reversal: ReversalRecord) -> ReversalRecord:
        row = MarketReversalRow(
            uuid=str(reversal.uuid), transfer_id=reversal.transfer_id, seller_id=reversal.seller_id,
            currency=reversal.amount.code, amount_minor=reversal.amount.minor, status=reversal.status.value,
            reason=reversal.reason, provider_ref=reversal.provider_ref, created_at=reversal.created_at,
            updated_at=reversal.updated_at)
        self.session.add(row)
        await self.session.flush()
        reversal.id = row.id
        return reversal

    async def pending_reversals_of(self, transfer_id: int) -> Money | None:
        row = (await self.session.exec(select(func.sum(MarketReversalRow.amount_minor), MarketReversalRow.currency)
                                       .where(MarketReversalRow.transfer_id == transfer_id,
                                              MarketReversalRow.status == ReversalStatus.PENDING.value)
                                       .group_by(MarketReversalRow.currency))).first()
        return Money.of(int(row[0]), row[1]) if row else None

    async def claim_pending_reversals(self, limit: int) -> list[ReversalRecord]:
        query = (select(MarketReversalRow).where(MarketReversalRow.status == ReversalStatus.PENDING.value)
                 .order_by(MarketReversalRow.id).limit(limit))
        if not self.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        return [reversal_from_row(r) for r in (await self.session.exec(query)).all()]

    async def reversal(self, reversal_uuid: UUID) -> ReversalRecord | None:
        row = await self._first(select(MarketReversalRow).where(MarketReversalRow.uuid == str(reversal_uuid)))
        return reversal_from_row(row) if row else None

    async def save_reversal(self, reversal: ReversalRecord) -> None:
        await self.session.exec(update(MarketReversalRow).where(MarketReversalRow.uuid == str(reversal.uuid)).values(
            status=reversal.status.value, provider_ref=reversal.provider_ref, updated_at=reversal.updated_at))

    # --- payouts ---

    async def add_payout(self, payout: PayoutRecord) -> PayoutRecord:
        row = MarketPayoutRow(
            uuid=str(payout.uuid), seller_id=payout.seller_id, currency=payout.amount.code,
            amount_minor=payout.amount.minor, status=payout.status.value, provider=payout.provider,
            provider_ref=payout.provider_ref, description=payout.description, failure_code=payout.failure_code,
            requested_by=payout.requested_by, created_at=payout.created_at, updated_at=payout.updated_at)
        self.session.add(row)
        await self.session.flush()
        payout.id = row.id
        await self.outbox.status_changed("payout", row.id, None, payout.status.value,
                                         lambda: payout_data(payout), payout.created_at)
        return payout

    async def payout(self, payout_uuid: UUID, *, for_update: bool = False) -> PayoutRecord | None:
        row = await self._first(self._locked(select(MarketPayoutRow).where(MarketPayoutRow.uuid == str(payout_uuid)),
                                             for_update))
        return payout_from_row(row) if row else None

    async def payout_by_ref(self, provider: str, provider_ref: str) -> PayoutRecord | None:
        row = await self._first(select(MarketPayoutRow).where(MarketPayoutRow.provider == provider,
                                                              MarketPayoutRow.provider_ref == provider_ref))
        return payout_from_row(row) if row else None

    async def save_payout(self, payout: PayoutRecord) -> None:
        before = (await self.session.exec(select(MarketPayoutRow.status).where(MarketPayoutRow.id == payout.pk))).one()
        await self.session.exec(update(MarketPayoutRow).where(MarketPayoutRow.id == payout.pk).values(
            status=payout.status.value, provider_ref=payout.provider_ref, failure_code=payout.failure_code,
            updated_at=payout.updated_at))
        await self.outbox.status_changed("payout", payout.pk, before, payout.status.value,
                                         lambda: payout_data(payout), payout.updated_at)

    async def release_transfers(self, payout_id: int) -> None:
        await self.session.exec(update(MarketTransferRow).where(MarketTransferRow.payout_id == payout_id)
                                .values(payout_id=None))

    # --- balances and reconciliation ---

    async def balance(self, account: Account) -> Money:
        natural = account.normal_side.value
        signed = case((LedgerPostingRow.side == natural, LedgerPostingRow.amount_minor),
                      else_=-LedgerPostingRow.amount_minor)
        total = (await self.session.exec(select(func.coalesce(func.sum(signed), 0))
                                         .where(LedgerPostingRow.account == account.key))).one()
        return Money.of(int(total), account.currency)

    async def currencies_of(self, seller_id: int) -> set[str]:
        rows = (await self.session.exec(select(LedgerPostingRow.currency).where(
            LedgerPostingRow.owner_id == seller_id,
            LedgerPostingRow.account_kind == AccountKind.SELLER_TRANSFERRED.value).distinct())).all()
        return set(rows)

    async def accounts_to_reconcile(self, limit: int, now: datetime) -> list[ConnectedAccount]:
        query = (select(MarketAccountRow).where(MarketAccountRow.provider_ref.is_not(None))
                 .order_by(MarketAccountRow.reconciled_at.is_not(None), MarketAccountRow.reconciled_at,
                           MarketAccountRow.id).limit(limit))
        if not self.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = (await self.session.exec(query)).all()
        if rows:
            await self.session.exec(update(MarketAccountRow).where(MarketAccountRow.id.in_([pk(r) for r in rows]))
                                    .values(reconciled_at=now))
        return [account_from_row(r) for r in rows]

    async def record_difference(self, seller_id: int, currency: str, ours: int, theirs: int, at: datetime) -> None:
        self.session.add(MarketDifferenceRow(seller_id=seller_id, currency=currency, ours_minor=ours,
                                             theirs_minor=theirs, found_at=at))
        await self.session.flush()
