"""A small Razorpay for the adapter's tests, after Razorpay's API reference (razorpay.com/docs/api):

    POST /v1/orders                      amount (integer subunits, at least 100), currency,
                                         receipt (at most 40 characters), notes (at most 15
                                         keys of 256 characters), payment_capture
    GET  /v1/orders?receipt=…            a collection {entity, count, items}
    GET  /v1/orders/{id}, /v1/orders/{id}/payments
    GET  /v1/payments/{id}
    POST /v1/payments/{id}/capture       amount and currency, equal to what was authorized;
                                         "already captured" refused
    POST /v1/payments/{id}/refund        amount (at most what is left), speed, notes, receipt;
                                         the X-Refund-Idempotency header (at least 10 characters
                                         of [A-Za-z0-9_-]): the same key and body answers the
                                         same refund, another body a 400, a request still
                                         running with the key a 409
    GET  /v1/refunds/{id}, /v1/payments/{id}/refunds

Basic auth with the key id and secret (401 and Razorpay's error body otherwise). Every error is
Razorpay's body: {"error": {"code", "description", "source", "step", "reason", "metadata",
"field"}}, 400 for a refusal, 404 for an unknown path. Unknown ids are 400
BAD_REQUEST_ERROR "The id provided does not exist", as Razorpay answers them.

What happens in the browser (Razorpay Checkout) is played by `pay` (a payment captured at once
or only authorized, per the order's payment_capture; the answer signed as Checkout signs it) and
`fail` (a declined try; the order stays payable). `refunds_pending()` keeps new refunds
`pending` until `settle_refund`. `lose_next(n)` executes the next n POSTs and then answers
502, as a lost answer; `fail_next(n)` answers 500 before executing. `event` builds a signed
webhook delivery.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY_ID, KEY_SECRET = "rzp_test_paygate", "rzp_secret_paygate"
WEBHOOK_SECRET = "rzp_whsec_paygate"
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{10,}$")


class Refused(Exception):
    def __init__(self, description: str, *, status: int = 400, code: str = "BAD_REQUEST_ERROR",
                 reason: str = "input_validation_failed", field: str | None = None) -> None:
        super().__init__(description)
        self.status, self.body = status, {"error": {
            "code": code, "description": description, "source": "business", "step": "payment_initiation",
            "reason": reason, "metadata": {}, "field": field}}


def _ident(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(7)}"


@dataclass
class FakeRazorpay:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (body, refund id)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _running: set[str] = field(default_factory=set)
    _fail: int = 0
    _lose: int = 0
    _pending_refunds: bool = False
    hold: asyncio.Event | None = None

    def reset(self) -> None:
        for table in (self.orders, self.payments, self.refunds, self.idempotent):
            table.clear()
        self.requests.clear()
        self._fail = self._lose = 0
        self._pending_refunds = False

    def fail_next(self, n: int = 1) -> None:
        self._fail = n

    def lose_next(self, n: int = 1) -> None:
        self._lose = n

    def refunds_pending(self) -> None:
        self._pending_refunds = True

    @property
    def app(self) -> Starlette:
        routes = [
            Route("/v1/orders", self._endpoint(self._create_order), methods=["POST"]),
            Route("/v1/orders", self._endpoint(self._list_orders), methods=["GET"]),
            Route("/v1/orders/{id}", self._endpoint(self._order), methods=["GET"]),
            Route("/v1/orders/{id}/payments", self._endpoint(self._order_payments), methods=["GET"]),
            Route("/v1/payments/{id}", self._endpoint(self._payment), methods=["GET"]),
            Route("/v1/payments/{id}/capture", self._endpoint(self._capture), methods=["POST"]),
            Route("/v1/payments/{id}/refund", self._endpoint(self._refund), methods=["POST"]),
            Route("/v1/payments/{id}/refunds", self._endpoint(self._payment_refunds), methods=["GET"]),
            Route("/v1/refunds/{id}", self._endpoint(self._get_refund), methods=["GET"]),
        ]
        return Starlette(routes=routes)

    def _endpoint(self, handler):
        async def endpoint(request: Request) -> Response:
            self.requests.append((request.method, request.url.path))
            if not _authorized(request):
                return JSONResponse(Refused("The api key provided is invalid", status=401,
                                            reason="NA").body, status_code=401)
            if self._fail:
                self._fail -= 1
                return JSONResponse({"error": {"code": "SERVER_ERROR", "description": "We are facing some trouble"
                                               " completing your request at the moment.", "source": "NA",
                                               "step": "NA", "reason": "NA", "metadata": {}}}, status_code=500)
            try:
                raw = await request.body()
                body = json.loads(raw) if raw else {}
                if not isinstance(body, dict):
                    raise Refused("The request body must be a JSON object")
                answer = await handler(request, body)
            except Refused as refused:
                return JSONResponse(refused.body, status_code=refused.status)
            if self._lose and request.method == "POST":
                self._lose -= 1
                return JSONResponse({"error": {"code": "GATEWAY_ERROR", "description": "lost"}}, status_code=502)
            return JSONResponse(answer)
        return endpoint

    # --- orders -------------------------------------------------------------------------------

    async def _create_order(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        amount, currency = body.get("amount"), body.get("currency")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            raise Refused("The amount must be atleast INR 1.00", field="amount")
        if not (isinstance(currency, str) and len(currency) == 3):
            raise Refused("The currency field is required.", field="currency")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise Refused("The receipt may not be greater than 40 characters.", field="receipt")
        notes = body.get("notes") or {}
        if not isinstance(notes, dict) or len(notes) > 15 or any(len(str(v)) > 256 for v in notes.values()):
            raise Refused("Number of fields in notes should be less than or equal to 15", field="notes")
        order = {"id": _ident("order"), "entity": "order", "amount": amount, "amount_paid": 0, "amount_due": amount,
                 "currency": currency, "receipt": receipt, "offer_id": None, "status": "created", "attempts": 0,
                 "notes": notes, "created_at": int(time.time())}
        self.orders[order["id"]] = order | {"_capture": body.get("payment_capture", True) in (True, 1, "1")}
        return _shown(order)

    async def _list_orders(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        receipt = request.query_params.get("receipt")
        items = [_shown(o) for o in reversed(list(self.orders.values())) if receipt in (None, o["receipt"])]
        return {"entity": "collection", "count": len(items), "items": items}

    async def _order(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return _shown(self._find(self.orders, request.path_params["id"]))

    async def _order_payments(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        order = self._find(self.orders, request.path_params["id"])
        items = [_shown(p) for p in self.payments.values() if p["order_id"] == order["id"]]
        return {"entity": "collection", "count": len(items), "items": items}

    # --- payments -----------------------------------------------------------------------------

    async def _payment(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return _shown(self._find(self.payments, request.path_params["id"]))

    async def _capture(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        payment = self._find(self.payments, request.path_params["id"])
        if payment["status"] == "captured" or payment["status"] == "refunded":
            raise Refused("This payment has already been captured", reason="NA")
        if payment["status"] != "authorized":
            raise Refused("Only payments which have been authorized and not yet captured can be captured",
                          reason="NA")
        if body.get("amount") != payment["amount"]:
            raise Refused("Capture amount must be equal to the amount authorized", field="amount")
        if str(body.get("currency", "")).upper() != payment["currency"]:
            raise Refused("The currency should be same as the payment currency", field="currency")
        payment.update(status="captured", captured=True)
        return _shown(payment)

    async def _refund(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        key = request.headers.get("X-Refund-Idempotency")
        canonical = json.dumps(body, sort_keys=True)
        if key is not None:
            if not _IDEMPOTENCY_KEY.match(key):
                raise Refused("The idempotency key must be at least 10 characters long", field="X-Refund-Idempotency")
            if key in self._running:
                raise Refused("Request with the same idempotency key is being processed", status=409, reason="NA")
            if key in self.idempotent:
                first, refund_id = self.idempotent[key]
                if first != canonical:
                    raise Refused("Different request with the same idempotency key has already been processed.",
                                  reason="NA")
                return _shown(self.refunds[refund_id])
            self._running.add(key)
        try:
            if self.hold is not None:
                await self.hold.wait()
            refund = self._new_refund(request.path_params["id"], body)
        finally:
            self._running.discard(key or "")
        if key is not None:
            self.idempotent[key] = (canonical, refund["id"])
        return _shown(refund)

    def _new_refund(self, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        payment = self._find(self.payments, payment_id)
        if payment["status"] not in ("captured", "refunded"):
            raise Refused("The payment has not been captured", reason="NA")
        amount = body.get("amount", payment["amount"] - self._held(payment))
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            raise Refused("The amount must be atleast INR 1.00", field="amount")
        if amount > payment["amount"] - self._held(payment):
            raise Refused("The refund amount provided is greater than amount captured", field="amount")
        if body.get("speed", "normal") not in ("normal", "optimum"):
            raise Refused("The selected speed is invalid.", field="speed")
        refund = {"id": _ident("rfnd"), "entity": "refund", "amount": amount, "currency": payment["currency"],
                  "payment_id": payment["id"], "notes": body.get("notes") or {}, "receipt": body.get("receipt"),
                  "acquirer_data": {"arn": None}, "created_at": int(time.time()), "batch_id": None,
                  "status": "pending" if self._pending_refunds else "processed",
                  "speed_processed": "normal", "speed_requested": body.get("speed", "normal")}
        self.refunds[refund["id"]] = refund
        self._book(payment)
        return refund

    def _held(self, payment: dict[str, Any]) -> int:
        return sum(r["amount"] for r in self.refunds.values()
                   if r["payment_id"] == payment["id"] and r["status"] != "failed")

    def _book(self, payment: dict[str, Any]) -> None:
        refunded = sum(r["amount"] for r in self.refunds.values()
                       if r["payment_id"] == payment["id"] and r["status"] == "processed")
        payment["amount_refunded"] = refunded
        payment["refund_status"] = None if not refunded else ("full" if refunded == payment["amount"] else "partial")
        if refunded == payment["amount"]:
            payment["status"] = "refunded"

    async def _payment_refunds(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        payment = self._find(self.payments, request.path_params["id"])
        items = [_shown(r) for r in self.refunds.values() if r["payment_id"] == payment["id"]]
        return {"entity": "collection", "count": len(items), "items": items}

    async def _get_refund(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return _shown(self._find(self.refunds, request.path_params["id"]))

    def _find(self, table: dict[str, dict[str, Any]], ident: str) -> dict[str, Any]:
        if ident not in table:
            raise Refused("The id provided does not exist", field="id")
        return table[ident]

    # --- the customer, Razorpay's side, and webhooks ------------------------------------------

    def pay(self, order_id: str, *, method: str = "card") -> dict[str, str]:
        """The customer pays in Checkout: Checkout's answer, signed as Checkout signs it."""
        order = self.orders[order_id]
        if order["status"] == "paid":
            raise Refused("Order is already paid", reason="NA")
        captured = order["_capture"]
        payment = {"id": _ident("pay"), "entity": "payment", "amount": order["amount"], "currency": order["currency"],
                   "status": "captured" if captured else "authorized", "order_id": order_id, "invoice_id": None,
                   "international": False, "method": method, "amount_refunded": 0, "refund_status": None,
                   "captured": captured, "description": None, "card_id": None, "email": "customer@example.com",
                   "contact": "+919000090000", "notes": order["notes"], "fee": None, "tax": None,
                   "error_code": None, "error_description": None, "error_source": None, "error_step": None,
                   "error_reason": None, "created_at": int(time.time())}
        self.payments[payment["id"]] = payment
        order.update(status="paid", amount_paid=order["amount"], amount_due=0, attempts=order["attempts"] + 1)
        return {"razorpay_payment_id": payment["id"], "razorpay_order_id": order_id,
                "razorpay_signature": hmac.new(KEY_SECRET.encode(), f"{order_id}|{payment['id']}".encode(),
                                               hashlib.sha256).hexdigest()}

    def fail(self, order_id: str) -> dict[str, Any]:
        order = self.orders[order_id]
        payment = {"id": _ident("pay"), "entity": "payment", "amount": order["amount"], "currency": order["currency"],
                   "status": "failed", "order_id": order_id, "method": "card", "amount_refunded": 0,
                   "refund_status": None, "captured": False, "notes": order["notes"],
                   "error_code": "BAD_REQUEST_ERROR", "error_description": "Payment failed due to insufficient balance",
                   "error_source": "customer", "error_step": "payment_authorization",
                   "error_reason": "insufficient_funds", "created_at": int(time.time())}
        self.payments[payment["id"]] = payment
        order.update(status="attempted", attempts=order["attempts"] + 1)
        return payment

    def capture_by_razorpay(self, payment_id: str) -> None:
        self.payments[payment_id].update(status="captured", captured=True)

    def settle_refund(self, refund_id: str, status: str) -> dict[str, Any]:
        refund = self.refunds[refund_id]
        refund["status"] = status
        self._book(self.payments[refund["payment_id"]])
        return refund

    def event(self, kind: str, *, payment: str | None = None, order: str | None = None, refund: str | None = None,
              dispute: dict[str, Any] | None = None, created_at: int | None = None,
              secret: str = WEBHOOK_SECRET, event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
        payload: dict[str, Any] = {}
        if refund:
            payload["refund"] = {"entity": _shown(self.refunds[refund])}
            payment = payment or self.refunds[refund]["payment_id"]
        if payment:
            payload["payment"] = {"entity": _shown(self.payments[payment])}
        if order:
            payload["order"] = {"entity": _shown(self.orders[order])}
        if dispute:
            payload["dispute"] = {"entity": dispute}
        body = {"entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": kind, "contains": list(payload),
                "payload": payload, "created_at": created_at if created_at is not None else int(time.time())}
        raw = json.dumps(body).encode()
        return raw, {"Content-Type": "application/json", "X-Razorpay-Event-Id": event_id or _ident("evt"),
                     "X-Razorpay-Signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()}


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _authorized(request: Request) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        key_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return hmac.compare_digest(key_id, KEY_ID) and hmac.compare_digest(secret, KEY_SECRET)
