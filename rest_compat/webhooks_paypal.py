"""PayPal's webhook: POST /api/v1/payments/webhooks/paypal/ (seed 002), answered by `handle`, which
any other seed's route may call too (seed 003's POST /payments/webhooks/{provider}): it takes the
Starlette request and answers the response, raising RestError or a domain error for the calling
API's error table.

Register the address in the PayPal developer dashboard (the app's Webhooks) with the events below;
PAYGATE_PAYPAL_WEBHOOK_ID is the id PayPal shows for it. Each delivery is verified before anything
is read (providers/paypal/webhooks.py: PayPal's verify API, or offline with PayPal's certificate,
PAYGATE_PAYPAL_WEBHOOK_VERIFICATION); without the id, with headers missing, a signature that
isn't PayPal's for our webhook id (a forgery, or another account's webhook) or a transmission time
more than 5 minutes away, the answer is 400 and nothing is written.

    CHECKOUT.ORDER.APPROVED                  reconcile: PayPal is asked, and the approved order
                                             completed (captured or authorized) and booked
    PAYMENT.CAPTURE.COMPLETED, .PENDING,     settle the payment's open authorization (intent
      .DENIED                                CAPTURE) or capture, as the call's answer would
    PAYMENT.CAPTURE.REFUNDED, .REVERSED      reconcile the payment's open refunds through PayPal
    PAYMENT.AUTHORIZATION.VOIDED             settle an open void (or end an open authorization)
    CUSTOMER.DISPUTE.CREATED, .RESOLVED      stored with the dispute's summary; the disputes domain
                                             acts on `DisputeNews` (not wired here yet)
    anything else                            stored as ignored, 200

Every event is stored by its id and acted on once (domain/payments/provider_events.py): a
redelivery is answered 200 and changes nothing; news that would move a payment backwards (a
capture PENDING after COMPLETED) is stored as ignored. Answers:

    200  {"received": true, "state": "processed" | "ignored", "duplicate": bool}
    400  unverified, stale, PAYGATE_PAYPAL_WEBHOOK_ID unset, or not a PayPal event
    409  the news contradicts what we know (kept as a failed event; PayPal redelivers it)
    503  PayPal (its verify API, or its certificate) did not answer; PayPal redelivers
"""
from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.paypal_queries import order_of_capture
from domain.clock import utc_now
from domain.errors import PaymentsError, ProviderUnavailableError
from domain.payments.external import EventReceipt, WebhookEvent, acknowledge_event
from domain.payments.provider_events import record_payment_news
from providers.paypal import PayPalProvider
from providers.paypal import webhooks as paypal_webhooks
from rest_compat import seed_002
from rest_compat.http import RestError, Shape, database, services
from rest_compat.openapi import JSON, Api, Operation, error_schema
from rest_compat.webhook_notes import note_webhook

log = logging.getLogger("paygate.rest.webhooks.paypal")
PATH = "/api/v1/payments/webhooks/paypal/"
TAG = "seed 002 (/api/v1/payments/)"
PROVIDER = "paypal"


async def handle(request: Request) -> JSONResponse:
    """The whole webhook, for any seed's route."""
    svc = services(request)
    note_webhook(request, PROVIDER)
    provider = svc.providers.get(PROVIDER)
    verifier = provider.webhooks if isinstance(provider, PayPalProvider) else None
    if verifier is None:
        raise RestError(400, "PayPal webhooks are not configured on this server (PAYGATE_PAYPAL_CLIENT_ID, "
                             "PAYGATE_PAYPAL_WEBHOOK_ID)")
    raw = await request.body()
    try:
        event = await verifier.verified_event(request.headers, raw)
    except paypal_webhooks.SignatureError as exc:
        raise RestError(400, str(exc)) from None
    except ProviderUnavailableError as exc:  # PayPal's verify API or certificate host: it redelivers
        raise RestError(503, f"the delivery could not be verified now: {exc}") from None
    note_webhook(request, PROVIDER, event.get("create_time"))
    kind = event["event_type"]
    if not paypal_webhooks.handled(event):
        return _answer(await acknowledge_event(_stored(event, None), f"event type {kind!r} is not handled",
                                               svc.uow()))
    if paypal_webhooks.is_dispute(event):
        # The disputes domain (branch `risk`) is to act on this; until it is wired, the event is
        # kept, with the dispute's summary, for operators.
        dispute = paypal_webhooks.dispute_news(event)
        why = (f"dispute {dispute.dispute_id} {dispute.status} ({dispute.reason}) on captures "
               f"{', '.join(dispute.capture_ids) or '-'}: recorded for the disputes domain")
        return _answer(await acknowledge_event(_stored(event, dispute.dispute_id), why, svc.uow()))
    order_id = paypal_webhooks.object_ref(event)
    if order_id is None and (capture_id := paypal_webhooks.captured_by(event)):
        order_id = await order_of_capture(database(request), capture_id)  # a refund names its capture
    try:
        receipt = await record_payment_news(paypal_webhooks.payment_news(event, order_id), svc.uow(),
                                            svc.providers, svc.policy)
    except PaymentsError as exc:
        log.warning("paypal event refused", extra={"event_id": event["id"], "reason": exc.message})
        raise
    return _answer(receipt)


def _stored(event: dict, ref: str | None) -> WebhookEvent:
    return WebhookEvent(provider=PROVIDER, event_id=event["id"], event_type=event["event_type"],
                        object_ref=ref or paypal_webhooks.object_ref(event), received_at=utc_now())


def _answer(receipt: EventReceipt) -> JSONResponse:
    return JSONResponse({"received": True, "state": receipt.event.state.value, "duplicate": receipt.duplicate})


async def paypal_webhook(request: Request) -> JSONResponse:
    return await handle(request)


EVENT: JSON = {
    "type": "object",
    "required": ["id", "event_type", "resource"],
    "properties": {"id": {"type": "string", "examples": ["WH-58D329510W468432D-8HN650336L201105X"]},
                   "event_type": {"type": "string", "examples": sorted(paypal_webhooks.HANDLED)},
                   "resource": {"type": "object"}},
}
RECEIVED: JSON = {
    "type": "object", "required": ["received", "state", "duplicate"], "additionalProperties": False,
    "properties": {"received": {"const": True}, "state": {"enum": ["processed", "ignored"]},
                   "duplicate": {"type": "boolean"}},
}
HEADERS = tuple({"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                for name in ("PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG",
                             "PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO"))


def operation(path: str, tag: str, shape: Shape) -> Operation:
    error = error_schema(shape.value)
    return Operation(
        "post", path, "PayPal's signed webhook events", tag,
        {200: ("Acted on once, or acknowledged (a redelivery changes nothing)", RECEIVED),
         400: ("Unverified or stale delivery, PAYGATE_PAYPAL_WEBHOOK_ID unset, or not a PayPal event", error),
         409: ("The event contradicts what we know of the payment (PayPal redelivers it)", error),
         503: ("PayPal's verification did not answer (PayPal redelivers it)", error)},
        request=EVENT, secured=False, parameters=HEADERS)


def api() -> Api:
    return Api([Route(PATH, paypal_webhook, methods=["POST"])], [operation(PATH, TAG, Shape.ERROR)],
               seed_002.SEED_002_BASE, seed_002.ERRORS)
