"""Outgoing webhooks in SQL: the outbox (OutgoingEvents), endpoints and deliveries (domain/ports.py).

Claims and fan-out are where workers meet:
- fan-out runs in one worker at a time (PostgreSQL: a transaction-level advisory lock taken with
  `pg_try_advisory_xact_lock`, so a second worker skips it instead of waiting; SQLite: the one
  write transaction). Two fan-outs at once could commit an object's later event before its
  earlier one, and the claim's "earliest pending of its object" test would let it overtake.
- claims take delivery rows FOR NO KEY UPDATE SKIP LOCKED (NO KEY: the delivery log's foreign
  key check takes KEY SHARE on the delivery, see db/uow.py), then lease them by moving their next
  attempt to the lease's end, so a claim committed by one worker is invisible to the next.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, exists, func, insert, update
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.mapping import aware
from db.outgoing_webhook_tables import (
    OutgoingEventRow,
    WebhookDeliveryAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from db.row_ids import pk
from db.write_batch import WriteBatch
from domain.outgoing_webhooks.delivery import AttemptLog, Claimed, Delivery, DeliveryStatus, SendRequest
from domain.outgoing_webhooks.endpoints import Endpoint
from domain.outgoing_webhooks.events import OutgoingEvent, status_events

FAN_OUT_LOCK = 0x7061_7967_6f75_74  # "paygout": one advisory lock id for the fan-out
_INSERT_EVENT = insert(OutgoingEventRow.__table__)
# Several events: the same statement given a list of rows. SQLAlchemy sends them as ONE multi-row
# INSERT that it derives from the statement compiled once ("insertmanyvalues", which it applies to
# statements with RETURNING); `.values([...])` has no cache key and was compiled at every flush.
_INSERT_EVENTS = _INSERT_EVENT.returning(OutgoingEventRow.__table__.c.id)


def _opt(value: datetime | None) -> datetime | None:
    return aware(value) if value is not None else None


def endpoint_from_row(row: WebhookEndpointRow) -> Endpoint:
    return Endpoint(id=row.id, uuid=UUID(row.uuid), url=row.url, description=row.description,
                    event_types=tuple(row.event_types), secret=row.secret, enabled=row.enabled,
                    created_at=aware(row.created_at), updated_at=aware(row.updated_at),
                    previous_secret=row.previous_secret,
                    previous_secret_expires_at=_opt(row.previous_secret_expires_at),
                    disabled_reason=row.disabled_reason, last_success_at=_opt(row.last_success_at))


def delivery_from_row(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(id=row.id, endpoint_id=row.endpoint_id, event_id=row.event_id, status=DeliveryStatus(row.status),
                    attempts=row.attempts, next_attempt_at=aware(row.next_attempt_at),
                    started_at=aware(row.started_at), created_at=aware(row.created_at),
                    last_attempt_at=_opt(row.last_attempt_at), last_status_code=row.last_status_code)


class SqlOutgoingEvents:
    """`buffered` (the unit of work's own): events are kept until `flush`, which the unit of work
    calls as it commits, and a transaction's events are written together (settling a payment moves
    the order and the payment: one statement for both events, not two): on PostgreSQL in the unit
    of work's write batch (db/write_batch.py), with its other deferred writes; on SQLite in one
    multi-row INSERT. Nothing
    reads a transaction's own events before it commits (the fan-out runs in a transaction of its
    own). Unbuffered, each event is written as it is recorded."""

    def __init__(self, session: AsyncSession, *, buffered: bool = False, batch: WriteBatch | None = None) -> None:
        self.session = session
        self.buffered = buffered
        self.batch = batch or WriteBatch.at_once(session)
        self._events: list[dict[str, object]] = []

    async def record(self, event: OutgoingEvent) -> None:
        values: dict[str, object] = {
            "msg_id": event.msg_id, "type": event.type, "object_type": event.object_type,
            "object_id": event.object_id, "body": event.body, "fanned_out": False, "created_at": event.created_at}
        if self.buffered:
            self._events.append(values)
        else:
            # One Core INSERT built once: an append-only row needs none of the ORM's tracking.
            await self.session.exec(_INSERT_EVENT, params=values)  # type: ignore[call-overload]

    async def flush(self) -> None:
        """Write the events recorded since the last flush: one statement, whatever their number."""
        events, self._events = self._events, []
        if len(events) == 1 or self.batch.defers:
            for values in events:
                await self.batch.defer(_INSERT_EVENT, values)
        elif events:
            await self.session.exec(_INSERT_EVENTS, params=events)  # type: ignore[call-overload]

    async def status_changed(self, kind: str, object_id: int, before: str | None, after: str,
                             data: Callable[[], Mapping[str, Any]], at: datetime) -> None:
        """What a repository calls when it saves an object: an event if the move is one."""
        if before != after:
            for event in status_events(kind, object_id, before, after, data(), at):
                await self.record(event)


class SqlWebhookEndpoints:
    def __init__(self, session: AsyncSession, is_sqlite: bool) -> None:
        self.session = session
        self.is_sqlite = is_sqlite

    async def add(self, endpoint: Endpoint) -> Endpoint:
        row = WebhookEndpointRow(uuid=str(endpoint.uuid), url=endpoint.url, event_types=list(endpoint.event_types),
                                 secret=endpoint.secret, created_at=endpoint.created_at,
                                 updated_at=endpoint.updated_at)
        self._fill(row, endpoint)
        self.session.add(row)
        await self.session.flush()
        endpoint.id = row.id
        return endpoint

    @staticmethod
    def _fill(row: WebhookEndpointRow, e: Endpoint) -> None:
        row.url, row.description, row.event_types = e.url, e.description, list(e.event_types)
        row.secret, row.previous_secret = e.secret, e.previous_secret
        row.previous_secret_expires_at = e.previous_secret_expires_at
        row.enabled, row.disabled_reason, row.last_success_at = e.enabled, e.disabled_reason, e.last_success_at
        row.updated_at = e.updated_at

    async def get(self, endpoint_id: int, *, for_update: bool = False) -> Endpoint | None:
        query = select(WebhookEndpointRow).where(WebhookEndpointRow.id == endpoint_id)
        if for_update and not self.is_sqlite:
            query = query.with_for_update(key_share=True)
        row = (await self.session.exec(query.execution_options(populate_existing=True))).first()
        return endpoint_from_row(row) if row else None

    async def save(self, endpoint: Endpoint) -> None:
        row = await self.session.get(WebhookEndpointRow, endpoint.pk)
        self._fill(row, endpoint)
        self.session.add(row)
        await self.session.flush()

    async def delete(self, endpoint_id: int) -> None:
        d, a = WebhookDeliveryRow, WebhookDeliveryAttemptRow
        if not self.is_sqlite:  # FOR UPDATE: waits for a fan-out reading it (FOR KEY SHARE) to commit
            await self.session.exec(select(WebhookEndpointRow.id).where(WebhookEndpointRow.id == endpoint_id)
                                    .with_for_update())
        ids = select(d.id).where(d.endpoint_id == endpoint_id)
        await self.session.exec(delete(a).where(a.delivery_id.in_(ids)))
        await self.session.exec(delete(d).where(d.endpoint_id == endpoint_id))
        await self.session.exec(delete(WebhookEndpointRow).where(WebhookEndpointRow.id == endpoint_id))


class SqlWebhookDeliveries:
    def __init__(self, session: AsyncSession, is_sqlite: bool) -> None:
        self.session = session
        self.is_sqlite = is_sqlite

    async def fan_out(self, now: datetime, limit: int) -> int:
        if not self.is_sqlite:
            got = (await self.session.exec(select(func.pg_try_advisory_xact_lock(FAN_OUT_LOCK)))).one()
            if not got:
                return 0  # another worker is fanning out: it will do these
        events = (await self.session.exec(select(OutgoingEventRow).where(OutgoingEventRow.fanned_out == False)  # noqa: E712
                                          .order_by(OutgoingEventRow.id).limit(limit))).all()
        if not events:
            return 0
        # FOR KEY SHARE: an endpoint being deleted (FOR UPDATE) is waited for, so no delivery is
        # made for it after its deliveries were removed; other changes to it don't wait.
        wanted = select(WebhookEndpointRow).where(WebhookEndpointRow.enabled == True)  # noqa: E712
        if not self.is_sqlite:
            wanted = wanted.with_for_update(read=True, key_share=True)
        endpoints = [endpoint_from_row(r) for r in (await self.session.exec(wanted)).all()]
        for event in events:
            for endpoint in endpoints:
                if endpoint.wants(event.type):
                    self.session.add(WebhookDeliveryRow(
                        endpoint_id=endpoint.pk, event_id=pk(event), object_key=f"{event.object_type}:{event.object_id}",
                        status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, started_at=now,
                        created_at=now))
        await self.session.flush()
        await self.session.exec(update(OutgoingEventRow).where(OutgoingEventRow.id.in_([pk(e) for e in events]))
                                .values(fanned_out=True))
        return len(events)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
        d, e, ev = WebhookDeliveryRow, WebhookEndpointRow, OutgoingEventRow
        earlier = aliased(WebhookDeliveryRow)
        held_back = exists().where(earlier.endpoint_id == d.endpoint_id, earlier.object_key == d.object_key,
                                   earlier.event_id < d.event_id, earlier.status == DeliveryStatus.PENDING.value)
        query = (select(d.id).join(e, e.id == d.endpoint_id)
                 .where(d.status == DeliveryStatus.PENDING.value, d.next_attempt_at <= now,
                        e.enabled == True, ~held_back)  # noqa: E712
                 .order_by(d.next_attempt_at, d.id).limit(limit))
        if not self.is_sqlite:
            query = query.with_for_update(of=d, skip_locked=True, key_share=True)
        ids = list((await self.session.exec(query)).all())
        if not ids:
            return []
        await self.session.exec(update(d).where(d.id.in_(ids)).values(next_attempt_at=lease_until))
        rows = (await self.session.exec(select(d.id, ev.msg_id, ev.body, e)
                                        .join(ev, ev.id == d.event_id).join(e, e.id == d.endpoint_id)
                                        .where(d.id.in_(ids)).order_by(d.id))).all()
        return [Claimed(delivery_id, SendRequest(endpoint.url, endpoint_from_row(endpoint).signing_secrets(now),
                                                 msg_id, body))
                for delivery_id, msg_id, body, endpoint in rows]

    async def get(self, delivery_id: int, *, for_update: bool = False) -> Delivery | None:
        query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
        if for_update and not self.is_sqlite:
            query = query.with_for_update(key_share=True)
        row = (await self.session.exec(query.execution_options(populate_existing=True))).first()
        return delivery_from_row(row) if row else None

    async def save(self, delivery: Delivery, attempt: AttemptLog | None) -> None:
        row = await self.session.get(WebhookDeliveryRow, delivery.id)
        row.status, row.attempts = delivery.status.value, delivery.attempts
        row.next_attempt_at, row.started_at = delivery.next_attempt_at, delivery.started_at
        row.last_attempt_at, row.last_status_code = delivery.last_attempt_at, delivery.last_status_code
        self.session.add(row)
        if attempt is not None:
            self.session.add(WebhookDeliveryAttemptRow(
                delivery_id=attempt.delivery_id, attempted_at=attempt.attempted_at, status_code=attempt.status_code,
                error=attempt.error[:300] if attempt.error else None, duration_ms=attempt.duration_ms))
        await self.session.flush()

    async def purge(self, before: datetime, limit: int) -> int:
        d, a, ev = WebhookDeliveryRow, WebhookDeliveryAttemptRow, OutgoingEventRow
        query = (select(d.id).where(d.status != DeliveryStatus.PENDING.value, d.created_at < before)
                 .order_by(d.id).limit(limit))
        if not self.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        ids = list((await self.session.exec(query)).all())
        if ids:
            await self.session.exec(delete(a).where(a.delivery_id.in_(ids)))
            await self.session.exec(delete(d).where(d.id.in_(ids)))
        needed = select(d.event_id).where(d.event_id == ev.id)
        await self.session.exec(delete(ev).where(ev.fanned_out == True, ev.created_at < before,  # noqa: E712
                                                 ~exists(needed)))
        return len(ids)
