"""A small Flutterwave v3 for the adapter's tests, after Flutterwave's v3 API reference
(developer.flutterwave.com/v3.0.0/reference):

    POST /v3/payments                              Standard: tx_ref, amount (major units, a string
                                                   or a number), currency, redirect_url,
                                                   customer.email -> {"data": {"link"}}
    GET  /v3/transactions/{id}/verify              a transaction by Flutterwave's id
    GET  /v3/transactions/verify_by_reference      by our tx_ref
    POST /v3/transactions/{id}/refund              amount (major units; all that is left when
                                                   omitted), comments; no idempotency key
    GET  /v3/refunds?id=<transaction id>, /v3/refunds/{id}

Bearer auth with the secret key. Every answer is `{"status": "success" | "error", "message",
"data"}`; refusals are 400 with data null, as Flutterwave answers them ("No transaction was found
for this id"). Amounts go out as JSON numbers in major units (a float on the wire, as
Flutterwave's own servers write them) and are kept as Decimal here.

The hosted page is played by `pay` (a successful or failed transaction for the tx_ref; the
redirect's query answered) and `event` builds a webhook delivery with `verif-hash` (and
`flutterwave-signature` when asked). `refunds_pending()` keeps new refunds pending until
`settle_refund`. `fail_next(n)` answers 500 before executing, `lose_next(n)` after
(the next n POSTs).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET_KEY = "FLWSECK_TEST-paygate-X"
SECRET_HASH = "flw-secret-hash-paygate"
EXPONENTS = {"NGN": 2, "KES": 2, "GHS": 2, "ZAR": 2, "USD": 2, "EUR": 2, "GBP": 2, "UGX": 0, "RWF": 0, "XAF": 0}


class Refused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, default=float), status_code=status, media_type="application/json")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _amount(value: object, currency: str) -> Decimal:
    try:
        amount = Decimal(str(value)) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        raise Refused("Invalid amount")
    if -amount.as_tuple().exponent > EXPONENTS.get(currency, 2):  # type: ignore[operator]
        raise Refused(f"Invalid amount for {currency}")
    return amount


@dataclass
class FakeFlutterwave:
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[int, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _next_id: int = 4_000_000
    _fail: int = 0
    _lose: int = 0
    _pending_refunds: bool = False

    def reset(self) -> None:
        self.links.clear(), self.transactions.clear(), self.refunds.clear(), self.requests.clear()
        self._fail = self._lose = 0
        self._pending_refunds = False

    def fail_next(self, n: int = 1) -> None:
        self._fail = n

    def lose_next(self, n: int = 1) -> None:
        self._lose = n

    def refunds_pending(self) -> None:
        self._pending_refunds = True

    def _ident(self) -> int:
        self._next_id += 1
        return self._next_id

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v3/payments", self._endpoint(self._hosted_link), methods=["POST"]),
            Route("/v3/transactions/verify_by_reference", self._endpoint(self._by_reference), methods=["GET"]),
            Route("/v3/transactions/{id}/verify", self._endpoint(self._verify), methods=["GET"]),
            Route("/v3/transactions/{id}/refund", self._endpoint(self._refund), methods=["POST"]),
            Route("/v3/refunds", self._endpoint(self._list_refunds), methods=["GET"]),
            Route("/v3/refunds/{id}", self._endpoint(self._get_refund), methods=["GET"]),
        ])

    def _endpoint(self, handler):
        async def endpoint(request: Request) -> Response:
            self.requests.append((request.method, request.url.path))
            if request.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
                return _answer({"status": "error", "message": "Invalid authorization key", "data": None}, 401)
            if self._fail:
                self._fail -= 1
                return _answer({"status": "error", "message": "Internal server error", "data": None}, 500)
            try:
                raw = await request.body()
                body = json.loads(raw, parse_float=Decimal) if raw else {}
                data = await handler(request, body)
            except Refused as refused:
                return _answer({"status": "error", "message": refused.message, "data": None}, refused.status)
            if self._lose and request.method == "POST":
                self._lose -= 1
                return _answer({"status": "error", "message": "Bad gateway", "data": None}, 502)
            return _answer(data)
        return endpoint

    async def _hosted_link(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        ref, currency = body.get("tx_ref"), body.get("currency", "NGN")
        if not isinstance(ref, str) or not ref:
            raise Refused("tx_ref is required")
        if currency not in EXPONENTS:
            raise Refused("Invalid currency")
        amount = _amount(body.get("amount"), currency)
        email = (body.get("customer") or {}).get("email")
        if not isinstance(email, str) or "@" not in email:
            raise Refused("customer.email is required")
        if any(t["tx_ref"] == ref and t["status"] == "successful" for t in self.transactions.values()):
            raise Refused("Duplicate transaction reference")
        token = secrets.token_hex(8)
        self.links[ref] = {"amount": amount, "currency": currency, "redirect_url": body.get("redirect_url"),
                           "meta": body.get("meta") or {}, "email": email, "token": token}
        return {"status": "success", "message": "Hosted Link",
                "data": {"link": f"https://checkout.flutterwave.com/v3/hosted/pay/{token}"}}

    def _tx(self, ident: object) -> dict[str, Any]:
        try:
            return self.transactions[int(str(ident))]
        except (KeyError, ValueError):
            raise Refused("No transaction was found for this id") from None

    async def _verify(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {"status": "success", "message": "Transaction fetched successfully",
                "data": self._tx(request.path_params["id"])}

    async def _by_reference(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        ref = request.query_params.get("tx_ref")
        found = [t for t in self.transactions.values() if t["tx_ref"] == ref]
        if not found:
            raise Refused("No transaction was found for this id")
        best = next((t for t in reversed(found) if t["status"] == "successful"), found[-1])
        return {"status": "success", "message": "Transaction fetched successfully", "data": best}

    async def _refund(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        tx = self._tx(request.path_params["id"])
        if tx["status"] != "successful":
            raise Refused("Only successful transactions can be refunded")
        left = tx["amount"] - self._held(tx["id"])
        amount = _amount(body["amount"], tx["currency"]) if "amount" in body else left
        if left <= 0:
            raise Refused("Transaction has been fully refunded")
        if amount > left:
            raise Refused("Refund amount cannot be greater than the transaction amount")
        refund = {"id": self._ident(), "account_id": 73362, "tx_id": tx["id"], "flw_ref": f"URF_{secrets.token_hex(6)}",
                  "wallet_id": 74639, "amount_refunded": amount, "status": "pending" if self._pending_refunds
                  else "completed", "destination": "payment_source", "comments": body.get("comments"),
                  "meta": {"source": "availablebalance"}, "created_at": _now()}
        self.refunds[refund["id"]] = refund
        return {"status": "success", "message": "Transaction refund initiated", "data": refund}

    def _held(self, tx_id: int) -> Decimal:
        return sum((r["amount_refunded"] for r in self.refunds.values()
                    if r["tx_id"] == tx_id and r["status"] != "failed"), Decimal(0))

    async def _list_refunds(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        tx_id = request.query_params.get("id")
        items = [r for r in self.refunds.values() if tx_id is None or str(r["tx_id"]) == tx_id]
        return {"status": "success", "message": "Refunds fetched",
                "meta": {"page_info": {"total": len(items), "current_page": 1, "total_pages": 1}}, "data": items}

    async def _get_refund(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        try:
            refund = self.refunds[int(request.path_params["id"])]
        except (KeyError, ValueError):
            raise Refused("Refund not found", 404) from None
        return {"status": "success", "message": "Refund fetched", "data": refund}

    # --- the customer on the hosted page, and webhooks ----------------------------------------

    def pay(self, tx_ref: str, *, succeed: bool = True, amount: Decimal | None = None) -> dict[str, str]:
        """The customer pays on the page; answers the redirect's query (status, tx_ref, transaction_id)."""
        link = self.links[tx_ref]
        paid = link["amount"] if amount is None else amount
        tx = {"id": self._ident(), "tx_ref": tx_ref, "flw_ref": f"FLW-MOCK-{secrets.token_hex(8)}",
              "device_fingerprint": "N/A", "amount": paid, "currency": link["currency"], "charged_amount": paid,
              "app_fee": Decimal("1.40"), "merchant_fee": 0,
              "processor_response": "Approved by Financial Institution" if succeed else "Insufficient funds",
              "auth_model": "PIN", "ip": "127.0.0.1", "narration": "CARD Transaction ",
              "status": "successful" if succeed else "failed", "payment_type": "card", "created_at": _now(),
              "account_id": 17321, "meta": link["meta"],
              "card": {"first_6digits": "553188", "last_4digits": "2950", "issuer": "MASTERCARD", "country": "NG",
                       "type": "MASTERCARD", "expiry": "09/32"},
              "customer": {"id": 215604089, "name": "Yemi Desola", "phone_number": "N/A", "email": link["email"]}}
        self.transactions[tx["id"]] = tx
        return {"status": "successful" if succeed else "failed", "tx_ref": tx_ref, "transaction_id": str(tx["id"])}

    def settle_refund(self, refund_id: int, status: str) -> dict[str, Any]:
        self.refunds[refund_id]["status"] = status
        return self.refunds[refund_id]

    def event(self, kind: str, data: dict[str, Any], *, secret: str = SECRET_HASH,
              signature: bool = False) -> tuple[bytes, dict[str, str]]:
        raw = json.dumps({"event": kind, "data": data, "event.type": "CARD_TRANSACTION"}, default=float).encode()
        headers = {"Content-Type": "application/json", "verif-hash": secret}
        if signature:
            headers["flutterwave-signature"] = base64.b64encode(
                hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
        return raw, headers

    def charge_completed(self, tx_id: int, **changes: Any) -> dict[str, Any]:
        """`charge.completed`'s data, as the webhook shows the transaction (changes: a forger's edits)."""
        tx = self.transactions[tx_id]
        return {k: tx[k] for k in ("id", "tx_ref", "flw_ref", "amount", "currency", "charged_amount", "status",
                                   "processor_response", "payment_type", "created_at", "customer")} | changes
