"""PayPal Orders v2 and Payments v2 behind the provider port, over providers/paypal/client.py.

A PayPal payment is an order the buyer approves on PayPal's page; what paygate keeps as the
payment's reference is the order's id, for every attempt on it (as Stripe's adapter keeps a
Checkout Session's id): capture, void and refund find the authorization or capture behind the
order themselves.

    open       POST /v2/checkout/orders, intent CAPTURE (automatic) or AUTHORIZE (manual):
               RequiresAction with the approve link, and the order id as the "client secret" (what
               PayPal's JS SDK takes in `createOrder`). ELEMENTS: a plain order (CREATED, rel
               "approve"); HOSTED: with `payment_source.paypal.experience_context` and its return
               and cancel URLs (PAYER_ACTION_REQUIRED, rel "payer-action"). PayPal has no embedded
               page: EMBEDDED is declined before any call.
    fetch      GET the order. An APPROVED order is completed first: captured (intent CAPTURE) or
               authorized (AUTHORIZE). The buyer's approval is the customer's whole part at PayPal;
               completing it is ours, so asking about an approved order (the buyer's return,
               confirm_payment, reconciliation, CHECKOUT.ORDER.APPROVED) finishes it. The request
               id is the opening attempt's key (the order's invoice_id) + "-complete": a
               completion sent twice, by any of them at once, captures once.
               A reference that is no order is looked up as a refund (a pending refund's id).
    capture    the order's authorization captured (`final_capture`: the rest is released)
    void       the order's authorization voided; an order never completed holds nothing
    refund     the order's capture refunded, full or partial (`note_to_payer` from our reason)
    authorize  not offered: PayPal takes no card or token from us in this integration

Every answer is checked against what we asked (amount, currency, the order) before it is
returned: money that moved differently is a ProviderIntegrityError, never an outcome to book.
Each capture id seen is handed to `captures` (the seed's refund path names a capture, not an order).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from domain.errors import ProviderIntegrityError, ValidationError
from domain.money import Money
from domain.payments.provider import (
    AuthorizeRequest,
    Capability,
    CaptureMethod,
    CaptureRequest,
    CheckoutKind,
    Declined,
    OpenRequest,
    Outcome,
    RefundRequest,
    RequiresAction,
    Succeeded,
    VoidRequest,
)
from providers.paypal import wire
from providers.paypal.client import PayPalClient, PayPalRefusal
from providers.paypal.webhooks import WebhookVerifier

log = logging.getLogger("paygate.providers.paypal")
MAX_TEXT = 127  # PayPal's limit for description, custom_id and invoice_id
_REFUNDABLE = ("COMPLETED", "PARTIALLY_REFUNDED")


class CaptureBook(Protocol):
    """Where the capture ids PayPal gives are kept with their order (db/paypal_captures.py)."""

    async def remember(self, capture_id: str, order_id: str) -> None: ...


class PayPalProvider:
    name = "paypal"
    capabilities = frozenset({Capability.CHECKOUT, Capability.CAPTURE, Capability.VOID,
                              Capability.REFUND, Capability.FETCH})

    def __init__(self, client: PayPalClient, *, captures: CaptureBook | None = None,
                 webhooks: WebhookVerifier | None = None) -> None:
        self.client = client
        self._captures = captures
        self.webhooks = webhooks  # what rest_compat/webhooks_paypal.py verifies deliveries with

    async def close(self) -> None:
        await self.client.close()

    def __repr__(self) -> str:
        return "PayPalProvider()"

    # --- amount rules (AmountRulesProvider): asked before anything is recorded --------------

    currencies = wire.CURRENCIES

    def check_amount(self, amount: Money) -> None:
        try:
            wire.paypal_amount(amount)
        except wire.PayPalAmountError as exc:
            raise ValidationError(str(exc), "amount") from None

    # --- the port ----------------------------------------------------------------------------

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        return Declined(None, req.amount, "not_supported",
                        "PayPal payments are approved by the buyer on PayPal's page: open one instead.")

    async def open(self, req: OpenRequest) -> Outcome:
        if req.kind is CheckoutKind.EMBEDDED:
            return Declined(None, req.amount, "checkout_kind_not_supported",
                            "PayPal has no embedded payment page: use its buttons (elements) or its page (hosted).")
        try:
            amount = wire.paypal_amount(req.amount)
        except wire.PayPalAmountError as exc:
            return Declined(None, req.amount, "currency_not_supported", str(exc))
        metadata = req.metadata
        unit = {"invoice_id": req.idempotency_key[:MAX_TEXT], "amount": amount,
                "custom_id": (metadata.get("custom_id") or metadata.get("payment_uuid") or "")[:MAX_TEXT],
                "description": _description(metadata)}
        body: dict[str, Any] = {
            "intent": "CAPTURE" if req.capture_method is CaptureMethod.AUTOMATIC else "AUTHORIZE",
            "purchase_units": [unit]}
        if req.kind is CheckoutKind.HOSTED:
            context = {"return_url": req.return_url, "user_action": "PAY_NOW", "shipping_preference": "NO_SHIPPING"}
            if req.cancel_url:
                context["cancel_url"] = req.cancel_url
            body["payment_source"] = {"paypal": {"experience_context": context}}
        try:
            order = await self.client.call("create an order", "POST", "/v2/checkout/orders", json=body,
                                           request_id=req.idempotency_key)
        except PayPalRefusal as exc:
            return _declined(exc, None, req.amount)
        return _echoed(wire.order_outcome(_order(order)), req.amount, None)

    async def fetch(self, provider_ref: str) -> Outcome:
        order = await self._order(provider_ref)
        if isinstance(order, PayPalRefusal):
            if order.status != 404:
                return _declined(order, provider_ref, None)
            return await self._refund_by_id(provider_ref)
        if order.get("status") == "APPROVED":
            return await self._complete(order)
        await self._remember(order)
        return _echoed(wire.order_outcome(order), None, provider_ref)

    async def capture(self, req: CaptureRequest) -> Outcome:
        order = await self._order(req.provider_ref)
        if isinstance(order, PayPalRefusal):
            return _declined(order, req.provider_ref, req.amount)
        authorization = _last(wire.authorizations(order))
        if order.get("intent") != "AUTHORIZE" or authorization is None:
            return Declined(req.provider_ref, req.amount, "not_authorized",
                            f"The PayPal order is {order.get('status')}: there is no authorization to capture.")
        try:
            body = {"amount": wire.paypal_amount(req.amount), "final_capture": True,
                    "invoice_id": req.idempotency_key[:MAX_TEXT]}
        except wire.PayPalAmountError as exc:
            return Declined(req.provider_ref, req.amount, "currency_not_supported", str(exc))
        try:
            capture = await self.client.call(
                "capture an authorization", "POST", f"/v2/payments/authorizations/{authorization['id']}/capture",
                json=body, request_id=req.idempotency_key)
        except PayPalRefusal as exc:
            return _declined(exc, req.provider_ref, req.amount)
        await self._keep(str(capture.get("id") or ""), req.provider_ref)
        return _echoed(wire.capture_outcome(capture, req.provider_ref), req.amount, req.provider_ref)

    async def void(self, req: VoidRequest) -> Outcome:
        ref = req.provider_ref
        order = await self._order(ref)
        if isinstance(order, PayPalRefusal):
            return _declined(order, ref, None)
        status = order.get("status")
        if status != "COMPLETED":  # never completed (or voided): nothing is held at PayPal
            return Succeeded(ref, wire.order_amount(order))
        authorization = _last(wire.authorizations(order))
        if order.get("intent") != "AUTHORIZE" or authorization is None:
            return Declined(ref, wire.order_amount(order), "already_captured",
                            "The PayPal order is captured: refund it instead.")
        held = wire.money_of(authorization.get("amount"))
        if authorization.get("status") == "VOIDED":
            return Succeeded(ref, held)
        try:
            await self.client.call("void an authorization", "POST",
                                   f"/v2/payments/authorizations/{authorization['id']}/void",
                                   request_id=req.idempotency_key)
        except PayPalRefusal as exc:
            return _declined(exc, ref, held)
        return Succeeded(ref, held)

    async def refund(self, req: RefundRequest) -> Outcome:
        order = await self._order(req.provider_ref)
        if isinstance(order, PayPalRefusal):
            return _declined(order, None, req.amount)
        await self._remember(order)
        capture = _last([c for c in wire.captures(order) if c.get("status") in _REFUNDABLE])
        if capture is None:
            return Declined(None, req.amount, "not_captured", "The PayPal order has no capture to refund.")
        try:
            body: dict[str, Any] = {"amount": wire.paypal_amount(req.amount),
                                    "invoice_id": req.idempotency_key[:MAX_TEXT]}
        except wire.PayPalAmountError as exc:
            return Declined(None, req.amount, "currency_not_supported", str(exc))
        if req.reason:
            body["note_to_payer"] = req.reason[:255]
        try:
            refund = await self.client.call("refund a capture", "POST", f"/v2/payments/captures/{capture['id']}/refund",
                                            json=body, request_id=req.idempotency_key)
        except PayPalRefusal as exc:
            return _declined(exc, None, req.amount)
        return _echoed(wire.refund_outcome(_with_id(refund)), req.amount, None)

    # --- internals ---------------------------------------------------------------------------

    async def _complete(self, order: Mapping[str, Any]) -> Outcome:
        ref = str(order["id"])
        action = "authorize" if order.get("intent") == "AUTHORIZE" else "capture"
        key = str(wire.unit(order).get("invoice_id") or ref)
        try:
            done = await self.client.call(f"{action} an approved order", "POST", f"/v2/checkout/orders/{ref}/{action}",
                                          json={}, request_id=f"{key}-complete")
        except PayPalRefusal as exc:
            if exc.issue in ("ORDER_ALREADY_CAPTURED", "ORDER_ALREADY_AUTHORIZED", "ORDER_NOT_APPROVED"):
                again = await self._order(ref)  # someone else moved it: read where it is now
                if not isinstance(again, PayPalRefusal) and again.get("status") != "APPROVED":
                    return _echoed(wire.order_outcome(again), None, ref)
            # INSTRUMENT_DECLINED among them: on PayPal's buttons the buyer may pick another way to
            # pay (the payment stays open, domain/payments/model.py); on its page the payment ends.
            return _declined(exc, ref, wire.order_amount(order))
        done = _order(done)
        await self._remember(done)
        return _echoed(wire.order_outcome(done), wire.order_amount(order), ref)

    async def _order(self, ref: str) -> dict[str, Any] | PayPalRefusal:
        try:
            return _order(await self.client.call("get an order", "GET", f"/v2/checkout/orders/{ref}"))
        except PayPalRefusal as exc:
            return exc

    async def _refund_by_id(self, ref: str) -> Outcome:
        try:
            refund = await self.client.call("get a refund", "GET", f"/v2/payments/refunds/{ref}")
        except PayPalRefusal as exc:
            return _declined(exc, ref, None)
        return _echoed(wire.refund_outcome(_with_id(refund)), None, ref)

    async def _remember(self, order: Mapping[str, Any]) -> None:
        for capture in wire.captures(order):
            await self._keep(str(capture.get("id") or ""), str(order["id"]))

    async def _keep(self, capture_id: str, order_id: str) -> None:
        if self._captures is not None and capture_id:
            await self._captures.remember(capture_id, order_id)


def _description(metadata: Mapping[str, str]) -> str:
    if metadata.get("description"):
        return metadata["description"][:MAX_TEXT]
    order = metadata.get("order") or metadata.get("payment_number")
    return f"Order {order}"[:MAX_TEXT] if order else "Order"


def _last(items: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return items[-1] if items else None


def _order(order: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(order.get("id"), str) or not order["id"]:
        raise ProviderIntegrityError("PayPal answered an order without an id")
    return order


_with_id = _order


def _declined(exc: PayPalRefusal, ref: str | None, amount: Money | None) -> Declined:
    if exc.status == 400:  # INVALID_REQUEST: our request was malformed, our bug
        log.error("PayPal refused a malformed request: %s", exc)
    return Declined(ref, amount, exc.code, exc.description or exc.message or "PayPal refused the request.")


def _echoed(outcome: Outcome, asked: Money | None, ref: str | None) -> Outcome:
    if ref is not None and outcome.provider_ref not in (None, ref):
        raise ProviderIntegrityError(f"asked PayPal about {ref}, it answered about {outcome.provider_ref}")
    if asked is not None and outcome.amount is not None and not isinstance(outcome, Declined | RequiresAction):
        if outcome.amount != asked:
            raise ProviderIntegrityError(f"asked PayPal for {asked}, it answered {outcome.amount}")
    if asked is not None and isinstance(outcome, RequiresAction) and outcome.amount != asked:
        raise ProviderIntegrityError(f"asked PayPal for an order of {asked}, it made one of {outcome.amount}")
    return outcome
