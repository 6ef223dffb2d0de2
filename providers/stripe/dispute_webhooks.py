"""Stripe's dispute events read into our DisputeNews (domain/disputes/service.py).

The signature is checked before this module sees anything (webhooks.verified_event); this only
reads a verified event. Every `charge.dispute.*` event carries the Dispute object
(https://docs.stripe.com/api/disputes/object), whose `status` says where it stands:

    warning_needs_response, warning_under_review   inquiry (no money withdrawn)
    warning_closed, prevented                      inquiry_closed (anything withheld comes back)
    needs_response                                 evidence_due, by `evidence_details.due_by`
    under_review                                   under_review
    won / lost                                     won / lost

    charge.dispute.created, .updated, .closed, .funds_withdrawn, .funds_reinstated
                                                   the dispute's status as above; the funds
                                                   events add nothing the status doesn't say
                                                   (Stripe withdraws on a chargeback, and
                                                   reinstates when it is won)

The payment is the dispute's `payment_intent` (our Stripe payments' reference). A dispute of a
charge made without one is not ours: stored as ignored by the use case.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from domain.disputes.model import DisputeStatus
from domain.disputes.service import DisputeNews
from domain.errors import ConflictError, ValidationError
from providers.stripe import wire

HANDLED = frozenset({"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
                     "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated"})
STATUSES = {
    "warning_needs_response": DisputeStatus.INQUIRY,
    "warning_under_review": DisputeStatus.INQUIRY,
    "warning_closed": DisputeStatus.INQUIRY_CLOSED,
    "prevented": DisputeStatus.INQUIRY_CLOSED,
    "needs_response": DisputeStatus.EVIDENCE_DUE,
    "under_review": DisputeStatus.UNDER_REVIEW,
    "won": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
}
NO_PAYMENT_INTENT = "-"  # a dispute of a charge without a PaymentIntent: no payment of ours has it


def handled(event: Mapping[str, Any]) -> bool:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    return event.get("type") in HANDLED and isinstance(obj, Mapping) and obj.get("object") == "dispute"


def dispute_news(event: Mapping[str, Any]) -> DisputeNews:
    """A handled event as our news. ValidationError for a dispute without its id; ConflictError for
    a status or an amount we can't read (Stripe redelivers it, after a fix)."""
    dispute = event["data"]["object"]
    ident = dispute.get("id")
    if not isinstance(ident, str) or not ident:
        raise ValidationError("a dispute event carries the dispute's id", "body")
    status = STATUSES.get(dispute.get("status"))  # type: ignore[arg-type]
    if status is None:
        raise ConflictError(f"Stripe dispute {ident} has a status we don't know: {dispute.get('status')!r}")
    intent = dispute.get("payment_intent")
    reason = dispute.get("reason")
    return DisputeNews(provider="stripe", event_id=event["id"], event_type=event["type"], provider_dispute_id=ident,
                       payment_ref=intent if isinstance(intent, str) and intent else NO_PAYMENT_INTENT,
                       amount=wire.money_of(dispute.get("amount"), dispute.get("currency")), status=status,
                       reason=reason if isinstance(reason, str) else None, evidence_due_by=_due_by(dispute))


def _due_by(dispute: Mapping[str, Any]) -> datetime | None:
    details = dispute.get("evidence_details")
    due = details.get("due_by") if isinstance(details, Mapping) else None
    return datetime.fromtimestamp(due, UTC) if type(due) is int and due > 0 else None
