"""POST /graphql for a mutation Strawberry has accepted before: graphql-core runs it without
Strawberry's view.

A mutation costs Strawberry's view what a small query does (a request adapter, the body parsed
again, six schema extensions built and entered, the parse and validation caches looked up) on top
of graphql-core's execution; none of it can change the answer once Strawberry has parsed the
document (under the token limit) and validated it (depth, aliases, storable strings, no
introspection in production): validation reads the document alone, so the same text is valid for
every later request (gql/execution/documents.py). The schema's execution context remembers such
documents when it is built for one of their mutations (gql/execution/context.py).

A mutation can't be run twice, so unlike the queries' direct path (paygate/graphql_direct.py)
this one decides before anything runs and never gives a request back: it answers when the body is
plain JSON of one operation (`DirectQueries.read`, the same conditions) whose known document's
selected operation is a mutation, and otherwise leaves the request to Strawberry. Once it has
decided it does what Strawberry's view and the schema's extensions would do with the request:
- graphql-core's `execute` with the same arguments Strawberry passes (the view's root value and
  Context, an empty middleware manager, the schema's execution context class, the variables,
  operation name and `extensions` as sent): variables that don't coerce answer its errors;
- errors through the schema's `process_errors` (suggestions hidden in production, unexpected ones
  logged and marking the request failed for paygate/idempotency.py), then masked as MaskErrors
  masks them, the same instance the schema builds;
- GraphQLMetrics' observation (an answer carrying errors counts as Strawberry's extension counts
  it: "invalid", unnamed);
- the view's `process_result` and `create_response`: the same JSON, status and headers.
It exists only when the schema's extensions are ones whose work is known here (`available`):
another extension (traces, paygate/tracing.py) sends every request through Strawberry.

Verify mode (`plan_execution_context("verify")`, what the test suite runs) checks every answer
given here against Strawberry's: the request is run again through the view with graphql-core's
raw result of the mutation handed to its executor (gql/execution REPLAYED: nothing runs twice),
and the two responses must be the same status, headers and bytes; a difference is kept in
gql/execution MISMATCHES, which fails the test (tests/conftest.py).
"""
from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from graphql import ExecutionResult as CoreResult
from graphql import GraphQLError, OperationDefinitionNode, OperationType, execute
from graphql.execution import MiddlewareManager
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.types.execution import ExecutionResult

from gql.execution import MISMATCHES, REPLAYED, VERIFYING
from paygate.graphql_direct import GraphQLPost
from paygate.graphql_metrics import GraphQLMetrics, observe_operation

# Verify mode: the sub-response the direct run's resolvers wrote to (a status, headers), for
# Strawberry's run of the same request to answer from (GraphQLView.get_sub_response).
SUB_RESPONSE: ContextVar[Response | None] = ContextVar("paygate_mutation_sub_response", default=None)

# Extensions whose whole work is parsing and validating the document (done before a document is
# known), and the two whose work on an execution this module does itself.
_BEFORE_EXECUTION = (MaxTokensLimiter, ParserCache, AddValidationRules, ValidationCache)
_REDONE_HERE = (MaskErrors, GraphQLMetrics)


class _Execution:
    """What Schema.process_errors reads of Strawberry's execution context: the resolvers' Context."""

    def __init__(self, context: Any) -> None:
        self.context = context


class DirectMutations:
    def __init__(self, view: Any, mask: MaskErrors) -> None:
        self.view = view
        schema = view.schema
        self.schema = schema
        self.graphql_schema = schema._schema
        self.executor_class = schema.execution_context_class
        self.documents = self.executor_class.mutations
        self.verify = self.executor_class.verify
        self.mask = mask
        self.answered = 0  # requests answered here (tests)

    @classmethod
    def for_view(cls, view: Any) -> DirectMutations | None:
        """The direct path of this view's schema, or None when the schema's extensions do
        something this module doesn't (or its execution context keeps no documents)."""
        schema = view.schema
        if getattr(schema.execution_context_class, "mutations", None) is None:
            return None
        extensions = schema.get_extensions()
        if any(not isinstance(ext, _BEFORE_EXECUTION + _REDONE_HERE) or ext._implements_resolve()
               for ext in extensions):
            return None
        masks = [ext for ext in extensions if isinstance(ext, MaskErrors)]
        return cls(view, masks[0]) if len(masks) == 1 else None

    def mutation(self, post: GraphQLPost) -> Any:
        """The known document when the operation the request selects in it is a mutation."""
        document = self.documents.get(post.query)
        if document is None:
            return None
        selected = None
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                if post.operation_name is None:
                    if selected is not None:  # several operations and no name: left to Strawberry
                        return None
                    selected = definition
                elif definition.name is not None and definition.name.value == post.operation_name:
                    selected = definition
                    break
        if selected is None or selected.operation is not OperationType.MUTATION:
            return None
        return document, selected

    async def answer(self, request: Request, post: GraphQLPost, known: Any) -> Response:
        started = time.perf_counter()
        document, operation = known
        view = self.view
        root_value = await view.get_root_value(request)
        sub_response = await view.get_sub_response(request)
        context = await view.get_context(request, response=sub_response)
        replay: CoreResult | None = None
        raw: Any
        try:
            raw = execute(self.graphql_schema, document, root_value=root_value,
                          middleware=MiddlewareManager(), variable_values=post.variables,
                          operation_name=post.operation_name, context_value=context,
                          is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as Strawberry passes it
                          executor_class=self.executor_class,
                          operation_extensions=post.extensions)
            if optimized_is_awaitable(raw):
                raw = await raw
        except Exception as exc:
            # As Strawberry's Schema.execute: an exception out of graphql-core's `execute` (not a
            # resolver's: those are field errors) leaves the operation's extensions unfinished
            # (nothing masked or observed) and answers it as the one error.
            result = ExecutionResult(data=None, errors=[_coerce_error(exc)], extensions={})
            self.schema._process_errors(result.errors, _Execution(context))
        else:
            if self.verify:
                replay = _pristine(raw)
            result = ExecutionResult(data=raw.data, errors=raw.errors, extensions={})
            if result.errors:
                self.schema._process_errors(result.errors, _Execution(context))
                result.errors = self.mask._process_errors(result.errors)  # MaskErrors' own
            name = post.operation_name if post.operation_name is not None else (
                operation.name.value if operation.name else None)
            errors = bool(result.errors)
            observe_operation("invalid" if errors else "mutation", None if errors else name,
                              ok=not errors, seconds=time.perf_counter() - started)

        response = view.create_response(response_data=await view.process_result(request, result),
                                        sub_response=sub_response)
        self.answered += 1
        if replay is not None:
            await self._compare(request, response, replay, sub_response)
        return response

    async def _compare(self, request: Request, response: Response, replay: CoreResult,
                       sub_response: Response) -> None:
        """Strawberry's answer to the same request, its mutation's result handed in: the same?"""
        tokens = VERIFYING.set(True), REPLAYED.set(replay), SUB_RESPONSE.set(sub_response)
        try:
            expected = await self.view.run(request)
        finally:
            SUB_RESPONSE.reset(tokens[2])
            REPLAYED.reset(tokens[1])
            VERIFYING.reset(tokens[0])
        got, want = _shape(response), _shape(expected)
        if got != want:
            MISMATCHES.append({"mutation": request.scope.get("path"), "direct": got, "strawberry": want})


def _pristine(raw: CoreResult) -> CoreResult:
    """The raw result as graphql-core made it, for Strawberry's run: processing errors rewrites
    their messages in place (suggestions hidden), so each error is copied."""
    errors = [_copied(error) for error in raw.errors] if raw.errors else raw.errors
    return CoreResult(raw.data, errors, raw.extensions)


def _copied(error: GraphQLError) -> GraphQLError:
    # Not copy.copy: it rebuilds an exception from its args, and GraphQLError keeps the rest
    # (locations, path, original error, extensions) in slots it would lose.
    clone = type(error).__new__(type(error))
    clone.args = error.args
    for slot in GraphQLError.__slots__:
        setattr(clone, slot, getattr(error, slot))
    if hasattr(error, "__dict__"):
        clone.__dict__.update(error.__dict__)
    clone.__traceback__, clone.__cause__, clone.__context__ = error.__traceback__, error.__cause__, error.__context__
    return clone


def _coerce_error(error: Exception) -> GraphQLError:
    return error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)


def _shape(response: Response) -> tuple:
    return response.status_code, response.raw_headers, bytes(response.body)
