"""`paygate worker`: the background jobs, and the one place they are registered.

Periodic jobs (`JOBS`), each a plain async `run(db, services, now) -> int` (how many objects it
moved), idempotent, claiming its rows so that runs at once never act on the same ones:

  reconcile-attempts           attempts left open by a crash or a timeout, asked about again
                               (domain/payments/reconcile.py)
  expire-reservations          unpaid orders past their reservation: expired, stock released
  give-back-orphaned-payments  money taken for an order that can no longer be fulfilled: refunded
  void-abandoned-payments      authorizations waiting on a customer who left: voided
  release-holds                sellers' shares whose hold period has passed: made available
                               (domain/payments/releases.py)
  purge-idempotency-keys       Idempotency-Key records older than a day
  purge-job-history            jobs that succeeded more than 14 days ago (failed ones stay)
  deliver-webhooks             merchants' webhooks: events fanned out to endpoints, due deliveries
                               sent, signed, retried with backoff (domain/outgoing_webhooks/delivery.py)
  purge-webhook-log            finished deliveries, their log and their events, after 30 days
  send-emails                  the outbox's due emails over SMTP (domain/notifications.py, which
                               retries each one itself); with no PAYGATE_SMTP_URL they stay put
  resend-unanswered-transfers  transfers and payouts booked but never answered by the provider, sent
                               again with their own idempotency keys (domain/marketplace/transfers.py)
  claw-back-transfers          transfer reversals booked by refunds after a transfer, sent to the
                               provider (domain/marketplace/transfers.py)
  check-payouts                payouts in transit for an hour without news, asked about at the
                               provider (a lost payout.paid / .failed event) (domain/marketplace/payouts.py)
  reconcile-sellers            each connected account's balance at the provider against our ledger;
                               differences recorded, logged and counted (domain/marketplace/reconcile.py)

Jobs deferred by a use case (`TASKS`), each `run(db, services, args) -> None`, enqueued with
`uow.jobs.defer(name, args)` in the transaction of the change that causes them (domain/ports.py):

  reconcile-payment            one payment whose provider's answer was lost, asked about once the
                               grace has passed (deferred by domain/payments/attempts.py)

Both run on the job engine (paygate/jobs_engine.py): pgqueuer on PostgreSQL (any number of
`paygate worker` processes), our own queue inside `paygate serve` on SQLite
(paygate/jobs_embedded.py). A failure is retried with backoff (`RETRY`) and ends `failed`,
visible to staff (GraphQL `backgroundJobs`). `run_once` runs every periodic job once, directly.

To add a job: one `Job(name, run)` line in `JOBS` (`every_s`, `priority` optional), or one
`Task(name, run)` line in `TASKS`.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentelemetry import trace

from db.engine import Database
from db.idempotency import IdempotencyStore
from db.jobs import purge_history
from domain.marketplace.payouts import check_payouts
from domain.marketplace.reconcile import reconcile_sellers
from domain.marketplace.transfers import send_pending_reversals, send_unsent
from domain.notifications import send_outbox
from domain.orders.service import expire_reservations
from domain.outgoing_webhooks.delivery import deliver_due, purge_delivered
from domain.payments.attempts import RECONCILE_PAYMENT_JOB
from domain.payments.give_back import give_back_orphaned, void_abandoned
from domain.payments.reconcile import claim_open_payments, reconcile_payment
from domain.payments.releases import release_due_holds
from domain.services import Services
from paygate.bootstrap import build_services
from paygate.events import RedisBus
from paygate.idempotency import KEY_TTL
from paygate.metrics import SELLER_DIFFERENCES
from paygate.settings import Settings

log = logging.getLogger("paygate.worker")
_tracer = trace.get_tracer("paygate.worker")

BATCH = 100  # payments reconciled, or captures released, per job and pass
JOB_HISTORY_KEPT = timedelta(days=14)  # successful jobs, as staff see them (GraphQL backgroundJobs)


def worker_services(settings: Settings, db: Database) -> Services:
    """The services of a separate `paygate worker` process, built once: the app's own, the dummy
    gateway included (its records are in the database, so any process can ask it). With
    PAYGATE_REDIS_URL set, what the jobs change is published there, so live subscribers of every
    app process hear of a payment the worker settled; the caller closes the bus."""
    return build_services(settings, db, RedisBus(settings.redis_url) if settings.redis_url else None)


@dataclass(frozen=True)
class Job:
    """A periodic job: queued every `every_s` seconds (a divisor of 60, or whole minutes dividing
    an hour), unless its previous run still waits or runs. Higher `priority` runs first."""
    name: str
    run: Callable[[Database, Services, datetime], Awaitable[int]]
    every_s: int = 15
    priority: int = 0


@dataclass(frozen=True)
class Task:
    """A job deferred with arguments (`uow.jobs.defer(name, args)`)."""
    name: str
    run: Callable[[Database, Services, Mapping[str, object]], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """Retries of a failed job: after first_s, then doubling up to max_s; failed after `tries`."""
    tries: int = 6
    first_s: float = 2.0
    max_s: float = 600.0

    def after(self, tries_so_far: int) -> timedelta | None:
        """When to try again after `tries_so_far` failed tries; None: give up, the job has failed."""
        if tries_so_far >= self.tries:
            return None
        return timedelta(seconds=min(self.first_s * 2 ** (tries_so_far - 1), self.max_s))


RETRY = Backoff()


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


async def _purge_job_history(db: Database, services: Services, now: datetime) -> int:
    # Wall time, as the queue's own timestamps (a test's clock moves only the business's time).
    return await purge_history(db, datetime.now(UTC) - JOB_HISTORY_KEPT)


async def _deliver_webhooks(db: Database, services: Services, now: datetime) -> int:
    if services.webhook_sender is None:
        return 0
    return await deliver_due(services.uow, services.webhook_sender, now, limit=BATCH)


async def _purge_webhook_log(db: Database, services: Services, now: datetime) -> int:
    return await purge_delivered(services.uow, now)


async def send_emails(db: Database, services: Services, now: datetime) -> int:
    if services.mailer is None:
        return 0  # kept in the outbox, visible to staff, until SMTP is configured
    return await send_outbox(services.uow(), services.mailer, now, limit=BATCH)


async def _claw_back(db: Database, services: Services, now: datetime) -> int:
    if services.connect is None:
        return 0
    return await send_pending_reversals(services.uow(), services.connect, now, limit=BATCH)


async def _resend_unanswered(db: Database, services: Services, now: datetime) -> int:
    if services.connect is None:
        return 0
    return await send_unsent(services.uow(), services.connect, now, limit=BATCH)


async def _check_payouts(db: Database, services: Services, now: datetime) -> int:
    if services.connect is None:
        return 0
    return await check_payouts(services.uow(), services.connect, now, limit=BATCH)


async def _reconcile_sellers(db: Database, services: Services, now: datetime) -> int:
    if services.connect is None:
        return 0
    compared, differences = await reconcile_sellers(services.uow(), services.connect, now, limit=BATCH)
    for found in differences:
        SELLER_DIFFERENCES.labels(currency=found.currency).inc()
        log.warning("seller balance differs from the provider's", extra={
            "seller_id": found.seller_id, "currency": found.currency, "ours": found.ours, "theirs": found.theirs})
    return compared


# Reconciliation first (highest priority, and first in `run_once`): an authorization settled now
# commits its order before expiry looks at it.
JOBS: tuple[Job, ...] = (
    Job("reconcile-attempts", _reconcile, priority=10),
    Job("expire-reservations", _expire, priority=5),
    Job("give-back-orphaned-payments", _give_back),
    Job("void-abandoned-payments", _void_abandoned),
    Job("release-holds", _release_holds, every_s=60),
    Job("purge-idempotency-keys", _purge_idempotency_keys, every_s=300),
    Job("purge-job-history", _purge_job_history, every_s=3600),
    Job("deliver-webhooks", _deliver_webhooks, every_s=5),  # lowest priority: it sends the others' news
    Job("purge-webhook-log", _purge_webhook_log, every_s=3600),
    Job("send-emails", send_emails),  # every 15 s: what the others settled is mailed soon after
    Job("resend-unanswered-transfers", _resend_unanswered, every_s=60),
    Job("claw-back-transfers", _claw_back),
    Job("check-payouts", _check_payouts, every_s=300),
    Job("reconcile-sellers", _reconcile_sellers, every_s=3600),  # a provider call per seller: hourly
)

async def _reconcile_payment(db: Database, services: Services, args: Mapping[str, object]) -> None:
    payment_id = args["payment_id"]
    if not isinstance(payment_id, int):
        raise TypeError(f"reconcile-payment wants an integer payment_id, not {payment_id!r}")
    await reconcile_payment(payment_id, services.uow(), services.providers, services.policy, services.clock)


TASKS: tuple[Task, ...] = (
    # Deferred by domain/payments/attempts.py when a provider's answer is lost (attempt unknown).
    Task(RECONCILE_PAYMENT_JOB, _reconcile_payment),
)


async def run_once(db: Database, services: Services | None = None,
                   jobs: tuple[Job, ...] = JOBS) -> dict[str, int]:
    """One pass over every periodic job, here and now; returns how many objects each one moved
    (-1: it failed)."""
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
