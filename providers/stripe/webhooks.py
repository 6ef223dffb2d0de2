"""Stripe's webhook events: the signature checked by the SDK, the event read into our PaymentNews.

Verification is the SDK's own (`stripe.WebhookSignature.verify_header`), over the raw body as
received: `Stripe-Signature` is `t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">[,v1=…]`. The SDK
accepts the body when ANY `v1` value matches, which is what Stripe sends while an endpoint's
secret is being rolled (one `v1` per secret still valid), and refuses a timestamp older than the
tolerance (300 s, Stripe's default), so a captured delivery can't be replayed later.

    payment_intent.succeeded       outcomes for an open authorize or capture attempt
    payment_intent.payment_failed  for an open authorize attempt
    payment_intent.canceled        for an open authorize or void attempt
    charge.refunded                reconcile: the charge says little about which of our refunds
                                   it is (or whether we saw the capture), so the payment's open
                                   attempts are asked about through the adapter (`fetch`)
    charge.refund.updated, refund.updated, refund.failed
                                   reconcile, likewise: a refund Stripe held as pending has ended
                                   (succeeded, or failed and its amount can be refunded again).
                                   The payment is the refund's `payment_intent`; its open refund
                                   attempt is settled by asking Stripe for the refund itself
    checkout.session.completed     payment_status `paid`: an open authorize attempt succeeded for
                                   the session's amount_total; `unpaid` (a delayed method, or
                                   an authorization Stripe doesn't call paid): reconcile, the
                                   adapter reads the session's PaymentIntent
    checkout.session.async_payment_succeeded, .async_payment_failed
                                   reconcile, likewise
    checkout.session.expired       an open authorize attempt is declined ("expired"), an open
                                   void attempt succeeded (nothing is held)
    any other type                 `handled` is False: acknowledged and stored as ignored

The outcomes are wire.py's readings of the PaymentIntent, the same ones the adapter gives for
its calls' answers. Which payment: the intent's id (a session's id for session events: the
reference of a payment opened as a Checkout Session), and the order and payment our request put
in its metadata (Stripe copies a PaymentIntent's metadata to its charges; `open` gives a session
and its PaymentIntent the same metadata).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import stripe

from domain.errors import ValidationError
from domain.payments.provider import Outcome
from domain.payments.provider_events import PaymentNews
from domain.payments.status import AttemptKind
from providers.stripe import checkout, wire

TOLERANCE_S = 300
_INTENT_EVENTS = {
    "payment_intent.succeeded": (AttemptKind.AUTHORIZE, AttemptKind.CAPTURE),
    "payment_intent.payment_failed": (AttemptKind.AUTHORIZE,),
    "payment_intent.canceled": (AttemptKind.AUTHORIZE, AttemptKind.VOID),
}
_READERS = {AttemptKind.AUTHORIZE: wire.authorization_outcome, AttemptKind.CAPTURE: wire.capture_outcome,
            AttemptKind.VOID: wire.void_outcome}
_SESSION_EVENTS = frozenset({"checkout.session.completed", "checkout.session.expired"})
RECONCILED = frozenset({"charge.refunded", "charge.refund.updated", "refund.updated", "refund.failed",
                        "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed"})
HANDLED = frozenset(_INTENT_EVENTS) | _SESSION_EVENTS | RECONCILED


class SignatureError(Exception):
    """The body is not Stripe's: no secret configured, no header, no matching `v1`, or too old."""


def verified_event(raw: bytes, header: str | None, secret: str | None, *,
                   tolerance_s: int = TOLERANCE_S) -> dict[str, Any]:
    """The event as a plain dict, once the signature over `raw` is Stripe's under `secret`."""
    if not secret:
        raise SignatureError("Stripe webhooks are not configured on this server (PAYGATE_STRIPE_WEBHOOK_SECRET)")
    try:
        stripe.WebhookSignature.verify_header(raw, header, secret, tolerance_s)
    except stripe.SignatureVerificationError as exc:
        raise SignatureError(f"invalid Stripe-Signature: {exc.user_message or exc}") from None
    except UnicodeDecodeError:
        raise SignatureError("invalid Stripe-Signature: the body is not UTF-8") from None
    try:
        event = json.loads(raw)
    except ValueError:
        raise ValidationError("the event is not JSON", "body") from None
    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]
            and isinstance(event.get("type"), str) and isinstance(_object(event), Mapping)):
        raise ValidationError("not a Stripe event: id, type and data.object are required", "body")
    return event


def handled(event: Mapping[str, Any]) -> bool:
    if event["type"] not in HANDLED:
        return False
    obj = _object(event)
    if obj.get("object") == "checkout.session":
        # Only payment-mode sessions can be ours; a setup or subscription session elsewhere on the
        # account (its amount may be null) is acknowledged as not ours, never refused: a refusal
        # is redelivered for days, and enough of them make Stripe disable the endpoint.
        return obj.get("mode") == "payment" and type(obj.get("amount_total")) is int
    return True


def object_ref(event: Mapping[str, Any]) -> str | None:
    obj = _object(event)
    ref = obj.get("payment_intent") if obj.get("object") in ("charge", "refund") else obj.get("id")
    return ref if isinstance(ref, str) else None


def payment_news(event: Mapping[str, Any]) -> PaymentNews:
    """A handled event as our news (see the module's table). Raises ConflictError for amounts we
    can't read exactly (wire.money_of)."""
    obj, kind = _object(event), event["type"]
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    order = str(metadata.get("order_id") or "")
    news = dict(provider="stripe", event_id=event["id"], event_type=kind, provider_ref=object_ref(event),
                order_id=int(order) if order.isascii() and order.isdigit() and len(order) < 19 else None,
                payment_uuid=metadata.get("payment_uuid") if isinstance(metadata.get("payment_uuid"), str) else None)
    if kind in RECONCILED:
        return PaymentNews(**news, reconcile=True)
    if kind in _SESSION_EVENTS:
        outcomes = _session_outcomes(obj, kind)
        return PaymentNews(**news, outcomes=outcomes) if outcomes else PaymentNews(**news, reconcile=True)
    return PaymentNews(**news, outcomes={k: _READERS[k](obj) for k in _INTENT_EVENTS[kind]})


def _session_outcomes(session: Mapping[str, Any], kind: str) -> dict[AttemptKind, Outcome]:
    """What a session event settles by itself, read as the adapter reads the session; empty when
    only its PaymentIntent can tell (the adapter's `fetch` reads it)."""
    if kind == "checkout.session.expired":
        return {AttemptKind.AUTHORIZE: checkout.session_outcome(session),
                AttemptKind.VOID: checkout.void_outcome(session)}
    paid = checkout.paid_outcome(session)
    return {AttemptKind.AUTHORIZE: paid} if paid is not None else {}


def _object(event: Mapping[str, Any]) -> Any:
    data = event.get("data")
    return data.get("object") if isinstance(data, Mapping) else None
