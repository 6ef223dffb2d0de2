"""Flutterwave's webhook deliveries: who sent them, and which event each is.

Flutterwave sends the dashboard's "secret hash" as it is in `verif-hash` (compared in constant
time with PAYGATE_FLUTTERWAVE_SECRET_HASH); newer deliveries also carry `flutterwave-signature`,
the base64 HMAC-SHA256 of the raw body under the same secret hash, which is checked instead when
present (it binds the body, which `verif-hash` alone doesn't). Anything else is refused before the
body is read.

Flutterwave's events carry no event id: one is made of the event type, the transaction (or
refund) id and its status, so redeliveries of one event are one event, and a later status of the
same transaction is another. A delivery whose object is older than REPLAY_WINDOW (Flutterwave
retries for far less) is a replay and refused.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

HASH_HEADER = "verif-hash"
SIGNATURE_HEADER = "flutterwave-signature"
REPLAY_WINDOW = timedelta(days=3)


class SignatureError(Exception):
    """Not Flutterwave's delivery."""


def sign(raw: bytes, secret_hash: str) -> str:
    return base64.b64encode(hmac.new(secret_hash.encode(), raw, hashlib.sha256).digest()).decode()


def verified_event(raw: bytes, headers: dict[str, str], secret_hash: str | None,
                   now: datetime | None = None) -> tuple[dict[str, Any], str]:
    """The event and its id, once the delivery is shown to be Flutterwave's."""
    if not secret_hash:
        raise SignatureError("PAYGATE_FLUTTERWAVE_SECRET_HASH is not set: Flutterwave's events can't be verified")
    signature, plain = headers.get(SIGNATURE_HEADER), headers.get(HASH_HEADER)
    if signature is not None:
        if not hmac.compare_digest(sign(raw, secret_hash).encode(), signature.strip().encode()):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")
    elif plain is None or not hmac.compare_digest(plain.encode(), secret_hash.encode()):
        raise SignatureError(f"{HASH_HEADER} is missing or wrong")
    try:
        event = json.loads(raw)
    except ValueError:
        raise SignatureError("the body is not JSON") from None
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(data, dict) or not isinstance(event.get("event") or event.get("event.type"), str):
        raise SignatureError("not a Flutterwave event")
    created = _time(data.get("created_at") or data.get("createdAt"))
    if created is not None and (now or datetime.now(UTC)) - created > REPLAY_WINDOW:
        raise SignatureError("the event is older than Flutterwave's retries: a replay")
    kind = str(event.get("event") or event.get("event.type"))
    return event, f"{kind}:{data.get('id')}:{data.get('status')}"


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
