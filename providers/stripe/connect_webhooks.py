"""Stripe Connect's events read into the marketplace's news (domain/marketplace/news.py).

Connect endpoints receive events about connected accounts: `account` at the event's top level
names the account (docs.stripe.com/connect/webhooks); the payout events' object is a payout made
on that account, transfer.reversed's a transfer of the platform's.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.marketplace.news import ConnectNews
from domain.payments.external import WebhookEvent


def connect_news(event: dict[str, Any], received_at: datetime) -> ConnectNews:
    obj = (event.get("data") or {}).get("object") or {}
    kind = str(event.get("type", ""))
    account = event.get("account") or (obj.get("id") if kind == "account.updated" else None)
    object_ref = obj.get("id") if isinstance(obj.get("id"), str) else None
    stored = WebhookEvent(provider="stripe_connect", event_id=str(event["id"]), event_type=kind,
                          object_ref=object_ref, received_at=received_at)
    reversed_total = obj.get("amount_reversed") if kind == "transfer.reversed" else None
    return ConnectNews(stored, account_ref=account if isinstance(account, str) else None, object_ref=object_ref,
                       amount_reversed=int(reversed_total) if isinstance(reversed_total, int) else None,
                       failure_code=obj.get("failure_code") if isinstance(obj.get("failure_code"), str) else None)
