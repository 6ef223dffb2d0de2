"""PayPal capture ids in SQL: written by the adapter (outside our transactions, as a provider's
own record is), read by seed 002's refund path. Insert-or-nothing: a capture captures one order."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.engine import Database
from db.paypal_queries import order_of_capture
from db.paypal_tables import PayPalCaptureRow


class SqlPayPalCaptures:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return "PayPal captures in the database"

    async def remember(self, capture_id: str, order_id: str) -> None:
        if await order_of_capture(self.db, capture_id) == order_id:
            return  # known: most reads of an order see its capture again; no write for them
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        statement = insert(PayPalCaptureRow).values(capture_id=capture_id, order_id=order_id,
                                                    created_at=datetime.now(UTC))
        lock = self.db.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            async with self.db.write_sessions() as session, session.begin():
                await session.exec(statement.on_conflict_do_nothing(index_elements=["capture_id"]))
        finally:
            if lock is not None:
                lock.release()

