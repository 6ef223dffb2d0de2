"""Authentication failures are top-level GraphQL errors (CONTRACT.md), with the HTTP status set so
a client can tell 'log in' (401) from 'not for you' (403) without parsing messages."""
from __future__ import annotations

from graphql import GraphQLError

from domain.identity import Actor, Role


def require_actor(context, *roles: Role) -> Actor:
    actor = context.actor
    if actor is None:
        _set_status(context, 401)
        raise GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
    if roles and not actor.has(*roles):
        _set_status(context, 403)
        raise GraphQLError("your role may not do this", extensions={"code": "FORBIDDEN"})
    return actor


def _set_status(context, status: int) -> None:
    response = getattr(context, "response", None)
    if response is not None and hasattr(response, "status_code"):
        response.status_code = status
