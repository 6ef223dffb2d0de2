"""The services every use case may need, built once by the app factory (paygate/bootstrap.py) and
shared by GraphQL, REST and the worker.

Use cases still take the parts they name (`uow`, `providers`, `policy`, `clock`), as
cosmicpython's handlers do; the surfaces hold this one object and hand them out, so nothing is
rebuilt per request and no surface can be wired differently from another.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.clock import Clock, utc_now
from domain.payments.consequences import Policy
from domain.payments.provider import Providers
from domain.ports import EventPublisher, UnitOfWork, WebhookSender

if TYPE_CHECKING:
    from domain.billing.provider import BillingProvider
    from domain.marketplace.connect import ConnectProvider
    from domain.notifications import EmailSender


@dataclass(frozen=True, slots=True)
class Services:
    uow: Callable[[], UnitOfWork]  # a new unit of work: one per use case (they aren't shared)
    providers: Providers           # what this deployment offers, and nothing else
    policy: Policy                 # fees, hold period, reservation time
    events: EventPublisher         # live subscribers (GraphQL subscriptions)
    billing: BillingProvider | None = None  # customers and subscriptions; None when no provider offers them
    clock: Clock = utc_now
    webhook_sender: WebhookSender | None = None  # merchants' webhooks (domain/outgoing_webhooks); None sends none
    mailer: EmailSender | None = None  # SMTP; None keeps emails in the outbox (PAYGATE_SMTP_URL unset)
    connect: ConnectProvider | None = None  # sellers' accounts, transfers, payouts (Stripe Connect or the dummy)
