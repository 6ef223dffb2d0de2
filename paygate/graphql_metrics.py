"""paygate_graphql_operation_duration_seconds{type, operation, outcome}: every GraphQL operation
timed by its type (query, mutation, subscription) and the client's operation name. The HTTP
histogram sees them all as one route (`/graphql`); this one tells `checkout` from `me`.

Operation names are chosen by clients, so they are label values only when the document was
valid and the name is a plain GraphQL name, and at most MAX_NAMES distinct ones per process;
past that, and for invalid requests, the name is "other" (anonymous operations: "anonymous").
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import Histogram
from strawberry.extensions import SchemaExtension

from gql.execution import VERIFYING
from paygate.metrics import LATENCY_BUCKETS

OPERATIONS = Histogram("paygate_graphql_operation_duration_seconds", "Time to execute a GraphQL operation.",
                       ["type", "operation", "outcome"], buckets=LATENCY_BUCKETS)
MAX_NAMES = 200
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_seen: set[str] = set()
_children: dict[tuple[str, str, str], Any] = {}  # at most MAX_NAMES + 2 names a kind and outcome


class GraphQLMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        if VERIFYING.get():  # verify mode's second run of a request (gql/execution): not one more
            return
        context = self.execution_context
        invalid = bool(context.pre_execution_errors) or context.graphql_document is None
        try:
            kind = "invalid" if invalid else context.operation_type.value
        except Exception:  # an unknown operationName: graphql-core answers it as an error
            kind, invalid = "invalid", True
        errors = invalid or bool(context.result is not None and context.result.errors)
        observe_operation(kind, None if invalid else context.operation_name, ok=not errors,
                          seconds=time.perf_counter() - started)


def observe_operation(kind: str, name: str | None, *, ok: bool, seconds: float) -> None:
    """One operation: the extension's, and the queries paygate/graphql_direct.py answers itself."""
    key = (kind, _label(name), "ok" if ok else "error")
    child = _children.get(key)
    if child is None:  # `labels` checks and locks on every call: a child is looked up once
        child = _children[key] = OPERATIONS.labels(*key)
    child.observe(seconds)


def _label(name: str | None) -> str:
    if name is None:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "other"
    if name not in _seen:
        if len(_seen) >= MAX_NAMES:
            return "other"
        _seen.add(name)
    return name
