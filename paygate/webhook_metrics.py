"""Webhooks in and out.

Incoming, from the note each webhook route leaves in the request's scope
(rest_compat/webhook_notes.py):

  paygate_webhooks_received_total{provider, outcome}   accepted (2xx), refused (4xx: a bad
                                                       signature, a contradiction), failed (5xx)
  paygate_webhook_lag_seconds{provider}                the provider's own timestamp of a verified
                                                       event to our answer: a provider retrying,
                                                       or a backlog, shows here

Outgoing, to merchants' endpoints, around the sender the worker uses (paygate/webhook_sender.py):

  paygate_webhook_deliveries_total{type, outcome}      delivered (2xx), refused (another status),
                                                       unreachable (no answer: refused, timed out)
  paygate_webhook_delivery_duration_seconds            each attempt, until the endpoint answered
  paygate_webhook_delivery_lag_seconds{type}           from the event (its body's timestamp) to
                                                       its delivery: retries and backlog show here
"""
from __future__ import annotations

import json
import time
from datetime import datetime

from prometheus_client import Counter, Histogram

from domain.outgoing_webhooks.delivery import SendRequest, SendResult
from domain.ports import WebhookSender
from paygate.metrics import LAG_BUCKETS, LATENCY_BUCKETS
from rest_compat.webhook_notes import NOTE

RECEIVED = Counter("paygate_webhooks_received_total", "Incoming provider webhooks, by how they were answered.",
                   ["provider", "outcome"])
LAG = Histogram("paygate_webhook_lag_seconds", "From the provider's timestamp of an event to our answer.",
                ["provider"], buckets=LAG_BUCKETS)


def observe_webhook(scope, status: int) -> None:
    note = scope.get("state", {}).get(NOTE)
    if note is None:
        return
    provider, sent_at = note
    outcome = "accepted" if 200 <= status < 300 else "refused" if 400 <= status < 500 else "failed"
    RECEIVED.labels(provider, outcome).inc()
    if sent_at is not None and outcome == "accepted":
        LAG.labels(provider).observe(max(0.0, time.time() - sent_at))


DELIVERIES = Counter("paygate_webhook_deliveries_total", "Attempts to deliver merchants' webhooks, by outcome.",
                     ["type", "outcome"])
DELIVERY_DURATION = Histogram("paygate_webhook_delivery_duration_seconds",
                              "Time a merchant's endpoint took to answer a delivery.", buckets=LATENCY_BUCKETS)
DELIVERY_LAG = Histogram("paygate_webhook_delivery_lag_seconds", "From a merchant's event to its delivery.",
                         ["type"], buckets=LAG_BUCKETS)


class MeasuredWebhookSender:
    """`inner` (the WebhookSender port), each attempt counted and timed."""

    def __init__(self, inner: WebhookSender) -> None:
        self.inner = inner

    async def send(self, request: SendRequest) -> SendResult:
        result = await self.inner.send(request)
        type_, at = _event_of(request.body)
        outcome = "delivered" if result.ok else "unreachable" if result.status_code is None else "refused"
        DELIVERIES.labels(type_, outcome).inc()
        DELIVERY_DURATION.observe(result.duration_ms / 1000)
        if result.ok and at is not None:
            DELIVERY_LAG.labels(type_).observe(max(0.0, time.time() - at))
        return result

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            await close()


def _event_of(body: str) -> tuple[str, float | None]:
    """The event's type and time from the body we wrote ({"type", "timestamp", "data"})."""
    try:
        event = json.loads(body)
        return str(event["type"])[:80], datetime.fromisoformat(event["timestamp"]).timestamp()
    except (ValueError, KeyError, TypeError):
        return "unknown", None
