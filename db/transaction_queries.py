"""Read queries for seed 004's transactions: a payment with its order's number and its buyer's
email, which that API shows inline. Two statements per list or lookup, whatever its size: the
payments with their parties, then their attempts.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from db.engine import Database
from db.payment_tables import PaymentRow
from db.payments import payments_with_attempts
from db.tables import OrderRow, UserRow
from domain.payments import Payment


@dataclass(frozen=True, slots=True)
class PaymentWithParties:
    payment: Payment
    order_number: str
    buyer_email: str


def _joined():
    return (select(PaymentRow, OrderRow.number, UserRow.email)
            .join(OrderRow, OrderRow.id == PaymentRow.order_id)
            .join(UserRow, UserRow.id == PaymentRow.buyer_id))


async def _read(db: Database, query) -> list[PaymentWithParties]:
    async with db.read_sessions() as session:
        rows = (await session.exec(query)).all()
        # Re-read with the attempts in one statement: one snapshot (db/payments.py says why).
        found = await payments_with_attempts(session, [payment.id for payment, _, _ in rows])
        return [PaymentWithParties(found[payment.id], number or "", email)
                for payment, number, email in rows if payment.id in found]


async def payments_of_buyer(db: Database, buyer_id: int) -> list[PaymentWithParties]:
    """Every payment the buyer made, newest first."""
    return await _read(db, _joined().where(PaymentRow.buyer_id == buyer_id).order_by(PaymentRow.id.desc()))


async def payment_by_number(db: Database, number: str) -> PaymentWithParties | None:
    """A payment by its TXN- number (any case), whoever's it is: the caller decides who may see it."""
    found = await _read(db, _joined().where(PaymentRow.number == number.strip().upper()))
    return found[0] if found else None
