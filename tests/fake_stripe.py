"""A small Stripe for the adapter's tests, following Stripe's API reference where localstripe
doesn't: Idempotency-Key replay, the refund rules, declines at confirmation, the error shape.

The subset served: PaymentIntents (create with confirm, retrieve, capture, cancel) and Refunds
(create, retrieve), with Stripe's test payment methods below. As Stripe documents for API v1, the
first status and body sent for an idempotency key are replayed for it (declines included), and
the same key with other parameters is a 400 `idempotency_error`. `fail_next(n)` makes the next n
requests fail with a 500 before anything is executed or remembered, as a broken load balancer
or a Stripe outage would.
"""
from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qsl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fake_stripe_billing import FakeBilling

# Stripe's test payment methods (docs.stripe.com/testing): (brand, last4, code, decline_code)
PAYMENT_METHODS = {
    "pm_card_visa": ("visa", "4242", None, None),
    "pm_card_mastercard": ("mastercard", "4444", None, None),
    "pm_card_visa_chargeDeclined": ("visa", "0002", "card_declined", "generic_decline"),
    "pm_card_visa_chargeDeclinedInsufficientFunds": ("visa", "9995", "card_declined", "insufficient_funds"),
    "pm_card_visa_chargeDeclinedLostCard": ("visa", "9987", "card_declined", "lost_card"),
    "pm_card_authenticationRequired": ("visa", "3184", None, None),
}
_MESSAGES = {"generic_decline": "Your card was declined.",
             "insufficient_funds": "Your card has insufficient funds.",
             "lost_card": "Your card was declined."}


class StripeRefusal(Exception):
    def __init__(self, status: int, type_: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **fields}}


@dataclass
class FakeStripe:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    # A test can make the fake lie (e.g. echo another amount) to see the adapter refuse the answer.
    tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    billing: FakeBilling = field(default_factory=FakeBilling)
    _answers: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    _failures: int = 0

    def reset(self) -> None:
        self.intents.clear(), self.refunds.clear(), self.requests.clear(), self._answers.clear()
        self._failures, self.tamper = 0, None
        self.billing.reset()

    def fail_next(self, n: int) -> None:
        self._failures = n

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/payment_intents", self._endpoint(self._create_intent), methods=["POST"]),
            Route("/v1/payment_intents/{id}", self._endpoint(self._retrieve_intent), methods=["GET"]),
            Route("/v1/payment_intents/{id}/capture", self._endpoint(self._capture), methods=["POST"]),
            Route("/v1/payment_intents/{id}/cancel", self._endpoint(self._cancel), methods=["POST"]),
            Route("/v1/refunds", self._endpoint(self._create_refund), methods=["POST"]),
            Route("/v1/refunds/{id}", self._endpoint(self._retrieve_refund), methods=["GET"]),
            *self.billing.routes(self._endpoint),
        ])

    # --- the HTTP edge: auth, idempotency, faults, errors ---------------------------------------

    def _endpoint(self, handler):
        async def endpoint(request: Request) -> JSONResponse:
            key = request.headers.get("idempotency-key")
            self.requests.append((request.method, request.url.path, key, request.headers.get("stripe-version")))
            if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
                return JSONResponse({"error": {"type": "invalid_request_error",
                                               "message": "Invalid API Key provided"}}, 401)
            if self._failures:
                self._failures -= 1
                return JSONResponse({"error": {"type": "api_error", "message": "Something went wrong."}}, 500)
            # Parsed by hand: Starlette's form parser needs python-multipart, which paygate doesn't use.
            query = (await request.body()).decode() if request.method == "POST" else request.url.query
            params = _params(parse_qsl(query, keep_blank_values=True))
            asked = json.dumps([request.url.path, params], sort_keys=True)
            if key and key in self._answers:
                first_asked, status, body = self._answers[key]
                if first_asked != asked:
                    return JSONResponse({"error": {"type": "idempotency_error", "message": (
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.")}}, 400)
                return JSONResponse(body, status, headers={"Idempotent-Replayed": "true"})
            try:
                status, body = 200, handler(request.path_params.get("id"), params)
            except StripeRefusal as refusal:
                status, body = refusal.status, refusal.body
            if self.tamper is not None and status == 200:
                body = self.tamper(dict(body))
            if key and request.method == "POST":
                self._answers[key] = (asked, status, body)
            return JSONResponse(body, status)
        return endpoint

    # --- PaymentIntents ---------------------------------------------------------------------------

    def _create_intent(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        amount, method = _positive(p, "amount"), p.get("payment_method")
        if method not in PAYMENT_METHODS:
            raise StripeRefusal(400, "invalid_request_error", f"No such PaymentMethod: '{method}'",
                                code="resource_missing", param="payment_method")
        ident = "pi_" + secrets.token_hex(12)
        intent = {"id": ident, "object": "payment_intent", "amount": amount, "currency": p["currency"],
                  "amount_capturable": 0, "amount_received": 0, "capture_method": p.get("capture_method",
                  "automatic"), "client_secret": f"{ident}_secret_{secrets.token_hex(8)}",
                  "payment_method": method, "metadata": p.get("metadata", {}), "status":
                  "requires_confirmation", "last_payment_error": None, "next_action": None,
                  "cancellation_reason": None, "_refunded": 0}
        self.intents[ident] = intent
        if p.get("confirm") == "true":
            self._confirm(intent, p)
        return self._shown(intent, p)

    def _confirm(self, intent: dict[str, Any], p: dict[str, Any]) -> None:
        _brand, _last4, code, decline_code = PAYMENT_METHODS[intent["payment_method"]]
        if code:
            error = {"type": "card_error", "code": code, "decline_code": decline_code,
                     "message": _MESSAGES[decline_code], "payment_method": self._method(intent["payment_method"])}
            intent.update(status="requires_payment_method", last_payment_error=error)
            raise StripeRefusal(402, "card_error", error["message"], code=code, decline_code=decline_code,
                                payment_method=error["payment_method"], payment_intent=self._shown(intent, {}))
        if intent["payment_method"] == "pm_card_authenticationRequired":
            intent.update(status="requires_action", next_action={"type": "use_stripe_sdk"})
        elif intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])

    def _retrieve_intent(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        return self._shown(self._intent(ident), p)

    def _capture(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(ident)
        if intent["status"] != "requires_capture":
            raise _unexpected_state(intent, "capture")
        amount = _positive(p, "amount_to_capture") if "amount_to_capture" in p else intent["amount_capturable"]
        if amount > intent["amount_capturable"]:
            raise StripeRefusal(400, "invalid_request_error", "The amount to capture is more than what "
                                "can be captured.", code="amount_too_large", param="amount_to_capture")
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return self._shown(intent, p)

    def _cancel(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(ident)
        if intent["status"] not in ("requires_payment_method", "requires_capture", "requires_confirmation",
                                    "requires_action", "processing"):
            raise _unexpected_state(intent, "cancel")
        intent.update(status="canceled", amount_capturable=0, cancellation_reason=p.get("cancellation_reason"))
        return self._shown(intent, p)

    # --- Refunds ----------------------------------------------------------------------------------

    def _create_refund(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(p.get("payment_intent", ""), param="payment_intent")
        if intent["status"] != "succeeded":
            raise _unexpected_state(intent, "refund")
        left = intent["amount_received"] - intent["_refunded"]
        if left == 0:
            raise StripeRefusal(400, "invalid_request_error", f"Charge for {intent['id']} has already "
                                "been refunded.", code="charge_already_refunded")
        amount = _positive(p, "amount") if "amount" in p else left
        if amount > left:  # Stripe's wording; it names no code for this refusal
            raise StripeRefusal(400, "invalid_request_error", f"Refund amount ({amount}) is greater than "
                                f"unrefunded amount on charge ({left})", param="amount")
        intent["_refunded"] += amount
        refund = {"id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount,
                  "currency": intent["currency"], "payment_intent": intent["id"], "status": "succeeded",
                  "metadata": p.get("metadata", {}), "failure_reason": None}
        self.refunds[refund["id"]] = refund
        return refund

    def _retrieve_refund(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        if ident not in self.refunds:
            raise StripeRefusal(404, "invalid_request_error", f"No such refund: '{ident}'",
                                code="resource_missing", param="id")
        return self.refunds[ident]

    # --- internals --------------------------------------------------------------------------------

    def _intent(self, ident: str, param: str = "intent") -> dict[str, Any]:
        if ident not in self.intents:
            raise StripeRefusal(404, "invalid_request_error", f"No such payment_intent: '{ident}'",
                                code="resource_missing", param=param)
        return self.intents[ident]

    def _method(self, method: str) -> dict[str, Any]:
        brand, last4, *_ = PAYMENT_METHODS[method]
        return {"id": method, "object": "payment_method", "type": "card",
                "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034}}

    def _shown(self, intent: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in intent.items() if not k.startswith("_")}
        if "payment_method" in p.get("expand", []):
            shown["payment_method"] = self._method(intent["payment_method"])
        return shown


def _unexpected_state(intent: dict[str, Any], action: str) -> StripeRefusal:
    return StripeRefusal(400, "invalid_request_error", f"This PaymentIntent could not be {action}ed because "
                         f"it has a status of {intent['status']}.", code="payment_intent_unexpected_state")


def _positive(p: dict[str, Any], name: str) -> int:
    value = p.get(name, "")
    if not (isinstance(value, str) and value.isdigit() and int(value) > 0):
        raise StripeRefusal(400, "invalid_request_error", "Invalid positive integer",
                            code="parameter_invalid_integer", param=name)
    return int(value)


def _params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[k]=v`, `expand[0]=x`) as nested values."""
    params: dict[str, Any] = {}
    for name, value in pairs:
        if "[" in name:
            outer, inner = name.rstrip("]").split("[", 1)
            if inner.isdigit() or inner == "":
                params.setdefault(outer, []).append(value)
            else:
                params.setdefault(outer, {})[inner] = value
        else:
            params[name] = value
    return params
