"""Merchants' webhooks in GraphQL (admins only): endpoints, their deliveries with the delivery
log, and the mutations webhookEndpointCreate, webhookEndpointUpdate, webhookEndpointDisable,
webhookEndpointEnable, webhookEndpointRotateSecret, webhookEndpointDelete, webhookDeliveryRetry.

Lists answer FORBIDDEN to anyone but an admin; mutations answer NotAllowed in their union; `node`
answers null. Deliveries are signed by the Standard Webhooks specification (README, "Webhooks
for merchants").
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry

from domain.errors import NotFoundError, PaymentsError
from domain.outgoing_webhooks.delivery import Delivery as DomainDelivery
from domain.outgoing_webhooks.delivery import DeliveryStatus
from domain.outgoing_webhooks.endpoints import Endpoint as DomainEndpoint
from domain.outgoing_webhooks.events import EVENT_TYPES
from gql.resolvers import outgoing_webhooks as resolvers
from gql.resolvers.outgoing_webhooks import DeliveryView
from gql.schema.errors import expected_error, result
from gql.schema.relay import Connection, Node, connection, global_id_of, page_request, to_global_id

if TYPE_CHECKING:
    DeliveryStatusEnum = DeliveryStatus
else:
    DeliveryStatusEnum = strawberry.enum(
        Enum("WebhookDeliveryStatus", {m.name: m.value for m in DeliveryStatus}),
        description="PENDING: to be sent or retried; SUCCEEDED: the endpoint answered 2xx; FAILED: every "
                    "retry failed (webhookDeliveryRetry sends it again).")


@strawberry.type(description="Where paygate sends events, signed by the Standard Webhooks specification.")
class WebhookEndpoint(Node):
    legacy_id: int
    uuid: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = strawberry.field(
        description="Why it is disabled: by an admin, or every attempt failed for the whole retry schedule.")
    secret: str = strawberry.field(description="whsec_…: what receivers verify `webhook-signature` with.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="After a rotation, deliveries are signed with the previous secret too until then.")
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, e: DomainEndpoint) -> WebhookEndpoint:
        return cls(id=strawberry.ID(to_global_id("WebhookEndpoint", e.pk)), legacy_id=e.pk, uuid=str(e.uuid),
                   url=e.url, description=e.description, event_types=list(e.event_types), enabled=e.enabled,
                   disabled_reason=e.disabled_reason, secret=e.secret,
                   previous_secret_expires_at=e.previous_secret_expires_at if e.previous_secret else None,
                   last_success_at=e.last_success_at, created_at=e.created_at, updated_at=e.updated_at)


@strawberry.type(description="One attempt to deliver: the delivery log.")
class WebhookDeliveryAttempt:
    attempted_at: datetime
    status_code: int | None = strawberry.field(description="The endpoint's HTTP status; null when it never answered.")
    error: str | None
    duration_ms: int


@strawberry.type(description="One event for one endpoint, with every attempt made to deliver it.")
class WebhookDelivery(Node):
    legacy_id: int
    endpoint_id: strawberry.ID
    event_id: str = strawberry.field(description="The `webhook-id` header: the same on every retry.")
    event_type: str
    object_type: str
    object_id: int
    payload: str = strawberry.field(description="The JSON body sent, exactly as signed.")
    status: DeliveryStatusEnum
    attempt_count: int = strawberry.field(description="Attempts in the current schedule (a retry starts one).")
    next_attempt_at: datetime | None
    last_status_code: int | None
    created_at: datetime
    attempts: list[WebhookDeliveryAttempt]

    @classmethod
    def from_view(cls, v: DeliveryView) -> WebhookDelivery:
        d = v.delivery
        return cls(id=strawberry.ID(to_global_id("WebhookDelivery", d.id or 0)), legacy_id=d.id or 0,
                   endpoint_id=strawberry.ID(to_global_id("WebhookEndpoint", d.endpoint_id)), event_id=v.msg_id,
                   event_type=v.event_type, object_type=v.object_type, object_id=v.object_id, payload=v.body,
                   status=DeliveryStatusEnum(d.status.value), attempt_count=d.attempts,
                   next_attempt_at=d.next_attempt_at if d.status is DeliveryStatus.PENDING else None,
                   last_status_code=d.last_status_code, created_at=d.created_at,
                   attempts=[WebhookDeliveryAttempt(attempted_at=a.attempted_at, status_code=a.status_code,
                                                    error=a.error, duration_ms=a.duration_ms) for a in v.attempts])


@strawberry.input
class WebhookEndpointCreateInput:
    url: str = strawberry.field(description="http:// or https://; redirects are never followed.")
    event_types: list[str] = strawberry.field(description="Any of `webhookEventTypes`.")
    description: str | None = None


@strawberry.input
class WebhookEndpointUpdateInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None


@strawberry.input
class WebhookEndpointInput:
    id: strawberry.ID


@strawberry.input
class WebhookDeliveryRetryInput:
    id: strawberry.ID


WebhookEndpointResult = result("WebhookEndpointResult", WebhookEndpoint)
WebhookDeliveryRetryResult = result("WebhookDeliveryRetryResult", WebhookDelivery)


def _id(kind: str, global_id: strawberry.ID) -> int:
    legacy_id = global_id_of(kind, global_id)
    if legacy_id is None:
        raise NotFoundError(kind, global_id)
    return legacy_id


async def _endpoint(call) -> WebhookEndpointResult:
    try:
        return WebhookEndpoint.from_domain(await call())
    except PaymentsError as exc:
        return expected_error(exc)


async def webhook_endpoint_create(info: strawberry.Info, input: WebhookEndpointCreateInput) -> WebhookEndpointResult:
    """Register an endpoint; its secret is in the answer."""
    return await _endpoint(lambda: resolvers.endpoint_create(info.context, input.url, input.event_types,
                                                             input.description))


async def webhook_endpoint_update(info: strawberry.Info, input: WebhookEndpointUpdateInput) -> WebhookEndpointResult:
    """Change an endpoint's URL, event types or description (what is left out stays)."""
    return await _endpoint(lambda: resolvers.endpoint_update(info.context, _id("WebhookEndpoint", input.id),
                                                             input.url, input.event_types, input.description))


async def webhook_endpoint_disable(info: strawberry.Info, input: WebhookEndpointInput) -> WebhookEndpointResult:
    """Stop sending to an endpoint; its pending deliveries wait."""
    return await _endpoint(lambda: resolvers.endpoint_set_enabled(info.context, _id("WebhookEndpoint", input.id),
                                                                  False))


async def webhook_endpoint_enable(info: strawberry.Info, input: WebhookEndpointInput) -> WebhookEndpointResult:
    """Send to an endpoint again, starting with the deliveries that waited."""
    return await _endpoint(lambda: resolvers.endpoint_set_enabled(info.context, _id("WebhookEndpoint", input.id),
                                                                  True))


async def webhook_endpoint_rotate_secret(info: strawberry.Info, input: WebhookEndpointInput
                                         ) -> WebhookEndpointResult:
    """A new secret; the old one keeps signing beside it for 24 hours."""
    return await _endpoint(lambda: resolvers.endpoint_rotate_secret(info.context,
                                                                    _id("WebhookEndpoint", input.id)))


async def webhook_endpoint_delete(info: strawberry.Info, input: WebhookEndpointInput) -> WebhookEndpointResult:
    """Remove an endpoint with its deliveries; answers it as it was."""
    return await _endpoint(lambda: resolvers.endpoint_delete(info.context, _id("WebhookEndpoint", input.id)))


async def webhook_delivery_retry(info: strawberry.Info, input: WebhookDeliveryRetryInput
                                 ) -> WebhookDeliveryRetryResult:
    """Send a delivery again now, with the same webhook-id, and a fresh retry schedule (once its
    endpoint is enabled, if it is disabled)."""
    try:
        retried: DomainDelivery = await resolvers.delivery_retry(info.context, _id("WebhookDelivery", input.id))
        view = await resolvers.delivery(info.context, retried.id or 0)
        if view is None:
            raise NotFoundError("webhook delivery", input.id)
    except PaymentsError as exc:
        return expected_error(exc)
    return WebhookDelivery.from_view(view)


async def resolve_webhook_endpoints(info: strawberry.Info, first: int | None = None, after: str | None = None
                                    ) -> Connection[WebhookEndpoint]:
    req = page_request(first, after)
    rows, total = await resolvers.endpoints_page(info.context, before_id=req.after_id, limit=req.limit)
    return connection([WebhookEndpoint.from_domain(e) for e in rows], [e.pk for e in rows], req, total)


async def resolve_webhook_deliveries(info: strawberry.Info, first: int | None = None, after: str | None = None,
                                     endpoint_id: strawberry.ID | None = None,
                                     status: list[DeliveryStatusEnum] | None = None) -> Connection[WebhookDelivery]:
    req = page_request(first, after)
    endpoint = global_id_of("WebhookEndpoint", endpoint_id) if endpoint_id is not None else None
    if endpoint_id is not None and endpoint is None:
        endpoint = 0  # names no endpoint: an empty page (after the admin check below)
    rows, total = await resolvers.deliveries_page(info.context, endpoint,
                                                  tuple(DeliveryStatus(s.value) for s in status or ()),
                                                  before_id=req.after_id, limit=req.limit)
    return connection([WebhookDelivery.from_view(v) for v in rows], [v.delivery.id or 0 for v in rows], req, total)


def resolve_webhook_event_types() -> list[str]:
    return sorted(EVENT_TYPES)


async def endpoint_node(context, legacy_id: int) -> WebhookEndpoint | None:
    found = await resolvers.endpoint(context, legacy_id)
    return WebhookEndpoint.from_domain(found) if found else None


async def delivery_node(context, legacy_id: int) -> WebhookDelivery | None:
    found = await resolvers.delivery(context, legacy_id)
    return WebhookDelivery.from_view(found) if found else None
