"""The buyer's flow compiles no SQL once it has run once (issue 16: the flow's CPU).

SQLAlchemy keeps each statement it compiled in the engine's compiled cache, under the statement's
cache key, and reuses it for every later statement of the same shape. A statement without a cache
key (a multi-row `insert().values([...])`, a construct that isn't cacheable) is compiled again at
every execution, and compiling costs far more than the lookup: such statements were most of
SQLAlchemy's compiler in the flow's profile. Here every statement of a second flow must be a cache
hit, on each backend: SQLAlchemy says so itself on each execution context (`cache_hit`).
"""
from __future__ import annotations

import pytest
from sqlalchemy import event

from db import direct_statements
from tests.graphql import gql
from tests.test_direct_statements import Heard
from tests.test_flow_statement_counts import CHECKOUT, PAY, PRODUCTS, SET_ITEM


class CompileWatcher:
    """The statements the engine sent that SQLAlchemy did not take from its compiled cache."""

    def __init__(self, db) -> None:
        self.engine = db.engine.sync_engine
        self.misses: list[str] = []
        self.hits = 0

    def _seen(self, _conn, _cursor, statement, _params, context, _executemany) -> None:
        if context is None or context.compiled is None:  # the driver's own SQL (SQLite's BEGIN)
            return
        if context.cache_hit == context.dialect.CACHE_HIT:
            self.hits += 1
        else:
            self.misses.append(f"{context._get_cache_stats()}: {statement.split(chr(10))[0][:120]}")

    def __enter__(self) -> CompileWatcher:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


async def _flow(client, token: str, product: str) -> None:
    added = await gql(client, SET_ITEM, {"p": product}, token=token)
    checked_out = await gql(client, CHECKOUT, token=token)
    paid = await gql(client, PAY, {"o": checked_out["data"]["checkout"]["order"]["id"]}, token=token)

    assert added["data"]["cartSetItem"]["itemCount"] == 1, added
    assert paid["data"]["processPayment"]["status"] == "SUCCEEDED", paid


async def test_a_second_buyers_flow_takes_every_statement_from_the_compiled_cache(client, shop, db):
    token = shop.token("customer@example.com")
    products = await gql(client, PRODUCTS)
    ids = {e["node"]["sku"]: e["node"]["id"] for e in products["data"]["products"]["edges"]}
    await _flow(client, token, ids["SAM-MUG-01"])

    with CompileWatcher(db) as watcher:
        await _flow(client, token, ids["SAM-KNIFE-01"])

    # The flow's statements were seen at all. On PostgreSQL the write batch's statements go as
    # driver SQL, compiled once by db/write_batch.py itself (its templates), and aren't counted.
    assert watcher.hits >= 10
    assert watcher.misses == [], "\n".join(watcher.misses)


async def test_a_buyers_flow_sends_its_statements_straight_to_asyncpg_compiled_once(client, shop, db):
    """PostgreSQL: every statement of the flow goes straight to asyncpg (db/direct_statements.py)
    once it has run twice, compiled once: the write transactions' and the dummy gateway's claim,
    in autocommit."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's statements always go through SQLAlchemy")
    token = shop.token("customer@example.com")
    products = await gql(client, PRODUCTS)
    ids = {e["node"]["sku"]: e["node"]["id"] for e in products["data"]["products"]["edges"]}
    for sku in ("SAM-MUG-01", "SAM-KNIFE-01"):  # a statement is noted, then learnt
        await _flow(client, token, ids[sku])
    compiled = direct_statements.COMPILED[0]

    with Heard(db) as heard:
        await _flow(client, token, ids["SAM-MUG-01"])

    assert len(heard.direct) == 15, "\n".join(s.split("\n")[0][:100] for s in heard.through_sqlalchemy)
    assert heard.through_sqlalchemy == []
    assert direct_statements.COMPILED[0] == compiled
