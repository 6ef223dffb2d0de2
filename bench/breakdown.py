"""What one request costs, stage by stage, measured in one process with nothing else running
(`python -m bench.breakdown`, after `make bench` has seeded the bench database).

No HTTP and no concurrency here: each stage is called again and again on its own and timed
(median), to tell apart what the benchmarks' totals are made of. It calls paygate's real
functions (token check, read queries, Strawberry schema with the production extensions) and
the baseline's hand-written query; it changes nothing in them.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from bench import baseline, queries, seed
from db import order_queries, payment_queries
from db import queries as read_queries
from db.engine import Database
from db.tables import UserRow
from domain.payments.access import PaymentFilter, PaymentScope
from gql.context import Context
from gql.schema import build_schema
from paygate.auth import TokenCodec

SECRET = "bench-breakdown-secret-" + "x" * 32


async def timed(label: str, call: Callable[[], Awaitable], iterations: int) -> tuple[str, float]:
    for _ in range(max(3, iterations // 10)):  # warm caches, pools and prepared statements
        await call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return label, statistics.median(samples) * 1e6


class _Loaded:
    """A data loader that already has the answer: the GraphQL layer's cost without the database's."""

    def __init__(self, value) -> None:
        self.value = value

    async def load(self, _key):
        return self.value


class _StubLoaders:
    def __init__(self, user) -> None:
        self.users = _Loaded(user)


async def measure(url: str, iterations: int) -> list[tuple[str, float]]:
    db = Database.from_url(url)
    # paygate's engine (db/engine.py) without its ping at every pool checkout
    no_ping = Database(create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=False))
    pool = await asyncpg.create_pool(seed.asyncpg_dsn(url), min_size=1, max_size=2)
    schema = build_schema(production=True)
    tokens = TokenCodec(SECRET)
    try:
        async with db.read_sessions() as session:
            users = select(UserRow).order_by(UserRow.id)
            user_row = (await session.exec(users.where(UserRow.email.like("bench-buyer-%")))).first()
            staff_row = (await session.exec(users.where(UserRow.email == "staff@example.com"))).first()
        if user_row is None or staff_row is None:
            raise SystemExit("bench.breakdown: run `make bench` first (it seeds the bench database)")
        token = tokens.issue(user_row.id, user_row.email, ["customer"])
        actor = tokens.verify(token)
        staff = tokens.verify(tokens.issue(staff_row.id, staff_row.email, ["staff"]))
        user = (await read_queries.users_by_ids(db, [user_row.id]))[user_row.id]
        page_ids: list[int] = []

        def context(who, loaders=None) -> Context:
            ctx = Context(request=None, response=None, actor=who, db=db,
                          services={"settings": None})
            if loaders is not None:
                ctx.__dict__["loaders"] = loaders  # Context.loaders is a cached_property
            return ctx

        async def me_graphql_only():
            result = await schema.execute(queries.ME, context_value=context(actor, _StubLoaders(user)))
            assert result.errors is None, result.errors

        async def me_graphql_with_db():
            result = await schema.execute(queries.ME, context_value=context(actor))
            assert result.errors is None, result.errors

        async def me_raw():
            async with pool.acquire() as conn:
                await conn.fetchrow("SELECT id, email, name, roles FROM users WHERE id = $1", user_row.id)

        async def page_query():
            rows, _ = await payment_queries.payments_page(db, PaymentScope(everything=True), PaymentFilter(),
                                                          before_id=None, limit=queries.PAGE_SIZE + 1)
            page_ids[:] = [p.order_id for p in rows]

        async def page_graphql():
            result = await schema.execute(queries.PAYMENTS_PAGE, variable_values={"first": queries.PAGE_SIZE},
                                          context_value=context(staff))
            assert result.errors is None, result.errors
            json.dumps({"data": result.data}, separators=(",", ":"))

        async def page_baseline():
            async with pool.acquire() as conn:
                rows = await conn.fetch(baseline.PAGE_SQL, queries.PAGE_SIZE + 1)
            json.dumps(baseline.page_json(rows, queries.PAGE_SIZE), separators=(",", ":"))

        await page_query()
        buyer_ids = [user_row.id]
        small, big = iterations, max(iterations // 10, 20)
        plan = [
            ("bearer token check (PyJWT HS256)", _sync(lambda: tokens.verify(token)), small),
            ("me: Strawberry + graphql-core, user already loaded", me_graphql_only, small),
            ("me: one user through the ORM read session (pre-ping on)",
             lambda: read_queries.users_by_ids(db, buyer_ids), small),
            ("me: the same, pool pre-ping off", lambda: read_queries.users_by_ids(no_ping, buyer_ids), small),
            ("me: the same row with asyncpg alone", me_raw, small),
            ("me: whole GraphQL execution, with the database", me_graphql_with_db, small),
            ("page: payments + attempts through the ORM (2 queries + count)", page_query, big),
            ("page: their 100 orders + lines through the ORM (loader batch)",
             lambda: order_queries.orders_by_ids(db, page_ids), big),
            ("page: whole GraphQL execution + JSON, with the database", page_graphql, big),
            ("page: the baseline's one query + dicts + JSON", page_baseline, big),
        ]
        stages = [await timed(label, call, n) for label, call, n in plan]
    finally:
        await pool.close()
        await db.dispose()
        await no_ping.dispose()
    return stages


def _sync(call: Callable[[], object]) -> Callable[[], Awaitable]:
    async def run():
        call()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000, help="per small stage (page stages: a tenth)")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", seed.DEFAULT_URL)
    try:
        import uvloop
        factory = uvloop.new_event_loop  # as uvicorn runs paygate
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        stages = runner.run(measure(url, args.iterations))
    width = max(len(label) for label, _ in stages)
    print(f"{'stage (median of sequential calls, one process)'.ljust(width)}  microseconds")
    for label, micros in stages:
        print(f"{label.ljust(width)}  {micros:>10,.0f}")


if __name__ == "__main__":
    main()
