"""Delivering events to endpoints: at least once, in order per object, retried with backoff.

A delivery is one event for one endpoint. The job (`deliver_due`, registered in paygate/worker.py)
runs in three short transactions around the network, never holding one across it (STYLE.md §5):

  1. fan out the events written since the last pass (a delivery per endpoint that wants them),
     then claim due deliveries under a lease (`LEASE`): another worker claiming at the same time
     skips them (FOR UPDATE SKIP LOCKED on PostgreSQL, the one write transaction on SQLite), and
     a worker that dies mid-send leaves them to be claimed again when the lease ends;
  2. send them (the `WebhookSender` port: signed, with timeouts, redirects not followed);
  3. record each answer in the delivery log, and decide what follows.

Order: a delivery is claimed only when no earlier event of the same object is still pending for
the same endpoint, so `payment.requires_action` always arrives before `payment.succeeded`. A
delivery that keeps failing holds back its object's later events until it succeeds or gives up.

Retries follow Svix's schedule (the Standard Webhooks reference implementation), extended by two
daily tries to span about three days: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 24 h, 24 h after
each failure (ten attempts, ~3.2 days). Only a 2xx is a success; a redirect is a failure. When a
delivery gives up and its endpoint has not accepted anything since that delivery began, the
endpoint is disabled (its other deliveries wait, and go out when an admin enables it again).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import InvalidStateError, NotFoundError
from domain.identity import Actor
from domain.outgoing_webhooks.endpoints import admins_only
from domain.ports import UnitOfWork, WebhookSender

RETRY_WAITS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
    timedelta(hours=10), timedelta(hours=10), timedelta(hours=24), timedelta(hours=24))
MAX_ATTEMPTS = len(RETRY_WAITS) + 1
LEASE = timedelta(seconds=60)  # longer than a send can take (sender's timeouts), so leases don't overlap
MAX_IN_FLIGHT = 10  # sends at once, per worker
ROUNDS = 10  # claims per job pass: each round moves every object one event further
KEPT_FOR = timedelta(days=30)  # the delivery log's and the outbox's memory (Svix keeps 90 days at most)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS (an admin may redeliver it)


@dataclass(frozen=True, slots=True)
class SendRequest:
    url: str
    secrets: tuple[str, ...]  # whsec_…: one signature each
    msg_id: str               # webhook-id
    body: str


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None  # None: no answer (refused, timed out, TLS)
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    request: SendRequest


@dataclass(slots=True)
class Delivery:
    id: int | None
    endpoint_id: int
    event_id: int
    status: DeliveryStatus
    attempts: int            # in the current schedule (a redelivery starts a new one)
    next_attempt_at: datetime
    started_at: datetime     # when the current schedule began
    created_at: datetime
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None

    def __post_init__(self) -> None:
        self.status = DeliveryStatus(self.status)


@dataclass(frozen=True, slots=True)
class AttemptLog:
    """One line of the delivery log."""
    delivery_id: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


def settle(delivery: Delivery, result: SendResult, now: datetime) -> bool:
    """Apply one attempt's result; True when the delivery just gave up."""
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status_code = now, result.status_code
    if delivery.status is not DeliveryStatus.PENDING:
        return False  # a late answer for a delivery already settled (a lease outlived): only logged
    if result.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        return False
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        return True
    delivery.next_attempt_at = now + RETRY_WAITS[delivery.attempts - 1]
    return False


async def _claim(uow: UnitOfWork, now: datetime, limit: int) -> list[Claimed]:
    async with uow:
        await uow.webhook_deliveries.fan_out(now, limit)
        claimed = await uow.webhook_deliveries.claim_due(now, now + LEASE, limit)
        await uow.commit()
    return claimed


async def record_result(delivery_id: int, result: SendResult, uow: UnitOfWork, now: datetime) -> None:
    async with uow:
        # Lock order: endpoint, then delivery, as an admin's delete takes them.
        found = await uow.webhook_deliveries.get(delivery_id)
        endpoint = await uow.webhook_endpoints.get(found.endpoint_id, for_update=True) if found else None
        delivery = await uow.webhook_deliveries.get(delivery_id, for_update=True)
        if delivery is None or endpoint is None:
            return  # its endpoint was deleted meanwhile
        gave_up = settle(delivery, result, now)
        await uow.webhook_deliveries.save(delivery, AttemptLog(delivery_id, now, result.status_code,
                                                                result.error, result.duration_ms))
        if result.ok or gave_up:
            if result.ok:
                endpoint.last_success_at = now
            elif endpoint.last_success_at is None or endpoint.last_success_at < delivery.started_at:
                endpoint.enabled = False
                endpoint.disabled_reason = f"every attempt failed since {delivery.started_at.isoformat()}"
            await uow.webhook_endpoints.save(endpoint)
        await uow.commit()


async def deliver_due(new_uow: Callable[[], UnitOfWork], sender: WebhookSender, now: datetime,
                      limit: int = 100) -> int:
    """One pass of the job: how many attempts were made. Idempotent: run it as often as you like,
    from as many workers as you like."""
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def send(claimed: Claimed) -> SendResult:
        async with gate:
            return await sender.send(claimed.request)

    made = 0
    for _ in range(ROUNDS):
        uow = new_uow()
        claimed = await uow.transaction(lambda: _claim(uow, now, limit))  # noqa: B023 -- awaited here
        if not claimed:
            break
        results = await asyncio.gather(*(send(c) for c in claimed))
        for c, result in zip(claimed, results, strict=True):
            record = new_uow()
            await record.transaction(lambda: record_result(c.delivery_id, result, record, now))  # noqa: B023
        made += len(claimed)
    return made


async def purge_delivered(new_uow: Callable[[], UnitOfWork], now: datetime, limit: int = 1_000) -> int:
    """Forget finished deliveries and their events after KEPT_FOR: the outbox and the log would
    otherwise grow with every payment forever. Pending deliveries are never purged."""
    uow = new_uow()

    async def purge() -> int:
        async with uow:
            removed = await uow.webhook_deliveries.purge(now - KEPT_FOR, limit)
            await uow.commit()
        return removed
    return await uow.transaction(purge)


async def redeliver(actor: Actor, delivery_id: int, uow: UnitOfWork, now: datetime) -> Delivery:
    """Send a delivery again (same webhook-id), with a fresh schedule; the log keeps the past."""
    admins_only(actor)
    async with uow:
        delivery = await uow.webhook_deliveries.get(delivery_id, for_update=True)
        if delivery is None:
            raise NotFoundError("webhook delivery", delivery_id)
        if delivery.status is DeliveryStatus.PENDING and delivery.attempts == 0:
            raise InvalidStateError("this delivery has not been attempted yet")
        before = {"status": delivery.status.value, "attempts": delivery.attempts}
        delivery.status, delivery.attempts = DeliveryStatus.PENDING, 0
        delivery.next_attempt_at = delivery.started_at = now
        await uow.webhook_deliveries.save(delivery, None)
        await uow.audit.record(actor, "webhook_delivery.redeliver", "webhook_delivery", delivery_id, before,
                               {"status": delivery.status.value, "attempts": 0}, now)
        await uow.commit()
    return delivery
