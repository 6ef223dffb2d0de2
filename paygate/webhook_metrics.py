"""Incoming webhooks, from the note each webhook route leaves in the request's scope
(rest_compat/webhook_notes.py):

  paygate_webhooks_received_total{provider, outcome}   accepted (2xx), refused (4xx: a bad
                                                       signature, a contradiction), failed (5xx)
  paygate_webhook_lag_seconds{provider}                the provider's own timestamp of a verified
                                                       event to our answer: a provider retrying,
                                                       or a backlog, shows here
"""
from __future__ import annotations

import time

from prometheus_client import Counter, Histogram

from paygate.metrics import LAG_BUCKETS
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
