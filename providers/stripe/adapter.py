"""Stripe, through the official SDK's async calls: PaymentIntents for authorize, capture and void,
Refunds for refunds, and for `open` an unconfirmed PaymentIntent (Elements) or a Checkout Session
(embedded or hosted page; providers/stripe/checkout.py).

Decisions:
- Payment methods only (`pm_...`, from Stripe.js or Stripe's test tokens such as `pm_card_visa`).
  Stripe's API refuses raw card numbers unless the account has special (PCI SAQ D) permission,
  and paygate shouldn't hold numbers it needn't see. A typed card is answered
  `Declined("card_tokens_required")` before any call: nothing moved, and the attempt settles.
- Every call that creates or moves money sends the request's idempotency key (our attempt's),
  and retries send the same key, so a lost answer can never charge or refund twice.
- The API version is pinned (`API_VERSION`), so a Stripe-side default change can't reshape answers.
- What Stripe echoes is checked against what we asked (amount, currency, object) before it is
  returned: money that moved differently is a ProviderIntegrityError (a 500, logged), never an
  outcome to book.
- A Checkout Session's id stays the payment's reference: capture, void, refund and fetch of a
  `cs_…` find the session's PaymentIntent first, and answer under the session's id.
- The SDK's httpx client lives as long as the provider; `close()` ends it at shutdown.
- An authorization whose answer was lost is found with PaymentIntent search on the
  `payment_uuid` every request carries in its metadata (docs.stripe.com/api/payment_intents/search).
  Search is eventually consistent: "under normal operating conditions, data is searchable in less
  than a minute; occasionally ... up to an hour behind during outages". So nothing found means
  "not yet" for an hour after the request, and only then that Stripe never created it.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import stripe

from domain.clock import Clock, utc_now
from domain.errors import ProviderIntegrityError, ProviderUnavailableError
from domain.money import Money
from domain.payments.provider import (AuthorizeRequest, Capability, CaptureRequest, CheckoutKind, Declined,
                                      FindRequest, OpenRequest, Outcome, RefundRequest, Succeeded, VoidRequest)

from providers.stripe import checkout, wire
from providers.stripe.errors import RetryPolicy, call, declined

# The version stripe 16.1.0 is generated against (stripe._api_version); bump both together.
API_VERSION = "2026-10-28.endive"
_EXPAND = ["payment_method"]  # for the card summary (brand, last four, expiry)
_SESSION_EXPAND = ["payment_intent", "payment_intent.payment_method"]
# How far behind Stripe's search index may be (see the module's docstring).
SEARCH_LAG = timedelta(hours=1)
NOT_RECEIVED = "not_received"  # the decline code of a request Stripe never acted on
log = logging.getLogger("paygate.providers.stripe")


class StripeProvider:
    name = "stripe"
    capabilities = frozenset({Capability.AUTHORIZE, Capability.CAPTURE, Capability.VOID,
                              Capability.REFUND, Capability.FETCH, Capability.CHECKOUT, Capability.FIND})

    def __init__(self, api_key: str, *, api_base: str | None = None, timeout_s: float = 30.0,
                 retry: RetryPolicy = RetryPolicy(), clock: Clock = utc_now) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key, stripe_version=API_VERSION, max_network_retries=0,
            base_addresses={"api": api_base} if api_base else None, http_client=self._http)
        self._retry = retry
        self._clock = clock  # "now" for a Checkout Session's expiry window

    async def close(self) -> None:
        """Close the SDK's httpx client (its connection pool); the provider takes no calls after."""
        await self._http.close_async()

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

    async def open(self, req: OpenRequest) -> Outcome:
        """A payment the customer completes at Stripe: RequiresAction with what the page needs."""
        if req.kind is CheckoutKind.ELEMENTS:
            amount, cur = wire.stripe_amount(req.amount)
            params: dict[str, Any] = {
                "amount": amount, "currency": cur, "automatic_payment_methods": {"enabled": True},
                "capture_method": req.capture_method.value, "metadata": dict(req.metadata)}
            if req.customer_email:
                params["receipt_email"] = req.customer_email
            outcome = await self._ask("open a payment intent", None, req.amount, lambda: (
                self._client.v1.payment_intents.create_async(params, {"idempotency_key": req.idempotency_key})
            ), wire.authorization_outcome)
            return _echoed(outcome, req.amount, None)
        session = checkout.session_params(req, req.opened_at or self._clock())
        outcome = await self._ask("open a checkout session", None, req.amount, lambda: (
            self._client.v1.checkout.sessions.create_async(session, {"idempotency_key": req.idempotency_key})
        ), checkout.session_outcome)
        return _echoed(outcome, req.amount, None)

    async def capture(self, req: CaptureRequest) -> Outcome:
        intent_id = await self._intent_behind(req.provider_ref, req.provider_ref, req.amount)
        if isinstance(intent_id, Declined):
            return intent_id
        amount, _ = wire.stripe_amount(req.amount)
        outcome = await self._ask("capture", intent_id, req.amount, lambda: (
            self._client.v1.payment_intents.capture_async(
                intent_id, {"amount_to_capture": amount, "expand": _EXPAND},
                {"idempotency_key": req.idempotency_key})), wire.capture_outcome)
        outcome = checkout.as_session(outcome, intent_id, req.provider_ref)
        return _echoed(outcome, req.amount, req.provider_ref)

    async def void(self, req: VoidRequest) -> Outcome:
        if checkout.is_session(req.provider_ref):
            return _echoed(await self._void_session(req), None, req.provider_ref)
        return _echoed(await self._cancel(req.provider_ref, req.idempotency_key), None, req.provider_ref)

    async def refund(self, req: RefundRequest) -> Outcome:
        intent_id = await self._intent_behind(req.provider_ref, None, req.amount)
        if isinstance(intent_id, Declined):
            return intent_id
        amount, _ = wire.stripe_amount(req.amount)
        params: dict[str, Any] = {"payment_intent": intent_id, "amount": amount}
        if req.reason:  # free text is ours; Stripe's `reason` is an enum, so it goes in metadata
            params["metadata"] = {"reason": req.reason[:500]}

        def refunded(refund: wire.Wire) -> Outcome:
            if refund.get("payment_intent") not in (None, intent_id):
                raise ProviderIntegrityError(f"Stripe refunded {refund.get('payment_intent')}, not {intent_id}")
            return wire.refund_outcome(refund)

        outcome = await self._ask("refund", None, req.amount, lambda: (
            self._client.v1.refunds.create_async(params, {"idempotency_key": req.idempotency_key})), refunded)
        return _echoed(outcome, req.amount, None)

    async def fetch(self, provider_ref: str) -> Outcome:
        if provider_ref.startswith("re_"):
            return await self._ask("retrieve a refund", provider_ref, None, lambda: (
                self._client.v1.refunds.retrieve_async(provider_ref)), wire.refund_outcome)
        if checkout.is_session(provider_ref):
            return await self._ask("retrieve a checkout session", provider_ref, None, lambda: (
                self._client.v1.checkout.sessions.retrieve_async(provider_ref, {"expand": _SESSION_EXPAND})),
                checkout.session_outcome)
        return await self._ask("retrieve a payment intent", provider_ref, None, lambda: (
            self._client.v1.payment_intents.retrieve_async(provider_ref, {"expand": _EXPAND})),
            wire.authorization_outcome)

    async def find_authorization(self, req: FindRequest) -> Outcome | None:
        """The PaymentIntent our lost request created, found by the payment's uuid in its metadata.

        A Checkout Session's PaymentIntent exists only once the customer pays on its page, which
        nobody can reach while the session's answer is lost: such an opening is found as never
        received, and the page expires unpaid at Stripe.
        """
        query = f"metadata['payment_uuid']:'{req.payment_uuid}'"
        try:
            found = await call("search payment intents", lambda: self._client.v1.payment_intents.search_async(
                {"query": query, "expand": ["data.payment_method"]}), self._retry)
        except stripe.StripeError as exc:  # a refusal (errors.refusal)
            # Our query refused (or search unavailable to the account): nothing can be told.
            log.error("Stripe refused a PaymentIntent search: %s", exc.user_message)
            raise ProviderUnavailableError(f"Stripe search: {type(exc).__name__}") from None
        intents = [i for i in found.to_dict().get("data", [])
                   if (i.get("metadata") or {}).get("payment_uuid") == req.payment_uuid]
        if not intents:
            if self._clock() - req.sent_at < SEARCH_LAG:
                return None
            return Declined(None, req.amount, NOT_RECEIVED,
                            "Stripe never created a PaymentIntent for this payment: the request didn't reach it.")
        if len(intents) > 1:
            log.warning("%d PaymentIntents carry payment %s; the latest settles it", len(intents), req.payment_uuid)
        latest = max(intents, key=lambda i: i.get("created") or 0)
        return _echoed(wire.authorization_outcome(latest), req.amount, None)

    # --- Checkout Sessions: the PaymentIntent behind a `cs_…` --------------------------------

    async def _session(self, ref: str, decline_ref: str | None, amount: Money | None) -> wire.Wire | Declined:
        return await self._get("retrieve a checkout session", decline_ref, amount, lambda: (
            self._client.v1.checkout.sessions.retrieve_async(ref, {"expand": ["payment_intent"]})))

    async def _intent_behind(self, ref: str, decline_ref: str | None, amount: Money) -> str | Declined:
        """The PaymentIntent to act on for the payment `ref`: itself, or a session's, or why not."""
        if not checkout.is_session(ref):
            return ref
        session = await self._session(ref, decline_ref, amount)
        if isinstance(session, Declined):
            return session
        intent = checkout.intent_of(session)
        if intent is None or session.get("status") != "complete":
            return Declined(decline_ref, amount, "payment_intent_unexpected_state",
                            f"The Checkout Session is {session.get('status')}: the customer has not paid.")
        return str(intent["id"])

    async def _void_session(self, req: VoidRequest) -> Outcome:
        """Nothing held once a session has expired; an open one is expired (the customer can no
        longer pay); a completed one's uncaptured PaymentIntent is canceled."""
        ref = req.provider_ref
        session = await self._session(ref, ref, None)
        if isinstance(session, Declined):
            return session
        if session.get("status") == "open":
            # Its own key: the same attempt may later cancel the PaymentIntent with the plain one.
            expired = await self._get("expire a checkout session", ref, None, lambda: (
                self._client.v1.checkout.sessions.expire_async(
                    ref, None, {"idempotency_key": f"{req.idempotency_key}-expire"})))
            if not isinstance(expired, Declined):
                return checkout.void_outcome(expired)
            session = await self._session(ref, ref, None)  # refused: the customer may have just paid
            if isinstance(session, Declined) or session.get("status") == "open":
                return expired
        if session.get("status") == "expired":
            return Succeeded(ref, wire.money_of(session.get("amount_total"), session.get("currency")))
        intent = checkout.intent_of(session)
        if intent is None:
            return checkout.void_outcome(session)
        canceled = await self._cancel(str(intent["id"]), req.idempotency_key)
        return checkout.as_session(canceled, intent["id"], ref)

    async def _cancel(self, intent_id: str, idempotency_key: str) -> Outcome:
        return await self._ask("cancel", intent_id, None, lambda: (
            self._client.v1.payment_intents.cancel_async(
                intent_id, {"expand": _EXPAND}, {"idempotency_key": idempotency_key})), wire.void_outcome)

    # --- internals ---------------------------------------------------------------------------

    async def _get(self, what: str, ref: str | None, amount: Money | None,
                   make: Callable[[], Awaitable[Any]]) -> wire.Wire | Declined:
        """Stripe's object as a plain dict (wire.py reads no SDK types), or its refusal as a decline."""
        try:
            answer = await call(what, make, self._retry)
        except stripe.StripeError as exc:  # `call` lets through only refusals (errors.refusal)
            return declined(exc, ref, amount)
        return answer.to_dict()

    async def _ask(self, what: str, ref: str | None, amount: Money | None,
                   make: Callable[[], Awaitable[Any]], read: Callable[[Any], Outcome]) -> Outcome:
        answer = await self._get(what, ref, amount, make)
        return answer if isinstance(answer, Declined) else read(answer)


def _echoed(outcome: Outcome, asked: Money | None, ref: str | None) -> Outcome:
    """The outcome, once what Stripe echoed is what we sent (domain/payments/model.py checks too)."""
    if ref is not None and outcome.provider_ref not in (None, ref):
        raise ProviderIntegrityError(f"asked Stripe about {ref}, it answered about {outcome.provider_ref}")
    if asked is not None and outcome.amount is not None and not isinstance(outcome, Declined):
        if outcome.amount.currency is not asked.currency or outcome.amount != asked:
            raise ProviderIntegrityError(f"asked Stripe for {asked}, it answered {outcome.amount}")
    return outcome
