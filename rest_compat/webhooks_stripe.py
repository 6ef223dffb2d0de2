"""Stripe's webhook: POST /api/v1/payments/webhooks/stripe/ (seed 002), and the same handler behind
seed 001's POST /orders/api/stripe-webhook/ (rest_compat/seed_001.py), each in its seed's error shape.

Register either address in Stripe's dashboard with the events below; PAYGATE_STRIPE_WEBHOOK_SECRET is the
endpoint's signing secret (`whsec_…`). The signature is checked over the raw body before anything
is read (providers/stripe/webhooks.py, the SDK's verification, 300 s tolerance, any `v1` value
during a secret roll); without the secret, without the header, with a body that doesn't match or
a timestamp too old, the answer is 400 and nothing is read or written.

    payment_intent.succeeded, .payment_failed, .canceled   settle the payment's open attempt
    charge.refunded                                        reconcile the payment through Stripe
    customer.subscription.created, .updated, .deleted      apply the subscription's state, never
                                                           backwards (domain/billing/news.py)
    checkout.session.completed (paid), .expired            settle the page's payment; an expired
                                                           page releases its order's stock
    checkout.session.completed (unpaid),                   reconcile the payment through Stripe
      .async_payment_succeeded, .async_payment_failed
    anything else                                          stored as ignored, 200

Every event is stored by its id before it is acted on (domain/payments/provider_events.py): a
redelivery is answered 200 and changes nothing. Answers:

    200  {"received": true, "state": "processed" | "ignored", "duplicate": bool}
    400  bad or missing signature, secret unset, not a Stripe event
    409  the news contradicts what we know (kept as a failed event; Stripe redelivers)
"""
from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain.billing.news import record_subscription_news
from domain.clock import utc_now
from domain.errors import PaymentsError
from domain.payments.external import EventReceipt, WebhookEvent, acknowledge_event
from domain.payments.provider_events import record_payment_news
from providers.stripe import billing_webhooks as stripe_billing_webhooks
from providers.stripe import webhooks as stripe_webhooks
from rest_compat import seed_002
from rest_compat.http import RestError, Shape, services, settings
from rest_compat.openapi import JSON, Api, Operation, error_schema
from rest_compat.webhook_notes import note_webhook

log = logging.getLogger("paygate.rest.webhooks.stripe")
PATH = "/api/v1/payments/webhooks/stripe/"
TAG = "seed 002 (/api/v1/payments/)"
SIGNATURE_HEADER = "Stripe-Signature"


async def handle(request: Request) -> JSONResponse:
    """The whole webhook, for any seed's route; raises RestError or domain errors for `endpoint`."""
    svc = services(request)
    note_webhook(request, "stripe")
    raw = await request.body()
    try:
        event = stripe_webhooks.verified_event(raw, request.headers.get(SIGNATURE_HEADER),
                                               settings(request).stripe_webhook_secret)
    except stripe_webhooks.SignatureError as exc:
        raise RestError(400, str(exc)) from None
    note_webhook(request, "stripe", event.get("created"))
    if stripe_billing_webhooks.handled(event):  # subscriptions: domain/billing/news.py
        return _answer(await record_subscription_news(stripe_billing_webhooks.subscription_news(event),
                                                      svc.uow()))
    if not stripe_webhooks.handled(event):
        ignored = WebhookEvent(provider="stripe", event_id=event["id"], event_type=event["type"],
                               object_ref=stripe_webhooks.object_ref(event), received_at=utc_now())
        why = f"event type {event['type']!r} is not handled"
        return _answer(await acknowledge_event(ignored, why, svc.uow()))
    try:
        receipt = await record_payment_news(stripe_webhooks.payment_news(event), svc.uow(),
                                            svc.providers, svc.policy)
    except PaymentsError as exc:
        log.warning("stripe event refused", extra={"event_id": event["id"], "reason": exc.message})
        raise
    return _answer(receipt)


def _answer(receipt: EventReceipt) -> JSONResponse:
    return JSONResponse({"received": True, "state": receipt.event.state.value, "duplicate": receipt.duplicate})


async def stripe_webhook(request: Request) -> JSONResponse:
    return await handle(request)


EVENT: JSON = {
    "type": "object",
    "required": ["id", "type", "data"],
    "properties": {
        "id": {"type": "string", "examples": ["evt_1NG8Du2eZvKYlo2CUI79vXWy"]},
        "type": {"type": "string", "examples": sorted(stripe_webhooks.HANDLED)},
        "data": {"type": "object", "required": ["object"], "properties": {"object": {"type": "object"}}},
    },
}
RECEIVED: JSON = {
    "type": "object",
    "required": ["received", "state", "duplicate"],
    "additionalProperties": False,
    "properties": {"received": {"const": True}, "state": {"enum": ["processed", "ignored"]},
                   "duplicate": {"type": "boolean"}},
}
SIGNATURE_PARAMETER: JSON = {
    "name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
    "description": "t=<unix time>,v1=<hex HMAC-SHA256 of \"t.body\" under PAYGATE_STRIPE_WEBHOOK_SECRET>[,v1=…]"}


def operation(path: str, tag: str, shape: Shape) -> Operation:
    error = error_schema(shape.value)
    return Operation(
        "post", path, "Stripe's signed webhook events", tag,
        {200: ("Acted on once, or acknowledged (a redelivery changes nothing)", RECEIVED),
         400: ("Bad, missing or stale signature, PAYGATE_STRIPE_WEBHOOK_SECRET unset, or not a Stripe event", error),
         409: ("The event contradicts what we know of the payment (Stripe redelivers it)", error)},
        request=EVENT, secured=False, parameters=(SIGNATURE_PARAMETER,))


def api() -> Api:
    return Api([Route(PATH, stripe_webhook, methods=["POST"])], [operation(PATH, TAG, Shape.ERROR)],
               seed_002.SEED_002_BASE, seed_002.ERRORS)
