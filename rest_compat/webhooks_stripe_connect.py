"""Seed 000's POST /api/payments/stripe_webhook/connect/: Stripe Connect's events, signed with the
Connect endpoint's own secret (PAYGATE_STRIPE_CONNECT_WEBHOOK_SECRET), checked over the raw body as
the main webhook is (providers/stripe/webhooks.py): no secret, no or a bad signature, a stale
timestamp answer 400 and nothing is read or written.

    account.updated, payout.paid, payout.failed, payout.canceled, transfer.reversed
        acted on once, never backwards (domain/marketplace/news.py)
    anything else
        stored as ignored, 200

    200  {"received": true, "state": "processed" | "ignored", "duplicate": bool}
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.marketplace.news import HANDLED, record_connect_news
from providers.stripe import webhooks as stripe_webhooks
from providers.stripe.connect_webhooks import connect_news
from rest_compat.http import RestError, Shape, services, settings
from rest_compat.openapi import JSON, Operation, error_schema
from rest_compat.webhooks_stripe import RECEIVED, SIGNATURE_HEADER

NOT_CONFIGURED = "Stripe Connect webhooks are not configured on this server (PAYGATE_STRIPE_CONNECT_WEBHOOK_SECRET)"


async def handle(request: Request) -> JSONResponse:
    svc = services(request)
    raw = await request.body()
    secret = settings(request).stripe_connect_webhook_secret
    if not secret:
        raise RestError(400, NOT_CONFIGURED)
    try:
        event = stripe_webhooks.verified_event(raw, request.headers.get(SIGNATURE_HEADER), secret)
    except stripe_webhooks.SignatureError as exc:
        raise RestError(400, str(exc)) from None
    if svc.connect is None:
        raise RestError(503, "Connect is not available on this server")
    now = svc.clock()
    receipt = await record_connect_news(connect_news(event, now), svc.uow(), svc.connect, now)
    return JSONResponse({"received": True, "state": receipt.event.state.value, "duplicate": receipt.duplicate})


EVENT: JSON = {"type": "object", "required": ["id", "type", "data"], "properties": {
    "id": {"type": "string"}, "type": {"type": "string", "examples": sorted(HANDLED)},
    "account": {"type": "string", "description": "the connected account the event is about"},
    "data": {"type": "object", "required": ["object"], "properties": {"object": {"type": "object"}}}}}


def operation(path: str, tag: str) -> Operation:
    error = error_schema(Shape.ERROR.value)
    return Operation(
        "post", path, "Stripe Connect's signed webhook events", tag,
        {200: ("Acted on once, or acknowledged (a redelivery changes nothing)", RECEIVED),
         400: ("Bad, missing or stale signature, or PAYGATE_STRIPE_CONNECT_WEBHOOK_SECRET unset", error),
         503: ("No Connect provider configured", error)},
        request=EVENT, secured=False,
        parameters=({"name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
                     "description": "signed with PAYGATE_STRIPE_CONNECT_WEBHOOK_SECRET"},))
