"""The GraphQL schema: `build_schema(production=...)`; the exported SDL is schema.graphql."""
from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig

from gql.schema import limits
from gql.schema.errors import ERROR_TYPES
from gql.schema.root import Mutation, Query
from gql.schema.scalars import SCALARS
from gql.schema.subscriptions import Subscription

log = logging.getLogger("paygate.graphql")


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        for error in errors:
            if limits.is_unexpected(error):
                log.error("resolver failed: %s", error.message, exc_info=error.original_error,
                          extra={"path": error.path})
                _mark_failed(execution_context)
            else:
                log.info("request refused: %s", error.message)


def _mark_failed(execution_context) -> None:
    """Tell the HTTP layers that this answer carries an internal error, as a 5xx would: its
    Idempotency-Key is released, not stored, so a retry runs again (and resumes what it began)."""
    request = getattr(getattr(execution_context, "context", None), "request", None)
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        scope.setdefault("state", {})["internal_error"] = True


def build_schema(*, production: bool = False) -> Schema:
    return Schema(query=Query, mutation=Mutation, subscription=Subscription, types=list(ERROR_TYPES),
                  extensions=limits.extensions(production=production),
                  config=StrawberryConfig(scalar_map=SCALARS))


def sdl() -> str:
    return build_schema().as_str() + "\n"
