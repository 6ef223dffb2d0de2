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

What a transaction costs in Python (issue 16: the flow's CPU). The repositories' write path is
SQLAlchemy Core, so a transaction is a plain connection (db/transaction.py): Core statements go
straight to it, and an ORM session is made over the same connection only for a repository that
adds or reads ORM rows. Repositories are built when first used, not twenty at every transaction.
The retry is a plain loop: no retry object per transaction to become cyclic garbage.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Self, TypeVar, cast

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
from db.transaction import WriteTransaction
from db.webhook_events import SqlWebhookEvents
from db.write_batch import WriteBatch
from domain.ports import EventPublisher

log = logging.getLogger("paygate.db")

T = TypeVar("T")
# PostgreSQL's serialization_failure and deadlock_detected: the transaction was aborted to let
# another one through, and the same work run again can succeed.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
TRIES = 4
# Short waits, randomised: the transactions that collided are retried apart from each other. The
# n-th wait is FIRST_WAIT_S * 2**(n-1) plus up to JITTER_S, at most MAX_WAIT_S.
FIRST_WAIT_S, MAX_WAIT_S, JITTER_S = 0.02, 0.5, 0.05


def aborted_to_retry(exc: BaseException) -> bool:
    """True for a transaction the database aborted only to break a deadlock or a conflict."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def retry_wait_s(retry: int) -> float:
    """How long to wait before the `retry`-th run again (1 for the second run)."""
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (retry - 1) + random.uniform(0, JITTER_S))


# The repositories (cached properties below), forgotten when a transaction begins.
_REPOSITORIES = ("outgoing_events", "webhook_endpoints", "webhook_deliveries", "products", "carts", "addresses",
                 "orders", "stock", "audit", "payments", "ledger", "refund_requests", "webhook_events",
                 "customers", "subscriptions", "emails", "jobs", "market", "disputes", "risk")


class SqlUnitOfWork:
    def __init__(self, db: Database, request_id: str | None = None, events: EventPublisher | None = None) -> None:
        self.db = db
        self.request_id = request_id
        self.events = events
        self.changes: set[str] = set()
        self._tx: WriteTransaction | None = None
        self.batch: WriteBatch  # one per transaction, made as it begins
        self._locked = False

    async def __aenter__(self) -> Self:
        lock = self.db.write_lock
        if lock is not None:
            await lock.acquire()
            self._locked = True
        try:
            tx = WriteTransaction(self.db.write_engine)
            await tx.begin()
        except BaseException:
            self._release()
            raise
        self._tx = tx
        self.changes = set()
        # Writes whose answer nobody needs wait here and go together (db/write_batch.py).
        self.batch = WriteBatch(cast(AsyncSession, tx), self.db.is_sqlite)
        built = self.__dict__
        for name in _REPOSITORIES:
            built.pop(name, None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._tx is not None:
                self.batch.discard()  # a no-op after commit
                await self._tx.close()  # rolls back what wasn't committed
        finally:
            self._tx = None
            self._release()

    def _release(self) -> None:
        if self._locked:
            self._locked = False
            self.db.write_lock.release()

    @property
    def _session(self) -> AsyncSession:
        """The transaction, as the repositories' `session` (it runs what they ask of a session)."""
        if self._tx is None:
            raise RuntimeError("the unit of work is used outside `async with`")
        return cast(AsyncSession, self._tx)

    async def transaction(self, block: Callable[[], Awaitable[T]]) -> T:
        """Run `block` (one `async with self:` ... `commit()` and nothing else) and answer what it
        answers; run it again from the start when the database aborted it to break a deadlock or
        a serialization failure (see the module's docstring)."""
        retry = 0
        while True:
            try:
                return await block()
            except DBAPIError as exc:
                retry += 1
                if retry >= TRIES or not aborted_to_retry(exc):
                    raise
                wait_s = retry_wait_s(retry)
                sqlstate = getattr(exc.orig, "sqlstate", None)
            # Out of the except block: the exception and its traceback are not kept alive while waiting.
            log.warning("transaction aborted by the database, run again", extra={
                "sqlstate": sqlstate, "retry": retry, "wait_s": round(wait_s, 3)})
            await asyncio.sleep(wait_s)

    async def commit(self) -> None:
        outbox = self.__dict__.get("outgoing_events")
        if outbox is not None:
            await outbox.flush()
        await self.batch.flush()
        assert self._tx is not None
        await self._tx.commit()
        # Subscribers hear of a change only once it is committed, and then re-read it.
        if self.events is not None:
            for topic in sorted(self.changes):
                await self.events.publish(topic)
        self.changes.clear()

    # The repositories over this transaction, each built when first used. Merchants' events are
    # written by the repositories, in this transaction (the outbox), kept until commit() and
    # written then, all in one statement.
    @cached_property
    def outgoing_events(self) -> SqlOutgoingEvents:
        return SqlOutgoingEvents(self._session, buffered=True, batch=self.batch)

    @cached_property
    def webhook_endpoints(self) -> SqlWebhookEndpoints:
        return SqlWebhookEndpoints(self._session, self.db.is_sqlite)

    @cached_property
    def webhook_deliveries(self) -> SqlWebhookDeliveries:
        return SqlWebhookDeliveries(self._session, self.db.is_sqlite)

    @cached_property
    def products(self) -> SqlProducts:
        return SqlProducts(self._session)

    @cached_property
    def carts(self) -> SqlCarts:
        return SqlCarts(self._session, self.db.is_sqlite, self.batch)

    @cached_property
    def addresses(self) -> SqlAddresses:
        return SqlAddresses(self._session)

    @cached_property
    def orders(self) -> SqlOrders:
        return SqlOrders(self._session, self.db.is_sqlite, self.changes, self.outgoing_events, self.batch)

    @cached_property
    def stock(self) -> SqlStock:
        return SqlStock(self._session, self.db.is_sqlite, self.batch)

    @cached_property
    def audit(self) -> SqlAuditTrail:
        return SqlAuditTrail(self._session, self.request_id, self.batch)

    @cached_property
    def payments(self) -> SqlPayments:
        return SqlPayments(self._session, self.db.is_sqlite, self.changes, self.outgoing_events, self.batch,
                           self.orders)

    @cached_property
    def ledger(self) -> SqlLedger:
        return SqlLedger(self._session, self.db.is_sqlite, self.batch)

    @cached_property
    def refund_requests(self) -> SqlRefundRequests:
        return SqlRefundRequests(self._session, self.db.is_sqlite, self.outgoing_events)

    @cached_property
    def webhook_events(self) -> SqlWebhookEvents:
        return SqlWebhookEvents(self._session, self.db.is_sqlite)

    @cached_property
    def customers(self) -> SqlCustomers:
        return SqlCustomers(self._session, self.db.is_sqlite)

    @cached_property
    def subscriptions(self) -> SqlSubscriptions:
        return SqlSubscriptions(self._session, self.db.is_sqlite, self.outgoing_events)

    @cached_property
    def emails(self) -> SqlOutbox:
        return SqlOutbox(self._session, self.db.is_sqlite, self.batch)

    @cached_property
    def jobs(self) -> SqlJobQueue:
        return SqlJobQueue(self._session, self.db.is_sqlite)

    @cached_property
    def market(self) -> SqlMarket:
        return SqlMarket(self._session, self.db.is_sqlite, self.outgoing_events, self.batch)

    @cached_property
    def disputes(self) -> SqlDisputes:
        return SqlDisputes(self._session, self.db.is_sqlite, self.changes, self.outgoing_events)

    @cached_property
    def risk(self) -> SqlRiskAssessments:
        return SqlRiskAssessments(self._session, self.batch)
