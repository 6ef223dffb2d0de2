"""The edge between the Stripe SDK's exceptions and ours: every call to Stripe goes through `call`.

    stripe.CardError                  -> Declined: a decline is an outcome (the port's rule)
    stripe.InvalidRequestError        -> Declined with Stripe's code (Stripe refused; nothing moved);
                                         a malformed request (`parameter_*`: our bug) is logged as
                                         an error too, and still settles the attempt as declined
    stripe.IdempotencyError           -> ConflictError: the same key was sent with other parameters
    any other 4xx but 401, 403, 409,
    429 (a 404 without Stripe's error
    body, say)                        -> Declined too: Stripe answered, and refused; nothing moved
    APIConnectionError, RateLimitError,
    5xx, 409 (a request with the same
    key still running at Stripe)      -> retried with the SAME key, then ProviderUnavailableError
    AuthenticationError, PermissionError,
    anything else from the SDK        -> ProviderUnavailableError at once (no retry can fix a key)

Retries are providers/retry.py's policy (tenacity), shared by every adapter; this module only
says which Stripe failures are worth another try. The SDK's own retries are switched off
(`max_network_retries=0`) so the two never multiply.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import stripe

from domain.errors import ConflictError, ProviderUnavailableError
from domain.money import Money
from domain.payments.provider import Declined
from providers.retry import RetryPolicy
from providers.stripe.wire import authorization_outcome, card_summary

log = logging.getLogger("paygate.providers.stripe")
T = TypeVar("T")


def refusal(exc: stripe.StripeError) -> bool:
    """Stripe answered, refusing the request as it was sent (a 4xx): nothing moved, and sending it
    again won't change that. Not 401/403 (our key: the operator must act, the outcome waits),
    409 (the same key still running at Stripe) nor 429 (slow down): those are retried or wait."""
    if isinstance(exc, stripe.CardError | stripe.InvalidRequestError | stripe.IdempotencyError):
        return True
    status = exc.http_status
    return status is not None and 400 <= status < 500 and status not in (401, 403, 409, 429)


def _transient(exc: stripe.StripeError) -> bool:
    if (exc.headers or {}).get("stripe-should-retry") == "false":
        return False  # Stripe says the same request would fail the same way
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = exc.http_status
    return type(exc) is stripe.APIError and (status is None or status >= 500 or status == 409)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, stripe.StripeError) and not refusal(exc) and _transient(exc)


async def call(what: str, make: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """Run one SDK call (re-made on each try; the idempotency key inside it never changes)."""
    try:
        return await policy.run(make, _retryable)
    except stripe.StripeError as exc:
        if refusal(exc):
            raise  # answers, not failures: `declined` turns them into outcomes
        log.warning("stripe %s failed: %s %s", what, type(exc).__name__, exc.http_status)
        raise ProviderUnavailableError(f"Stripe {what}: {type(exc).__name__} "
                                       f"({exc.http_status or 'no answer'})") from None


def _plain(obj: object) -> object:
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj


def declined(exc: stripe.StripeError, ref: str | None, amount: Money | None) -> Declined:
    """Stripe's refusal as an outcome, or ConflictError as the table says."""
    if isinstance(exc, stripe.IdempotencyError):
        raise ConflictError(f"Stripe refused the idempotency key: {exc.user_message}") from None
    error = exc.error
    code = getattr(error, "decline_code", None) or exc.code or getattr(error, "type", None)
    if code is None and not isinstance(exc, stripe.CardError):
        # No error body of Stripe's (a proxy's or a wrong STRIPE_API_BASE's 404): still a refusal.
        log.error("Stripe answered %s without an error body", exc.http_status)
        code = f"http_{exc.http_status}"
    if isinstance(exc, stripe.InvalidRequestError) and (not code or code.startswith("parameter_")):
        # Our request was malformed: our bug, logged loudly. Still an answer (nothing moved at
        # Stripe), so the attempt settles as failed instead of waiting for reconciliation.
        log.error("Stripe refused a malformed request: %s (param %s)", exc.user_message, getattr(exc, "param", None))
        code = code or "invalid_request_error"
    intent = _plain(getattr(error, "payment_intent", None))
    if intent:  # Stripe reports the PaymentIntent it created and left unpaid
        outcome = authorization_outcome(intent)
        ref, amount = outcome.provider_ref, outcome.amount
    card = card_summary(_plain(getattr(error, "payment_method", None)))
    return Declined(ref, amount, str(code or "card_declined"),
                    str(exc.user_message or "The payment was declined."), card)
