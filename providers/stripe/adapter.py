"""Stripe, through the official SDK's async calls: PaymentIntents for authorize, capture and void,
Refunds for refunds.

Decisions:
- Payment methods only (`pm_...`, from Stripe.js or Stripe's test tokens such as `pm_card_visa`).
  Stripe's API refuses raw card numbers unless the account has special (PCI SAQ D) permission,
  and paygate shouldn't hold numbers it needn't see. A typed card is answered
  `Declined("card_tokens_required")` before any call: nothing moved, and the attempt settles.
- Every call that creates or moves money sends the request's idempotency key (our attempt's),
  and retries send the same key, so a lost answer can never charge or refund twice.
- The API version is pinned (`API_VERSION`), so a Stripe-side default change can't reshape answers.
- What Stripe echoes is checked against what we asked (amount, currency, object) before it is
  returned: money that moved differently is a ConflictError, never an outcome to book.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import stripe

from domain.errors import ConflictError
from domain.money import Money
from domain.payments.provider import (AuthorizeRequest, Capability, CaptureRequest, Declined, Outcome,
                                      RefundRequest, VoidRequest)

from providers.stripe import wire
from providers.stripe.errors import RetryPolicy, call, declined

# The version stripe 16.1.0 is generated against (stripe._api_version); bump both together.
API_VERSION = "2026-10-28.endive"
_EXPAND = ["payment_method"]  # for the card summary (brand, last four, expiry)


class StripeProvider:
    name = "stripe"
    capabilities = frozenset({Capability.AUTHORIZE, Capability.CAPTURE, Capability.VOID,
                              Capability.REFUND, Capability.FETCH})

    def __init__(self, api_key: str, *, api_base: str | None = None, timeout_s: float = 30.0,
                 retry: RetryPolicy = RetryPolicy()) -> None:
        self._client = stripe.StripeClient(
            api_key, stripe_version=API_VERSION, max_network_retries=0,
            base_addresses={"api": api_base} if api_base else None,
            http_client=stripe.HTTPXClient(timeout=timeout_s))
        self._retry = retry

    def __repr__(self) -> str:
        return "StripeProvider()"  # never the key

    # --- the port ----------------------------------------------------------------------------

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        if req.payment_method is None:
            return Declined(None, req.amount, "card_tokens_required",
                            "Stripe takes a payment method from Stripe.js, not a typed card number.")
        amount, cur = wire.stripe_amount(req.amount)
        params: dict[str, Any] = {
            "amount": amount, "currency": cur, "confirm": True, "payment_method": req.payment_method,
            "capture_method": req.capture_method.value, "metadata": dict(req.metadata),
            "expand": _EXPAND}
        outcome = await self._ask("create a payment intent", None, req.amount, lambda: (
            self._client.v1.payment_intents.create_async(params, {"idempotency_key": req.idempotency_key})),
            wire.authorization_outcome)
        return _echoed(outcome, req.amount, None)

    async def capture(self, req: CaptureRequest) -> Outcome:
        amount, _ = wire.stripe_amount(req.amount)
        outcome = await self._ask("capture", req.provider_ref, req.amount, lambda: (
            self._client.v1.payment_intents.capture_async(
                req.provider_ref, {"amount_to_capture": amount, "expand": _EXPAND},
                {"idempotency_key": req.idempotency_key})), wire.capture_outcome)
        return _echoed(outcome, req.amount, req.provider_ref)

    async def void(self, req: VoidRequest) -> Outcome:
        outcome = await self._ask("cancel", req.provider_ref, None, lambda: (
            self._client.v1.payment_intents.cancel_async(
                req.provider_ref, {"expand": _EXPAND}, {"idempotency_key": req.idempotency_key})),
            wire.void_outcome)
        return _echoed(outcome, None, req.provider_ref)

    async def refund(self, req: RefundRequest) -> Outcome:
        amount, _ = wire.stripe_amount(req.amount)
        params: dict[str, Any] = {"payment_intent": req.provider_ref, "amount": amount}
        if req.reason:  # free text is ours; Stripe's `reason` is an enum, so it goes in metadata
            params["metadata"] = {"reason": req.reason[:500]}

        def refunded(refund: wire.Wire) -> Outcome:
            if refund.get("payment_intent") not in (None, req.provider_ref):
                raise ConflictError(f"Stripe refunded {refund.get('payment_intent')}, not {req.provider_ref}")
            return wire.refund_outcome(refund)

        outcome = await self._ask("refund", None, req.amount, lambda: (
            self._client.v1.refunds.create_async(params, {"idempotency_key": req.idempotency_key})), refunded)
        return _echoed(outcome, req.amount, None)

    async def fetch(self, provider_ref: str) -> Outcome:
        if provider_ref.startswith("re_"):
            return await self._ask("retrieve a refund", provider_ref, None, lambda: (
                self._client.v1.refunds.retrieve_async(provider_ref)), wire.refund_outcome)
        return await self._ask("retrieve a payment intent", provider_ref, None, lambda: (
            self._client.v1.payment_intents.retrieve_async(provider_ref, {"expand": _EXPAND})),
            wire.authorization_outcome)

    # --- internals ---------------------------------------------------------------------------

    async def _ask(self, what: str, ref: str | None, amount: Money | None,
                   make: Callable[[], Awaitable[Any]], read: Callable[[Any], Outcome]) -> Outcome:
        try:
            answer = await call(what, make, self._retry)
        except (stripe.CardError, stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
            return declined(exc, ref, amount)
        return read(answer.to_dict())  # plain dicts from here on: wire.py reads no SDK types


def _echoed(outcome: Outcome, asked: Money | None, ref: str | None) -> Outcome:
    """The outcome, once what Stripe echoed is what we sent (domain/payments/model.py checks too)."""
    if ref is not None and outcome.provider_ref not in (None, ref):
        raise ConflictError(f"asked Stripe about {ref}, it answered about {outcome.provider_ref}")
    if asked is not None and outcome.amount is not None and not isinstance(outcome, Declined):
        if outcome.amount.currency is not asked.currency or outcome.amount != asked:
            raise ConflictError(f"asked Stripe for {asked}, it answered {outcome.amount}")
    return outcome
