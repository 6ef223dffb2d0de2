"""Billing customers and subscriptions in SQL: the domain's CustomerRepository and
SubscriptionRepository (domain/ports.py).

`for_update=True` locks the row on PostgreSQL; on SQLite the IMMEDIATE write transaction already
excludes every other writer. Reads use `populate_existing`: a row read earlier in the same
session may have changed since (a concurrent webhook committed while we waited on its lock).
"""
from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.billing_tables import BillingCustomerRow, BillingSubscriptionRow
from db.mapping import aware
from db.outgoing_webhooks import SqlOutgoingEvents
from domain.billing.model import Customer, Subscription
from domain.outgoing_webhooks.payloads import subscription_data


def _aware(value):
    return aware(value) if value is not None else None


def customer_from_row(row: BillingCustomerRow) -> Customer:
    return Customer(id=row.id, uuid=UUID(row.uuid), user_id=row.user_id, provider=row.provider,
                    provider_ref=row.provider_ref, email=row.email, name=row.name,
                    metadata=dict(row.metadata_json or {}), created_at=aware(row.created_at))


def subscription_from_row(row: BillingSubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id, uuid=UUID(row.uuid), user_id=row.user_id, customer_id=row.customer_id, provider=row.provider,
        provider_ref=row.provider_ref, price_ref=row.price_ref, status=row.status,
        current_period_start=_aware(row.current_period_start), current_period_end=_aware(row.current_period_end),
        latest_invoice=row.latest_invoice, canceled_at=_aware(row.canceled_at),
        metadata=dict(row.metadata_json or {}), provider_state_at=_aware(row.provider_state_at),
        created_at=aware(row.created_at), updated_at=aware(row.updated_at))


class SqlCustomers:
    def __init__(self, session: AsyncSession, is_sqlite: bool) -> None:
        self.session = session
        self.is_sqlite = is_sqlite

    async def add(self, customer: Customer) -> Customer:
        row = BillingCustomerRow(uuid=str(customer.uuid), user_id=customer.user_id, provider=customer.provider,
                                 provider_ref=customer.provider_ref, email=customer.email, name=customer.name,
                                 metadata_json=dict(customer.metadata), created_at=customer.created_at)
        self.session.add(row)
        await self.session.flush()
        customer.id = row.id
        return customer

    async def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None:
        return await self._one(select(BillingCustomerRow).where(BillingCustomerRow.id == customer_id), for_update)

    async def get_by_ref(self, provider: str, provider_ref: str) -> Customer | None:
        return await self._one(select(BillingCustomerRow).where(BillingCustomerRow.provider == provider,
                                                                BillingCustomerRow.provider_ref == provider_ref),
                               False)

    async def unsent(self, user_id: int) -> list[Customer]:
        rows = await self.session.exec(select(BillingCustomerRow).where(
            BillingCustomerRow.user_id == user_id, BillingCustomerRow.provider_ref.is_(None))
            .order_by(BillingCustomerRow.id))
        return [customer_from_row(r) for r in rows]

    async def save(self, customer: Customer) -> None:
        row = await self.session.get(BillingCustomerRow, customer.id)
        row.provider_ref = customer.provider_ref
        row.email, row.name = customer.email, customer.name
        row.metadata_json = dict(customer.metadata)
        self.session.add(row)
        await self.session.flush()

    async def forget_unsent(self, customer_id: int) -> None:
        await self.session.exec(delete(BillingCustomerRow).where(
            BillingCustomerRow.id == customer_id, BillingCustomerRow.provider_ref.is_(None)))

    async def _one(self, query, for_update: bool) -> Customer | None:
        if for_update and not self.is_sqlite:
            query = query.with_for_update()
        row = (await self.session.exec(query.execution_options(populate_existing=True))).first()
        return customer_from_row(row) if row else None


class SqlSubscriptions:
    def __init__(self, session: AsyncSession, is_sqlite: bool, outbox: SqlOutgoingEvents | None = None) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self.outbox = outbox if outbox is not None else SqlOutgoingEvents(session)

    async def _tell(self, s: Subscription, before_ref: str | None, before_status: str | None) -> None:
        # A subscription exists for merchants once the provider confirmed it (it has a reference):
        # one the provider refused is forgotten (forget_unsent) and must never have been news.
        if s.provider_ref is not None:
            await self.outbox.status_changed("subscription", s.pk, before_status if before_ref else None,
                                             s.status.value, lambda: subscription_data(s), s.updated_at)

    async def add(self, subscription: Subscription) -> Subscription:
        row = BillingSubscriptionRow(uuid=str(subscription.uuid), user_id=subscription.user_id,
                                     customer_id=subscription.customer_id, provider=subscription.provider,
                                     price_ref=subscription.price_ref, status=subscription.status.value,
                                     created_at=subscription.created_at, updated_at=subscription.updated_at)
        _fill(row, subscription)
        self.session.add(row)
        await self.session.flush()
        subscription.id = row.id
        await self._tell(subscription, None, None)
        return subscription

    async def get(self, subscription_id: int, *, for_update: bool = False) -> Subscription | None:
        return await self._one(BillingSubscriptionRow.id == subscription_id, for_update)

    async def get_by_ref(self, provider: str, provider_ref: str, *,
                         for_update: bool = False) -> Subscription | None:
        return await self._one((BillingSubscriptionRow.provider == provider)
                               & (BillingSubscriptionRow.provider_ref == provider_ref), for_update)

    async def get_by_uuid(self, uuid: UUID, *, for_update: bool = False) -> Subscription | None:
        return await self._one(BillingSubscriptionRow.uuid == str(uuid), for_update)

    async def unsent(self, customer_id: int) -> list[Subscription]:
        rows = await self.session.exec(select(BillingSubscriptionRow).where(
            BillingSubscriptionRow.customer_id == customer_id, BillingSubscriptionRow.provider_ref.is_(None))
            .order_by(BillingSubscriptionRow.id))
        return [subscription_from_row(r) for r in rows]

    async def save(self, subscription: Subscription) -> None:
        row = await self.session.get(BillingSubscriptionRow, subscription.id)
        before_ref, before_status = row.provider_ref, row.status
        _fill(row, subscription)
        self.session.add(row)
        await self.session.flush()
        await self._tell(subscription, before_ref, before_status)

    async def forget_unsent(self, subscription_id: int) -> None:
        await self.session.exec(delete(BillingSubscriptionRow).where(
            BillingSubscriptionRow.id == subscription_id, BillingSubscriptionRow.provider_ref.is_(None)))

    async def _one(self, where, for_update: bool) -> Subscription | None:
        query = select(BillingSubscriptionRow).where(where)
        if for_update and not self.is_sqlite:
            query = query.with_for_update()
        row = (await self.session.exec(query.execution_options(populate_existing=True))).first()
        return subscription_from_row(row) if row else None


def _fill(row: BillingSubscriptionRow, s: Subscription) -> None:
    row.provider_ref = s.provider_ref
    row.price_ref = s.price_ref
    row.status = s.status.value
    row.current_period_start = s.current_period_start
    row.current_period_end = s.current_period_end
    row.latest_invoice = s.latest_invoice
    row.canceled_at = s.canceled_at
    row.metadata_json = dict(s.metadata)
    row.provider_state_at = s.provider_state_at
    row.updated_at = s.updated_at
