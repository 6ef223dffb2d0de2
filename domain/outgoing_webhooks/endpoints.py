"""Merchants' webhook endpoints: what an admin registers, and the admin's use cases.

An endpoint is a URL, the event types it wants, and its `whsec_` secret (Standard Webhooks: 24
random bytes, base64). Rotating the secret keeps the old one signing beside the new for
ROTATION_OVERLAP, so a receiver can switch at its own pace: each delivery meanwhile carries one
signature per secret in `webhook-signature`, and either verifies.

Only admins manage endpoints: an endpoint decides where the business's events go, and its secret
is what receivers trust. Anyone else is refused (NotAllowed) before anything is looked up.

URLs: http or https only, with a host, no user:password (it would be logged), no fragment.
Private and loopback addresses are allowed: receivers often live inside the operator's network,
and only admins register endpoints. An operator who must keep deliveries off internal addresses
does it at the network's edge (an egress proxy or firewall for the worker), where DNS rebinding
can't get around it.
"""
from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from domain.clock import Clock, utc_now
from domain.errors import NotAllowedError, NotFoundError, ValidationError
from domain.identity import Actor
from domain.outgoing_webhooks.events import EVENT_TYPES
from domain.ports import UnitOfWork
from domain.stored import stored
from domain.text import optional_text, refuse_card_numbers

ROTATION_OVERLAP = timedelta(hours=24)  # Svix's: the old secret keeps signing for a day
MAX_URL = 2048
MAX_DESCRIPTION = 256
SECRET_BYTES = 24


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@dataclass(slots=True)
class Endpoint:
    id: int | None
    uuid: uuid.UUID
    url: str
    description: str | None
    event_types: tuple[str, ...]
    secret: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    disabled_reason: str | None = None
    last_success_at: datetime | None = None

    @property
    def pk(self) -> int:
        return stored("webhook endpoint id", self.id)

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets a delivery is signed with now: the current one, and the previous one
        while its overlap lasts."""
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def audit_view(self) -> dict[str, object]:
        """What the audit trail keeps: never the secrets."""
        return {"url": self.url, "event_types": list(self.event_types), "enabled": self.enabled,
                "description": self.description}


def checked_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("url is required", "url")
    url = value.strip()
    if len(url) > MAX_URL:
        raise ValidationError(f"url must be at most {MAX_URL} characters", "url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError as exc:
        raise ValidationError(f"url is not a valid URL: {exc}", "url") from exc
    if parts.scheme not in ("http", "https"):
        raise ValidationError("url must be http:// or https://", "url")
    if not parts.hostname:
        raise ValidationError("url must name a host", "url")
    if parts.username or parts.password:
        raise ValidationError("url must not carry a user or password", "url")
    if parts.fragment:
        raise ValidationError("url must not have a #fragment", "url")
    refuse_card_numbers(url, field="url")  # it is kept, shown and logged
    return url


def checked_event_types(values: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(sorted(set(values)))
    if not chosen:
        raise ValidationError("choose at least one event type", "eventTypes")
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise ValidationError(f"unknown event types: {', '.join(unknown)}", "eventTypes")
    return chosen


def admins_only(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowedError("only admins manage webhook endpoints")


@dataclass(frozen=True, slots=True)
class CreateEndpoint:
    actor: Actor
    url: str
    event_types: tuple[str, ...]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeEndpoint:
    """Change what is given (None leaves it as it is)."""
    actor: Actor
    endpoint_id: int
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None


async def create_endpoint(cmd: CreateEndpoint, uow: UnitOfWork, clock: Clock = utc_now) -> Endpoint:
    admins_only(cmd.actor)
    now = clock()
    endpoint = Endpoint(id=None, uuid=uuid.uuid4(), url=checked_url(cmd.url),
                        description=optional_text(cmd.description, "description", max_length=MAX_DESCRIPTION),
                        event_types=checked_event_types(cmd.event_types), secret=new_secret(), enabled=True,
                        created_at=now, updated_at=now)
    async with uow:
        endpoint = await uow.webhook_endpoints.add(endpoint)
        await uow.audit.record(cmd.actor, "webhook_endpoint.create", "webhook_endpoint", endpoint.pk, None,
                               endpoint.audit_view(), now)
        await uow.commit()
    return endpoint


async def _change(actor: Actor, endpoint_id: int, action: str, uow: UnitOfWork, now: datetime,
                  apply: Callable[[Endpoint], None]) -> Endpoint:
    admins_only(actor)
    async with uow:
        endpoint = await uow.webhook_endpoints.get(endpoint_id, for_update=True)
        if endpoint is None:
            raise NotFoundError("webhook endpoint", endpoint_id)
        before = endpoint.audit_view()
        apply(endpoint)
        endpoint.updated_at = now
        await uow.webhook_endpoints.save(endpoint)
        await uow.audit.record(actor, action, "webhook_endpoint", endpoint.pk, before, endpoint.audit_view(), now)
        await uow.commit()
    return endpoint


async def change_endpoint(cmd: ChangeEndpoint, uow: UnitOfWork, clock: Clock = utc_now) -> Endpoint:
    admins_only(cmd.actor)
    url = checked_url(cmd.url) if cmd.url is not None else None
    types = checked_event_types(cmd.event_types) if cmd.event_types is not None else None
    description = optional_text(cmd.description, "description", max_length=MAX_DESCRIPTION)

    def apply(e: Endpoint) -> None:
        e.url = url or e.url
        e.event_types = types or e.event_types
        if cmd.description is not None:
            e.description = description
    return await _change(cmd.actor, cmd.endpoint_id, "webhook_endpoint.update", uow, clock(), apply)


async def set_endpoint_enabled(actor: Actor, endpoint_id: int, enabled: bool, uow: UnitOfWork,
                               clock: Clock = utc_now) -> Endpoint:
    """Disable: nothing is sent to it (deliveries wait). Enable: what waited goes out again."""
    def apply(e: Endpoint) -> None:
        e.enabled = enabled
        e.disabled_reason = None if enabled else "disabled by an admin"
    return await _change(actor, endpoint_id, "webhook_endpoint.enable" if enabled else "webhook_endpoint.disable",
                         uow, clock(), apply)


async def rotate_endpoint_secret(actor: Actor, endpoint_id: int, uow: UnitOfWork,
                                 clock: Clock = utc_now) -> Endpoint:
    now = clock()

    def apply(e: Endpoint) -> None:
        e.previous_secret, e.previous_secret_expires_at = e.secret, now + ROTATION_OVERLAP
        e.secret = new_secret()
    return await _change(actor, endpoint_id, "webhook_endpoint.rotate_secret", uow, now, apply)


async def delete_endpoint(actor: Actor, endpoint_id: int, uow: UnitOfWork, clock: Clock = utc_now) -> Endpoint:
    """Remove the endpoint with its deliveries and their log; answer it as it was."""
    admins_only(actor)
    async with uow:
        endpoint = await uow.webhook_endpoints.get(endpoint_id, for_update=True)
        if endpoint is None:
            raise NotFoundError("webhook endpoint", endpoint_id)
        await uow.webhook_endpoints.delete(endpoint.pk)
        await uow.audit.record(actor, "webhook_endpoint.delete", "webhook_endpoint", endpoint.pk,
                               endpoint.audit_view(), None, clock())
        await uow.commit()
    return endpoint
