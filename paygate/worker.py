"""`paygate worker`: the periodic jobs, safe to run in several processes at once.

  reconcile-attempts      attempts left open by a crash or a timeout, asked about again
                          (domain/payments/reconcile.py)
  expire-reservations     unpaid orders past their reservation: expired, stock released
  release-holds           sellers' shares whose hold period has passed: made available
                          (domain/payments/releases.py)
  purge-idempotency-keys  Idempotency-Key records older than a day

Each job claims its rows so that workers running at once don't act on the same ones: FOR UPDATE
SKIP LOCKED on PostgreSQL (reservations, the payments whose holds are released), a lease on the
open attempts (reconciliation), and on SQLite the one write transaction. Each is idempotent too:
a job that fails is logged and tried again on the next pass.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from opentelemetry import trace

from db.engine import Database
from db.idempotency import IdempotencyStore
from domain.orders.service import expire_reservations
from domain.payments.give_back import give_back_orphaned, void_abandoned
from domain.payments.reconcile import claim_open_payments, reconcile_payment
from domain.payments.releases import release_due_holds
from domain.services import Services
from paygate.bootstrap import build_services
from paygate.events import RedisBus
from paygate.idempotency import KEY_TTL
from paygate.settings import Settings

log = logging.getLogger("paygate.worker")
_tracer = trace.get_tracer("paygate.worker")

BATCH = 100  # payments reconciled, or captures released, per job and pass


def worker_services(settings: Settings, db: Database) -> Services:
    """The services of a separate `paygate worker` process, built once: the app's own, the dummy
    gateway included (its records are in the database, so any process can ask it). With
    PAYGATE_REDIS_URL set, what the jobs change is published there, so live subscribers of every
    app process hear of a payment the worker settled; the caller closes the bus."""
    return build_services(settings, db, RedisBus(settings.redis_url) if settings.redis_url else None)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Database, Services, datetime], Awaitable[int]]


async def _reconcile(db: Database, services: Services, now: datetime) -> int:
    settled = 0
    for payment_id in await claim_open_payments(now, services.uow(), services.providers, limit=BATCH):
        try:
            payment = await reconcile_payment(payment_id, services.uow(), services.providers,
                                              services.policy, services.clock)
        except Exception:  # one payment's trouble (a provider contradicting us) must not stop the rest
            log.exception("reconciliation failed", extra={"payment_id": payment_id})
            continue
        settled += payment is not None
    return settled


async def _give_back(db: Database, services: Services, now: datetime) -> int:
    return await give_back_orphaned(services.uow(), services.providers, services.policy, limit=BATCH,
                                    clock=services.clock)


async def _void_abandoned(db: Database, services: Services, now: datetime) -> int:
    return await void_abandoned(services.uow(), services.providers, services.policy, limit=BATCH,
                                clock=services.clock)


async def _expire(db: Database, services: Services, now: datetime) -> int:
    return await expire_reservations(now, services.uow())


async def _release_holds(db: Database, services: Services, now: datetime) -> int:
    return await release_due_holds(now, services.uow(), services.policy, limit=BATCH)


async def _purge_idempotency_keys(db: Database, services: Services, now: datetime) -> int:
    return await IdempotencyStore(db).purge(older_than=now - KEY_TTL)


# Reconciliation first: an authorization settled now commits its order before expiry looks at it.
JOBS: tuple[Job, ...] = (
    Job("reconcile-attempts", _reconcile),
    Job("expire-reservations", _expire),
    Job("give-back-orphaned-payments", _give_back),
    Job("void-abandoned-payments", _void_abandoned),
    Job("release-holds", _release_holds),
    Job("purge-idempotency-keys", _purge_idempotency_keys),
)


async def run_once(db: Database, services: Services | None = None,
                   jobs: tuple[Job, ...] = JOBS) -> dict[str, int]:
    """One pass over every job; returns how many objects each one moved (-1: it failed)."""
    services = services or worker_services(Settings(), db)
    done: dict[str, int] = {}
    for job in jobs:
        try:
            # One trace a job and pass (a no-op unless paygate/tracing.py exports traces).
            with _tracer.start_as_current_span(f"job {job.name}"):
                done[job.name] = await job.run(db, services, services.clock())
        except Exception:
            log.exception("job failed", extra={"job": job.name})
            done[job.name] = -1
        if done[job.name] > 0:
            log.info("job moved objects", extra={"job": job.name, "count": done[job.name]})
    return done


async def run_forever(db: Database, services: Services, interval_s: float = 15.0,
                      stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    while not stop.is_set():
        await run_once(db, services)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        except TimeoutError:
            pass
