"""The events merchants can subscribe to, and how a change of state becomes one.

An event is written in the same transaction as the change it reports (the outbox, port
`OutgoingEvents` in domain/ports.py): a rollback writes none, a commit never loses one. Its id
(`evt_…`) is the Standard Webhooks `webhook-id`: the same on every retry and redelivery, so a
receiver can drop duplicates. Its body is fixed when it is written, so every attempt sends (and
signs) the same bytes.

The repositories that save an object report its status before and after (`status_events`); the
catalog below decides which moves are events. Adding an object kind is one line in EVENT_TYPES
plus one `await outbox.status_changed(...)` in its repository's `add`/`save`.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.money import Money


def _kinds(kind: str, *moves: str) -> dict[str, str]:
    return {f"{kind}.{move}": kind for move in moves}


# type -> the kind of object it is about. "created" is the object's first save; every other move
# is the status it moved to.
EVENT_TYPES: Mapping[str, str] = {
    **_kinds("payment", "requires_action", "requires_capture", "succeeded", "failed", "canceled"),
    **_kinds("refund", "created", "succeeded", "failed"),
    **_kinds("refund_request", "created", "approved", "rejected"),
    **_kinds("order", "created", "authorized", "paid", "partially_refunded", "refunded", "canceled", "expired"),
    **_kinds("subscription", "created", "incomplete_expired", "trialing", "active", "past_due",
             "unpaid", "paused", "canceled"),
    **_kinds("payout", "created", "in_transit", "paid", "failed", "canceled"),
    **_kinds("transfer", "created", "paid", "failed", "reversed"),
    # Ready for the disputes being built beside this one (its repository calls status_changed):
    **_kinds("dispute", "created", "won", "lost", "needs_response", "under_review"),
}


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    msg_id: str           # evt_…: the webhook-id, stable across retries
    type: str             # one of EVENT_TYPES
    object_type: str      # "payment"
    object_id: int
    body: str             # the JSON sent, fixed at write time: {"type", "timestamp", "data"}
    created_at: datetime

    @property
    def object_key(self) -> str:
        """Deliveries of one object's events to one endpoint go out in the order they were written."""
        return f"{self.object_type}:{self.object_id}"


def new_event(type_: str, object_id: int, data: Mapping[str, Any], at: datetime) -> OutgoingEvent:
    """An event of a known type (the catalog is checked here: a typo fails the first test)."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown outgoing event type {type_!r}")
    msg_id = f"evt_{uuid.uuid4().hex}"
    # The Standard Webhooks payload structure: type, timestamp (ISO 8601), data.
    body = json.dumps({"type": type_, "timestamp": at.isoformat(), "data": {"id": object_id, **data}},
                      separators=(",", ":"), sort_keys=True)
    return OutgoingEvent(msg_id, type_, EVENT_TYPES[type_], object_id, body, at)


def status_events(kind: str, object_id: int, before: str | None, after: str, data: Mapping[str, Any],
                  at: datetime) -> list[OutgoingEvent]:
    """The events a save reports: for a new object (before None) `kind.created`, then its status
    if that is an event (a refund stored already succeeded); for a move, the new status. Types
    not in the catalog are no event (a payment's creation, an order awaiting payment)."""
    types = [f"{kind}.created", f"{kind}.{after}"] if before is None else [f"{kind}.{after}"]
    if before == after:
        return []
    return [new_event(t, object_id, data, at) for t in types if t in EVENT_TYPES]


def money(value: Money) -> dict[str, Any]:
    """Money as GraphQL's Money shows it: integer minor units and the ISO 4217 code."""
    return {"amount": value.minor, "currency": value.code}
