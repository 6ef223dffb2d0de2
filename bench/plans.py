"""Compiled query plans (gql/execution) against graphql-core's execution, in one process
(`python -m bench.plans`; with `--database`, after `make bench` has seeded the bench database).

Two measurements, each the median CPU time of sequential calls:
- engine: the page's shape (100 payments with their money, card, buyer, order with lines and
  refunds: about 5,000 fields) built from plain objects in memory by a Strawberry schema whose
  fields are all plain attributes, so that only the execution engine differs;
- page: paygate's own schema answering `bench/queries.py`'s page with its data already in memory
  (the root field answers the connection it returned once; the data loaders are warm), so that
  the resolvers' own work is in it as well.
Both check that the two ways answer the same JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import time
from datetime import UTC, datetime

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from bench import queries
from gql import execution


@strawberry.type
class Money:
    amount: int
    currency: str
    decimal: str
    formatted: str


@strawberry.type
class Card:
    brand: str
    last4: str


@strawberry.type
class Buyer:
    id: strawberry.ID
    email: str
    name: str


@strawberry.type
class Line:
    sku: str
    name: str
    quantity: int
    unit_price: Money
    total: Money


@strawberry.type
class Order:
    id: strawberry.ID
    number: str
    status: str
    total: Money
    lines: list[Line]


@strawberry.type
class Refund:
    id: strawberry.ID
    number: str
    status: str
    created_at: datetime
    amount: Money


@strawberry.type
class Payment:
    id: strawberry.ID
    legacy_id: int
    number: str
    status: str
    display_status: str
    provider: str
    created_at: datetime
    amount: Money
    amount_refunded: Money
    card: Card
    buyer: Buyer
    order: Order
    refunds: list[Refund]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge:
    cursor: str
    node: Payment


@strawberry.type
class Connection:
    total_count: int
    page_info: PageInfo
    edges: list[Edge]


def _money(minor: int) -> Money:
    return Money(amount=minor, currency="USD", decimal=f"{minor / 100:.2f}", formatted=f"${minor / 100:.2f}")


def _page() -> Connection:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    edges = []
    for n in range(queries.PAGE_SIZE):
        lines = [Line(sku=f"SKU-{n}-{i}", name=f"item {i}", quantity=i + 1, unit_price=_money(999),
                      total=_money(999 * (i + 1))) for i in range(2)]
        order = Order(id=f"T3JkZXI6{n}", number=f"ORD-{n}", status="PAID", total=_money(2997), lines=lines)
        refunds = [Refund(id=f"UmVmdW5kOj{n}", number=f"REF-{n}", status="SUCCEEDED", created_at=now,
                          amount=_money(100))] if n % 4 == 0 else []
        payment = Payment(id=f"UGF5bWVudDo{n}", legacy_id=n, number=f"TXN-{n}", status="SUCCEEDED",
                          display_status="Paid", provider="dummy", created_at=now, amount=_money(2997),
                          amount_refunded=_money(100 if refunds else 0), card=Card(brand="visa", last4="4242"),
                          buyer=Buyer(id=f"VXNlcjo{n}", email=f"b{n}@example.com", name=f"Buyer {n}"),
                          order=order, refunds=refunds)
        edges.append(Edge(cursor=f"c{n}", node=payment))
    return Connection(total_count=120, page_info=PageInfo(has_next_page=True, end_cursor="c99"), edges=edges)


PAGE = _page()


@strawberry.type
class Query:
    @strawberry.field
    def payments(self, first: int = 100) -> Connection:
        return PAGE


def _engine_schema(mode: str) -> strawberry.Schema:
    # The caches paygate uses (gql/schema/limits.py): parsing and validation once, execution each time.
    return strawberry.Schema(query=Query, extensions=[lambda: ParserCache(maxsize=16), lambda: ValidationCache(maxsize=16)],
                             execution_context_class=execution.plan_execution_context(mode))


async def _median_ms(call, iterations: int) -> float:
    for _ in range(5):
        await call()
    samples = []
    for _ in range(iterations):
        started = time.process_time()  # CPU time: what other processes on the machine disturb least
        await call()
        samples.append(time.process_time() - started)
    return statistics.median(samples) * 1e3


async def engine(iterations: int) -> dict[str, float]:
    answers, times = {}, {}
    for mode in ("off", "on"):
        schema = _engine_schema(mode)

        async def call(schema=schema):
            result = await schema.execute(queries.PAYMENTS_PAGE, variable_values={"first": queries.PAGE_SIZE})
            assert result.errors is None, result.errors
            return result

        answers[mode] = json.dumps((await call()).data)
        times[mode] = await _median_ms(call, iterations)
    assert answers["off"] == answers["on"], "the plan and graphql-core answer differently"
    return times


async def page(url: str, iterations: int) -> dict[str, float]:
    from sqlmodel import select

    from db.engine import Database
    from db.tables import UserRow
    from gql.context import Context
    from gql.schema import build_schema
    from paygate.auth import TokenCodec

    db = Database.from_url(url)
    tokens = TokenCodec("bench-plans-secret-" + "x" * 32)
    async with db.read_sessions() as session:
        staff_row = (await session.exec(select(UserRow).where(UserRow.email == "staff@example.com"))).first()
    if staff_row is None:
        raise SystemExit("bench.plans: run `make bench` first (it seeds the bench database)")
    staff = tokens.verify(tokens.issue(staff_row.id, staff_row.email, ["staff"]))
    context = Context(request=None, response=None, actor=staff, db=db, services={"settings": None})  # type: ignore[arg-type]
    answers, times = {}, {}
    try:
        for mode in ("off", "on"):
            schema = build_schema(production=True, plans=mode)
            field = schema._schema.query_type.fields["payments"]
            resolve, kept = field.resolve, {}

            async def once(source, info, resolve=resolve, kept=kept, **args):
                kept["page"] = await resolve(source, info, **args)
                return kept["page"]

            field.resolve = lambda source, info, once=once, kept=kept, **args: (
                kept["page"] if "page" in kept else once(source, info, **args))

            async def call(schema=schema):
                result = await schema.execute(queries.PAYMENTS_PAGE, variable_values={"first": queries.PAGE_SIZE},
                                              context_value=context)
                assert result.errors is None, result.errors
                return result

            answers[mode] = json.dumps((await call()).data)
            times[mode] = await _median_ms(call, iterations)
    finally:
        await db.dispose()
    assert answers["off"] == answers["on"], "the plan and graphql-core answer differently"
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--database", nargs="?", const=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/paygate_bench"),
        help="also the page on paygate's schema, from this seeded bench database")
    args = parser.parse_args()
    gc.collect()
    gc.freeze()  # as the app does after start-up: no full collections over what is built here
    rows = [("engine: the page's shape, plain attributes", await engine(args.iterations))]
    if args.database:
        rows.append(("page: paygate's schema, data in memory", await page(args.database, args.iterations)))
    print(f"{'median CPU ms':45} {'graphql-core':>12} {'plan':>8} {'ratio':>7}")
    for label, times in rows:
        print(f"{label:45} {times['off']:12.2f} {times['on']:8.2f} {times['off'] / times['on']:6.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
