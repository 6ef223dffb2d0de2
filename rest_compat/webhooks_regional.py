"""Razorpay's and Flutterwave's webhooks: POST /webhooks/razorpay/ and POST /webhooks/flutterwave/.

Each provider's whole webhook is one function taking the Starlette request and answering the
response (`razorpay_webhook`, `flutterwave_webhook`), so any other path (seed 003's
`webhooks/{provider}`) can route to it. Register these addresses in each dashboard:

    Razorpay     Settings > Webhooks: the URL, a secret (PAYGATE_RAZORPAY_WEBHOOK_SECRET), and the
                 events payment.authorized, payment.captured, payment.failed, order.paid,
                 refund.processed, refund.failed, payment.dispute.* (providers/razorpay/webhooks.py)
    Flutterwave  Settings > Webhooks: the URL and a secret hash (PAYGATE_FLUTTERWAVE_SECRET_HASH);
                 charge.completed and refund events (providers/flutterwave/webhooks.py)

The delivery is verified before anything is read (a bad, missing or unset secret: 400, nothing
written); every event is stored by its id and acted on once, never backwards
(domain/payments/provider_events.py). Answers:

    200  {"received": true, "state": "processed" | "ignored", "duplicate": bool}
    400  not the provider's delivery (signature), a replay older than its retries, or not an event
    409  the news contradicts what we know (kept as a failed event; the provider redelivers)
    503  the provider is not configured, or couldn't be asked to verify the event (it redelivers)
"""
from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.clock import utc_now
from domain.errors import PaymentsError, ProviderUnavailableError
from domain.payments.external import EventReceipt, WebhookEvent, acknowledge_event
from domain.payments.provider_events import PaymentNews, record_payment_news
from providers.flutterwave import FlutterwaveProvider
from providers.flutterwave import webhooks as flutterwave_webhooks
from providers.razorpay import webhooks as razorpay_webhooks
from rest_compat.errors import ErrorTable, RestError, Shape
from rest_compat.http import services, settings
from rest_compat.openapi import JSON, Api, Operation, error_schema
from rest_compat.webhook_notes import note_webhook

log = logging.getLogger("paygate.rest.webhooks.regional")
BASE = "/webhooks"
RAZORPAY_PATH, FLUTTERWAVE_PATH = f"{BASE}/razorpay/", f"{BASE}/flutterwave/"
TAG = "provider webhooks (/webhooks/)"
ERRORS = ErrorTable(Shape.ERROR)
# Where the disputes domain (built beside this) takes Razorpay's dispute events: until it is
# wired, they are stored (ignored, with what they said) and acknowledged.
DISPUTES_NOT_WIRED = "dispute stored for the disputes domain: {}"


async def razorpay_webhook(request: Request) -> Response:
    svc = services(request)
    note_webhook(request, "razorpay")
    raw = await request.body()
    try:
        event = razorpay_webhooks.verified_event(raw, request.headers.get(razorpay_webhooks.SIGNATURE_HEADER),
                                                 settings(request).razorpay_webhook_secret,
                                                 request.headers.get(razorpay_webhooks.EVENT_ID_HEADER))
    except razorpay_webhooks.SignatureError as exc:
        raise RestError(400, str(exc)) from None
    note_webhook(request, "razorpay", event.get("created_at"))
    if "razorpay" not in svc.providers:
        raise RestError(503, "Razorpay is not configured (PAYGATE_RAZORPAY_KEY_ID, PAYGATE_RAZORPAY_KEY_SECRET)")
    stored = WebhookEvent(provider="razorpay", event_id=str(event["_id"]), event_type=str(event["event"]),
                          object_ref=razorpay_webhooks.object_ref(event), received_at=utc_now())
    if razorpay_webhooks.is_dispute(event):
        dispute = razorpay_webhooks.dispute_news(event)
        detail = (f"{dispute.dispute_id} on {dispute.payment_id} ({dispute.order_ref}): {dispute.phase} "
                  f"{dispute.status} {dispute.reason_code} {dispute.amount}")
        return _answer(await acknowledge_event(stored, DISPUTES_NOT_WIRED.format(detail), svc.uow()))
    if not razorpay_webhooks.handled(event):
        return _answer(await acknowledge_event(stored, f"event type {event['event']!r} is not handled", svc.uow()))
    return await _record(razorpay_webhooks.payment_news(event), request)


async def flutterwave_webhook(request: Request) -> Response:
    svc = services(request)
    note_webhook(request, "flutterwave")  # its events carry no time of sending: no lag
    raw = await request.body()
    try:
        event, event_id = flutterwave_webhooks.verified_event(raw, dict(request.headers),
                                                              settings(request).flutterwave_secret_hash)
    except flutterwave_webhooks.SignatureError as exc:
        raise RestError(400, str(exc)) from None
    provider = svc.providers.get("flutterwave")
    if not isinstance(provider, FlutterwaveProvider):
        raise RestError(503, "Flutterwave is not configured (PAYGATE_FLUTTERWAVE_SECRET_KEY)")
    kind = str(event.get("event") or event.get("event.type"))
    if kind != "charge.completed" and not kind.startswith("refund"):
        ignored = WebhookEvent(provider="flutterwave", event_id=event_id, event_type=kind,
                               object_ref=str(event["data"].get("tx_ref") or "") or None, received_at=utc_now())
        return _answer(await acknowledge_event(ignored, f"event type {kind!r} is not handled", svc.uow()))
    try:
        news = await provider.news(event, event_id)
    except ProviderUnavailableError:
        raise RestError(503, "Flutterwave could not be asked to verify the transaction; deliver it again") from None
    return await _record(news, request)


async def _record(news: PaymentNews, request: Request) -> Response:
    svc = services(request)
    try:
        receipt = await record_payment_news(news, svc.uow(), svc.providers, svc.policy)
    except PaymentsError as exc:
        log.warning("%s event refused", news.provider, extra={"event_id": news.event_id, "reason": exc.message})
        raise
    return _answer(receipt)


def _answer(receipt: EventReceipt) -> JSONResponse:
    return JSONResponse({"received": True, "state": receipt.event.state.value, "duplicate": receipt.duplicate})


RECEIVED: JSON = {
    "type": "object", "required": ["received", "state", "duplicate"], "additionalProperties": False,
    "properties": {"received": {"const": True}, "state": {"enum": ["processed", "ignored"]},
                   "duplicate": {"type": "boolean"}},
}


def _operation(path: str, who: str, request: JSON, parameters: tuple[JSON, ...]) -> Operation:
    error = error_schema(Shape.ERROR.value)
    return Operation(
        "post", path, f"{who}'s signed webhook events", TAG,
        {200: ("Acted on once, or acknowledged (a redelivery changes nothing)", RECEIVED),
         400: ("Bad or missing signature, secret unset, a replay, or not an event", error),
         409: ("The event contradicts what we know of the payment (redelivered later)", error),
         503: ("The provider is not configured, or couldn't be asked to verify the event", error)},
        request=request, secured=False, parameters=parameters)


def api() -> Api:
    razorpay_event: JSON = {"type": "object", "required": ["entity", "event", "payload", "created_at"],
                            "properties": {"entity": {"const": "event"},
                                           "event": {"type": "string", "examples": sorted(razorpay_webhooks.HANDLED)},
                                           "payload": {"type": "object"}, "created_at": {"type": "integer"}}}
    flutterwave_event: JSON = {"type": "object", "required": ["event", "data"],
                               "properties": {"event": {"type": "string", "examples": ["charge.completed"]},
                                              "data": {"type": "object"}}}
    header = {"in": "header", "schema": {"type": "string"}}
    razorpay_params = (
        {"name": razorpay_webhooks.SIGNATURE_HEADER, "required": True, **header,
         "description": "hex HMAC-SHA256 of the raw body under PAYGATE_RAZORPAY_WEBHOOK_SECRET"},
        {"name": razorpay_webhooks.EVENT_ID_HEADER, "required": False, **header,
         "description": "Razorpay's event id, the same on its retries"})
    flutterwave_params = (
        {"name": flutterwave_webhooks.HASH_HEADER, "required": False, **header,
         "description": "the dashboard's secret hash, PAYGATE_FLUTTERWAVE_SECRET_HASH"},
        {"name": flutterwave_webhooks.SIGNATURE_HEADER, "required": False, **header,
         "description": "base64 HMAC-SHA256 of the raw body under the secret hash (checked when present)"})
    return Api([Route(RAZORPAY_PATH, razorpay_webhook, methods=["POST"]),
                Route(FLUTTERWAVE_PATH, flutterwave_webhook, methods=["POST"])],
               [_operation(RAZORPAY_PATH, "Razorpay", razorpay_event, razorpay_params),
                _operation(FLUTTERWAVE_PATH, "Flutterwave", flutterwave_event, flutterwave_params)],
               BASE, ERRORS)
