"""A small Stripe for the adapter's tests, following Stripe's API reference where localstripe
doesn't: Idempotency-Key replay, the refund rules, declines at confirmation, the error shape.

The subset served: PaymentIntents (create, confirmed at once or left for the customer; confirm,
retrieve, capture, cancel; search on one metadata clause, `metadata['key']:'value'`, searchable at
once where Stripe's index may lag), Refunds (create, retrieve) and Checkout Sessions
(tests/fake_stripe_checkout.py), with Stripe's test payment methods below. `fail_next(n)` makes
the next n requests fail with a 500 before anything is executed or remembered, as a broken load
balancer or a Stripe outage would; `refuse_next(status, error)` answers the next request with a
refusal of Stripe's.

Idempotency, as docs.stripe.com/api/idempotent_requests says for API v1: the status and body of
the first request with a key are saved once the endpoint began executing, and replayed for it
(declines included). A request refused before that (its parameters failed validation: a 400 or
404 `invalid_request_error`) saves nothing, so the same key may be sent again, fixed; and a
request arriving while another with its key is still executing is answered 409
(`idempotency_key_in_use`) and saves nothing either. The same key with other parameters is a 400
`idempotency_error`. `hold_next()` keeps the next request executing until `release()`, so tests
can send a second one meanwhile.

Refunds, as docs.stripe.com/refunds says: a refund is `succeeded` at once unless the account's
balance can't cover it (`refunds_pending()`: it stays `pending`, `pending_reason`
insufficient_funds), and a pending refund ends `succeeded` or `failed` later
(`settle_refund`), announced by `charge.refund.updated` and `refund.updated` events (`event`). A
pending refund counts against what is left to refund; a failed one gives its amount back.

What the customer does in the browser (Stripe.js, Checkout's page) goes through no API of the
shop's: tests play it with `customer_confirms`, `complete_session` and `expire_session`, and build
webhook payloads with `event`.
"""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fake_stripe_billing import FakeBilling
from tests.fake_stripe_checkout import FakeCheckout
from tests.fake_stripe_connect import FakeConnect
from tests.fake_stripe_wire import StripeRefusal, form_params, invalid, positive

__all__ = ["PAYMENT_METHODS", "FakeStripe", "StripeRefusal"]
API_VERSION = "2026-10-28.endive"

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
_CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action",
               "processing")


@dataclass
class FakeStripe:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    # A test can make the fake lie (e.g. echo another amount) to see the adapter refuse the answer.
    tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    billing: FakeBilling = field(default_factory=FakeBilling)
    checkout: FakeCheckout = field(init=False)
    connect: FakeConnect = field(init=False)
    _answers: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    _executing: set[str] = field(default_factory=set)
    _failures: int = 0
    _losses: int = 0
    _refusal: tuple[int, dict[str, Any] | None] | None = None
    _pending_refunds: bool = False
    _hold: asyncio.Event | None = None
    _gate: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.checkout = FakeCheckout(self)
        self.connect = FakeConnect(self._charge_amount)

    def _charge_amount(self, charge_id: str) -> int | None:
        """What a charge took, by its id: the amount received of the intent it belongs to."""
        intent = next((i for i in self.intents.values() if i.get("latest_charge") == charge_id), None)
        return None if intent is None else intent["amount_received"] or intent["amount_capturable"]

    def reset(self) -> None:
        self.intents.clear(), self.refunds.clear(), self.requests.clear(), self._answers.clear()
        self._failures, self._losses, self.tamper, self._refusal = 0, 0, None, None
        self._executing.clear()
        self._pending_refunds, self._hold = False, None
        self.checkout.reset()
        self.billing.reset()
        self.connect.reset()

    def fail_next(self, n: int) -> None:
        self._failures = n

    def refuse_next(self, status: int, error: dict[str, Any] | None = None) -> None:
        """The next request is refused with `status` before anything is executed: with Stripe's
        error body `{"error": error}`, or, without `error`, the plain-text answer of something in
        front of Stripe that isn't its API (a proxy, a wrong base address)."""
        self._refusal = (status, error)

    def lose_next(self, n: int) -> None:
        """The next n requests are carried out (and their answers kept for their idempotency keys),
        but answered with a 500, as when Stripe acted and the answer was lost on the way."""
        self._losses = n

    def refunds_pending(self) -> None:
        """From now on refunds stay pending: the account's balance doesn't cover them."""
        self._pending_refunds = True

    def refunds_at_once(self) -> None:
        self._pending_refunds = False

    def settle_refund(self, refund_id: str, status: str, failure_reason: str | None = None) -> dict[str, Any]:
        """A pending refund ends: `succeeded`, or `failed` (its amount can be refunded again)."""
        refund = self.refunds[refund_id]
        assert refund["status"] == "pending" and status in ("succeeded", "failed", "canceled"), (refund, status)
        refund.update(status=status, pending_reason=None,
                      failure_reason=failure_reason if status == "failed" else None)
        if status != "succeeded":
            self.intents[refund["payment_intent"]]["_refunded"] -= refund["amount"]
        return refund

    def hold_next(self) -> None:
        """The next request keeps executing (its key in use) until `release()`."""
        self._hold = self._gate = asyncio.Event()

    def release(self) -> None:
        self._gate.set()

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        return self.checkout.sessions

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/payment_intents", self._endpoint(self._create_intent), methods=["POST"]),
            Route("/v1/payment_intents/search", self._endpoint(self._search_intents), methods=["GET"]),
            Route("/v1/payment_intents/{id}", self._endpoint(self._retrieve_intent), methods=["GET"]),
            Route("/v1/payment_intents/{id}/confirm", self._endpoint(self._confirm_intent), methods=["POST"]),
            Route("/v1/payment_intents/{id}/capture", self._endpoint(self._capture), methods=["POST"]),
            Route("/v1/payment_intents/{id}/cancel", self._endpoint(self._cancel), methods=["POST"]),
            Route("/v1/refunds", self._endpoint(self._create_refund), methods=["POST"]),
            Route("/v1/refunds/{id}", self._endpoint(self._retrieve_refund), methods=["GET"]),
            *self.checkout.routes(self._endpoint),
            *self.billing.routes(self._endpoint),
            *self.connect.routes(self._endpoint),
        ])

    # --- the customer, in the browser, and Stripe's webhooks ------------------------------------

    def customer_confirms(self, intent_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
        """The customer pays in the shop's page (Stripe.js confirms with the client secret): the
        intent as Stripe leaves it, declined (requires_payment_method with last_payment_error) or not."""
        try:
            return self._confirm_intent(intent_id, {"payment_method": payment_method})
        except StripeRefusal as refusal:
            if refusal.status != 402:
                raise
            return self._shown(self.intents[intent_id], {})

    def complete_session(self, session_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
        """The customer pays on a Checkout page; see FakeCheckout.complete."""
        return self.checkout.complete(session_id, payment_method)

    def expire_session(self, session_id: str) -> dict[str, Any]:
        """An open Checkout Session reaches its `expires_at`."""
        return self.checkout.expire(session_id)

    @staticmethod
    def event(obj: dict[str, Any], kind: str, event_id: str = "evt_1") -> dict[str, Any]:
        """A webhook event about `obj` (as shown by the API: `fake.intents[...]` or a session dict)."""
        shown = {k: v for k, v in obj.items() if not k.startswith("_")}
        return {"id": event_id, "object": "event", "type": kind, "api_version": API_VERSION,
                "created": int(time.time()), "livemode": False, "data": {"object": shown}}

    # --- the HTTP edge: auth, idempotency, faults, errors ---------------------------------------

    def _endpoint(self, handler):
        async def endpoint(request: Request) -> Response:
            key = request.headers.get("idempotency-key")
            self.requests.append((request.method, request.url.path, key, request.headers.get("stripe-version")))
            self.connect.stripe_account = request.headers.get("stripe-account")
            if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
                return JSONResponse({"error": {"type": "invalid_request_error",
                                               "message": "Invalid API Key provided"}}, 401)
            if self._refusal is not None:
                (status, error), self._refusal = self._refusal, None
                if error is None:
                    return PlainTextResponse("Not Found", status)
                return JSONResponse({"error": error}, status)
            if self._failures:
                self._failures -= 1
                return JSONResponse({"error": {"type": "api_error", "message": "Something went wrong."}}, 500)
            # Parsed by hand: Starlette's form parser needs python-multipart, which paygate doesn't use.
            query = (await request.body()).decode() if request.method == "POST" else request.url.query
            try:
                params = form_params(parse_qsl(query, keep_blank_values=True))
            except StripeRefusal as refusal:
                return JSONResponse(refusal.body, refusal.status)
            asked = json.dumps([request.url.path, params], sort_keys=True)
            if key and key in self._executing:
                return JSONResponse({"error": {"type": "idempotency_error", "code": "idempotency_key_in_use",
                                               "message": (
                    "There is currently another in-progress request using this idempotent key (that "
                    "probably means you submitted twice, and the other request is still going through): "
                    f"{key}. Please try again later.")}}, 409)
            if key and key in self._answers:
                first_asked, status, body = self._answers[key]
                if first_asked != asked:
                    return JSONResponse({"error": {"type": "idempotency_error", "message": (
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.")}}, 400)
                if self._losses:
                    return self._lost()
                return JSONResponse(body, status, headers={"Idempotent-Replayed": "true"})
            if key:
                self._executing.add(key)
            try:
                if self._hold is not None:
                    hold, self._hold = self._hold, None
                    await hold.wait()
                status, body = 200, handler(request.path_params.get("id"), params)
            except StripeRefusal as refusal:
                status, body = refusal.status, refusal.body
            finally:
                self._executing.discard(key)
            if self.tamper is not None and status == 200:
                body = self.tamper(dict(body))
            # Refused before executing (validation): nothing saved, the key may be used again.
            validated = not (status in (400, 404) and body["error"].get("type") == "invalid_request_error")
            if key and request.method == "POST" and validated:
                self._answers[key] = (asked, status, body)
            if self._losses:
                return self._lost()
            return JSONResponse(body, status)
        return endpoint

    def _lost(self) -> JSONResponse:
        self._losses -= 1
        return JSONResponse({"error": {"type": "api_error", "message": "Something went wrong."}}, 500)

    # --- PaymentIntents ---------------------------------------------------------------------------

    def _create_intent(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        amount, method = positive(p, "amount"), p.get("payment_method")
        if method is not None and method not in PAYMENT_METHODS:
            raise _no_such_method(method)
        capture_method = p.get("capture_method", "automatic")
        if capture_method not in ("automatic", "automatic_async", "manual"):
            raise invalid("Invalid capture_method: must be one of automatic, automatic_async, or manual",
                          "capture_method")
        if p.get("confirm") == "true" and method is None:
            raise _missing_method()
        intent = self.new_intent(amount, p.get("currency", ""), capture_method, p.get("metadata", {}), method)
        automatic = p.get("automatic_payment_methods")
        if isinstance(automatic, dict):
            intent["automatic_payment_methods"] = {"enabled": automatic.get("enabled") == "true"}
        intent["receipt_email"] = p.get("receipt_email")
        if p.get("confirm") == "true":
            self._confirm(intent)
        return self._shown(intent, p)

    def new_intent(self, amount: int, currency: str, capture_method: str, metadata: dict[str, Any],
                   payment_method: str | None = None, session: str | None = None) -> dict[str, Any]:
        """A PaymentIntent not confirmed yet: awaiting a payment method, or its confirmation."""
        ident = "pi_" + secrets.token_hex(12)
        intent = {"id": ident, "object": "payment_intent", "amount": amount, "currency": currency,
                  "amount_capturable": 0, "amount_received": 0, "capture_method": capture_method,
                  "client_secret": f"{ident}_secret_{secrets.token_hex(8)}", "payment_method": payment_method,
                  "metadata": metadata, "last_payment_error": None, "next_action": None,
                  "status": "requires_confirmation" if payment_method else "requires_payment_method",
                  "automatic_payment_methods": None, "receipt_email": None, "cancellation_reason": None,
                  "created": int(time.time()), "latest_charge": None, "_refunded": 0, "_session": session}
        self.intents[ident] = intent
        return intent

    def _confirm_intent(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(ident)
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise _unexpected_state(intent, "confirm")
        method = p.get("payment_method", intent["payment_method"])
        if method is None:
            raise _missing_method()
        if method not in PAYMENT_METHODS:
            raise _no_such_method(method)
        intent.update(payment_method=method, last_payment_error=None)
        self._confirm(intent)
        return self._shown(intent, p)

    def _confirm(self, intent: dict[str, Any]) -> None:
        _brand, _last4, code, decline_code = PAYMENT_METHODS[intent["payment_method"]]
        if code:
            error = {"type": "card_error", "code": code, "decline_code": decline_code,
                     "message": _MESSAGES[decline_code], "payment_method": self._method(intent["payment_method"])}
            intent.update(status="requires_payment_method", last_payment_error=error)
            raise StripeRefusal(402, "card_error", error["message"], code=code, decline_code=decline_code,
                                payment_method=error["payment_method"], payment_intent=self._shown(intent, {}))
        if intent["payment_method"] == "pm_card_authenticationRequired":
            intent.update(status="requires_action", next_action={"type": "use_stripe_sdk"})
        else:
            self.authorized(intent)

    def authorized(self, intent: dict[str, Any]) -> None:
        """The card accepted the charge: held (manual capture) or taken."""
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"], next_action=None,
                          latest_charge="ch_" + secrets.token_hex(12))
        else:
            intent.update(status="succeeded", amount_received=intent["amount"], next_action=None,
                          latest_charge="ch_" + secrets.token_hex(12))

    def _search_intents(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        """Stripe's search result for one metadata clause (docs.stripe.com/search#metadata)."""
        clause = re.fullmatch(r"metadata\['([^'\]]+)'\]:'([^']*)'", str(p.get("query", "")).strip())
        if clause is None:
            raise invalid("This fake searches one clause of the form metadata['key']:'value'.", "query",
                          code="parameter_invalid_string")
        key, value = clause.groups()
        found = [self._shown(i, p, "data.") for i in self.intents.values() if i["metadata"].get(key) == value]
        return {"object": "search_result", "url": "/v1/payment_intents/search", "has_more": False,
                "next_page": None, "data": found}

    def _retrieve_intent(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        return self._shown(self._intent(ident), p)

    def _capture(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(ident)
        if intent["status"] != "requires_capture":
            raise _unexpected_state(intent, "capture")
        amount = positive(p, "amount_to_capture") if "amount_to_capture" in p else intent["amount_capturable"]
        if amount > intent["amount_capturable"]:
            raise invalid("The amount to capture is more than what can be captured.", "amount_to_capture",
                          code="amount_too_large")
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return self._shown(intent, p)

    def _cancel(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(ident)
        if intent["_session"] and self.sessions[intent["_session"]]["status"] == "open":
            raise invalid("You cannot cancel this PaymentIntent because it belongs to an open Checkout "
                          "Session. Expire the Checkout Session instead.",
                          code="payment_intent_unexpected_state")
        if intent["status"] not in _CANCELABLE:
            raise _unexpected_state(intent, "cancel")
        self.cancel(intent, p.get("cancellation_reason"))
        return self._shown(intent, p)

    def cancel(self, intent: dict[str, Any], reason: str | None) -> None:
        intent.update(status="canceled", amount_capturable=0, cancellation_reason=reason, next_action=None)

    # --- Refunds ----------------------------------------------------------------------------------

    def _create_refund(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(p.get("payment_intent", ""), param="payment_intent")
        if intent["status"] != "succeeded":
            raise _unexpected_state(intent, "refund")
        left = intent["amount_received"] - intent["_refunded"]
        if left == 0:
            raise invalid(f"Charge for {intent['id']} has already been refunded.",
                          code="charge_already_refunded")
        amount = positive(p, "amount") if "amount" in p else left
        if amount > left:  # Stripe's wording; it names no code for this refusal
            raise invalid(f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                          "amount")
        intent["_refunded"] += amount  # pending refunds count too; a failed one gives it back
        pending = self._pending_refunds
        refund = {"id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount,
                  "currency": intent["currency"], "payment_intent": intent["id"],
                  "status": "pending" if pending else "succeeded",
                  "pending_reason": "insufficient_funds" if pending else None,
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

    def _shown(self, intent: dict[str, Any], p: dict[str, Any], expand: str = "") -> dict[str, Any]:
        """The intent as the API shows it; `expand` is the path to it when it is itself expanded
        (a session's `payment_intent.payment_method`)."""
        shown = {k: v for k, v in intent.items() if not k.startswith("_")}
        if f"{expand}payment_method" in p.get("expand", []) and intent["payment_method"]:
            shown["payment_method"] = self._method(intent["payment_method"])
        return shown


def _unexpected_state(intent: dict[str, Any], action: str) -> StripeRefusal:
    verb = {"confirm": "confirmed", "cancel": "canceled", "capture": "captured", "refund": "refunded"}[action]
    return invalid(f"This PaymentIntent could not be {verb} because it has a status of {intent['status']}.",
                   code="payment_intent_unexpected_state")


def _no_such_method(method: object) -> StripeRefusal:
    return invalid(f"No such PaymentMethod: '{method}'", "payment_method", code="resource_missing")


def _missing_method() -> StripeRefusal:
    return invalid("You cannot confirm this PaymentIntent because it's missing a payment method.",
                   "payment_method", code="payment_intent_unexpected_state")
