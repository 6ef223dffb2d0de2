"""A billing provider's signed news about a subscription (Stripe's `customer.subscription.created`,
`.updated` and `.deleted`), acted on once, and never backwards.

The provider's adapter reads the event (providers/stripe/billing_webhooks.py) into
`SubscriptionNews`: the subscription's state as the event carries it, `as_of` the event's own
time. Every event goes through domain/payments/external.py's `act_once`: stored by its id, acted
on and marked in one transaction, so a redelivery (or twenty at once) changes the state once.

    event already processed or ignored     acknowledged again; nothing changes
    no subscription of ours                stored as ignored, with the reason (one made in the
                                           provider's dashboard is not ours to track)
    ours, by its reference or by the uuid  the state applied under the subscription's row lock,
    our create request put in metadata     unless it would move it backwards (model.py's table):
                                           then stored as ignored, with the reason
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.billing.model import Subscription, SubscriptionState
from domain.clock import Clock, utc_now
from domain.payments.external import EventReceipt, WebhookEvent, act_once
from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionNews:
    provider: str         # "stripe"
    event_id: str         # the provider's event id: the idempotency key
    event_type: str
    state: SubscriptionState

    def event(self, now: datetime) -> WebhookEvent:
        return WebhookEvent(provider=self.provider, event_id=self.event_id, event_type=self.event_type,
                            object_ref=self.state.provider_ref, received_at=now)


async def record_subscription_news(news: SubscriptionNews, uow: UnitOfWork,
                                   clock: Clock = utc_now) -> EventReceipt:
    """Act on the news once; see the module's table. (The receipt's `payment` is None: the news
    is about a subscription, read back by its reference.)"""
    now = clock()

    async def act() -> tuple[None, str | None]:
        subscription = await _ours(news, uow)
        if subscription is None:
            return None, f"no {news.provider} subscription of ours is {news.state.provider_ref}"
        ignored_because = subscription.apply(news.state, now)
        await uow.subscriptions.save(subscription)  # the reference, at least, may be new
        return None, ignored_because

    async def already() -> None:
        return None

    return await act_once(news.event(now), uow, now, act=act, on_duplicate=already)


async def _ours(news: SubscriptionNews, uow: UnitOfWork) -> Subscription | None:
    """By the provider's reference; or, when the answer to our create call was lost (or hasn't
    been applied yet), by the uuid our request put in the subscription's metadata."""
    found = await uow.subscriptions.get_by_ref(news.provider, news.state.provider_ref, for_update=True)
    if found is not None or not news.state.subscription_uuid:
        return found
    try:
        uuid = UUID(news.state.subscription_uuid)
    except ValueError:
        return None
    found = await uow.subscriptions.get_by_uuid(uuid, for_update=True)
    if found is None or found.provider != news.provider or found.provider_ref is not None:
        return None  # another subscription's uuid: someone copied our metadata
    return found
