"""Stripe Billing through the official SDK's async calls: Customers and Subscriptions, the
BillingProvider port (domain/billing/provider.py).

Decisions:
- The client is made as StripeProvider makes its own (providers/stripe/adapter.py): the same
  pinned API_VERSION, the SDK's retries off, `call` (errors.py) with the shared RetryPolicy instead.
- Every create and cancel sends the request's idempotency key (derived from our record's uuid).
- A subscription is created as Stripe documents it, `items=[{"price": …}]`, and otherwise with
  Stripe's defaults (`payment_behavior=allow_incomplete`): with a default payment method the first
  invoice is paid at once (`active`), without one it is `incomplete` until paid.
- Cancelling a subscription Stripe already cancelled is refused by Stripe; the subscription is
  then fetched, and its cancelled state answered, so that cancelling twice is harmless.

Stripe's refusals as our errors (the port's table):

    resource_missing on the price or plan     ValidationError(field "price_id")
    resource_missing on the customer          ValidationError(field "customer_id")
    resource_missing on a subscription        NotFoundError
    any other invalid request                 ValidationError (Stripe's `param`, or none)
    a card refused (error_if_incomplete)      PaymentDeclinedError
    stripe.IdempotencyError                   ConflictError
    outages, rejected keys                    ProviderUnavailableError (errors.call)
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import stripe

from domain.billing.model import SubscriptionState, SubscriptionStatus
from domain.billing.provider import (CancelSubscriptionRequest, CreateCustomerRequest, CreateSubscriptionRequest,
                                     CustomerAnswer)
from domain.errors import ConflictError, NotFoundError, PaymentDeclinedError, PaymentsError, ValidationError

from providers.stripe import billing_wire as wire
from providers.stripe.adapter import API_VERSION
from providers.stripe.errors import RetryPolicy, call

# Stripe's `param` of a refusal -> the field of our requests it concerns.
_FIELDS = {"customer": "customer_id", "email": "email", "name": "name", "metadata": "metadata",
           "price": "price_id", "plan": "price_id"}


class StripeBilling:
    name = "stripe"

    def __init__(self, api_key: str, *, api_base: str | None = None, timeout_s: float = 30.0,
                 retry: RetryPolicy = RetryPolicy()) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key, stripe_version=API_VERSION, max_network_retries=0,
            base_addresses={"api": api_base} if api_base else None, http_client=self._http)
        self._retry = retry

    async def close(self) -> None:
        """Close the SDK's httpx client; no calls after."""
        await self._http.close_async()

    def __repr__(self) -> str:
        return "StripeBilling()"  # never the key

    # --- the port ----------------------------------------------------------------------------

    async def create_customer(self, req: CreateCustomerRequest) -> CustomerAnswer:
        params: dict[str, Any] = {"metadata": dict(req.metadata)}
        if req.email:
            params["email"] = req.email
        if req.name:
            params["name"] = req.name
        answer = await self._ask("create a customer", lambda: self._client.v1.customers.create_async(
            params, {"idempotency_key": req.idempotency_key}))
        return wire.customer_answer(answer)

    async def create_subscription(self, req: CreateSubscriptionRequest) -> SubscriptionState:
        params: dict[str, Any] = {"customer": req.customer_ref, "items": [{"price": req.price_ref}],
                                  "metadata": dict(req.metadata)}
        answer = await self._ask("create a subscription", lambda: self._client.v1.subscriptions.create_async(
            params, {"idempotency_key": req.idempotency_key}))
        state = wire.subscription_state(answer)
        if state.customer_ref not in (None, req.customer_ref):
            raise ConflictError(f"asked Stripe to subscribe {req.customer_ref}, it subscribed {state.customer_ref}")
        return state

    async def cancel_subscription(self, req: CancelSubscriptionRequest) -> SubscriptionState:
        try:
            answer = await self._ask("cancel a subscription", lambda: self._client.v1.subscriptions.cancel_async(
                req.provider_ref, None, {"idempotency_key": req.idempotency_key}))
        except ValidationError:
            current = await self.fetch_subscription(req.provider_ref)
            if current.status is SubscriptionStatus.CANCELED:
                return current  # cancelled before (by us, or in Stripe's dashboard)
            raise
        return _same(wire.subscription_state(answer), req.provider_ref)

    async def fetch_subscription(self, provider_ref: str) -> SubscriptionState:
        answer = await self._ask("retrieve a subscription", lambda: self._client.v1.subscriptions.retrieve_async(
            provider_ref), subscription=provider_ref)
        return _same(wire.subscription_state(answer), provider_ref)

    # --- internals ---------------------------------------------------------------------------

    async def _ask(self, what: str, make: Callable[[], Awaitable[Any]], *,
                   subscription: str | None = None) -> dict[str, Any]:
        try:
            answer = await call(what, make, self._retry)
        except stripe.IdempotencyError as exc:
            raise ConflictError(f"Stripe refused the idempotency key: {exc.user_message}") from None
        except stripe.CardError as exc:
            raise PaymentDeclinedError(str(getattr(exc.error, "decline_code", None) or exc.code or "card_declined"),
                                       str(exc.user_message or "The card was declined.")) from None
        except stripe.StripeError as exc:  # any other refusal `call` lets through (errors.refusal)
            raise _refusal(exc, subscription) from None
        return answer.to_dict()  # plain dicts from here on: billing_wire reads no SDK types


def _refusal(exc: stripe.StripeError, subscription: str | None) -> PaymentsError:
    param = str(getattr(exc, "param", None) or "")
    message = str(exc.user_message or "Stripe refused the request.")
    missing = exc.code == "resource_missing" or exc.http_status == 404
    if missing and subscription is not None and param in ("", "id", "subscription"):
        return NotFoundError("subscription", subscription)
    # `items[0][price]` names the price; `metadata[plan]` names metadata: the outer name decides.
    outer = param.split("[", 1)[0]
    inner = param.rstrip("]").rsplit("[", 1)[-1] if outer == "items" else outer
    return ValidationError(message, _FIELDS.get(inner))


def _same(state: SubscriptionState, asked: str) -> SubscriptionState:
    if state.provider_ref != asked:
        raise ConflictError(f"asked Stripe about {asked}, it answered about {state.provider_ref}")
    return state
