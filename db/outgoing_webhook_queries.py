"""Reads of outgoing webhooks for the admin's GraphQL: endpoints, deliveries with their log.

Lists are newest first and cost a fixed number of statements whatever their length (count, page,
and for deliveries one more for every listed delivery's attempts).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from db.engine import Database
from db.mapping import aware
from db.outgoing_webhook_tables import (
    OutgoingEventRow,
    WebhookDeliveryAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)
from db.outgoing_webhooks import delivery_from_row, endpoint_from_row
from domain.outgoing_webhooks.delivery import AttemptLog, Delivery, DeliveryStatus
from domain.outgoing_webhooks.endpoints import Endpoint


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery: Delivery
    msg_id: str
    event_type: str
    object_type: str
    object_id: int
    body: str
    event_created_at: datetime
    attempts: tuple[AttemptLog, ...]


async def endpoints_page(db: Database, *, before_id: int | None, limit: int) -> tuple[list[Endpoint], int]:
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(WebhookEndpointRow))).one()
        query = select(WebhookEndpointRow)
        if before_id is not None:
            query = query.where(col(WebhookEndpointRow.id) < before_id)
        rows = (await session.exec(query.order_by(WebhookEndpointRow.id.desc()).limit(limit))).all()
    return [endpoint_from_row(r) for r in rows], total


async def endpoint(db: Database, endpoint_id: int) -> Endpoint | None:
    async with db.read_sessions() as session:
        row = await session.get(WebhookEndpointRow, endpoint_id)
    return endpoint_from_row(row) if row else None


def _attempt(row: WebhookDeliveryAttemptRow) -> AttemptLog:
    return AttemptLog(row.delivery_id, aware(row.attempted_at), row.status_code, row.error, row.duration_ms)


async def _views(session, where, *, before_id: int | None = None, limit: int | None = None) -> list[DeliveryView]:
    d, ev, a = WebhookDeliveryRow, OutgoingEventRow, WebhookDeliveryAttemptRow
    query = select(d, ev).join(ev, ev.id == d.event_id).where(*where)
    if before_id is not None:
        query = query.where(col(d.id) < before_id)
    query = query.order_by(d.id.desc())
    rows = (await session.exec(query.limit(limit) if limit is not None else query)).all()
    if not rows:
        return []
    logs: dict[int, list[AttemptLog]] = {}
    for row in (await session.exec(select(a).where(col(a.delivery_id).in_([r.id for r, _ in rows]))
                                   .order_by(a.id))).all():
        logs.setdefault(row.delivery_id, []).append(_attempt(row))
    return [DeliveryView(delivery_from_row(r), e.msg_id, e.type, e.object_type, e.object_id, e.body,
                         aware(e.created_at), tuple(logs.get(r.id, ()))) for r, e in rows]


async def deliveries_page(db: Database, endpoint_id: int | None, statuses: tuple[DeliveryStatus, ...], *,
                          before_id: int | None, limit: int) -> tuple[list[DeliveryView], int]:
    d = WebhookDeliveryRow
    where = []
    if endpoint_id is not None:
        where.append(d.endpoint_id == endpoint_id)
    if statuses:
        where.append(col(d.status).in_([s.value for s in statuses]))
    async with db.read_sessions() as session:
        total = (await session.exec(select(func.count()).select_from(d).where(*where))).one()
        views = await _views(session, where, before_id=before_id, limit=limit)
    return views, total


async def delivery(db: Database, delivery_id: int) -> DeliveryView | None:
    async with db.read_sessions() as session:
        found = await _views(session, [WebhookDeliveryRow.id == delivery_id])
    return found[0] if found else None
