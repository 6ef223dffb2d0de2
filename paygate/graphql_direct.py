"""POST /graphql for a query already seen: its compiled plan answers without Strawberry's view.

Strawberry spends more CPU on a small query than the query itself does: a request adapter, the
body parsed again (paygate/body_limits.py has parsed it), its schema extensions built and
entered one by one, the parse and validation caches looked up, the result processed. For a
query whose text Strawberry has already accepted (parsed under the token limit, validated under
every rule of the schema: gql/execution/documents.py) none of that can change the answer, and
`DirectQueries.answer` builds graphql-core's executor for it directly, with the Context the view
makes, and runs the operation's plan (`PlanExecutionContext.answer_by_plan`; in verify mode still
compared with graphql-core's execution).

It answers only when all of this holds, and else returns None for Strawberry to run the request
as before, from the start (queries only read, so a plan given up half-way is safe to run again):
- a POST whose Content-Type is `application/json` (with parameters or not) and whose Accept
  header, if any, picks none of Strawberry's streaming transports;
- a JSON object (not a batch) with `query` text Strawberry has accepted before, `operationName`
  text or null, `variables` and `extensions` objects or null;
- variables that coerce without errors, an operation that is a query with a compiled plan, and a
  plan that finishes without anything graphql-core would answer with an error.
So errors of every kind (refusals, resolvers failing, masking, logging them) stay Strawberry's.
What the schema's extensions do for a successful query is done here: GraphQLMetrics' timing
(paygate/graphql_metrics.py). The app doesn't use this path while traces are recorded
(paygate/app.py): the GraphQL spans are Strawberry's extension's.
"""
from __future__ import annotations

import time
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution import optimized_is_awaitable

from paygate.body_limits import JSON_BODY
from paygate.graphql_metrics import observe_operation
from rest_compat.json_body import BadJson, read_json

_ACCEPTS_MEMORY = 64


class GraphQLPost(NamedTuple):
    """One operation's request, as Strawberry's view reads a JSON body."""
    query: str
    variables: dict | None
    operation_name: str | None
    extensions: dict | None


class DirectQueries:
    def __init__(self, view: Any) -> None:
        self.view = view
        schema = view.schema
        self.graphql_schema = schema._schema
        self.executor_class = schema.execution_context_class
        self.documents = self.executor_class.documents
        self._plain_accepts: dict[bytes, bool] = {}
        self.answered = 0  # requests answered here (tests)

    @classmethod
    def available(cls, schema: Any) -> bool:
        """Whether the schema's queries run compiled plans (not plan mode "off")."""
        return getattr(schema.execution_context_class, "documents", None) is not None

    async def read(self, request: Request) -> GraphQLPost | None:
        """The request as Strawberry's view would read it, when it is a plain JSON POST of one
        operation that Strawberry would run as it is (no streaming transport, no batch), else None.
        Shared with the direct path for mutations (paygate/graphql_mutations.py)."""
        scope = request.scope
        content_type = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
        if content_type is None or not (content_type == b"application/json"
                                        or content_type.startswith(b"application/json;")):
            return None
        if accept is not None and not self._plain(accept):
            return None
        data = _json_object(scope, await request.body())
        if data is None:
            return None
        query, variables = data.get("query"), data.get("variables")
        operation_name, extensions = data.get("operationName"), data.get("extensions")
        if type(query) is not str or not (operation_name is None or type(operation_name) is str) \
                or not (variables is None or isinstance(variables, dict)) \
                or not (extensions is None or isinstance(extensions, dict)):
            return None
        return GraphQLPost(query, variables, operation_name, extensions)

    async def answer(self, request: Request, post: GraphQLPost) -> Response | None:
        started = time.perf_counter()
        query, variables, operation_name, extensions = post
        document = self.documents.get(query)
        if document is None:
            return None

        view = self.view
        root_value = await view.get_root_value(request)
        sub_response = await view.get_sub_response(request)
        context = await view.get_context(request, response=sub_response)
        # As Strawberry's Schema.execute calls graphql-core's `execute` (no resolver middleware:
        # a schema extension that wraps resolvers has no plans, gql/execution/context.py).
        executor = self.executor_class.build(
            self.graphql_schema, document, root_value, context, variables, operation_name,
            is_awaitable=optimized_is_awaitable, operation_extensions=extensions)
        if isinstance(executor, list):  # variables that don't coerce: Strawberry's errors
            return None
        result = executor.answer_by_plan()
        if result is not None and optimized_is_awaitable(result):
            result = await result
        if result is None:
            return None

        response = view.create_response(response_data=await view.process_result(request, result),
                                        sub_response=sub_response)
        operation = executor.operation
        name = operation_name if operation_name is not None else (
            operation.name.value if operation.name else None)
        observe_operation("query", name, ok=True, seconds=time.perf_counter() - started)
        self.answered += 1
        return response

    def _plain(self, accept: bytes) -> bool:
        """Whether this Accept header leaves the response plain JSON (no streaming transport)."""
        plain = self._plain_accepts.get(accept)
        if plain is None:
            text = accept.decode("latin-1")
            plain = self.view._get_stream_transport_from_headers({"accept": text}) is None
            if len(self._plain_accepts) >= _ACCEPTS_MEMORY:
                self._plain_accepts.clear()
            self._plain_accepts[accept] = plain
        return plain


def _json_object(scope, body: bytes) -> dict | None:
    """The body's JSON object: the value paygate/body_limits.py read from these very bytes, or
    read here with the same reader (the view's `decode_json`); None for anything else."""
    read = scope.get("state", {}).get(JSON_BODY)
    if read is not None and (read[0] is body or read[0] == body):  # Starlette joins the body anew
        value = read[1]
    else:
        try:
            value = read_json(body)
        except BadJson:
            return None
    return value if isinstance(value, dict) else None
