"""Every provider call counted and timed, whatever the provider: a wrapper the composition root puts
around each provider of the registry (build_services), so that neither `domain/` nor
`providers/` knows about Prometheus.

  paygate_provider_calls_total{provider, operation, outcome}   outcome: succeeded, pending,
                                                               requires_action, declined, none, error
  paygate_provider_call_duration_seconds{provider, operation}
  paygate_provider_errors_total{provider, operation, error}    the exception's class: a timeout
                                                               (ProviderUnavailableError) or a bug
  paygate_payments_total{provider, status}                     authorize and hosted checkout answers
  paygate_refunds_total{provider, status}                      refund answers
"""
from __future__ import annotations

import time
from typing import Any, cast

from prometheus_client import Counter, Histogram

from domain.payments.provider import Declined, PaymentProvider, Pending, Providers, RequiresAction, Succeeded
from paygate.metrics import LATENCY_BUCKETS

CALLS = Counter("paygate_provider_calls_total", "Calls to payment providers, by what they answered.",
                ["provider", "operation", "outcome"])
CALL_DURATION = Histogram("paygate_provider_call_duration_seconds", "Time a payment provider took to answer.",
                          ["provider", "operation"], buckets=LATENCY_BUCKETS)
ERRORS = Counter("paygate_provider_errors_total", "Provider calls that raised instead of answering.",
                 ["provider", "operation", "error"])
PAYMENTS = Counter("paygate_payments_total", "Payments as providers answered them (authorize, hosted checkout).",
                   ["provider", "status"])
REFUNDS = Counter("paygate_refunds_total", "Refunds as providers answered them.", ["provider", "status"])

# The port's calls; anything else (name, capabilities, close) passes through untouched.
_OPERATIONS = frozenset({"authorize", "capture", "void", "refund", "fetch", "open", "find_authorization"})
_BY_ANSWER = {"authorize": PAYMENTS, "open": PAYMENTS, "refund": REFUNDS}
_OUTCOMES: dict[type, str] = {Succeeded: "succeeded", Pending: "pending", RequiresAction: "requires_action",
                              Declined: "declined"}


class InstrumentedProvider:
    """`inner`, with each call of the provider port counted and timed."""

    def __init__(self, inner: PaymentProvider) -> None:
        self._inner = inner

    # Code that asks what a provider is (`isinstance(provider, FlutterwaveProvider)` for its own
    # methods) sees the provider itself: isinstance consults __class__ (as unittest.mock's do).
    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        return type(self._inner)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in _OPERATIONS:
            return attribute

        async def timed(*args: Any, **kwargs: Any) -> Any:
            provider = self._inner.name
            started = time.perf_counter()
            try:
                answer = await attribute(*args, **kwargs)
            except Exception as exc:
                CALLS.labels(provider, name, "error").inc()
                ERRORS.labels(provider, name, type(exc).__name__).inc()
                raise
            finally:
                CALL_DURATION.labels(provider, name).observe(time.perf_counter() - started)
            outcome = _OUTCOMES.get(type(answer), "none")  # find_authorization may not know yet
            CALLS.labels(provider, name, outcome).inc()
            if name in _BY_ANSWER:
                _BY_ANSWER[name].labels(provider, outcome).inc()
            return answer

        return timed


def instrumented(providers: Providers) -> Providers:
    wrapped = [cast(PaymentProvider, InstrumentedProvider(providers[name])) for name in providers]
    return Providers(wrapped, {name: providers.public_config(name) for name in providers})
