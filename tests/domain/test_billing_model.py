"""A subscription's state from the provider: applied once it is news, never backwards."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.billing.model import (
    TERMINAL,
    Subscription,
    SubscriptionState,
    SubscriptionStatus,
    checked_metadata,
)
from domain.errors import ConflictError, ValidationError

S = SubscriptionStatus
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MONTH = timedelta(days=30)


def subscription(status: S = S.ACTIVE, state_at: datetime | None = T0, period_start: datetime | None = T0
                 ) -> Subscription:
    return Subscription(user_id=1, customer_id=1, provider="stripe", price_ref="price_1", created_at=T0,
                        updated_at=T0, status=status, provider_ref="sub_1", provider_state_at=state_at,
                        current_period_start=period_start, current_period_end=period_start + MONTH
                        if period_start else None)


def state(status: S, as_of: datetime, period_start: datetime = T0, **extra) -> SubscriptionState:
    return SubscriptionState(provider_ref="sub_1", customer_ref="cus_1", price_ref="price_1", status=status,
                             as_of=as_of, current_period_start=period_start,
                             current_period_end=period_start + MONTH, **extra)


@pytest.mark.parametrize(("now", "news", "applied"), [
    # every status moves to any other when the news is newer: Stripe's own moves go both ways
    (S.INCOMPLETE, S.ACTIVE, True),
    (S.ACTIVE, S.PAST_DUE, True),
    (S.PAST_DUE, S.ACTIVE, True),
    (S.PAST_DUE, S.UNPAID, True),
    (S.TRIALING, S.ACTIVE, True),
    (S.ACTIVE, S.PAUSED, True),
    (S.PAUSED, S.ACTIVE, True),
    (S.ACTIVE, S.CANCELED, True),
    (S.INCOMPLETE, S.INCOMPLETE_EXPIRED, True),
    # the two final statuses keep whatever newer news says
    (S.CANCELED, S.ACTIVE, False),
    (S.CANCELED, S.PAST_DUE, False),
    (S.INCOMPLETE_EXPIRED, S.ACTIVE, False),
    (S.INCOMPLETE_EXPIRED, S.CANCELED, False),
    (S.CANCELED, S.CANCELED, False),
])
def test_newer_news_moves_any_status_except_out_of_a_final_one(now, news, applied):
    sub = subscription(now)

    why = sub.apply(state(news, T0 + timedelta(seconds=5)), T0 + timedelta(seconds=6))

    assert (why is None) is applied
    assert sub.status is (news if applied else now)


@pytest.mark.parametrize("news", [s for s in S])
def test_older_news_than_the_state_applied_moves_nothing(news):
    sub = subscription(S.ACTIVE, state_at=T0 + timedelta(minutes=1))

    why = sub.apply(state(news, T0), T0 + timedelta(minutes=2))

    assert why is not None and "older" in why
    assert sub.status is S.ACTIVE and sub.provider_state_at == T0 + timedelta(minutes=1)


def test_news_about_an_earlier_billing_period_moves_nothing_whatever_its_time():
    sub = subscription(S.ACTIVE, period_start=T0 + MONTH)

    why = sub.apply(state(S.PAST_DUE, T0 + MONTH + timedelta(days=1), period_start=T0), T0 + MONTH * 2)

    assert why == "news about an earlier billing period"
    assert sub.status is S.ACTIVE and sub.current_period_start == T0 + MONTH


def test_news_of_the_same_second_is_applied_in_the_order_it_arrives():
    sub = subscription(S.INCOMPLETE)

    first = sub.apply(state(S.ACTIVE, T0), T0)
    second = sub.apply(state(S.PAST_DUE, T0), T0)

    assert (first, second) == (None, None) and sub.status is S.PAST_DUE


def test_applied_news_brings_the_period_invoice_and_cancellation_and_keeps_what_it_lacks():
    sub = subscription(S.ACTIVE)
    sub.latest_invoice = "in_1"

    sub.apply(state(S.CANCELED, T0 + timedelta(days=2), canceled_at=T0 + timedelta(days=2)), T0 + timedelta(days=2))

    assert sub.status is S.CANCELED and sub.canceled_at == T0 + timedelta(days=2)
    assert sub.latest_invoice == "in_1" and sub.provider_state_at == T0 + timedelta(days=2)


def test_the_first_state_gives_an_unconfirmed_subscription_its_reference():
    sub = Subscription(user_id=1, customer_id=1, provider="stripe", price_ref="price_1", created_at=T0,
                       updated_at=T0)

    assert not sub.sent and sub.status is S.INCOMPLETE
    assert sub.apply(state(S.ACTIVE, T0), T0) is None

    assert sub.sent and sub.provider_ref == "sub_1" and sub.status is S.ACTIVE


def test_news_about_another_subscription_is_a_conflict():
    sub = subscription()

    with pytest.raises(ConflictError):
        sub.apply(SubscriptionState(provider_ref="sub_2", customer_ref=None, price_ref=None, status=S.ACTIVE,
                                    as_of=T0), T0)


def test_idempotency_keys_come_from_our_own_uuid_and_differ_per_action():
    sub = subscription()

    assert sub.create_key == f"paygate-subscription-{sub.uuid}"
    assert sub.cancel_key != sub.create_key and str(sub.uuid) in sub.cancel_key


def test_the_final_statuses_are_canceled_and_incomplete_expired():
    assert TERMINAL == {S.CANCELED, S.INCOMPLETE_EXPIRED}


@pytest.mark.parametrize("metadata", [
    {f"k{i}": "v" for i in range(51)},
    {"k" * 41: "v"},
    {"": "v"},
    {"plan": "v" * 501},
])
def test_metadata_beyond_stripes_limits_is_refused(metadata):
    with pytest.raises(ValidationError) as refused:
        checked_metadata(metadata)

    assert refused.value.field == "metadata"
