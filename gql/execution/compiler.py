"""Compile one validated query operation into a plan: generated Python that builds the response
from what the resolvers return, without graphql-core's per-field machinery.

Field collection is graphql-core's own (`collect_fields`, `collect_subfields`: fragments, inline
fragments, type conditions, `@skip`/`@include`, merging of one response key), run once at
compile time with the request's variables; a plan is therefore valid for the values of the
variables the document's directives read, and cached under them (gql/execution/plans.py).

Every object selection becomes one function `o<N>(source, path, run) -> dict` whose body reads
each field in response order:
- a field without a resolver (Strawberry's "basic" field: `getattr(source, python_name)`) is read
  as `source.<python_name>`, the attribute Strawberry's field definition names;
- a field with a resolver is called as graphql-core calls it, `resolve(source, info, **args)` with
  graphql-core's own GraphQLResolveInfo (the executor's `build_resolve_info`) and arguments
  (`get_argument_values`); an awaitable answer waits, with the level's others, in `run.pending`;
- `__typename` is the parent type's name.
Values are completed as graphql-core's `complete_value` does (gql/execution/runtime.py); String,
ID, Boolean and 32-bit Int values of their exact Python type are written as they are, which is
what their `coerce_output_value` returns for them.

What a plan doesn't cover raises `Unsupported` here (the operation goes to graphql-core):
introspection fields, fragment arguments, `is_type_of` functions other than Strawberry's (which
ignore their `info`), and selections that would make more than MAX_FUNCTIONS functions.
"""
from __future__ import annotations

import enum
import keyword
from datetime import datetime
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    is_scalar_type,
)
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema_converter import CustomGraphQLEnumType

from gql.execution.runtime import Fallback, Site, make_abstract, make_leaf, make_list, make_object

MAX_FUNCTIONS = 500
_BACKREF = "strawberry-definition"
_BASIC_RESOLVER = "GraphQLCoreConverter.from_resolver.<locals>._get_basic_result"
_STRAWBERRY_IS_TYPE_OF = "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of"
_INT_RANGE = (-(2**31), 2**31 - 1)


class Unsupported(Exception):
    """This operation is left to graphql-core."""


class Plan:
    __slots__ = ("requires", "root", "sites", "source")

    def __init__(self, root, sites: list[Site], source: str, requires: tuple) -> None:
        self.root = root  # o1(root_value, None, run) -> the response's data
        self.sites = sites
        self.source = source  # the generated code, for reading when something looks wrong
        self.requires = requires  # the executor's functions the plan calls, as it was compiled with

    def fits(self, executor) -> bool:
        return self.requires == _requirements(executor)


def _requirements(executor) -> tuple:
    return (executor.is_awaitable, executor.is_async_iterable, executor.type_resolver, executor.field_resolver)


class Compiler:
    def __init__(self, executor) -> None:
        self.executor = executor
        self.schema = executor.schema
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"Path": Path, "Fallback": Fallback, "Undefined": Undefined}
        self.sites: list[Site] = []
        self.functions = 0
        self.is_awaitable = executor.is_awaitable
        self.names["aw"] = self.is_awaitable

    def compile(self) -> Plan:
        ex = self.executor
        root_type = self.schema.get_root_type(ex.operation.operation)
        if root_type is None:
            raise Unsupported("no root type")
        grouped, _defer, _forbidden = collect_fields(self.schema, ex.fragments, ex.variable_values, root_type,
                                                     ex.operation, ex.hide_suggestions)
        root = self.object_function(root_type, grouped)
        return Plan(root, self.sites, "\n".join(self.lines) + "\n", _requirements(ex))

    def name(self, value: Any, prefix: str) -> str:
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    # --- object selections --------------------------------------------------------------------

    def object_function(self, parent: GraphQLObjectType, grouped) -> Any:
        self.functions += 1
        if self.functions > MAX_FUNCTIONS:
            raise Unsupported("selection too large to compile")
        fn = f"o{self.functions}"
        body: list[str] = []
        for key, details_list in grouped.items():  # sub-selections are compiled first, depth first
            body.extend(self.field(parent, key, details_list))
        lines = [f"def {fn}(s, p, r):", "    d = {}", *("    " + line for line in body), "    return d"]
        source = "\n".join(lines) + "\n"
        exec(compile(source, f"<graphql plan {fn}>", "exec"), self.names)
        self.lines.extend(lines)
        return self.names[fn]

    def field(self, parent: GraphQLObjectType, key: str, details_list) -> list[str]:
        node = details_list[0].node
        field_name = node.name.value
        if any(details.fragment_variable_values is not None for details in details_list):
            raise Unsupported("fragment arguments")
        k = repr(key)
        if field_name == "__typename":
            return [f"d[{k}] = {parent.name!r}"]
        if field_name.startswith("__"):
            raise Unsupported("introspection")
        field_def = self.schema.get_field(parent, field_name)
        if field_def is None:  # graphql-core leaves the key out
            return []
        site_index = len(self.sites)
        self.sites.append(Site(field_def, details_list, parent))
        return_type = field_def.type
        needs_info = self.needs_info(return_type)
        attribute = self.basic_attribute(field_def)
        complete = self.completer(return_type, details_list)
        c = self.name(complete, "c")
        lines: list[str] = []
        path = f"Path(p, {k}, {parent.name!r})"
        if attribute is not None:
            read = f"s.{attribute}" if attribute.isidentifier() and not keyword.iskeyword(attribute) \
                else f"getattr(s, {attribute!r})"
            lines.append(f"v = {read}")
            fast = self.fast_leaf(return_type)
            if fast is not None:
                test, value = fast
                return [*lines, f"if {test}:", f"    d[{k}] = {value}", "else:", f"    d[{k}] = {c}(v, None, r, None)"]
            if is_leaf_type(get_named_type(return_type)):  # leaves need no path
                lines.append(f"d[{k}] = {c}(v, None, r, None)")
            elif needs_info:
                lines.append(f"fp = {path}")
                lines.append(f"d[{k}] = {c}(v, fp, r, r.info({site_index}, fp))")
            else:
                lines.append(f"d[{k}] = {c}(v, {path}, r, None)")
            return lines
        resolve = self.name(field_def.resolve or self.executor.field_resolver, "f")
        args = f", **r.args({site_index})" if self.sites[site_index].has_args else ""
        lines += [f"fp = {path}",
                  f"i = r.info({site_index}, fp)",
                  f"v = {resolve}(s, i{args})",
                  "if aw(v):",
                  f"    d[{k}] = None",
                  f"    r.pending.append((v, {c}, d, {k}, fp, i))"]
        fast = self.fast_leaf(return_type)
        if fast is not None:
            lines += [f"elif {fast[0]}:", f"    d[{k}] = {fast[1]}"]
        return [*lines, "else:", f"    d[{k}] = {c}(v, fp, r, i)"]

    def basic_attribute(self, field_def) -> str | None:
        """The Python attribute a Strawberry field without a resolver reads, when graphql-core
        would get exactly `getattr(source, name)` from it (no middleware, no field extension)."""
        resolve = field_def.resolve
        if resolve is None or getattr(resolve, "__qualname__", "") != _BASIC_RESOLVER:
            return None
        field = (field_def.extensions or {}).get(_BACKREF)
        if field is None or field.base_resolver is not None or field.extensions \
                or getattr(field, "default_resolver", None) is not getattr:
            return None
        return field.python_name

    def fast_leaf(self, return_type) -> tuple[str, str] | None:
        """(test, value) for a leaf whose serialization is known without calling into the type:
        a test on the value's exact Python type, and the expression that serializes it, which is
        what its `coerce_output_value` returns for such a value."""
        kind = return_type.of_type if is_non_null_type(return_type) else return_type
        if kind is GraphQLInt:
            return f"type(v) is int and {_INT_RANGE[0]} <= v <= {_INT_RANGE[1]}", "v"
        if kind is GraphQLString or kind is GraphQLID:
            return "type(v) is str", "v"
        if kind is GraphQLBoolean:
            return "type(v) is bool", "v"
        coerce = getattr(kind, "coerce_output_value", None)
        if is_scalar_type(kind) and coerce is int:  # a scalar serialized by int(): an int is itself
            return "type(v) is int", "v"
        if is_scalar_type(kind) and coerce is datetime.isoformat:
            return f"type(v) is {self.name(datetime, 'T')}", "v.isoformat()"
        if isinstance(kind, CustomGraphQLEnumType):
            names = self.enum_names(kind)
            if names is not None:
                return f"type(v) is {self.name(kind.wrapped_cls, 'T')}", f"{self.name(names, 'E')}[v]"
        return None

    def enum_names(self, kind) -> dict | None:
        """Strawberry's enum serializes a member of its Python enum by looking it up among the
        type's values: the same name every time, so computed once a member here."""
        wrapped = kind.wrapped_cls
        if not (isinstance(wrapped, type) and issubclass(wrapped, enum.Enum)):
            return None
        names = {}
        for member in wrapped:
            try:
                names[member] = kind.coerce_output_value(member)
            except Exception:
                continue
        return names

    def needs_info(self, return_type) -> bool:
        """Abstract types hand the field's info to `resolve_type`."""
        while is_non_null_type(return_type) or is_list_type(return_type):
            return_type = return_type.of_type
        return is_abstract_type(return_type)

    # --- completers ---------------------------------------------------------------------------

    def completer(self, return_type, details_list):
        non_null = isinstance(return_type, GraphQLNonNull)
        kind = return_type.of_type if non_null else return_type
        ex = self.executor
        if isinstance(kind, GraphQLList):
            item = self.completer(kind.of_type, details_list)
            return make_list(item, non_null, self.is_awaitable, ex.is_async_iterable,
                             not is_leaf_type(get_named_type(kind)))
        if is_leaf_type(kind):
            return make_leaf(kind, non_null, self.is_awaitable)
        if is_object_type(kind):
            build, is_type_of = self.selection(kind, details_list)
            return make_object(build, is_type_of, non_null, self.is_awaitable)
        if is_abstract_type(kind):
            builds = {possible.name: self.selection(possible, details_list)
                      for possible in self.schema.get_possible_types(kind)}
            return make_abstract(kind, kind.resolve_type or ex.type_resolver, builds, non_null,
                                 self.is_awaitable)
        raise Unsupported(f"output type {kind}")

    def selection(self, kind: GraphQLObjectType, details_list) -> tuple[Any, Any]:
        is_type_of = kind.is_type_of
        if is_type_of is not None and getattr(is_type_of, "__qualname__", "") != _STRAWBERRY_IS_TYPE_OF:
            raise Unsupported(f"is_type_of of {kind.name}")
        ex = self.executor
        grouped, _defer, _forbidden = collect_subfields(self.schema, ex.fragments, ex.variable_values,
                                                        ex.operation, kind, details_list, ex.hide_suggestions)
        return self.object_function(kind, grouped), is_type_of
