"""The GraphQL schema: `build_schema(production=...)`; the exported SDL is schema.graphql."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types.graphql import OperationType

from gql import execution
from gql.schema import limits
from gql.schema.errors import ERROR_TYPES
from gql.schema.root import Mutation, Query
from gql.schema.scalars import SCALARS
from gql.schema.subscriptions import Subscription

log = logging.getLogger("paygate.graphql")


class Schema(strawberry.Schema):
    async def execute(self, query, variable_values=None, context_value=None, root_value=None,
                      operation_name=None, allowed_operation_types=None, operation_extensions=None):
        # `execute` answers one HTTP request; a subscription run there resolves its generator as a
        # value and fails as an internal error. Subscriptions are served over WebSocket
        # (`subscribe`): refused here, the view answers 400.
        allowed = set(allowed_operation_types or OperationType) - {OperationType.SUBSCRIPTION}
        return await super().execute(query, variable_values, context_value, root_value, operation_name,
                                     allowed, operation_extensions)

    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        # Verify mode's second run of a request answered directly (paygate/graphql_mutations.py)
        # is the check's: its errors were logged, and their request marked, by the first.
        verifying = execution.VERIFYING.get()
        for error in errors:
            if self.config.disable_field_suggestions:
                limits.hide_suggestions(error)
            if verifying:
                continue
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


def build_schema(*, production: bool = False, observers: Sequence[Any] = (), plans: str | None = None) -> Schema:
    """`observers`: schema extensions the composition root adds (metrics, traces), run first.
    `plans`: how queries execute (gql/execution): "on" (compiled plans, graphql-core for the
    rest), "off" (graphql-core only) or "verify" (both, compared); default `execution.default_mode()`."""
    return Schema(query=Query, mutation=Mutation, subscription=Subscription, types=list(ERROR_TYPES),
                  extensions=[*observers, *limits.extensions(production=production)],
                  config=StrawberryConfig(scalar_map=SCALARS, disable_field_suggestions=production),
                  execution_context_class=execution.plan_execution_context(plans or execution.default_mode()))


def sdl() -> str:
    return build_schema().as_str() + "\n"
