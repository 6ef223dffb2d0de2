"""The execution context Strawberry hands to graphql-core: query operations run their plan.

Everything before execution (parsing, validation and the limits, authentication in the view) and
after it (Strawberry's `process_errors`, MaskErrors, the view's JSON) is untouched: this class
only replaces graphql-core's `execute_operation` for queries, and calls graphql-core's own for
mutations, subscriptions, operations the compiler doesn't cover, requests whose schema
extensions wrap resolvers (middleware), and any request the plan gives up on (`Fallback`).

A query operation that found its plan also makes its document known (gql/execution/documents.py):
`answer_by_plan` runs the plan of such a document for an HTTP view that skips Strawberry's
per-request machinery (paygate/graphql_direct.py), and gives up (None) wherever Strawberry's way
is needed: no plan, a plan that gives up, a mismatch in verify mode.

Modes (`plan_execution_context(mode)`):
- "on": the plan answers, graphql-core when it can't;
- "verify": the plan answers, then graphql-core executes the same operation again and the two
  results' JSON must be the same bytes, data and errors, or the request fails (`PlanMismatch`) and
  the difference is kept in MISMATCHES. The test suite runs every app this way.
"""
from __future__ import annotations

import json
from contextvars import ContextVar
from copy import copy
from typing import Any, ClassVar

from graphql import DocumentNode, OperationType
from graphql.execution.executor import CollectedErrors
from graphql.pyutils import RefMap
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql.execution.documents import KnownDocuments
from gql.execution.plans import PlanCache
from gql.execution.runtime import Run

MODES = ("off", "on", "verify")
MISMATCHES: list[dict[str, Any]] = []
# What answered query operations in this process: "plan", "fallback" (the plan gave up on that
# request: graphql-core answered) and "graphql-core" (never planned). For tests and metrics.
COUNTS: dict[str, int] = {"plan": 0, "fallback": 0, "graphql-core": 0}
# True while verify mode's second execution runs: what it does (its SQL statements, say) is
# the check's, not the request's, and tests that count a request's statements leave it out.
VERIFYING: ContextVar[bool] = ContextVar("paygate_plan_verifying", default=False)
# Verify mode of the direct path for mutations (paygate/graphql_mutations.py): the raw result of
# the mutation it ran, handed to Strawberry's own run of the same request, whose executor answers
# it instead of running the mutation a second time.
REPLAYED: ContextVar[Any] = ContextVar("paygate_mutation_replayed", default=None)


def _spent(*_args: Any) -> Any:
    raise RuntimeError("the executor's asynchronous work was asked for after its response was built")


_SPENT = GraphQLResolveInfoHelpers(gather=_spent, track=_spent)


class PlanMismatch(AssertionError):
    """The plan's answer and graphql-core's differ: a bug of the plan."""


class PlanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    plans: ClassVar[PlanCache]
    documents: ClassVar[KnownDocuments]
    mutations: ClassVar[KnownDocuments]  # documents whose mutations Strawberry has accepted
    verify: ClassVar[bool] = False
    counts: ClassVar[dict[str, int]] = COUNTS
    document: DocumentNode | None = None

    @classmethod
    def build(cls, schema, document, *args, **kwargs):
        executor = super().build(schema, document, *args, **kwargs)
        if not isinstance(executor, list):
            executor.document = document
            if executor.operation.operation is OperationType.MUTATION and executor._plain():
                # Strawberry builds an executor only for a document it has parsed and validated;
                # a mutation of it may then skip Strawberry's view (paygate/graphql_mutations.py).
                cls.mutations.remember(document)
        return executor

    def _plain(self) -> bool:
        """Whether this executor runs as graphql-core alone would: no resolver middleware (a
        schema extension that wraps resolvers), no abort signal, no hooks."""
        manager = self.middleware_manager
        return not (manager is not None and manager.middlewares) and self.abort_signal is None \
            and self.hooks is None

    def build_response(self, data):
        response = super().build_response(data)
        # graphql-core's executor refers to itself: its `async_helpers` hold two of its own bound
        # methods. That cycle left every request's executor, and all it holds (collected fields,
        # the context, the request), to the cyclic collector, whose young collections then spent
        # their pauses freeing it (bench/README.md, "Garbage collection"). The response is the
        # last thing built from the executor: nothing asks for the helpers after it.
        self.async_helpers = _SPENT
        return response

    def execute_operation(self, serially: bool | None = None):
        if serially is not None or self.operation.operation is not OperationType.QUERY:
            replayed = REPLAYED.get()
            if replayed is not None and self.operation.operation is OperationType.MUTATION:
                self.async_helpers = _SPENT  # builds no response: its cycle is broken here
                return replayed
            return super().execute_operation(serially)
        plan = self._plan()
        if plan is None:
            self.counts["graphql-core"] += 1
            return super().execute_operation(serially)
        if self.verify:
            return self._verified(plan)
        return self._run(plan)

    def _plan(self):
        """This query operation's plan, or None when graphql-core must execute it."""
        if not self._plain():
            return None
        plan = self.plans.plan_for(self)
        if plan is None or not plan.fits(self):
            return None
        if self.document is not None:
            self.documents.remember(self.document)
        return plan

    # --- a known document's query, without Strawberry's machinery -------------------------------

    def answer_by_plan(self):
        """The plan's result (maybe awaitable) for this executor of a known document's query, or
        None when the request needs Strawberry's way (graphql-core, or errors to process and
        mask): nothing is counted or reported then, as Strawberry will run it all again. Queries
        only read, so running their resolvers again is safe."""
        if self.operation.operation is not OperationType.QUERY:
            return None
        plan = self._plan()
        if plan is None:
            return None
        run = Run(self, plan.sites)
        try:
            data = plan.root(self.root_value, None, run)
        except Exception:
            run.discard()
            return None
        if run.pending:
            return self._settled_answer(run, data)
        return self._answer(data)

    async def _settled_answer(self, run: Run, data):
        try:
            await run.settle()
        except Exception:
            run.discard()
            return None
        answer = self._answer(data)
        return await answer if self.is_awaitable(answer) else answer

    def _answer(self, data):
        result = self.build_response(data)
        if not self.verify:
            self.counts["plan"] += 1
            return result
        expected = self._graphql_core()
        if self.is_awaitable(expected):
            return self._compared_answer(result, expected)
        return self._checked(result, expected)

    async def _compared_answer(self, result, expected):
        return self._checked(result, await expected)

    def _checked(self, result, expected):
        try:
            self._compare(result, expected)
        except PlanMismatch:
            return None  # kept in MISMATCHES; Strawberry's run fails the request as it always has
        self.counts["plan"] += 1
        return result

    def _run(self, plan):
        run = Run(self, plan.sites)
        try:
            data = plan.root(self.root_value, None, run)
        except Exception:
            return self._fall_back(run)
        if run.pending:
            return self._settle(run, data)
        self.counts["plan"] += 1
        return self.finish(self.build_response(data))

    async def _settle(self, run: Run, data):
        try:
            await run.settle()
        except Exception:
            result = self._fall_back(run)
            return await result if self.is_awaitable(result) else result
        self.counts["plan"] += 1
        return self.build_response(data)

    def _fall_back(self, run: Run):
        run.discard()
        self.counts["fallback"] += 1
        return super().execute_operation()

    # --- verify mode --------------------------------------------------------------------------

    def _verified(self, plan):
        planned = self._run(plan)
        if self.is_awaitable(planned):
            return self._verified_async(planned)
        expected = self._graphql_core()
        if self.is_awaitable(expected):
            return self._compare_async(planned, expected)
        return self._compare(planned, expected)

    async def _verified_async(self, planned):
        planned = await planned
        expected = self._graphql_core()
        if self.is_awaitable(expected):
            expected = await expected
        return self._compare(planned, expected)

    async def _compare_async(self, planned, expected):
        return self._compare(planned, await expected)

    def _graphql_core(self):
        """graphql-core's own execution of this operation, on a fresh copy of this executor."""
        other = copy(self)
        other.collected_errors = CollectedErrors()
        other._relevant_sub_fields = {}
        other._stream_usages = RefMap()
        # Its own helpers: this executor's were spent when its response was built (build_response).
        other.async_helpers = GraphQLResolveInfoHelpers(gather=other.gather_async_work, track=other.track_async_work)
        token = VERIFYING.set(True)
        try:
            result = super(PlanExecutionContext, other).execute_operation()
        finally:
            VERIFYING.reset(token)
        if not self.is_awaitable(result):
            return result

        async def verifying():
            token = VERIFYING.set(True)
            try:
                return await result
            finally:
                VERIFYING.reset(token)

        return verifying()

    def _compare(self, planned, expected):
        got, want = _json(planned), _json(expected)
        if got != want:
            loc = self.operation.loc
            MISMATCHES.append({"query": loc.source.body if loc else None, "variables": self.variable_values.coerced,
                               "plan": got, "graphql-core": want})
            raise PlanMismatch(f"the plan answered {got[:300]!r}, graphql-core {want[:300]!r}")
        return planned


def _json(result) -> str:
    return json.dumps(result.formatted, default=repr)


def plan_execution_context(mode: str) -> type[StrawberryGraphQLCoreExecutionContext]:
    """An execution context class with a plan cache of its own (one a schema)."""
    if mode not in MODES:
        raise ValueError(f"unknown plan mode {mode!r}: one of {MODES}")
    if mode == "off":
        return StrawberryGraphQLCoreExecutionContext
    return type("PlanExecutionContext", (PlanExecutionContext,),
                {"plans": PlanCache(), "documents": KnownDocuments(), "mutations": KnownDocuments(),
                 "verify": mode == "verify"})
