"""POST /orders/api/payment-webhook/: the generic online gateway's events (seed 001, "ONLINE").

The gateway signs the raw body: `X-Webhook-Signature` is its hex HMAC-SHA256 under
`PAYGATE_GATEWAY_WEBHOOK_SECRET` (providers/online.py). Without the secret set, without the header, or
with a signature that doesn't match, the answer is 400 and nothing is read or written.

    {"event_type": "payment.completed",   or "payment.failed"; other types are stored, ignored, 200
     "payment_id": "txn_123456789",       the gateway's payment id: the payment's transaction_id
     "order_reference": "1",              our order's integer id, as a string
     "amount": "1598.00",                 the order's total in its currency (no other is accepted)
     "status": "completed",               optional; must agree with event_type
     "timestamp": "2023-01-15T15:30:00Z"} optional; ISO 8601 when present

The gateway sends no event id, so the event's id is `<event_type>:<payment_id>`: a redelivery of
the same news about the same gateway payment is the same event, acted on once
(domain/payments/external.py). Answers, all {"status": "success", "message": …} with 200 once the
event is acted on or acknowledged (a redelivery gets the same body), else {"detail": …}:

    400  bad signature or secret unset; not a JSON object; a field missing or malformed; an
         amount that is not the order's total (kept as a failed event, retried on redelivery)
    404  no order with that id (likewise kept as failed)
    409  the order can't take this payment: closed, paid by another payment, one being decided,
         or the goods gone since its reservation lapsed (likewise kept as failed)
"""
from __future__ import annotations

import logging
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain.clock import utc_now
from domain.errors import PaymentsError
from domain.payments.external import (
    EventReceipt,
    EventState,
    ExternalOutcome,
    ExternalPaymentEvent,
    WebhookEvent,
    acknowledge_event,
    record_external_payment,
)
from providers.online import NAME, SIGNATURE_HEADER, signature_matches
from rest_compat.http import RestError, json_object, services, settings
from rest_compat.openapi import JSON, Operation, error_schema
from rest_compat.webhook_notes import note_webhook

log = logging.getLogger("paygate.webhooks.online")

EVENTS = {"payment.completed": ExternalOutcome.COMPLETED, "payment.failed": ExternalOutcome.FAILED}
MAX_ORDER_ID = 2**31 - 1
CONFIRMED = "Payment confirmed"
FAILURE_RECORDED = "Payment failure recorded"


def _text(body: dict, field: str, max_length: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise RestError(400, f"{field} is required and must be a non-empty string")
    if len(value) > max_length:
        raise RestError(400, f"{field} is longer than {max_length} characters")
    return value.strip()


def _order_id(body: dict) -> int:
    reference = body.get("order_reference")
    text = str(reference) if isinstance(reference, int) and not isinstance(reference, bool) else reference
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise RestError(400, "order_reference must be the order's id, like \"1\"")
    order_id = int(text)
    if not 0 < order_id <= MAX_ORDER_ID:
        raise RestError(404, f"order {text} not found")
    return order_id


def _amount(body: dict) -> str:
    # json_object keeps JSON numbers exact (a float arrives as its text), so "1598.00" and
    # 1598.00 read the same; the use case parses it in the order's currency.
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, str | int) or not str(amount).strip():
        raise RestError(400, "amount is required, as a decimal string like \"1598.00\"")
    return str(amount).strip()


def _check_optional(body: dict, outcome: ExternalOutcome) -> None:
    status = body.get("status")
    if status is not None and status != outcome.value:
        raise RestError(400, f"status {status!r} contradicts event_type (expected {outcome.value!r})")
    stamp = body.get("timestamp")
    if stamp is not None:
        try:
            datetime.fromisoformat(stamp.replace("Z", "+00:00") if isinstance(stamp, str) else "")
        except ValueError:
            raise RestError(400, "timestamp must be an ISO 8601 date and time") from None


def _message(receipt: EventReceipt) -> str:
    event = receipt.event
    match EVENTS.get(event.event_type):
        case ExternalOutcome.COMPLETED:
            return CONFIRMED
        case ExternalOutcome.FAILED if event.state is EventState.PROCESSED:
            return FAILURE_RECORDED
        case ExternalOutcome.FAILED:
            return f"Payment failure ignored: {event.detail}"
    return f"Event ignored: {event.detail}"


async def payment_webhook(request: Request) -> JSONResponse:
    svc = services(request)
    note_webhook(request, NAME)
    raw = await request.body()
    secret = settings(request).gateway_webhook_secret
    if not secret:
        raise RestError(400, "the online payment gateway is not configured on this server "
                        "(PAYGATE_GATEWAY_WEBHOOK_SECRET)")
    if not signature_matches(secret, raw, request.headers.get(SIGNATURE_HEADER)):
        raise RestError(400, f"missing or invalid {SIGNATURE_HEADER}")
    body = await json_object(request)
    note_webhook(request, NAME, body.get("timestamp"))
    event_type = _text(body, "event_type", 80)
    payment_id = _text(body, "payment_id", 160)
    event_id = f"{event_type}:{payment_id}"
    outcome = EVENTS.get(event_type)
    if outcome is None:
        event = WebhookEvent(provider=NAME, event_id=event_id, event_type=event_type, object_ref=payment_id,
                             received_at=utc_now())
        why = f"event type {event_type!r} is not handled"
        return _answer(await acknowledge_event(event, why, svc.uow()))
    order_id = _order_id(body)
    amount = _amount(body)
    _check_optional(body, outcome)
    command = ExternalPaymentEvent(provider=NAME, event_id=event_id, event_type=event_type, outcome=outcome,
                                   order_id=order_id, provider_ref=payment_id, amount=amount)
    try:
        receipt = await record_external_payment(command, svc.uow(), svc.policy)
    except PaymentsError as exc:
        log.warning("online gateway event refused", extra={"event_id": event_id, "reason": exc.message})
        raise
    return _answer(receipt)


def _answer(receipt: EventReceipt) -> JSONResponse:
    return JSONResponse({"status": "success", "message": _message(receipt)})


EVENT: JSON = {
    "type": "object",
    "required": ["event_type", "payment_id", "order_reference", "amount"],
    "properties": {
        "event_type": {"type": "string", "maxLength": 80, "examples": list(EVENTS)},
        "payment_id": {"type": "string", "maxLength": 160, "examples": ["txn_123456789"]},
        "order_reference": {"type": "string", "pattern": r"^\d+$", "description": "the order's integer id"},
        "amount": {"type": "string", "pattern": r"^\d+(\.\d+)?$", "examples": ["1598.00"]},
        "status": {"enum": [o.value for o in ExternalOutcome]},
        "timestamp": {"type": "string", "format": "date-time"},
    },
}
ACKNOWLEDGED: JSON = {
    "type": "object",
    "required": ["status", "message"],
    "additionalProperties": False,
    "properties": {"status": {"const": "success"}, "message": {"type": "string"}},
}


def routes(base: str) -> list[Route]:
    return [Route(f"{base}/payment-webhook/", payment_webhook, methods=["POST"])]


def operations(base: str, tag: str) -> list[Operation]:
    detail = error_schema("detail")
    return [Operation(
        "post", f"{base}/payment-webhook/", "The generic online gateway's signed payment events", tag,
        {200: ("Acted on once, or acknowledged (a redelivery gets the same answer)", ACKNOWLEDGED),
         400: ("Bad or missing signature, malformed event, or an amount other than the order's total",
               detail),
         404: ("No order with that id", detail),
         409: ("The order can't take this payment (closed, already paid, or one being decided)", detail)},
        request=EVENT, secured=False,
        parameters=({"name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
                     "description": "hex HMAC-SHA256 of the raw body under PAYGATE_GATEWAY_WEBHOOK_SECRET"},))]
