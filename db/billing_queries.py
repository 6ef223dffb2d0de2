"""Read queries over billing subscriptions and customers, for GraphQL's lists and node lookups.

Pages are keyset reads, newest first: `before_id` is the cursor of the last row already seen.
Who may see what is decided in domain/billing/service.py; `owner_id` None reads everyone's.
"""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from db.billing import customer_from_row, subscription_from_row
from db.billing_tables import BillingCustomerRow, BillingSubscriptionRow
from db.engine import Database
from domain.billing.model import Customer, Subscription, SubscriptionStatus


async def subscriptions_page(db: Database, owner_id: int | None, statuses: tuple[SubscriptionStatus, ...] = (),
                             *, before_id: int | None, limit: int) -> tuple[list[Subscription], int]:
    where = []
    if owner_id is not None:
        where.append(BillingSubscriptionRow.user_id == owner_id)
    if statuses:
        where.append(BillingSubscriptionRow.status.in_([s.value for s in statuses]))
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(BillingSubscriptionRow).where(*where))).one()
        query = select(BillingSubscriptionRow).where(*where)
        if before_id is not None:
            query = query.where(col(BillingSubscriptionRow.id) < before_id)
        rows = (await session.exec(query.order_by(BillingSubscriptionRow.id.desc()).limit(limit))).all()
    return [subscription_from_row(r) for r in rows], total


async def subscription(db: Database, subscription_id: int) -> Subscription | None:
    async with db.read_sessions() as session:
        row = await session.get(BillingSubscriptionRow, subscription_id)
    return subscription_from_row(row) if row else None


async def customer(db: Database, customer_id: int) -> Customer | None:
    async with db.read_sessions() as session:
        row = await session.get(BillingCustomerRow, customer_id)
    return customer_from_row(row) if row else None
