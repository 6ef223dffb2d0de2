"""Read queries over PayPal's capture ids (db/paypal_tables.py): which order a capture captured,
and an order's captures, oldest first."""
from __future__ import annotations

from sqlmodel import select

from db.engine import Database
from db.paypal_tables import PayPalCaptureRow


async def order_of_capture(db: Database, capture_id: str) -> str | None:
    async with db.read_sessions() as session:
        return (await session.exec(select(PayPalCaptureRow.order_id)
                                   .where(PayPalCaptureRow.capture_id == capture_id))).first()


async def captures_of_order(db: Database, order_id: str) -> list[str]:
    async with db.read_sessions() as session:
        return list((await session.exec(select(PayPalCaptureRow.capture_id)
                                        .where(PayPalCaptureRow.order_id == order_id)
                                        .order_by(PayPalCaptureRow.created_at))).all())
