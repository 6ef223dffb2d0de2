"""The unit of work: one business action, one write transaction, rolled back unless committed."""
from __future__ import annotations

from typing import Self

from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import SqlAuditTrail
from db.billing import SqlCustomers, SqlSubscriptions
from db.engine import Database
from db.ledger import SqlLedger
from db.orders import SqlAddresses, SqlOrders
from db.payments import SqlPayments
from db.refund_requests import SqlRefundRequests
from db.repositories import SqlCarts, SqlProducts
from db.stock import SqlStock
from db.webhook_events import SqlWebhookEvents
from domain.ports import EventPublisher


class SqlUnitOfWork:
    def __init__(self, db: Database, request_id: str | None = None, events: EventPublisher | None = None) -> None:
        self.db = db
        self.request_id = request_id
        self.events = events
        self.changes: set[str] = set()
        self._session: AsyncSession | None = None
        self._locked = False

    async def __aenter__(self) -> Self:
        lock = self.db.write_lock
        if lock is not None:
            await lock.acquire()
            self._locked = True
        try:
            self._session = self.db.write_sessions()
            await self._session.begin()
        except BaseException:
            await self._release()
            raise
        session = self._session
        sqlite = self.db.is_sqlite
        self.changes = set()
        self.products = SqlProducts(session)
        self.carts = SqlCarts(session)
        self.addresses = SqlAddresses(session)
        self.orders = SqlOrders(session, sqlite, self.changes)
        self.stock = SqlStock(session, sqlite)
        self.audit = SqlAuditTrail(session, self.request_id)
        self.payments = SqlPayments(session, sqlite, self.changes)
        self.ledger = SqlLedger(session)
        self.refund_requests = SqlRefundRequests(session, sqlite)
        self.webhook_events = SqlWebhookEvents(session, sqlite)
        self.customers = SqlCustomers(session, sqlite)
        self.subscriptions = SqlSubscriptions(session, sqlite)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._session is not None:
                await self._session.rollback()  # a no-op after commit
                await self._session.close()
        finally:
            self._session = None
            await self._release()

    async def _release(self) -> None:
        if self._locked:
            self._locked = False
            self.db.write_lock.release()

    async def commit(self) -> None:
        await self._session.commit()
        # Subscribers hear of a change only once it is committed, and then re-read it.
        if self.events is not None:
            for topic in sorted(self.changes):
                await self.events.publish(topic)
        self.changes.clear()
