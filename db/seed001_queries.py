"""Read queries for seed 001's payment pages: a buyer's own payments, by page number.

Seed 001 pages like Django REST framework's PageNumberPagination (`?page=N`, a total `count`), so
these are offset reads, unlike the keyset pages of db/payment_queries.py. The seed shows no
attempt, so none is loaded: two statements per page, one per detail.
"""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from db.engine import Database
from db.payment_tables import PaymentRow
from db.payments import payment_from_rows
from domain.payments import Payment


def _orders_of(buyer_id: int) -> tuple:
    # Seed 001 pays orders: direct payments (seed 002's, without an order) aren't its to show.
    return PaymentRow.buyer_id == buyer_id, PaymentRow.order_id.is_not(None)


async def count_buyer_payments(db: Database, buyer_id: int) -> int:
    async with db.read_sessions() as session:
        return (await session.exec(select(func.count()).select_from(PaymentRow)
                                   .where(*_orders_of(buyer_id)))).one()


async def buyer_payments_page(db: Database, buyer_id: int, *, offset: int, limit: int) -> list[Payment]:
    """Newest first (descending id: ids grow with time)."""
    async with db.read_sessions() as session:
        rows = (await session.exec(select(PaymentRow).where(*_orders_of(buyer_id))
                                   .order_by(PaymentRow.id.desc()).offset(offset).limit(limit))).all()
        return [payment_from_rows(row, []) for row in rows]


async def buyer_payment(db: Database, buyer_id: int, payment_id: int) -> Payment | None:
    """The payment, when it is this buyer's; None when missing or someone else's."""
    async with db.read_sessions() as session:
        row = (await session.exec(select(PaymentRow).where(PaymentRow.id == payment_id,
                                                           *_orders_of(buyer_id)))).first()
        return payment_from_rows(row, []) if row is not None else None
