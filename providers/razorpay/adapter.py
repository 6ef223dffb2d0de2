"""Razorpay behind the provider port, over httpx (Razorpay's SDK is synchronous).

    open        POST /v1/orders (amount in the currency's subunit, `receipt` our attempt's key,
                `notes` our payment's uuid and how to capture): Razorpay Checkout, in the shop's
                own page, takes the payment on that order (`RequiresAction`, the order id as what
                the script needs). Razorpay has no idempotency for orders: the order with our
                receipt is looked up first (GET /v1/orders?receipt=…), so a retry reuses it
    complete    Checkout's answer verified: HMAC-SHA256 of "order_id|payment_id" under the key
                secret, compared in constant time, then the payment asked for (GET /v1/payments/…)
    capture     the order's authorized payment, whole (Razorpay captures only the full amount):
                POST /v1/payments/{id}/capture; a payment captured already is answered as it is
    refund      POST /v1/payments/{id}/refund, `speed` normal, with Razorpay's own idempotency
                header (X-Refund-Idempotency: our attempt's key) and the key in its notes
    fetch       an order (`order_…`) as the authorization, a refund (`rfnd_…`) as the refund
    find        an opening whose answer was lost: the order with our receipt

Void only closes an order nobody has paid: Razorpay can't cancel an order or release an
authorization (it refunds one left uncaptured by itself).
Razorpay's error bodies are read by wire.error_of: a refusal is a Declined outcome with its
reason; timeouts, 5xx and 409 are retried with the same request, then unknown
(providers/http_api.py).
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from domain.errors import ProviderUnavailableError, ValidationError
from domain.money import Money
from domain.payments.provider import (
    AuthorizeRequest,
    Capability,
    CaptureMethod,
    CaptureRequest,
    CheckoutKind,
    CompleteRequest,
    Declined,
    FindRequest,
    OpenRequest,
    Outcome,
    RefundRequest,
    Succeeded,
    VoidRequest,
)
from providers.http_api import JsonApi, Refusal
from providers.razorpay import wire
from providers.retry import RetryPolicy

API_BASE = "https://api.razorpay.com"
MAX_RECEIPT = 40  # Razorpay's limit on an order's receipt
KEY_NOTE = "paygate_key"
ORDER_NOTE = "razorpay_order_id"
# An opening lost this long ago that made no order never will: requests time out in seconds.
NEVER_ARRIVED = timedelta(minutes=10)
PAID_STATUSES = ("captured", "refunded", "authorized")


def checkout_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    """What Razorpay Checkout signs: HMAC-SHA256 of "order_id|payment_id" under the key secret, hex."""
    return hmac.new(key_secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


class RazorpayProvider:
    name = "razorpay"
    capabilities = frozenset({Capability.CHECKOUT, Capability.COMPLETE, Capability.CAPTURE, Capability.REFUND,
                              Capability.VOID, Capability.FETCH, Capability.FIND})
    checkout_kinds = frozenset({CheckoutKind.ELEMENTS})

    def __init__(self, key_id: str, key_secret: str, *, api_base: str | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self.key_id = key_id
        self._secret = key_secret
        self._api = JsonApi("razorpay", api_base or API_BASE, auth=httpx.BasicAuth(key_id, key_secret), retry=retry)

    def check_amount(self, amount: Money) -> None:
        """Razorpay's own rules, asked before anything is recorded (AmountRulesProvider): orders and
        refunds of at least one unit of the currency ("The amount must be at least INR 1.00",
        razorpay.com/docs/api/orders/create), and three-decimal currencies (KWD, BHD, OMR) with
        their last decimal 0 (razorpay.com/docs/api/orders/entity)."""
        unit = 10 ** amount.currency.exponent
        if amount.minor < unit:
            raise ValidationError(f"Razorpay takes at least {amount.code} {Money(unit, amount.currency).decimal}, "
                                  f"not {amount.decimal}", "amount")
        if amount.currency.exponent == 3 and amount.minor % 10:
            raise ValidationError(f"Razorpay takes {amount.code} with its last decimal 0, not {amount.decimal}",
                                  "amount")

    # --- paying -------------------------------------------------------------------------------

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        # Not offered (no Capability.AUTHORIZE): cards are typed into Razorpay Checkout, never here.
        return Declined(None, req.amount, "not_supported", "Razorpay takes payment in Razorpay Checkout.")

    async def open(self, req: OpenRequest) -> Outcome:
        receipt = _receipt(req.idempotency_key)
        order = await self._order_by_receipt(receipt)
        if order is not None:
            return await self._order_state(order)
        notes = {**{k: v[:256] for k, v in list(req.metadata.items())[:12]},
                 KEY_NOTE: req.idempotency_key, wire.CAPTURE_NOTE: req.capture_method.value}
        body = {"amount": req.amount.minor, "currency": req.amount.code, "receipt": receipt, "notes": notes,
                "payment_capture": req.capture_method is CaptureMethod.AUTOMATIC}
        try:
            # Sent once: Razorpay would make a second order for a retried request.
            order = await self._api.call("POST", "/v1/orders", body=body, retry=False)
        except Refusal as refusal:
            return _declined(None, req.amount, refusal)
        except ProviderUnavailableError:
            # The order may exist without our hearing of it: found by its receipt, or unknown
            # (reconciliation finds it later, `find_authorization`).
            order = await self._order_by_receipt(receipt)
            if order is None:
                raise
            return await self._order_state(order)
        return wire.order_outcome(order, [])

    async def complete(self, req: CompleteRequest) -> Outcome:
        order_id, payment_id, signature = (_answer(req, name) for name in
                                           ("razorpay_order_id", "razorpay_payment_id", "razorpay_signature"))
        if order_id != req.provider_ref:
            raise ValidationError("the checkout's answer is about another Razorpay order", "razorpay_order_id")
        expected = checkout_signature(order_id, payment_id, self._secret)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise ValidationError("the checkout's signature does not match its order and payment",
                                  "razorpay_signature")
        try:
            payment = await self._api.call("GET", f"/v1/payments/{_path(payment_id)}")
            order = await self._api.call("GET", f"/v1/orders/{_path(order_id)}")
        except Refusal:
            raise ValidationError("Razorpay knows no such payment", "razorpay_payment_id") from None
        if payment.get("order_id") != order_id:
            raise ValidationError("the payment belongs to another Razorpay order", "razorpay_payment_id")
        return wire.payment_outcome(order_id, payment, wire.capture_method(order))

    async def capture(self, req: CaptureRequest) -> Outcome:
        payment = await self._paid_payment(req.provider_ref)
        if payment is None:
            return Declined(req.provider_ref, req.amount, "not_authorized", "The order has no authorized payment.")
        held = wire.money(payment.get("amount"), payment.get("currency"))
        if payment.get("status") == "authorized":
            if req.amount != held:
                return Declined(req.provider_ref, req.amount, "partial_capture_unsupported",
                                f"Razorpay captures the whole {held.decimal} authorized, not part of it.")
            try:
                payment = await self._api.call("POST", f"/v1/payments/{_path(payment['id'])}/capture",
                                               body={"amount": held.minor, "currency": held.code})
            except Refusal as refusal:
                # Captured meanwhile (a retry whose first answer was lost): read it again.
                payment = await self._paid_payment(req.provider_ref) or {}
                if payment.get("status") not in ("captured", "refunded"):
                    return _declined(req.provider_ref, req.amount, refusal)
        return wire.payment_outcome(req.provider_ref, payment, CaptureMethod.MANUAL)

    async def void(self, req: VoidRequest) -> Outcome:
        """Close an order nobody has paid: Razorpay has no call to cancel an order, and none to
        release an authorization, so this only answers whether anything is held. Nothing: the
        payment ends (a payment made on the order later is Razorpay's late news, left to operators:
        its webhook finds nothing open). Held or taken: declined, and the money stays where it is."""
        try:
            order = await self._api.call("GET", f"/v1/orders/{_path(req.provider_ref)}")
        except Refusal as refusal:
            return _declined(req.provider_ref, None, refusal)
        payment = await self._paid_payment(req.provider_ref)
        if payment is None:
            return Succeeded(req.provider_ref, wire.money(order.get("amount"), order.get("currency")))
        if payment.get("status") == "authorized":
            return Declined(req.provider_ref, None, "not_supported",
                            "Razorpay can't release an authorization; left uncaptured, Razorpay refunds it.")
        return Declined(req.provider_ref, None, "already_captured", "The customer's payment was captured.")

    async def refund(self, req: RefundRequest) -> Outcome:
        payment = await self._paid_payment(req.provider_ref)
        if payment is None or payment.get("status") not in ("captured", "refunded"):
            return Declined(None, req.amount, "not_captured", "The order has no captured payment to refund.")
        body: dict[str, Any] = {"amount": req.amount.minor, "speed": "normal", "receipt": _receipt(req.idempotency_key),
                                "notes": {KEY_NOTE: req.idempotency_key, ORDER_NOTE: req.provider_ref}}
        if req.reason:
            body["notes"]["reason"] = req.reason[:256]
        try:
            refund = await self._api.call("POST", f"/v1/payments/{_path(payment['id'])}/refund", body=body,
                                          headers={"X-Refund-Idempotency": req.idempotency_key})
        except Refusal as refusal:
            return _declined(None, req.amount, refusal)
        return wire.refund_outcome(refund)

    # --- asking -------------------------------------------------------------------------------

    async def fetch(self, provider_ref: str) -> Outcome:
        try:
            if provider_ref.startswith("rfnd_"):
                return wire.refund_outcome(await self._api.call("GET", f"/v1/refunds/{_path(provider_ref)}"))
            return await self._order_state(await self._api.call("GET", f"/v1/orders/{_path(provider_ref)}"))
        except Refusal as refusal:
            return _declined(provider_ref, None, refusal)

    async def find_authorization(self, req: FindRequest) -> Outcome | None:
        order = await self._order_by_receipt(_receipt(req.idempotency_key))
        if order is not None:
            return await self._order_state(order)
        if datetime.now(UTC) - req.sent_at > NEVER_ARRIVED:
            return Declined(None, req.amount, "not_opened", "Razorpay never made the order.")
        return None

    async def _order_by_receipt(self, receipt: str) -> wire.Wire | None:
        found = await self._api.call("GET", "/v1/orders", params={"receipt": receipt})
        items = [o for o in found.get("items") or [] if isinstance(o, dict) and o.get("receipt") == receipt]
        return items[0] if items else None

    async def _order_state(self, order: wire.Wire) -> Outcome:
        payments = await self._api.call("GET", f"/v1/orders/{_path(str(order['id']))}/payments")
        return wire.order_outcome(order, [p for p in payments.get("items") or [] if isinstance(p, dict)])

    async def _paid_payment(self, order_id: str) -> dict[str, Any] | None:
        """The order's payment that holds or took the money (at most one: Razorpay marks the order
        paid and refuses further payments on it)."""
        try:
            payments = await self._api.call("GET", f"/v1/orders/{_path(order_id)}/payments")
        except Refusal:
            return None
        for payment in payments.get("items") or []:
            if isinstance(payment, dict) and payment.get("status") in PAID_STATUSES:
                return payment
        return None


def _receipt(key: str) -> str:
    return key[:MAX_RECEIPT]


def _path(ident: str) -> str:
    # Ids go into the path: Razorpay's are [A-Za-z0-9_]; anything else is refused before asking.
    if not ident or not all(c.isascii() and (c.isalnum() or c == "_") for c in ident):
        raise ValidationError(f"{ident[:40]!r} is not a Razorpay id", "razorpay_id")
    return ident


def _answer(req: CompleteRequest, name: str) -> str:
    value = req.answer.get(name)
    if not value:
        raise ValidationError(f"{name}: Razorpay Checkout's answer is needed", name)
    return value


def _declined(ref: str | None, amount: Money | None, refusal: Refusal) -> Declined:
    code, message = wire.error_of(refusal.body)
    return Declined(ref, amount, code, message)
