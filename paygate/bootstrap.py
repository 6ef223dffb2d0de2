"""Build the services once (cosmicpython's bootstrap): the app factory and `paygate worker` call
`build_services`, and everything else receives what it builds."""
from __future__ import annotations

from db.engine import Database
from db.uow import SqlUnitOfWork
from domain.clock import Clock, utc_now
from domain.marketplace.connect import ConnectProvider
from domain.notifications import EmailSender
from domain.payments.provider import Providers
from domain.ports import EventPublisher
from domain.services import Services
from paygate.logs import request_id_var
from paygate.mailer import build_sender
from paygate.provider_metrics import instrumented
from paygate.providers import build_billing, build_connect, build_policy, build_providers
from paygate.settings import Settings
from paygate.webhook_metrics import MeasuredWebhookSender
from paygate.webhook_sender import HttpxWebhookSender


def build_services(settings: Settings, db: Database, events: EventPublisher | None = None, *,
                   providers: Providers | None = None, clock: Clock = utc_now,
                   mailer: EmailSender | None = None, connect: ConnectProvider | None = None) -> Services:
    """The services; `providers` replaces the registry the settings make (tests inject their own),
    `mailer` the SMTP sender PAYGATE_SMTP_URL makes, `connect` the sellers' accounts provider."""
    def new_uow() -> SqlUnitOfWork:
        # The request id comes from one place: the outermost middleware validated it (or made
        # one) and set it for this request's context; the worker has none.
        return SqlUnitOfWork(db, request_id_var.get(), events)

    # Every provider call counted and timed, the injected ones too.
    registry = instrumented(providers if providers is not None else build_providers(settings, db))
    return Services(uow=new_uow, providers=registry, policy=build_policy(settings),
                    events=events or _NoSubscribers(), billing=build_billing(settings), clock=clock,
                    webhook_sender=MeasuredWebhookSender(HttpxWebhookSender()),
                    mailer=mailer or build_sender(settings.smtp_url, settings.email_from),
                    connect=connect or build_connect(settings, db))


async def close_services(services: Services) -> None:
    """Close the HTTP clients of providers that hold one (Stripe's SDK keeps an httpx pool open)."""
    for client in (*services.providers.values(), services.billing, services.webhook_sender, services.connect):
        close = getattr(client, "close", None)
        if close is not None:
            await close()


class _NoSubscribers:
    """The worker's publisher: it has no subscribers of its own (each app process has its bus)."""

    async def publish(self, topic: str) -> None:
        return None
