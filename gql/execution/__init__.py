"""A compiled read path: query operations answered by generated Python instead of graphql-core's
field-by-field execution, falling back to graphql-core for anything else (context.py)."""
from __future__ import annotations

from gql.execution.context import (
    COUNTS,
    MISMATCHES,
    MODES,
    REPLAYED,
    VERIFYING,
    PlanExecutionContext,
    PlanMismatch,
    plan_execution_context,
)

__all__ = ["COUNTS", "MISMATCHES", "MODES", "REPLAYED", "VERIFYING", "PlanExecutionContext", "PlanMismatch", "default_mode", "plan_execution_context",
           "set_default_mode"]

_default = ["on"]


def default_mode() -> str:
    """The mode of schemas built without one: "on", or what the test suite sets ("verify")."""
    return _default[0]


def set_default_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown plan mode {mode!r}: one of {MODES}")
    _default[0] = mode
