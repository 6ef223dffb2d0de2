"""Random GraphQL query documents over any schema, for the compiled plans' differential tests.

`documents(schema, roots)` draws a query: some of the root fields `roots` names (each with one of
the argument texts given for it), and under them random selections of the schema's own fields:
aliases (the same field twice with different arguments included), fields repeated under one
response key (merged), `__typename`, inline fragments (on the type itself, on an interface it
implements, on a union's or interface's possible types, or with no type condition), named
fragments, and `@include`/`@skip` reading Boolean variables. It returns the text and the
variables. Documents a validation rule refuses (two fields of different types under one key in
fragments on different types, a limit) are possible: they test nothing and the tests count
only the queries the plans answered.
"""
from __future__ import annotations

from graphql import (
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_composite_type,
)
from hypothesis import strategies as st

MAX_ALIASES = 8  # below the app's limit (15)


class _Builder:
    def __init__(self, draw, schema: GraphQLSchema, max_fields: int) -> None:
        self.draw = draw
        self.schema = schema
        self.max_fields = max_fields
        self.variables: dict[str, bool] = {}
        self.fragments: list[str] = []
        self.aliases = 0
        self.spreads = 0  # fragments nest fragments: a few a document

    def directive(self) -> str:
        kind = self.draw(st.sampled_from(["", "", "", "include", "skip"]))
        if not kind:
            return ""
        name = f"v{len(self.variables)}"
        self.variables[name] = self.draw(st.booleans())
        return f" @{kind}(if: ${name})"

    def alias(self, keys: dict[str, str], name: str, signature: str) -> str | None:
        """A response key for the field: its name when free or held by the same field and
        arguments (merged), else an alias; None when out of aliases."""
        wants_alias = self.aliases < MAX_ALIASES and self.draw(st.integers(0, 5)) == 0
        if not wants_alias and keys.get(name, signature) == signature:
            keys[name] = signature
            return ""
        if self.aliases >= MAX_ALIASES:
            return None
        self.aliases += 1
        return f"a{self.aliases}: "

    def field(self, parent, name: str, args: str, depth: int, keys: dict[str, str]) -> str:
        field = parent.fields[name]
        signature = f"{name}({args}):{field.type}"
        alias = self.alias(keys, name, signature)
        if alias is None:
            return ""
        text = f"{alias}{name}{f'({args})' if args else ''}{self.directive()}"
        named = get_named_type(field.type)
        if is_composite_type(named):
            text += " " + self.selection(named, depth - 1)
        return text

    def selectable(self, kind) -> list[str]:
        """Fields callable without arguments (none required, or all with defaults)."""
        return sorted(name for name, field in kind.fields.items()
                      if not any(isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
                                 for arg in field.args.values()))

    def selection(self, kind, depth: int, keys: dict[str, str] | None = None) -> str:
        keys = {} if keys is None else keys
        if depth <= 0:
            return "{ __typename }"
        parts: list[str] = []
        if isinstance(kind, GraphQLUnionType):
            parts.append("__typename")
        else:
            names = self.draw(st.lists(st.sampled_from(self.selectable(kind)), min_size=1,
                                       max_size=self.max_fields))
            parts += [self.field(kind, name, "", depth, keys) for name in names]
        if self.draw(st.integers(0, 3)) == 0:
            parts.append("__typename")
        if isinstance(kind, (GraphQLInterfaceType, GraphQLUnionType)) and self.spreads < 6:
            self.spreads += 1
            possible = list(self.schema.get_possible_types(kind))
            chosen = self.draw(st.lists(st.sampled_from(possible), max_size=3, unique_by=lambda t: t.name))
            parts += [f"... on {t.name}{self.directive()} {self.selection(t, depth, keys)}" for t in chosen]
        elif self.spreads < 6 and self.draw(st.integers(0, 3)) == 0:
            self.spreads += 1
            parts.append(self.fragment(kind, depth, keys))
        return "{ " + " ".join(part for part in parts if part) + " }"

    def fragment(self, kind: GraphQLObjectType, depth: int, keys: dict[str, str]) -> str:
        """The type's own fields again, through a fragment: inline on the type, inline on one of
        its interfaces, inline without a type condition, or a named fragment."""
        how = self.draw(st.sampled_from(["inline", "interface", "bare", "named"]))
        on = kind
        if how == "interface" and kind.interfaces:
            on = self.draw(st.sampled_from(kind.interfaces))
        body = self.selection(on, depth, keys)
        if how == "bare":
            return f"...{self.directive()} {body}"
        if how == "named":
            name = f"F{len(self.fragments)}"
            self.fragments.append(f"fragment {name} on {on.name} {body}")
            return f"...{name}{self.directive()}"
        return f"... on {on.name}{self.directive()} {body}"


@st.composite
def documents(draw, schema: GraphQLSchema, roots: dict[str, list[str]], *, max_depth: int = 4,
              max_fields: int = 3) -> tuple[str, dict[str, bool]]:
    builder = _Builder(draw, schema, max_fields)
    query = schema.query_type
    keys: dict[str, str] = {}
    chosen = draw(st.lists(st.sampled_from(sorted(roots)), min_size=1, max_size=3))
    parts = [builder.field(query, name, draw(st.sampled_from(roots[name])), max_depth, keys) for name in chosen]
    if draw(st.integers(0, 4)) == 0:
        parts.append("__typename")
    declared = ", ".join(f"${name}: Boolean!" for name in builder.variables)
    head = f"query Q({declared})" if declared else "query Q"
    text = " ".join([f"{head} {{ {' '.join(p for p in parts if p)} }}", *builder.fragments])
    return text, dict(builder.variables)
