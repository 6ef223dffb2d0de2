"""The audit trail: who changed what, from what, to what, and when.

Records are immutable snapshots; the database appends them and never updates one. Because the
trail is kept for years and read by many people, it must never hold card data (PCI DSS 3.2-3.4:
no full card number outside the vault, no security code anywhere).

Two rules, for two kinds of mistake:
- a snapshot field named like card data (`pan`, `cvc`, `card_number`, …) is a bug in the code that
  built it: `record_change` raises ValueError, and the test suite finds it;
- a card number inside a value is masked (domain/text.py, `redact_card_numbers`), never refused.
  Values come from clients and from providers, and a record is written in the same transaction as
  the change it describes, often while settling a provider's answer after the money has moved:
  refusing there would leave the change half-done (a refund booked, the order never closed). Client
  text is refused much earlier, at the start of its use case (domain/text.py, `free_text`); the
  trail is the last line, and the last line must not fail.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.identity import Actor
from domain.text import redact_card_numbers

SYSTEM_ROLE = "system"  # the worker, webhooks and migrations act without a user

_IMMUTABLE = (str, int, Decimal, datetime, date, time, UUID, Enum)
_CARD_FIELDS = frozenset({"pan", "card_number", "cardnumber", "cvc", "cvc2", "cvv", "cvv2",
                          "security_code", "track1", "track2", "track_data", "pin_block"})


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor_id: int | None       # None: the system acted
    actor_role: str
    action: str                # e.g. "refund.approve", "payout.create"
    object_type: str
    object_id: str
    before: dict[str, Any] | None  # None when the object was created
    after: dict[str, Any] | None   # None when it was deleted
    at: datetime
    request_id: str | None = None


def record_change(actor: Actor | None, action: str, obj_type: str, obj_id: object,
                  before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, at: datetime,
                  *, request_id: str | None = None) -> AuditRecord:
    """An audit record of one change, card numbers in its values masked; raises ValueError for a
    snapshot that names a card data field."""
    for name, value in (("action", action), ("object type", obj_type)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"an audit record needs a non-empty {name}")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError("an audit record's time must be timezone-aware")
    if before is None and after is None:
        raise ValueError("a change has a before, an after, or both")
    for label, snapshot in (("before", before), ("after", after)):
        if snapshot is not None and not isinstance(snapshot, Mapping):
            raise ValueError(f"{label} must be a mapping, not {type(snapshot).__name__}")
    return AuditRecord(
        actor_id=actor.user_id if actor else None,
        actor_role=actor.primary_role if actor else SYSTEM_ROLE,
        action=action, object_type=obj_type, object_id=str(obj_id),
        # Copied (by _masked) so that a caller mutating its dict later cannot rewrite history.
        before=_masked(before, "before") if before is not None else None,
        after=_masked(after, "after") if after is not None else None,
        at=at, request_id=request_id)


# Where a value sits in a snapshot, for the error that names it: (parent, step), built as the
# walk goes down and spelt out only when something is refused (most snapshots never are).
_Path = tuple[Any, str] | str


def _spelt(path: _Path) -> str:
    steps = []
    while isinstance(path, tuple):
        path, step = path
        steps.append(step)
    return path + "".join(reversed(steps))


def _masked(value: Any, path: _Path) -> Any:
    """A copy of `value` with card numbers in its strings (keys too) masked; ValueError for a field
    named like card data. Integers and other objects are read through their text: a card number
    held as an int, or inside a value object's repr, is still a card number. Containers are
    rebuilt here and other mutable objects deep-copied, so that a caller changing its snapshot
    later can't rewrite history."""
    kind = type(value)
    if kind is str:
        return redact_card_numbers(value)  # the text itself when it holds no card number
    if kind is dict or isinstance(value, Mapping):
        masked: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.lower().replace("-", "_") in _CARD_FIELDS:
                raise ValueError(f"{_spelt(path)}.{key}: card data is never stored in the audit trail")
            masked[_masked(key, (path, ".<key>"))] = _masked(item, (path, f".{key}"))
        return masked
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(_masked(item, (path, f"[{index}]")) for index, item in enumerate(value))
    if value is None or isinstance(value, bool | float):
        return value
    text = str(value)
    redacted = redact_card_numbers(text)
    if redacted != text:
        return redacted
    return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
