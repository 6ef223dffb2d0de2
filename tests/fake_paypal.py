"""A small PayPal for the adapter's tests, following PayPal's REST reference (OAuth2, Orders v2,
Payments v2, webhooks: tests/fake_paypal_webhooks.py).

- OAuth2 client credentials (`POST /v1/oauth2/token`, HTTP Basic): a bearer token with
  `expires_in`; `expire_tokens()` revokes every token, so the next call is answered 401
  `invalid_token` as PayPal answers an expired one.
- Orders: create (intent CAPTURE or AUTHORIZE; CREATED with rel "approve", or
  PAYER_ACTION_REQUIRED with rel "payer-action" when `payment_source.paypal.experience_context` is
  sent), get, capture, authorize. The buyer's part on PayPal's page is `approve(order_id)`
  (funding "ok", "declined": the capture then answers 422 INSTRUMENT_DECLINED as PayPal does when
  the funding source is refused, or "pending": the capture is PENDING, PENDING_REVIEW).
  Capturing an order not approved is 422 ORDER_NOT_APPROVED, twice 422 ORDER_ALREADY_CAPTURED.
- Payments: capture an authorization (full or partial, `final_capture`), void it, refund a capture
  (full or partial; above what is left 422 REFUND_AMOUNT_EXCEEDED), get a capture or a refund.
  `refunds_pending()` leaves refunds PENDING until `settle_refund`.
- Amounts are checked as PayPal does: HUF, JPY and TWD without decimals (422 DECIMAL_PRECISION).
- `PayPal-Request-Id`: "when you include a previously specified PayPal-Request-Id header in a
  request, PayPal returns the latest status of the previous request that used that same header"
  (developer.paypal.com/reference/guidelines/idempotency): the same id replays the first answer's
  status with the object as it is now, without acting again; requests with one id are served one
  at a time. A request refused before acting (a 4xx) stores nothing under its id.
- Errors have PayPal's shape: `{"name", "message", "debug_id", "details": [{"issue",
  "description"}], "links"}`. `fail_next(n)` answers 500 before acting; `lose_next(n)` acts and then
  answers 500, as a response lost on the way back would.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fake_paypal_webhooks import CERT_PATH, WebhookSigner

CLIENT_ID, CLIENT_SECRET = "AYfake-client-id", "EFfake-client-secret"
NO_DECIMALS = {"HUF", "JPY", "TWD"}
ORDERS, PAYMENTS = "/v2/checkout/orders", "/v2/payments"


class Refusal(Exception):
    def __init__(self, status: int, name: str, issue: str | None = None, description: str = "",
                 message: str = "") -> None:
        super().__init__(issue or name)
        self.status, self.name, self.issue, self.description = status, name, issue, description
        self.message = message or {422: "The requested action could not be performed, semantically incorrect, "
                                         "or failed business validation.",
                                    404: "The specified resource does not exist.",
                                    400: "Request is not well-formed, syntactically incorrect, or violates schema."
                                    }.get(status, name)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "message": self.message, "debug_id": secrets.token_hex(7)}
        if self.issue:
            body["details"] = [{"issue": self.issue, "description": self.description}]
            body["links"] = [{"href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{self.issue}",
                              "rel": "information_link", "method": "GET"}]
        return body


def unprocessable(issue: str, description: str) -> Refusal:
    return Refusal(422, "UNPROCESSABLE_ENTITY", issue, description)


def not_found() -> Refusal:
    return Refusal(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID",
                   "Specified resource ID does not exist. Please check the resource ID and try again.")


def _id() -> str:
    return secrets.token_hex(9).upper()[:17]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(amount: object) -> tuple[str, Decimal]:
    if not (isinstance(amount, dict) and isinstance(amount.get("currency_code"), str)
            and isinstance(amount.get("value"), str)):
        raise Refusal(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "amount is required")
    code, value = amount["currency_code"], amount["value"]
    if code in NO_DECIMALS and "." in value:
        raise unprocessable("DECIMAL_PRECISION", f"{code} does not support decimals.")
    if "." in value and len(value.partition(".")[2]) > 2:
        raise unprocessable("DECIMAL_PRECISION", "Only two decimal place precision is supported.")
    try:
        number = Decimal(value)
    except Exception:
        raise Refusal(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", "amount.value") from None
    if number <= 0:
        raise Refusal(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", "amount.value must be positive")
    return code, number


def _amount(code: str, value: Decimal) -> dict[str, str]:
    return {"currency_code": code, "value": str(value) if code in NO_DECIMALS else f"{value:.2f}"}


@dataclass
class FakePayPal:
    base_url: str = ""  # set once served: links and the certificate's address use it
    tokens: dict[str, float] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    captures: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunded_capture: dict[str, str] = field(default_factory=dict)  # refund id -> its capture's
    replies: dict[str, tuple[int, Callable[[], dict[str, Any]]]] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    funding: dict[str, str] = field(default_factory=dict)  # order id -> what the buyer paid with
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, request id)
    token_requests: int = 0
    failing: int = 0
    losing: int = 0
    losing_path: str = ""
    slow: int = 0
    slow_s: float = 0.0
    slow_path: str = ""
    pending_refunds: bool = False
    signer: WebhookSigner = field(default_factory=WebhookSigner)

    def reset(self) -> None:
        for name in ("tokens", "orders", "captures", "authorizations", "refunds", "refunded_capture", "replies",
                     "locks", "funding"):
            getattr(self, name).clear()
        self.calls.clear()
        self.token_requests = self.failing = self.losing = self.slow = 0
        self.pending_refunds = False

    def serve_at(self, url: str) -> None:
        self.base_url = self.signer.base_url = url

    # --- what tests do to it ------------------------------------------------------------------

    def fail_next(self, n: int) -> None:
        self.failing = n

    def lose_next(self, n: int, path_ending: str = "") -> None:
        """The next n answers (to paths ending so) are lost after PayPal acted."""
        self.losing, self.losing_path = n, path_ending

    def slow_next(self, n: int, seconds: float, path_ending: str = "") -> None:
        """The next n answers (to paths ending so) come after `seconds`, PayPal having acted: the
        caller times out."""
        self.slow, self.slow_s, self.slow_path = n, seconds, path_ending

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def refunds_pending(self) -> None:
        self.pending_refunds = True

    def approve(self, order_id: str, funding: str = "ok") -> dict[str, Any]:
        """The buyer logs in on PayPal's page and approves the order (the approve link's page)."""
        order = self.orders[order_id]
        assert order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"), order["status"]
        order["status"], order["update_time"] = "APPROVED", _now()
        order["payer"] = {"email_address": "buyer@example.com", "payer_id": "QYR5Z8XDVJNXQ"}
        self.funding[order_id] = funding
        return order

    def settle_refund(self, refund_id: str, status: str) -> dict[str, Any]:
        refund = self.refunds[refund_id]
        refund["status"], refund["update_time"] = status, _now()
        return refund

    def settle_capture(self, capture_id: str, status: str) -> dict[str, Any]:
        capture = self.captures[capture_id]
        capture["status"] = status
        capture.pop("status_details", None)
        return capture

    def order_of(self, capture_id: str) -> str:
        return str(self.captures[capture_id]["supplementary_data"]["related_ids"]["order_id"])

    @property
    def app(self) -> Starlette:
        r = self._endpoint
        return Starlette(routes=[
            Route("/v1/oauth2/token", self._token, methods=["POST"]),
            Route(ORDERS, r(self._create_order), methods=["POST"]),
            Route(ORDERS + "/{id}", r(self._get_order), methods=["GET"]),
            Route(ORDERS + "/{id}/capture", r(self._capture_order), methods=["POST"]),
            Route(ORDERS + "/{id}/authorize", r(self._authorize_order), methods=["POST"]),
            Route(PAYMENTS + "/authorizations/{id}/capture", r(self._capture_authorization), methods=["POST"]),
            Route(PAYMENTS + "/authorizations/{id}/void", r(self._void), methods=["POST"]),
            Route(PAYMENTS + "/captures/{id}/refund", r(self._refund), methods=["POST"]),
            Route(PAYMENTS + "/captures/{id}", r(self._get(self.captures)), methods=["GET"]),
            Route(PAYMENTS + "/refunds/{id}", r(self._get(self.refunds)), methods=["GET"]),
            Route("/v1/notifications/verify-webhook-signature", r(self._verify), methods=["POST"]),
            Route(CERT_PATH, self._cert, methods=["GET"]),
        ])

    # --- the HTTP edge: auth, request ids, failures ------------------------------------------

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = dict(parse_qsl((await request.body()).decode()))
        if request.headers.get("Authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client", "error_description": "Client Authentication failed"}, 401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}, 400)
        token = f"A21AA{secrets.token_hex(20)}"
        self.tokens[token] = 32400
        return JSONResponse({"scope": "https://uri.paypal.com/services/payments/payment", "access_token": token,
                             "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400,
                             "nonce": f"{_now()}{secrets.token_hex(8)}"})

    async def _cert(self, _request: Request) -> Response:
        self.signer.cert_fetches += 1
        return PlainTextResponse(self.signer.cert_pem.decode())

    def _endpoint(self, handler: Callable[..., tuple[int, Callable[[], dict[str, Any]]]]):
        async def endpoint(request: Request) -> Response:
            auth = request.headers.get("Authorization", "")
            if auth.removeprefix("Bearer ") not in self.tokens:
                return JSONResponse({"error": "invalid_token", "error_description": "The token passed in was expired"},
                                    401)
            request_id = request.headers.get("PayPal-Request-Id")
            self.calls.append((request.method, request.url.path, request_id))
            if self.failing:
                self.failing -= 1
                return JSONResponse({"name": "INTERNAL_SERVER_ERROR", "message": "An internal server error occurred.",
                                     "debug_id": secrets.token_hex(7)}, 500)
            body = await request.json() if request.method == "POST" and await request.body() else {}
            if self.slow and request.url.path.endswith(self.slow_path):
                self.slow -= 1
                answer = await self._answered(handler, request, body, request_id)
                await asyncio.sleep(self.slow_s)
                return answer
            return await self._answered(handler, request, body, request_id)
        return endpoint

    async def _answered(self, handler, request: Request, body: dict[str, Any], request_id: str | None) -> Response:
        if not request_id:
            return self._answer(self._run(handler, request, body), request.url.path)
        scope = f"{request.url.path.split('/')[2]}:{request_id}"  # ids are kept per API
        async with self.locks.setdefault(scope, asyncio.Lock()):
            if scope not in self.replies:
                status, render = self._run(handler, request, body)
                if status >= 400:
                    return self._answer((status, render), request.url.path)
                self.replies[scope] = (status, render)
            return self._answer(self.replies[scope], request.url.path)

    def _run(self, handler, request: Request, body: dict[str, Any]) -> tuple[int, Callable[[], dict[str, Any]]]:
        try:
            return handler(request.path_params.get("id"), body, request)
        except Refusal as exc:
            refused = exc.body()
            return exc.status, lambda: refused

    def _answer(self, reply: tuple[int, Callable[[], dict[str, Any]]], path: str) -> Response:
        status, render = reply
        if self.losing and status < 400 and path.endswith(self.losing_path):
            self.losing -= 1  # acted on; the answer never reaches the caller
            return JSONResponse({"name": "INTERNAL_SERVER_ERROR", "message": "An internal server error occurred.",
                                 "debug_id": secrets.token_hex(7)}, 500)
        return Response(status_code=204) if status == 204 else JSONResponse(render(), status)

    def _get(self, store: dict[str, dict[str, Any]]):
        def get(ident: str, _body: dict[str, Any], _request: Request):
            if ident not in store:
                raise not_found()
            return 200, lambda: store[ident]
        return get

    # --- Orders v2 -----------------------------------------------------------------------------

    def _create_order(self, _id_: None, p: dict[str, Any], _request: Request):
        intent = p.get("intent")
        units = p.get("purchase_units")
        if intent not in ("CAPTURE", "AUTHORIZE") or not isinstance(units, list) or len(units) != 1:
            raise Refusal(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "intent and purchase_units")
        code, value = _value(units[0].get("amount"))
        order_id = _id()
        unit = {"reference_id": "default", "amount": _amount(code, value),
                "payee": {"email_address": "merchant@example.com", "merchant_id": "7KNGBPH2U58GQ"}}
        for key in ("invoice_id", "custom_id", "description"):
            if units[0].get(key):
                unit[key] = units[0][key]
        context = ((p.get("payment_source") or {}).get("paypal") or {}).get("experience_context")
        self_link = {"href": f"{self.base_url}{ORDERS}/{order_id}", "rel": "self", "method": "GET"}
        if context:
            status, page = "PAYER_ACTION_REQUIRED", {"rel": "payer-action"}
        else:
            status, page = "CREATED", {"rel": "approve"}
        page |= {"href": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}", "method": "GET"}
        self.orders[order_id] = {"id": order_id, "intent": intent, "status": status, "purchase_units": [unit],
                                 "create_time": _now(), "update_time": _now(),
                                 "links": [self_link, page,
                                           {"href": f"{self.base_url}{ORDERS}/{order_id}", "rel": "update",
                                            "method": "PATCH"},
                                           {"href": f"{self.base_url}{ORDERS}/{order_id}/{intent.lower()}",
                                            "rel": intent.lower(), "method": "POST"}]}
        return 201, lambda: self.orders[order_id]

    def _get_order(self, ident: str, _p: dict[str, Any], _request: Request):
        if ident not in self.orders:
            raise not_found()
        return 200, lambda: self.orders[ident]

    def _approved(self, ident: str, intent: str) -> dict[str, Any]:
        order = self.orders.get(ident)
        if order is None:
            raise not_found()
        if order["intent"] != intent:
            raise unprocessable("ACTION_DOES_NOT_MATCH_INTENT",
                                f"Order was created with an intent of '{order['intent']}'.")
        if order["status"] == "COMPLETED":
            issue = "ORDER_ALREADY_CAPTURED" if intent == "CAPTURE" else "ORDER_ALREADY_AUTHORIZED"
            raise unprocessable(issue, "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.")
        if order["status"] != "APPROVED":
            raise unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment. Please "
                                "redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS "
                                "links within the Create Order call or provide a valid payment_source in the request.")
        if self.funding.get(ident) == "declined":
            raise unprocessable("INSTRUMENT_DECLINED", "The instrument presented  was either declined by the "
                                "processor or bank, or it can't be used for this payment.")
        return order

    def _capture_order(self, ident: str, _p: dict[str, Any], _request: Request):
        order = self._approved(ident, "CAPTURE")
        unit = order["purchase_units"][0]
        capture = self._new_capture(ident, unit["amount"], unit.get("invoice_id"), unit.get("custom_id"),
                                    pending=self.funding.get(ident) == "pending")
        unit["payments"] = {"captures": [capture]}
        order["status"], order["update_time"] = "COMPLETED", _now()
        return 201, lambda: self.orders[ident]

    def _authorize_order(self, ident: str, _p: dict[str, Any], _request: Request):
        order = self._approved(ident, "AUTHORIZE")
        unit = order["purchase_units"][0]
        auth_id = _id()
        self.authorizations[auth_id] = {
            "id": auth_id, "status": "CREATED", "amount": dict(unit["amount"]), "invoice_id": unit.get("invoice_id"),
            "supplementary_data": {"related_ids": {"order_id": ident}}, "create_time": _now(),
            "expiration_time": (dt.datetime.now(dt.UTC) + dt.timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": [{"href": f"{self.base_url}{PAYMENTS}/authorizations/{auth_id}", "rel": "self", "method": "GET"}]}
        unit["payments"] = {"authorizations": [self.authorizations[auth_id]]}
        order["status"], order["update_time"] = "COMPLETED", _now()
        return 201, lambda: self.orders[ident]

    def _new_capture(self, order_id: str, amount: dict[str, str], invoice_id: str | None, custom_id: str | None,
                     *, pending: bool = False) -> dict[str, Any]:
        capture_id = _id()
        capture: dict[str, Any] = {
            "id": capture_id, "status": "PENDING" if pending else "COMPLETED", "amount": dict(amount),
            "final_capture": True, "seller_protection": {"status": "ELIGIBLE"},
            "supplementary_data": {"related_ids": {"order_id": order_id}}, "create_time": _now(),
            "update_time": _now(), "refunded": "0",
            "links": [{"href": f"{self.base_url}{PAYMENTS}/captures/{capture_id}", "rel": "self", "method": "GET"},
                      {"href": f"{self.base_url}{PAYMENTS}/captures/{capture_id}/refund", "rel": "refund",
                       "method": "POST"}]}
        if pending:
            capture["status_details"] = {"reason": "PENDING_REVIEW"}
        if invoice_id:
            capture["invoice_id"] = invoice_id
        if custom_id:
            capture["custom_id"] = custom_id
        self.captures[capture_id] = capture
        return capture

    # --- Payments v2 ---------------------------------------------------------------------------

    def _capture_authorization(self, ident: str, p: dict[str, Any], _request: Request):
        auth = self.authorizations.get(ident)
        if auth is None:
            raise not_found()
        if auth["status"] == "VOIDED":
            raise unprocessable("AUTHORIZATION_VOIDED", "A voided authorization cannot be captured.")
        if auth["status"] == "CAPTURED":
            raise unprocessable("AUTHORIZATION_ALREADY_CAPTURED", "Authorization has been previously captured.")
        code, held = _value(auth["amount"])
        if "amount" in p:
            asked_code, asked = _value(p["amount"])
            if asked_code != code:
                raise unprocessable("CURRENCY_MISMATCH", "Currency of capture must be the same as the authorization.")
        else:
            asked = held
        if asked > held:
            raise unprocessable("MAX_CAPTURE_AMOUNT_EXCEEDED", "Capture amount exceeds allowable limit.")
        order_id = auth["supplementary_data"]["related_ids"]["order_id"]
        capture = self._new_capture(order_id, _amount(code, asked), p.get("invoice_id"), None)
        self.orders[order_id]["purchase_units"][0]["payments"].setdefault("captures", []).append(capture)
        auth["status"] = "CAPTURED" if p.get("final_capture", True) or asked == held else "PARTIALLY_CAPTURED"
        return 201, lambda: self.captures[capture["id"]]

    def _void(self, ident: str, _p: dict[str, Any], _request: Request):
        auth = self.authorizations.get(ident)
        if auth is None:
            raise not_found()
        if auth["status"] in ("CAPTURED", "PARTIALLY_CAPTURED"):
            raise unprocessable("PREVIOUSLY_CAPTURED", "Authorization has been previously captured and hence cannot "
                                "be voided.")
        if auth["status"] == "VOIDED":
            raise unprocessable("PREVIOUSLY_VOIDED", "Authorization has been previously voided and hence cannot be "
                                "voided again.")
        auth["status"] = "VOIDED"
        return 200, lambda: self.authorizations[ident]

    def _refund(self, ident: str, p: dict[str, Any], _request: Request):
        capture = self.captures.get(ident)
        if capture is None:
            raise not_found()
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            raise unprocessable("CAPTURE_FULLY_REFUNDED" if capture["status"] == "REFUNDED" else "INVALID_CAPTURE_STATUS",
                                f"The capture is {capture['status']}.")
        code, captured = _value(capture["amount"])
        refunded = sum((_value(r["amount"])[1] for r in self.refunds.values()
                        if self.refunded_capture[r["id"]] == ident and r["status"] in ("COMPLETED", "PENDING")),
                       Decimal(0))
        asked = captured - refunded
        if "amount" in p:
            asked_code, asked = _value(p["amount"])
            if asked_code != code:
                raise unprocessable("REFUND_CURRENCY_MISMATCH", "Refund must be in the same currency as the capture.")
        if asked > captured - refunded:
            raise unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the "
                                "capture amount that has not yet been refunded.")
        refund_id = _id()
        self.refunded_capture[refund_id] = ident
        self.refunds[refund_id] = {
            "id": refund_id, "status": "PENDING" if self.pending_refunds else "COMPLETED",
            "amount": _amount(code, asked), "note_to_payer": p.get("note_to_payer"),
            "invoice_id": p.get("invoice_id"), "create_time": _now(), "update_time": _now(),
            "links": [{"href": f"{self.base_url}{PAYMENTS}/refunds/{refund_id}", "rel": "self", "method": "GET"},
                      {"href": f"{self.base_url}{PAYMENTS}/captures/{ident}", "rel": "up", "method": "GET"}]}
        capture["status"] = "REFUNDED" if asked == captured - refunded else "PARTIALLY_REFUNDED"
        return 201, lambda: self.refunds[refund_id]

    def _verify(self, _id_: None, p: dict[str, Any], _request: Request):
        ok = self.signer.verify(p)
        return 200, lambda: {"verification_status": "SUCCESS" if ok else "FAILURE"}
