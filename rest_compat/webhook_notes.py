"""What a webhook route tells the layer around it about the event it received: which provider sent
it and when the provider says it was sent. The composition root's middleware turns the note into
metrics (paygate/webhook_metrics.py: received, refused, failed, and the lag); this layer only
writes plain data into the request's scope, so it knows nothing of Prometheus.
"""
from __future__ import annotations

from datetime import datetime

from starlette.requests import Request

NOTE = "webhook"


def note_webhook(request: Request, provider: str, sent_at: datetime | float | str | None = None) -> None:
    """Record that this request is `provider`'s webhook; `sent_at` (an aware datetime, an ISO 8601
    text with its zone, or unix seconds) once the signature is verified, so a forged timestamp
    never reaches the lag."""
    if isinstance(sent_at, str):
        try:
            sent_at = datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
        except ValueError:
            sent_at = None
        if isinstance(sent_at, datetime) and sent_at.tzinfo is None:
            sent_at = None
    if isinstance(sent_at, datetime):
        sent_at = sent_at.timestamp()
    if isinstance(sent_at, bool) or not isinstance(sent_at, int | float):
        sent_at = None
    request.scope.setdefault("state", {})[NOTE] = (provider, sent_at)
