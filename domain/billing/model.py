"""Customers and subscriptions at a billing provider (Stripe Billing), as paygate records them.

A Customer is the provider's record of one of our users as a payer (`cus_…`); a Subscription
charges that customer a price every period (`sub_…`). Both are recorded by us first, without the
provider's reference, and committed before the provider is asked (STYLE.md section 5): a crash
in between leaves a visible record whose idempotency key, derived from its uuid, lets the same
request be sent again without creating a second object at the provider.

A subscription's status is the provider's own word (Stripe's vocabulary). News about it comes
from the provider's answers and webhooks, possibly late and out of order, so applying a state
never moves it backwards:

    the subscription is canceled or incomplete_expired      nothing changes: both are terminal
    the news is older than the last state applied (as_of)   ignored: a newer state is known
    the news is about an earlier billing period             ignored, whatever its time says
    otherwise                                               applied, whatever the two statuses
                                                            (active -> past_due -> active is real)

`as_of` is the provider's clock: an event's `created`, or for a call's answer the object's own
creation (a subscription's answer on creation can't be newer than any event about it). Two
states with the same `as_of` and period are taken in the order they arrive.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from domain.errors import ConflictError, ValidationError
from domain.stored import stored
from domain.text import refuse_card_numbers

# The metadata key under which our create request names our subscription, so that a webhook
# about it is recognised even when the create call's answer was lost.
SUBSCRIPTION_KEY = "paygate_subscription"
MAX_METADATA_KEYS = 50 - 1  # Stripe's limits on metadata with our key, checked before anything is recorded
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    PAUSED = "paused"
    CANCELED = "canceled"


TERMINAL = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED})


def checked_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """The client's metadata, refused as the provider would refuse it (too many, too long)."""
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValidationError(f"at most {MAX_METADATA_KEYS} metadata keys", "metadata")
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or len(key) > MAX_METADATA_KEY:
            raise ValidationError(f"metadata keys are 1 to {MAX_METADATA_KEY} characters", "metadata")
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE:
            raise ValidationError(f"metadata values are strings of at most {MAX_METADATA_VALUE} characters",
                                  "metadata")
        if key == SUBSCRIPTION_KEY or "[" in key or "]" in key:
            raise ValidationError(f"metadata key {key!r} is not allowed", "metadata")
        refuse_card_numbers(key, value, field="metadata")
    return dict(metadata)


@dataclass(slots=True, kw_only=True)
class Customer:
    user_id: int                   # who owns it: only they subscribe it to anything
    provider: str
    email: str | None
    name: str | None
    created_at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    provider_ref: str | None = None  # None until the provider's answer is applied
    id: int | None = None
    uuid: UUID = field(default_factory=uuid4)

    @property
    def pk(self) -> int:
        """The id, once stored (domain.stored)."""
        return stored("customer id", self.id)

    @property
    def idempotency_key(self) -> str:
        return f"paygate-customer-{self.uuid}"

    def created(self, provider_ref: str) -> None:
        """The provider's answer: the customer exists there as `provider_ref`."""
        if self.provider_ref not in (None, provider_ref):
            raise ConflictError(f"customer {self.uuid} is {self.provider_ref} at {self.provider}, "
                                f"not {provider_ref}")
        self.provider_ref = provider_ref


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionState:
    """What the provider says about a subscription at one moment (an answer or an event)."""

    provider_ref: str
    customer_ref: str | None
    price_ref: str | None
    status: SubscriptionStatus
    as_of: datetime                    # the provider's clock; see the module docstring
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    latest_invoice: str | None = None
    canceled_at: datetime | None = None
    subscription_uuid: str | None = None  # ours, from the metadata our create request sent

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", SubscriptionStatus(self.status))


@dataclass(slots=True, kw_only=True)
class Subscription:
    user_id: int
    customer_id: int
    provider: str
    price_ref: str
    created_at: datetime
    updated_at: datetime
    status: SubscriptionStatus = SubscriptionStatus.INCOMPLETE
    metadata: dict[str, str] = field(default_factory=dict)
    provider_ref: str | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    latest_invoice: str | None = None
    canceled_at: datetime | None = None
    provider_state_at: datetime | None = None  # as_of of the last state applied
    id: int | None = None
    uuid: UUID = field(default_factory=uuid4)

    @property
    def pk(self) -> int:
        """The id, once stored (domain.stored)."""
        return stored("subscription id", self.id)

    def __post_init__(self) -> None:
        self.status = SubscriptionStatus(self.status)

    @property
    def create_key(self) -> str:
        return f"paygate-subscription-{self.uuid}"

    @property
    def cancel_key(self) -> str:
        return f"paygate-subscription-{self.uuid}-cancel"

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def sent(self) -> bool:
        """Known to the provider: its answer (or news naming our uuid) gave it a reference."""
        return self.provider_ref is not None

    def apply(self, state: SubscriptionState, now: datetime) -> str | None:
        """Apply the provider's state unless it would move backwards; see the module's table.
        Answers why nothing changed, or None once applied."""
        if self.provider_ref not in (None, state.provider_ref):
            raise ConflictError(f"subscription {self.uuid} is {self.provider_ref}, not {state.provider_ref}")
        self.provider_ref = state.provider_ref
        if self.terminal:
            return f"subscription {state.provider_ref} is {self.status.value}, which is final"
        if self.provider_state_at is not None and state.as_of < self.provider_state_at:
            return f"news as of {state.as_of.isoformat()} is older than the state applied"
        if (self.current_period_start is not None and state.current_period_start is not None
                and state.current_period_start < self.current_period_start):
            return "news about an earlier billing period"
        self.status = state.status
        self.price_ref = state.price_ref or self.price_ref
        self.current_period_start = state.current_period_start or self.current_period_start
        self.current_period_end = state.current_period_end or self.current_period_end
        self.latest_invoice = state.latest_invoice or self.latest_invoice
        self.canceled_at = state.canceled_at or self.canceled_at
        self.provider_state_at = max(state.as_of, self.provider_state_at or state.as_of)
        self.updated_at = now
        return None
