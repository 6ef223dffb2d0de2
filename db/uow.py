"""The unit of work: one business action, one write transaction, rolled back unless committed.

Lock order. Every use case takes PostgreSQL's row locks in one order, so two transactions never
wait on each other in a circle:

    webhook event -> refund request -> payment -> order -> products (ascending id) -> the rest

(the rest: disputes, risk assessments, reservations, cart lines, attempts, ledger rows, which nothing else locks first), and
for billing, customer -> subscription, and for merchants' webhooks, endpoint -> delivery. A use
case may skip a step, never go back to an earlier one; inserting a row (a payment under its
order's lock) locks nothing another use case waits on. Rows are locked FOR NO KEY UPDATE,
never FOR UPDATE: no use case changes or deletes a key under its lock (the one exception,
deleting a webhook endpoint, db/outgoing_webhooks.py, wants exactly that wait), and FOR UPDATE also
conflicts with the KEY SHARE lock that PostgreSQL's foreign-key check takes on the referenced
row for every insert (a cart line, a reservation, an attempt). Held FOR UPDATE by a checkout
while `cartSetItem` inserted a cart line, a product's row deadlocked (issue 10): the inserting
transaction walks the row's update chain, which the checkout's lock waits behind.

A deadlock the order can't exclude (PostgreSQL's own lock queues) and a serialization failure
abort the transaction; `transaction()` runs the block again from its start (a few times, after a
short random wait). Blocks never call a provider (STYLE.md section 5), so a retry repeats only
database work: nothing is ever sent twice.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Self, TypeVar

import stamina
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import SqlAuditTrail
from db.billing import SqlCustomers, SqlSubscriptions
from db.disputes import SqlDisputes
from db.engine import Database
from db.jobs import SqlJobQueue
from db.ledger import SqlLedger
from db.market import SqlMarket
from db.orders import SqlAddresses, SqlOrders
from db.outbox import SqlOutbox
from db.outgoing_webhooks import SqlOutgoingEvents, SqlWebhookDeliveries, SqlWebhookEndpoints
from db.payments import SqlPayments
from db.refund_requests import SqlRefundRequests
from db.repositories import SqlCarts, SqlProducts
from db.risk import SqlRiskAssessments
from db.stock import SqlStock
from db.webhook_events import SqlWebhookEvents
from db.write_batch import WriteBatch
from domain.ports import EventPublisher

T = TypeVar("T")
# PostgreSQL's serialization_failure and deadlock_detected: the transaction was aborted to let
# another one through, and the same work run again can succeed.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
TRIES = 4
# Short waits, randomised: the transactions that collided are retried apart from each other.
FIRST_WAIT_S, MAX_WAIT_S, JITTER_S = 0.02, 0.5, 0.05


def aborted_to_retry(exc: Exception) -> bool:
    """True for a transaction the database aborted only to break a deadlock or a conflict."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


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
        # Writes whose answer nobody needs wait here and go together (db/write_batch.py).
        self.batch = batch = WriteBatch(session, sqlite)
        # Merchants' events are written by the repositories, in this transaction (the outbox).
        # Kept until commit() and written then, all in one statement.
        self.outgoing_events = outbox = SqlOutgoingEvents(session, buffered=True, batch=batch)
        self.webhook_endpoints = SqlWebhookEndpoints(session, sqlite)
        self.webhook_deliveries = SqlWebhookDeliveries(session, sqlite)
        self.products = SqlProducts(session)
        self.carts = SqlCarts(session, sqlite, batch)
        self.addresses = SqlAddresses(session)
        self.orders = SqlOrders(session, sqlite, self.changes, outbox, batch)
        self.stock = SqlStock(session, sqlite, batch)
        self.audit = SqlAuditTrail(session, self.request_id, batch)
        self.payments = SqlPayments(session, sqlite, self.changes, outbox, batch, self.orders)
        self.ledger = SqlLedger(session, sqlite, batch)
        self.refund_requests = SqlRefundRequests(session, sqlite, outbox)
        self.webhook_events = SqlWebhookEvents(session, sqlite)
        self.customers = SqlCustomers(session, sqlite)
        self.subscriptions = SqlSubscriptions(session, sqlite, outbox)
        self.emails = SqlOutbox(session, sqlite, batch)
        self.jobs = SqlJobQueue(session, sqlite)
        self.market = SqlMarket(session, sqlite, outbox, batch)
        self.disputes = SqlDisputes(session, sqlite, self.changes, outbox)
        self.risk = SqlRiskAssessments(session, batch)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._session is not None:
                self.batch.discard()  # a no-op after commit
                await self._session.rollback()  # a no-op after commit
                await self._session.close()
        finally:
            self._session = None
            await self._release()

    async def _release(self) -> None:
        if self._locked:
            self._locked = False
            self.db.write_lock.release()

    async def transaction(self, block: Callable[[], Awaitable[T]]) -> T:
        """Run `block` (one `async with self:` ... `commit()` and nothing else) and answer what it
        answers; run it again from the start when the database aborted it to break a deadlock or
        a serialization failure (see the module's docstring)."""
        async for attempt in stamina.retry_context(on=aborted_to_retry, attempts=TRIES, timeout=None,
                                                   wait_initial=FIRST_WAIT_S, wait_max=MAX_WAIT_S,
                                                   wait_jitter=JITTER_S):
            with attempt:
                return await block()
        raise AssertionError("unreachable: the last try's error propagates")  # pragma: no cover

    async def commit(self) -> None:
        await self.outgoing_events.flush()
        await self.batch.flush()
        await self._session.commit()
        # Subscribers hear of a change only once it is committed, and then re-read it.
        if self.events is not None:
            for topic in sorted(self.changes):
                await self.events.publish(topic)
        self.changes.clear()
