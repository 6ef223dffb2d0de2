"""Compiled query plans (gql/execution) answer what graphql-core answers, byte for byte.

A small schema of our own holds what the plans must get right and paygate's schema may not show
on a given day: a field named as its parent (`amount { amount }`), a resolver raising in the
middle of a list, null in a non-null field, async resolvers in a list batched by one data loader,
unions, interfaces, enums, arguments with defaults and variables. Each query runs in "verify"
mode (the plan, then graphql-core, JSON compared: a difference raises) and the test also
compares the answer with a graphql-core-only schema's. Hypothesis draws random documents over it.
"""
from __future__ import annotations

import asyncio
import enum
import json
from typing import Annotated, ClassVar

import strawberry
from aiodataloader import DataLoader
from hypothesis import HealthCheck, given, settings
from strawberry.extensions import SchemaExtension

from gql import execution
from tests.graphql_selections import documents


@strawberry.enum
class Kind(enum.Enum):
    SMALL = "small"
    LARGE = "large"


@strawberry.type
class Amount:
    amount: int
    currency: str


@strawberry.type
class Price:
    amount: Amount  # named as its parent field: the trap of Strawberry's unmerged JIT
    label: str | None = None


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Line(Named):
    sku: str
    kind: Kind
    quantity: int
    price: Price
    python_name_differs: str = strawberry.field(name="shown")

    @strawberry.field
    def broken(self) -> str | None:
        if self.sku == "B":
            raise ValueError("broken for B")
        return self.sku

    @strawberry.field
    def required(self) -> str:
        return None if self.sku == "C" else self.sku  # type: ignore[return-value]

    @strawberry.field
    async def later(self, info: strawberry.Info, times: int = 2) -> str:
        return await info.context["loader"].load(self.sku) * times

    @strawberry.field
    def scaled(self, by: int = 10) -> int:
        return self.quantity * by


@strawberry.type
class Cat(Named):
    lives: int


@strawberry.type
class Dog(Named):
    good: bool
    best_friend: Cat | None = None


Pet = Annotated[Cat | Dog, strawberry.union("Pet")]

LINES = [Line(name=f"line {sku}", sku=sku, kind=Kind.SMALL if i % 2 else Kind.LARGE, quantity=i,
              price=Price(amount=Amount(amount=100 * i, currency="USD"), label=None if i % 2 else "x"),
              python_name_differs=f"shown {sku}")
         for i, sku in enumerate("ABCD")]
CAT = Cat(name="Tom", lives=9)
PETS = [CAT, Dog(name="Rex", good=True, best_friend=CAT), Dog(name="Fido", good=False)]


@strawberry.type
class Query:
    @strawberry.field
    def lines(self, first: int = 4) -> list[Line]:
        return LINES[:first]

    @strawberry.field
    def good_lines(self) -> list[Line]:
        return [line for line in LINES if line.sku not in "BC"]

    @strawberry.field
    def line(self, sku: str = "A") -> Line | None:
        return next((line for line in LINES if line.sku == sku), None)

    @strawberry.field
    def pets(self) -> list[Pet]:
        return PETS

    @strawberry.field
    def named(self) -> list[Named]:
        return [*PETS, LINES[0]]

    @strawberry.field
    async def price(self) -> Price:
        return LINES[1].price

    @strawberry.field
    def failing(self) -> int:
        raise RuntimeError("always")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self) -> int:
        return 1


class Batches:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def loader(self) -> DataLoader:
        async def batch(keys):
            self.calls.append(list(keys))
            return [key.lower() for key in keys]

        return DataLoader(batch)


def schema_for(mode: str, extensions=()) -> strawberry.Schema:
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=list(extensions),
                             execution_context_class=execution.plan_execution_context(mode))


VERIFY, GRAPHQL_CORE = schema_for("verify"), schema_for("off")


async def answer(schema: strawberry.Schema, query: str, variables: dict | None = None,
                 batches: Batches | None = None) -> str:
    context = {"loader": (batches or Batches()).loader()}
    result = await schema.execute(query, variable_values=variables, context_value=context)
    return json.dumps({"data": result.data, "errors": [e.formatted for e in result.errors or []]})


async def same_answer(query: str, variables: dict | None = None) -> dict:
    """The plan's answer (verified against graphql-core's inside) and a graphql-core-only schema's."""
    planned = await answer(VERIFY, query, variables)
    assert planned == await answer(GRAPHQL_CORE, query, variables)
    return json.loads(planned)


def counted():
    return dict(execution.COUNTS)


def grew(before: dict, what: str) -> int:
    return execution.COUNTS[what] - before[what]


async def test_a_field_named_as_its_parent_is_read_from_its_own_object():
    before = counted()

    body = await same_answer("{ price { amount { amount currency } } lines { price { amount { amount } } } }")

    assert body["data"]["price"] == {"amount": {"amount": 100, "currency": "USD"}}
    assert [line["price"]["amount"]["amount"] for line in body["data"]["lines"]] == [0, 100, 200, 300]
    assert grew(before, "plan") == 1


async def test_attributes_are_read_by_their_python_name_and_enums_leaves_and_arguments_serialize_exactly():
    before = counted()

    body = await same_answer("""query($by: Int!) { lines(first: 3) { sku shown kind quantity
        price { label } s: scaled t: scaled(by: $by) later l3: later(times: 3) } }""", {"by": 7})

    assert body["data"]["lines"][1] == {"sku": "B", "shown": "shown B", "kind": "SMALL", "quantity": 1,
                                        "price": {"label": None}, "s": 10, "t": 7, "later": "bb", "l3": "bbb"}
    assert grew(before, "plan") == 1


async def test_a_resolver_raising_in_the_middle_of_a_list_gets_graphql_cores_own_answer():
    before = counted()

    body = await same_answer("{ lines { sku broken } }")

    assert body["data"]["lines"][1] == {"sku": "B", "broken": None}
    assert body["errors"] == [{"message": "broken for B", "locations": [{"line": 1, "column": 15}],
                               "path": ["lines", 1, "broken"]}]
    assert grew(before, "fallback") == 1 and grew(before, "plan") == 0


async def test_null_in_a_non_null_field_of_a_list_item_nulls_what_graphql_core_nulls():
    body = await same_answer("{ lines { sku required } goodLines { required } }")

    assert body["data"] is None
    assert body["errors"][0]["path"] == ["lines", 2, "required"]


async def test_a_failing_root_field_and_an_async_one_beside_it():
    body = await same_answer("{ price { label } failing }")

    assert body["data"] is None and body["errors"][0]["message"] == "always"


async def test_async_resolvers_in_a_list_load_in_one_batch():
    batches = Batches()
    schema = schema_for("on")

    body = json.loads(await answer(schema, "{ lines { later } more: lines { later(times: 1) } }", batches=batches))

    assert [line["later"] for line in body["data"]["lines"]] == ["aa", "bb", "cc", "dd"]
    assert batches.calls == [["A", "B", "C", "D"]]


async def test_unions_interfaces_fragments_and_typename():
    query = """query($yes: Boolean!, $no: Boolean!) {
      pets { __typename ... on Named { name } ... on Dog { good bestFriend { lives } } ...CatFields }
      named { name ... on Line { sku @include(if: $yes) kind @skip(if: $yes) } ... @include(if: $no) { __typename } }
      line(sku: "D") { ... on Named { n: name } price { amount { amount } } price { amount { currency } } }
      missing: line(sku: "Z") { sku }
    }
    fragment CatFields on Cat { lives }"""

    yes = await same_answer(query, {"yes": True, "no": False})
    no = await same_answer(query, {"yes": False, "no": True})

    assert yes["data"]["pets"][1] == {"__typename": "Dog", "name": "Rex", "good": True, "bestFriend": {"lives": 9}}
    assert yes["data"]["named"][3] == {"name": "line A", "sku": "A"}
    assert no["data"]["named"][3] == {"name": "line A", "kind": "LARGE", "__typename": "Line"}
    assert yes["data"]["line"] == {"n": "line D", "price": {"amount": {"amount": 300, "currency": "USD"}}}
    assert yes["data"]["missing"] is None


async def test_mutations_are_never_planned():
    before = counted()

    body = await same_answer("mutation { touch }")

    assert body["data"] == {"touch": 1}
    assert counted() == before


class EveryField(SchemaExtension):
    seen: ClassVar[list[str]] = []

    def resolve(self, _next, root, info, *args, **kwargs):
        EveryField.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


async def test_an_extension_wrapping_resolvers_keeps_seeing_every_field():
    schema = schema_for("verify", [EveryField])
    before = counted()
    EveryField.seen = []

    await schema.execute("{ line { sku price { label } } }")

    assert EveryField.seen == ["line", "sku", "price", "label"]
    assert grew(before, "graphql-core") == 1 and grew(before, "plan") == 0


async def test_a_plan_that_serializes_an_enum_wrongly_fails_the_request(monkeypatch):
    """The check itself: a plan answering differently from graphql-core fails the request."""
    from gql.execution.compiler import Compiler

    right = Compiler.enum_names

    def wrong(self, kind):
        return {member: name.lower() for member, name in right(self, kind).items()}

    monkeypatch.setattr(Compiler, "enum_names", wrong)
    seen = len(execution.MISMATCHES)

    result = await schema_for("verify").execute("{ lines { kind } }", context_value={"loader": Batches().loader()})

    assert result.errors and result.errors[0].message.startswith("the plan answered")
    assert execution.MISMATCHES[seen]["plan"] != execution.MISMATCHES[seen]["graphql-core"]
    del execution.MISMATCHES[seen:]  # expected here: the suite's autouse check must not fail this test


ROOTS = {"lines": ["", "first: 2", "first: 0"], "goodLines": [""], "line": ["", 'sku: "C"', 'sku: "Z"'],
         "pets": [""], "named": [""], "price": [""], "failing": [""]}


def test_random_documents_over_a_schema_with_every_kind_of_type():
    before = counted()

    @settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
    @given(documents(VERIFY._schema, ROOTS, max_depth=4))
    def same_bytes(document):
        query, variables = document
        seen = len(execution.MISMATCHES)

        planned = asyncio.run(answer(VERIFY, query, variables))
        expected = asyncio.run(answer(GRAPHQL_CORE, query, variables))

        assert len(execution.MISMATCHES) == seen, execution.MISMATCHES[-1]
        assert planned == expected

    same_bytes()

    assert grew(before, "plan") >= 50, execution.COUNTS  # most documents were answered by plans
