"""Merchants' webhook endpoints and deliveries: thin calls into domain/outgoing_webhooks' use
cases (which refuse anyone but an admin), and db/'s read queries, which only admins may list."""
from __future__ import annotations

from db import outgoing_webhook_queries as queries
from db.outgoing_webhook_queries import DeliveryView
from domain.identity import Role
from domain.outgoing_webhooks.delivery import Delivery, DeliveryStatus, redeliver
from domain.outgoing_webhooks.endpoints import (
    ChangeEndpoint,
    CreateEndpoint,
    Endpoint,
    change_endpoint,
    create_endpoint,
    delete_endpoint,
    rotate_endpoint_secret,
    set_endpoint_enabled,
)
from gql.resolvers.auth import require_actor


def _clock(context):
    return context.services.clock


async def endpoint_create(context, url: str, event_types: list[str], description: str | None) -> Endpoint:
    actor = require_actor(context)
    return await create_endpoint(CreateEndpoint(actor, url, tuple(event_types), description), context.new_uow(),
                                 _clock(context))


async def endpoint_update(context, endpoint_id: int, url: str | None, event_types: list[str] | None,
                          description: str | None) -> Endpoint:
    actor = require_actor(context)
    cmd = ChangeEndpoint(actor, endpoint_id, url, tuple(event_types) if event_types is not None else None,
                         description)
    return await change_endpoint(cmd, context.new_uow(), _clock(context))


async def endpoint_set_enabled(context, endpoint_id: int, enabled: bool) -> Endpoint:
    return await set_endpoint_enabled(require_actor(context), endpoint_id, enabled, context.new_uow(),
                                      _clock(context))


async def endpoint_rotate_secret(context, endpoint_id: int) -> Endpoint:
    return await rotate_endpoint_secret(require_actor(context), endpoint_id, context.new_uow(), _clock(context))


async def endpoint_delete(context, endpoint_id: int) -> Endpoint:
    return await delete_endpoint(require_actor(context), endpoint_id, context.new_uow(), _clock(context))


async def delivery_retry(context, delivery_id: int) -> Delivery:
    return await redeliver(require_actor(context), delivery_id, context.new_uow(), _clock(context)())


async def endpoints_page(context, *, before_id: int | None, limit: int) -> tuple[list[Endpoint], int]:
    require_actor(context, Role.ADMIN)
    return await queries.endpoints_page(context.db, before_id=before_id, limit=limit)


async def deliveries_page(context, endpoint_id: int | None, statuses: tuple[DeliveryStatus, ...], *,
                          before_id: int | None, limit: int) -> tuple[list[DeliveryView], int]:
    require_actor(context, Role.ADMIN)
    return await queries.deliveries_page(context.db, endpoint_id, statuses, before_id=before_id, limit=limit)


def _admin(context) -> bool:
    return context.actor is not None and context.actor.is_admin


async def endpoint(context, endpoint_id: int) -> Endpoint | None:
    """An endpoint, for an admin; None for anyone else, exactly as for a missing one."""
    return await queries.endpoint(context.db, endpoint_id) if _admin(context) else None


async def delivery(context, delivery_id: int) -> DeliveryView | None:
    return await queries.delivery(context.db, delivery_id) if _admin(context) else None
