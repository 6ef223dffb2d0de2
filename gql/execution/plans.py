"""Plans cached by document, operation and the values of the variables its directives read.

A plan's field collection ran with the request's variables, which matter to it only through
`@skip(if: $x)` / `@include(if: $x)` (and graphql-core's `@defer`/`@stream`, which Strawberry
doesn't enable): the cache key holds the document's text, the operation's name and those
variables' coerced values. Both levels are bounded LRUs; an operation the compiler leaves to
graphql-core is remembered as such, so it isn't compiled again.
"""
from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

from graphql import DirectiveNode, FieldNode, FragmentSpreadNode, InlineFragmentNode, VariableNode

from gql.execution.compiler import Compiler, Plan, Unsupported

UNSUPPORTED = object()
_MISSING = object()


class _Operation:
    __slots__ = ("directive_variables", "plans")

    def __init__(self, directive_variables: tuple[str, ...]) -> None:
        self.directive_variables = directive_variables
        self.plans: OrderedDict[tuple, Any] = OrderedDict()


class PlanCache:
    def __init__(self, max_operations: int = 256, max_variants: int = 16) -> None:
        self.max_operations = max_operations
        self.max_variants = max_variants
        self._operations: OrderedDict[tuple[str, str | None], _Operation] = OrderedDict()
        self._lock = Lock()  # uvicorn runs one loop a process, but the cache may be shared by threads

    def plan_for(self, executor) -> Plan | None:
        operation = executor.operation
        loc = operation.loc
        if loc is None:  # a document built without locations: no text to key it by
            return None
        key = (loc.source.body, operation.name.value if operation.name else None)
        with self._lock:
            entry = self._operations.get(key)
            if entry is None:
                entry = _Operation(_directive_variables(executor))
                self._operations[key] = entry
                if len(self._operations) > self.max_operations:
                    self._operations.popitem(last=False)
            else:
                self._operations.move_to_end(key)
        coerced = executor.variable_values.coerced
        variant = tuple(_hashable(coerced.get(name, _MISSING)) for name in entry.directive_variables)
        plan = entry.plans.get(variant)
        if plan is None:
            try:
                plan = Compiler(executor).compile()
            except Unsupported:
                plan = UNSUPPORTED
            with self._lock:
                entry.plans[variant] = plan
                if len(entry.plans) > self.max_variants:
                    entry.plans.popitem(last=False)
        return plan if isinstance(plan, Plan) else None


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _directive_variables(executor) -> tuple[str, ...]:
    """The variables read by directives anywhere in the operation or the document's fragments."""
    names: set[str] = set()

    def directives(node) -> None:
        for directive in getattr(node, "directives", None) or ():
            assert isinstance(directive, DirectiveNode)
            for argument in directive.arguments or ():
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)

    def walk(selection_set) -> None:
        for selection in selection_set.selections if selection_set else ():
            directives(selection)
            if isinstance(selection, (FieldNode, InlineFragmentNode)):
                walk(selection.selection_set)
            elif not isinstance(selection, FragmentSpreadNode):  # pragma: no cover - no other kinds
                raise TypeError(selection)

    walk(executor.operation.selection_set)
    for fragment in executor.fragment_definitions.values():
        directives(fragment)
        walk(fragment.selection_set)
    return tuple(sorted(names))
