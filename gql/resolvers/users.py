"""The caller and other users, as far as the caller may see them."""
from __future__ import annotations

from db import queries
from domain.users import User
from gql.resolvers.auth import require_actor


async def me(context) -> User | None:
    """One primary-key read on a pooled connection: `me` is the smallest authenticated query, and
    a loader batch and an ORM session were most of its cost."""
    actor = require_actor(context)
    return await queries.user_by_id(context.db, actor.user_id)


async def user(context, user_id: int) -> User | None:
    """Another user's full record is for themselves and staff only; others get None (not found)."""
    actor = context.actor
    if actor is None or (actor.user_id != user_id and not actor.is_staff):
        return None
    return await context.loaders.users.load(user_id)


async def seller_name(context, seller_id: int) -> str | None:
    seller = await context.loaders.users.load(seller_id)
    return seller.name if seller else None
