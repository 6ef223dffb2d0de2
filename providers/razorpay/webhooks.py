"""Razorpay's webhook events: the signature checked over the raw body, the event read into our
PaymentNews (domain/payments/provider_events.py acts on it once, never backwards).

`X-Razorpay-Signature` is the hex HMAC-SHA256 of the raw body under the webhook's secret
(PAYGATE_RAZORPAY_WEBHOOK_SECRET), compared in constant time. Razorpay names each delivery's event
in `X-Razorpay-Event-Id` (the same id on its retries): it is the idempotency key. Razorpay signs
no timestamp header, but the signed body carries `created_at`; Razorpay retries for 24 hours, so
an event older than REPLAY_WINDOW is a replay and refused.

    payment.captured, order.paid   outcomes for an open authorize (or capture) attempt, under the
                                   payment's order id (our payment's reference)
    payment.failed                 a decline for an open authorize attempt (Checkout lets the
                                   customer try again: the domain keeps the payment open)
    payment.authorized             reconcile: whether an authorized payment is the end depends on
                                   how the order captures, which the order (asked) says
    refund.processed, refund.failed
                                   reconcile: the payment's open refunds are asked about by their
                                   own ids (a refund event doesn't say which of ours it is)
    payment.dispute.*              read by `dispute_news`; disputes.py maps it for `record_dispute`
    anything else                  acknowledged and stored as ignored
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationError
from domain.money import Money
from domain.payments.provider import Outcome
from domain.payments.provider_events import PaymentNews
from domain.payments.status import AttemptKind
from providers.razorpay import wire

PROVIDER = "razorpay"
SIGNATURE_HEADER = "X-Razorpay-Signature"
EVENT_ID_HEADER = "X-Razorpay-Event-Id"
REPLAY_WINDOW_S = 48 * 3600
SETTLING = frozenset({"payment.captured", "order.paid", "payment.failed"})
RECONCILED = frozenset({"payment.authorized", "refund.processed", "refund.failed"})
HANDLED = SETTLING | RECONCILED
DISPUTE_PREFIX = "payment.dispute."


class SignatureError(Exception):
    """The delivery isn't Razorpay's: refused before anything is read."""


def sign(raw: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verified_event(raw: bytes, signature: str | None, secret: str | None, event_id: str | None,
                   now_s: float | None = None) -> dict[str, Any]:
    if not secret:
        raise SignatureError("PAYGATE_RAZORPAY_WEBHOOK_SECRET is not set: Razorpay's events can't be verified")
    if not signature:
        raise SignatureError(f"{SIGNATURE_HEADER} is missing")
    if not hmac.compare_digest(sign(raw, secret).encode(), signature.strip().encode()):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")
    try:
        event = json.loads(raw)
    except ValueError:
        raise SignatureError("the body is not JSON") from None
    if not (isinstance(event, dict) and event.get("entity") == "event" and isinstance(event.get("event"), str)
            and isinstance(event.get("payload"), dict)):
        raise SignatureError("not a Razorpay event")
    created = event.get("created_at")
    if not isinstance(created, int) or (now_s or time.time()) - created > REPLAY_WINDOW_S:
        raise SignatureError("the event is older than Razorpay's retries: a replay")
    event["_id"] = event_id or ("sha256:" + hashlib.sha256(raw).hexdigest()[:40])
    return event


def handled(event: Mapping[str, Any]) -> bool:
    return event["event"] in HANDLED


def is_dispute(event: Mapping[str, Any]) -> bool:
    return str(event["event"]).startswith(DISPUTE_PREFIX)


def _entity(event: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    holder = event["payload"].get(name)
    entity = holder.get("entity") if isinstance(holder, Mapping) else None
    return entity if isinstance(entity, Mapping) else {}


def object_ref(event: Mapping[str, Any]) -> str | None:
    """The order our payment is known by: the payment's order, or the one a refund's notes name."""
    payment, refund = _entity(event, "payment"), _entity(event, "refund")
    found = refund.get("notes")
    notes: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    ref = payment.get("order_id") or _entity(event, "order").get("id") or notes.get("razorpay_order_id")
    return str(ref) if ref else None


def payment_news(event: Mapping[str, Any]) -> PaymentNews:
    kind, ref = str(event["event"]), object_ref(event)
    common: dict[str, Any] = {"provider": PROVIDER, "event_id": str(event["_id"]), "event_type": kind,
                              "provider_ref": ref}
    payment = _entity(event, "payment")
    found = payment.get("notes")
    notes: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    if notes.get("payment_uuid"):
        common["payment_uuid"] = str(notes["payment_uuid"])
    if kind in RECONCILED or ref is None or not payment:
        return PaymentNews(**common, reconcile=True)
    method = wire.capture_method(_entity(event, "order")) if kind == "order.paid" else None
    outcome: Outcome = wire.payment_outcome(ref, payment, method)
    if kind == "payment.captured":
        outcome = wire.payment_outcome(ref, payment, wire.CaptureMethod.MANUAL)  # captured: done either way
    outcomes: dict[AttemptKind, Outcome] = {AttemptKind.AUTHORIZE: outcome}
    if payment.get("status") in ("captured", "refunded"):
        outcomes[AttemptKind.CAPTURE] = outcome
    return PaymentNews(**common, outcomes=outcomes)


@dataclass(frozen=True, slots=True)
class DisputeNews:
    """A `payment.dispute.*` event as read (created, won, lost, closed, under_review,
    action_required): for the disputes domain."""

    event_id: str
    event_type: str
    dispute_id: str
    payment_id: str
    order_ref: str | None
    amount: Money | None
    phase: str
    status: str
    reason_code: str


def dispute_news(event: Mapping[str, Any]) -> DisputeNews:
    dispute = _entity(event, "dispute")
    try:
        amount: Money | None = wire.money(dispute.get("amount"), dispute.get("currency"))
    except Exception:  # a dispute we can't read the amount of is still kept, for a person
        amount = None
    if not dispute.get("id"):
        raise ValidationError("a dispute event without a dispute", "payload.dispute")
    return DisputeNews(event_id=str(event["_id"]), event_type=str(event["event"]), dispute_id=str(dispute["id"]),
                       payment_id=str(dispute.get("payment_id") or _entity(event, "payment").get("id") or ""),
                       order_ref=object_ref(event), amount=amount, phase=str(dispute.get("phase") or ""),
                       status=str(dispute.get("status") or ""), reason_code=str(dispute.get("reason_code") or ""))
