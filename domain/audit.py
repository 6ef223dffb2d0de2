"""The audit trail: who changed what, from what, to what, and when.

Records are immutable snapshots; the database appends them and never updates one. Because the
trail is kept for years and read by many people, it must never hold card data (PCI DSS 3.2-3.4:
no full card number outside the vault, no security code anywhere): `record_change` refuses a
snapshot with anything that looks like a card number, anywhere in it, or a field named like a
security code or a raw card number. Refusing loudly is the point: a caller that meant to log a
card must be fixed, not silently masked.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import ValidationError
from domain.identity import Actor

SYSTEM_ROLE = "system"  # the worker, webhooks and migrations act without a user

# Digit groups separated by single spaces or dashes, as people and forms write card numbers.
# A card number stands as a token of its own: a digit run inside an identifier ("pi_…e9080196…c0af",
# a provider's hex reference) is part of that identifier, and refusing it would refuse the
# provider's answer itself (one dummy reference in a thousand holds a Luhn-valid run).
_DIGIT_RUN = re.compile(r"(?<!\w)\d+(?:[ -]\d+)*(?!\w)")
_SEPARATOR = re.compile(r"[ -]")
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
    """An audit record of one change; raises ValueError if a snapshot carries card data."""
    for name, value in (("action", action), ("object type", obj_type)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"an audit record needs a non-empty {name}")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError("an audit record's time must be timezone-aware")
    if before is None and after is None:
        raise ValueError("a change has a before, an after, or both")
    for label, snapshot in (("before", before), ("after", after)):
        if snapshot is not None:
            if not isinstance(snapshot, Mapping):
                raise ValueError(f"{label} must be a mapping, not {type(snapshot).__name__}")
            _refuse_card_data(snapshot, label)
    return AuditRecord(
        actor_id=actor.user_id if actor else None,
        actor_role=actor.primary_role if actor else SYSTEM_ROLE,
        action=action, object_type=obj_type, object_id=str(obj_id),
        # Copied so that a caller mutating its dict later cannot rewrite history.
        before=copy.deepcopy(dict(before)) if before is not None else None,
        after=copy.deepcopy(dict(after)) if after is not None else None,
        at=at, request_id=request_id)


def refuse_card_numbers(*texts: str, field: str) -> None:
    """Free text a client sends to be stored (a name, metadata) must not carry a card number:
    refused before anything is written, as a ValidationError naming the field."""
    if any(looks_like_card_number(text) for text in texts):
        raise ValidationError(f"{field}: card numbers are never stored; remove it", field)


def looks_like_card_number(text: str) -> bool:
    """True if `text` holds 13 to 19 digits passing Luhn, possibly grouped by spaces or dashes,
    standing apart from letters, digits and underscores.

    Every run of consecutive groups is tried, so "4242 4242 4242 4242 123" (a number followed
    by a security code) is caught; a long ungrouped digit string is only checked whole, which
    keeps ids and amounts from being taken for card numbers by chance.
    """
    for run in _DIGIT_RUN.findall(text):
        groups = _SEPARATOR.split(run)
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _luhn_valid(digits):
                    return True
    return False


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:  # every second digit from the right is doubled
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _refuse_card_data(value: object, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.lower().replace("-", "_") in _CARD_FIELDS:
                raise ValueError(f"{path}.{key}: card data is never stored in the audit trail")
            _refuse_card_data(key, f"{path}.<key>")
            _refuse_card_data(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            _refuse_card_data(item, f"{path}[{index}]")
    elif value is None or isinstance(value, bool):
        return
    elif looks_like_card_number(value if isinstance(value, str) else str(value)):
        # Integers and other objects are checked through their text: a card number stored as
        # an int, or inside a value object's repr, is still a card number.
        raise ValueError(f"{path}: looks like a card number; card data is never stored in the audit trail")
