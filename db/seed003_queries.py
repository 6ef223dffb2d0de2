"""Read queries for seed 003 (/payments/): a payment with its buyer and order, an order's whole
payment history, and the admins' filtered, paginated listing. A constant number of statements
each, whatever the size: the rows with their parties, then all their attempts at once.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import select

from db.engine import Database
from db.mapping import aware
from db.payment_tables import PaymentRow
from db.payments import payments_with_attempts
from db.tables import OrderRow, UserRow
from domain.money import Money
from domain.payments import Payment


@dataclass(frozen=True, slots=True)
class OrderSummary:
    id: int
    number: str
    buyer_id: int
    status: str
    total: Money
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentInContext:
    payment: Payment
    buyer_email: str
    order: OrderSummary | None  # None: a direct payment, for no order


def _summary(row: OrderRow | None) -> OrderSummary | None:
    if row is None or row.id is None:
        return None
    return OrderSummary(row.id, row.number or "", row.buyer_id, row.status, Money.of(row.total_minor, row.currency),
                        aware(row.created_at))


def _joined():
    return (select(PaymentRow, UserRow.email, OrderRow)
            .join(UserRow, UserRow.id == PaymentRow.buyer_id)
            .outerjoin(OrderRow, OrderRow.id == PaymentRow.order_id))


async def _read(db: Database, query) -> list[PaymentInContext]:
    async with db.read_sessions() as session:
        rows: Sequence = (await session.exec(query)).all()
        found = await payments_with_attempts(session, [payment.id for payment, _, _ in rows])
    return [PaymentInContext(found[payment.id], email, _summary(order))
            for payment, email, order in rows if payment.id in found]


async def payment_in_context(db: Database, payment_id: int) -> PaymentInContext | None:
    """A payment by its integer id, whoever's it is: the caller decides who may see it."""
    found = await _read(db, _joined().where(PaymentRow.id == payment_id))
    return found[0] if found else None


async def order_history(db: Database, order_id: int) -> tuple[OrderSummary | None, list[Payment]]:
    """An order and every payment made for it, oldest first, each with its attempts."""
    async with db.read_sessions() as session:
        order = _summary((await session.exec(select(OrderRow).where(OrderRow.id == order_id))).first())
        if order is None:
            return None, []
        ids = (await session.exec(select(PaymentRow.id).where(PaymentRow.order_id == order_id)
                                  .order_by(PaymentRow.id))).all()
        found = await payments_with_attempts(session, [i for i in ids if i is not None])
    return order, [found[i] for i in ids if i in found]


async def payments_for_admin(db: Database, *, statuses: Sequence[str], offset: int, limit: int
                             ) -> tuple[list[PaymentInContext], int]:
    """Every payment, newest first, with its buyer and order; `statuses` empty: all of them."""
    where = [PaymentRow.status.in_(list(statuses))] if statuses else []  # type: ignore[attr-defined]
    page = _joined().where(*where).order_by(PaymentRow.id.desc()).offset(offset).limit(limit)  # type: ignore[union-attr]
    found = await _read(db, page)
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(PaymentRow).where(*where))).one()
    return found, int(total)
