"""What a compiled plan needs while it runs: the request's state, and the completers of values.

A plan builds the response by itself only while nothing goes wrong. Anything graphql-core would
answer with an error (a resolver raising, null in a non-null field, a value a scalar refuses, an
abstract type that resolves to nothing) raises `Fallback` instead: the caller throws the partial
result away and lets graphql-core execute the whole operation, so every error answer is
graphql-core's own. Queries only read, so running their resolvers again is safe.

Completers are closures made once per plan (`make_*`), called as `complete(value, path, run,
info)`: `path` is the value's response path (graphql-core's `Path`), `info` the field's
GraphQLResolveInfo when the field needs one (a resolver, an abstract type), else None.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from graphql import GraphQLAbstractType, GraphQLLeafType, Undefined
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, is_iterable

Completer = Callable[[Any, Any, "Run", Any], Any]


class Fallback(Exception):
    """The plan can't answer this request exactly as graphql-core would: let graphql-core do it."""


class Site:
    """One field of the operation as a plan calls it: what graphql-core's `execute_field` uses."""

    __slots__ = ("field_def", "fragment_variables", "has_args", "node", "nodes", "parent_type")

    def __init__(self, field_def, details_list, parent_type) -> None:
        self.field_def = field_def
        self.nodes = [details.node for details in details_list]
        self.node = details_list[0].node
        self.fragment_variables = details_list[0].fragment_variable_values
        self.parent_type = parent_type
        self.has_args = bool(field_def.args or self.node.arguments)


class Run:
    """One request's execution of a plan."""

    __slots__ = ("_args", "executor", "pending", "sites")

    def __init__(self, executor, sites: list[Site]) -> None:
        self.executor = executor
        self.sites = sites
        # Awaitables met on the way, resolved level by level: (awaitable, completer, container,
        # key, path, info); the container holds None at `key` until then.
        self.pending: list[tuple] = []
        self._args: dict[int, dict[str, Any]] = {}

    def info(self, index: int, path: Path):
        site = self.sites[index]
        return self.executor.build_resolve_info(site.field_def, site.nodes, site.parent_type, path)

    def args(self, index: int) -> dict[str, Any]:
        """The field's coerced arguments: they depend on the variables only, so once a request."""
        args = self._args.get(index)
        if args is None:
            site = self.sites[index]
            ex = self.executor
            args = self._args[index] = get_argument_values(
                site.field_def, site.node, ex.variable_values, site.fragment_variables, ex.hide_suggestions)
        return args

    async def settle(self) -> None:
        """Await what resolvers left pending, all of one level together (data loaders batch what
        is loaded concurrently), completing each value, until nothing is left."""
        while self.pending:
            batch, self.pending = self.pending, []
            if len(batch) == 1:
                try:
                    values = [await batch[0][0]]
                except Exception as exc:
                    raise Fallback from exc
            else:
                values = await asyncio.gather(*(item[0] for item in batch), return_exceptions=True)
            for (_, complete, container, key, path, info), value in zip(batch, values, strict=True):
                if isinstance(value, BaseException):
                    if not isinstance(value, Exception):
                        raise value
                    raise Fallback from value
                container[key] = complete(value, path, self, info)

    def discard(self) -> None:
        """The plan gave up: close the coroutines nobody will await (no "never awaited" warnings);
        futures (data loaders') stay with their loader, which graphql-core's run will ask again."""
        for item in self.pending:
            close = getattr(item[0], "close", None)
            if asyncio.iscoroutine(item[0]) and close is not None:
                close()
        self.pending = []


def make_leaf(kind: GraphQLLeafType, non_null: bool, is_awaitable) -> Completer:
    """graphql-core's `complete_value` for a scalar or enum: its `coerce_output_value`, exactly."""
    coerce = kind.coerce_output_value

    def complete(value, _path, _run, _info):
        if value is None or value is Undefined:
            if non_null:
                raise Fallback
            return None
        if isinstance(value, Exception) or is_awaitable(value):
            raise Fallback
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Fallback
        return coerced

    return complete


def make_object(build, is_type_of, non_null: bool, is_awaitable) -> Completer:
    """An object value: `build(source, path, run)` is the plan's function for its selection."""

    def complete(value, path, run, _info):
        if value is None or value is Undefined:
            if non_null:
                raise Fallback
            return None
        if isinstance(value, Exception) or is_awaitable(value):
            raise Fallback
        if is_type_of is not None and not is_type_of(value, None):
            raise Fallback
        return build(value, path, run)

    return complete


def make_abstract(kind: GraphQLAbstractType, resolve_type, builds: dict[str, tuple], non_null: bool,
                  is_awaitable) -> Completer:
    """An interface or union value: its `resolve_type` as graphql-core calls it, then the plan's
    function for the runtime type's selection; a name that isn't one of its object types (or an
    awaitable answer) leaves it to graphql-core."""

    def complete(value, path, run, info):
        if value is None or value is Undefined:
            if non_null:
                raise Fallback
            return None
        if isinstance(value, Exception) or is_awaitable(value):
            raise Fallback
        name = resolve_type(value, info, kind)
        entry = builds.get(name) if type(name) is str else None
        if entry is None:
            raise Fallback
        build, is_type_of = entry
        if is_type_of is not None and not is_type_of(value, None):
            raise Fallback
        return build(value, path, run)

    return complete


def make_list(item: Completer, non_null: bool, is_awaitable, is_async_iterable, item_paths: bool) -> Completer:
    """A list value: each item completed in order; awaitable items wait with the level's others.
    `item_paths`: whether items need their own path (objects do: their resolvers get it)."""

    def complete(value, path, run, info):
        if value is None or value is Undefined:
            if non_null:
                raise Fallback
            return None
        if isinstance(value, Exception) or is_awaitable(value) or is_async_iterable(value) \
                or not is_iterable(value):
            raise Fallback
        out: list[Any] = []
        append = out.append
        for index, element in enumerate(value):
            element_path = Path(path, index, None) if item_paths else None
            if is_awaitable(element):
                append(None)
                run.pending.append((element, item, out, index, element_path, info))
            else:
                append(item(element, element_path, run, info))
        return out

    return complete
