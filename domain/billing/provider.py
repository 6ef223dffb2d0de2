"""The billing provider port: what paygate asks of Stripe Billing, one narrow flow per method.

Typed requests in, typed answers out. Every request that creates or changes something carries an
idempotency key derived from our own record's uuid, so a lost answer is settled by sending the
same request again. Adapters translate their SDK's exceptions at their edge:

    the provider refused the request   a domain error: ValidationError with the field it concerns
                                       (an unknown price is `price_id`, an unknown customer
                                       `customer_id`), NotFoundError for an unknown subscription,
                                       PaymentDeclinedError when the first payment was refused
                                       and the request asked for an error on that
    the same key with other parameters ConflictError
    timeout, 5xx, a rejected API key   ProviderUnavailableError: the outcome is unknown; retry
                                       with the same key
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from domain.billing.model import SubscriptionState
from domain.errors import ValidationError


def _key(idempotency_key: str) -> None:
    if not idempotency_key:
        raise ValidationError("every provider request carries an idempotency key", "idempotency_key")


@dataclass(frozen=True, slots=True)
class CreateCustomerRequest:
    idempotency_key: str
    email: str | None = None
    name: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _key(self.idempotency_key)


@dataclass(frozen=True, slots=True)
class CustomerAnswer:
    provider_ref: str
    email: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class CreateSubscriptionRequest:
    customer_ref: str
    price_ref: str
    idempotency_key: str
    metadata: Mapping[str, str] = field(default_factory=dict)  # ours included: see SubscriptionState

    def __post_init__(self) -> None:
        _key(self.idempotency_key)
        if not self.customer_ref:
            raise ValidationError("a subscription needs the provider's customer", "customer_id")
        if not self.price_ref:
            raise ValidationError("a subscription needs a price", "price_id")


@dataclass(frozen=True, slots=True)
class CancelSubscriptionRequest:
    provider_ref: str
    idempotency_key: str

    def __post_init__(self) -> None:
        _key(self.idempotency_key)


class BillingProvider(Protocol):
    """One billing provider; `name` is what Customer.provider and Subscription.provider hold."""

    @property
    def name(self) -> str: ...

    async def create_customer(self, req: CreateCustomerRequest) -> CustomerAnswer: ...

    async def create_subscription(self, req: CreateSubscriptionRequest) -> SubscriptionState: ...

    async def cancel_subscription(self, req: CancelSubscriptionRequest) -> SubscriptionState:
        """Cancel at once. A subscription already canceled answers its (canceled) state."""
        ...

    async def fetch_subscription(self, provider_ref: str) -> SubscriptionState: ...
