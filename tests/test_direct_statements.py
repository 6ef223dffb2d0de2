"""A write transaction's Core statements straight on asyncpg (db/direct_statements.py): taken when
nothing needs SQLAlchemy's path, left when something does, answering the same rows, types and
errors as SQLAlchemy's path, and never on SQLite."""
from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    Numeric,
    String,
    bindparam,
    column,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from db import direct_statements
from db.direct_statements import hears_direct
from db.tables import ProductRow, UserRow
from db.transaction import WriteTransaction
from db.uow import aborted_to_retry

PRODUCTS, USERS = ProductRow.__table__, UserRow.__table__


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def _types():
    return text(
        "SELECT CAST(:kind AS varchar) AS kind, CAST(:amount AS numeric(10, 2)) AS amount, "
        "CAST(:at AS timestamptz) AS at, CAST(:doc AS json) AS doc, CAST(NULL AS text) AS nothing, "
        "CAST(:n AS bigint) AS n").bindparams(
        bindparam("kind", type_=Enum(Color, native_enum=False)), bindparam("amount", type_=Numeric(10, 2)),
        bindparam("at", type_=DateTime(timezone=True)), bindparam("doc", type_=JSON), bindparam("n", type_=BigInteger),
    ).columns(column("kind", Enum(Color, native_enum=False)), column("amount", Numeric(10, 2)),
              column("at", DateTime(timezone=True)), column("doc", JSON), column("nothing", String),
              column("n", BigInteger))


# Built once, as the repositories' statements are (a statement goes direct from its third run);
# the process remembers what it learnt, so a test counting runs has statements of its own.
_TYPES, _AUTO_TYPES = _types(), _types()
_PRODUCT = select(PRODUCTS).where(PRODUCTS.c.id == bindparam("b_id"))
_RENAME = PRODUCTS.update().where(PRODUCTS.c.sku == bindparam("b_sku")).values(name=bindparam("b_name"))
_ADD_USER = insert(USERS).returning(USERS.c.id, USERS.c.created_at)
_AUTO_ADD_USER = insert(USERS).returning(USERS.c.id)
_FAIL_WHEN = text("SELECT pg_temp.fail_when(:code) AS one").bindparams(bindparam("code", type_=String))
_SLEEP = text("SELECT pg_sleep(:s) AS slept").bindparams(bindparam("s"))
_CREATE_FAIL_WHEN = """CREATE OR REPLACE FUNCTION pg_temp.fail_when(code text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN IF code <> '' THEN RAISE EXCEPTION 'asked to fail' USING ERRCODE = code; END IF; RETURN 1; END $$"""


class Heard:
    """The statements the engine sent, each as direct (no execution context) or through SQLAlchemy."""

    def __init__(self, db) -> None:
        self.engine = db.engine.sync_engine
        self.direct: list[str] = []
        self.through_sqlalchemy: list[str] = []

    @hears_direct
    def _hear(self, _conn, _cursor, statement, parameters, context, _executemany):
        (self.direct if context is None else self.through_sqlalchemy).append(statement)
        return statement, parameters

    def __enter__(self) -> Heard:
        event.listen(self.engine, "before_cursor_execute", self._hear, retval=True)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hear)


@pytest.fixture
def postgres(db):
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's statements always go through SQLAlchemy")
    return db


async def _three_runs(db, statement, params):
    """The statement's results, run three times in one transaction: noted, learnt, direct."""
    tx = WriteTransaction(db.write_engine)
    await tx.begin()
    try:
        return [await tx.execute(statement, params) for _ in range(3)]
    finally:
        await tx.close()


async def test_a_statement_goes_direct_from_its_third_run_and_is_heard(postgres):
    params = {"kind": Color.RED, "amount": Decimal("12.30"), "at": datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
              "doc": {"a": [1, 2]}, "n": 2**40}

    with Heard(postgres) as heard:
        results = await _three_runs(postgres, _TYPES, params)

    assert len(heard.through_sqlalchemy) == 2 and len(heard.direct) == 1
    assert type(results[2]) is direct_statements.DirectResult


async def test_rows_types_and_nulls_are_the_same_on_both_paths(postgres):
    params = {"kind": Color.BLUE, "amount": Decimal("0.10"), "at": datetime(2026, 5, 6, 7, 8, 9, 10, tzinfo=UTC),
              "doc": {"k": "v", "n": None}, "n": -1}

    results = await _three_runs(postgres, _TYPES, params)
    learnt, direct = results[1].all(), results[2].all()

    assert direct == learnt
    row = direct[0]
    assert [type(value) for value in row] == [type(value) for value in learnt[0]]
    assert row.kind is Color.BLUE and row.amount == Decimal("0.10") and row.doc == {"k": "v", "n": None}
    assert row.at == params["at"] and row.at.tzinfo is not None and row.nothing is None and row.n == -1
    assert dict(row._mapping) == dict(learnt[0]._mapping)


async def test_a_table_rows_every_reading_of_a_result_answers_the_same(postgres, shop):
    async with postgres.read_engine.connect() as connection:
        product_id = (await connection.execute(select(PRODUCTS.c.id).where(PRODUCTS.c.sku == "SAM-MUG-01"))).scalar_one()
    readings = {
        "all": lambda r: r.all(), "one": lambda r: r.one(), "first": lambda r: r.first(),
        "scalar": lambda r: r.scalar(), "scalar_one": lambda r: r.scalar_one(),
        "scalars": lambda r: r.scalars().all(), "mappings": lambda r: r.mappings().all(),
        "keys": lambda r: list(r.keys()), "columns": lambda r: [(row._mapping[PRODUCTS.c.sku], row.sku, row[2]) for row in r],
        "one_or_none": lambda r: r.one_or_none(), "rowcount": lambda r: r.rowcount,
    }

    for name, read in readings.items():
        results = await _three_runs(postgres, _PRODUCT, {"b_id": product_id})
        assert read(results[2]) == read(results[1]), name


async def test_rowcount_of_a_write_without_rows_is_the_same_on_both_paths(postgres, shop):
    results = await _three_runs(postgres, _RENAME, {"b_sku": "SAM-MUG-01", "b_name": "A mug"})

    assert [r.rowcount for r in results] == [1, 1, 1]
    assert type(results[2]) is direct_statements.DirectResult
    with pytest.raises(Exception) as direct_error:
        results[2].all()
    with pytest.raises(Exception) as sqlalchemy_error:
        results[1].all()
    assert type(direct_error.value) is type(sqlalchemy_error.value)


async def test_a_listener_that_does_not_hear_direct_statements_sees_them_all_through_sqlalchemy(postgres):
    seen: list[object] = []

    def spans(_conn, _cursor, _statement, _parameters, context, _executemany) -> None:  # as a tracer's would
        seen.append(context)

    event.listen(postgres.engine.sync_engine, "before_cursor_execute", spans)
    try:
        with Heard(postgres) as heard:
            await _three_runs(postgres, _TYPES, {"kind": Color.RED, "amount": Decimal(1), "at": datetime.now(UTC),
                                                 "doc": {}, "n": 1})
    finally:
        event.remove(postgres.engine.sync_engine, "before_cursor_execute", spans)

    assert len(seen) == 3 and all(context is not None for context in seen)
    assert heard.direct == [] and len(heard.through_sqlalchemy) == 3


async def test_sqlite_never_sends_direct(db):
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    tx = WriteTransaction(db.write_engine)
    await tx.begin()
    try:
        with Heard(db) as heard:
            for _ in range(3):
                await tx.execute(text("SELECT 1 AS one"))
    finally:
        await tx.close()

    assert heard.direct == [] and len(heard.through_sqlalchemy) == 3


async def _error_of(db, code: str) -> BaseException:
    """The exception a statement raising SQLSTATE `code` raises from a write transaction, on the
    path taken by its third run."""
    tx = WriteTransaction(db.write_engine)
    await tx.begin()
    try:
        await tx.driver_sql(_CREATE_FAIL_WHEN, [])
        for _ in range(2):
            assert (await tx.execute(_FAIL_WHEN, {"code": ""})).scalar_one() == 1
        with pytest.raises(DBAPIError) as raised:
            await tx.execute(_FAIL_WHEN, {"code": code})
        return raised.value
    finally:
        await tx.close()


@pytest.mark.parametrize("code, kind, retried", [
    ("40P01", DBAPIError, True),      # deadlock_detected: db/uow.py runs the transaction again
    ("40001", DBAPIError, True),      # serialization_failure: likewise
    ("23505", IntegrityError, False),  # unique_violation: the repositories catch IntegrityError
    ("23503", IntegrityError, False),  # foreign_key_violation
])
async def test_errors_surface_as_sqlalchemys_exceptions_as_on_its_own_path(postgres, code, kind, retried):
    with Heard(postgres) as heard:
        direct = await _error_of(postgres, code)
    direct_statements.set_enabled(False)
    try:
        through_sqlalchemy = await _error_of(postgres, code)
    finally:
        direct_statements.set_enabled(True)

    assert heard.direct[-1].startswith("SELECT pg_temp.fail_when")
    assert isinstance(direct, kind) and type(direct) is type(through_sqlalchemy)
    assert type(direct.orig) is type(through_sqlalchemy.orig)
    assert direct.orig.sqlstate == through_sqlalchemy.orig.sqlstate == code
    assert aborted_to_retry(direct) is retried
    assert direct.statement == through_sqlalchemy.statement


async def test_a_unique_violation_of_a_table_is_an_integrity_error(postgres):
    tx = WriteTransaction(postgres.write_engine)
    await tx.begin()
    try:
        for n in range(2):
            await tx.execute(_ADD_USER, {"email": f"direct-{n}@example.com", "name": "D", "roles": "customer"})
        with Heard(postgres) as heard, pytest.raises(IntegrityError) as raised:
            await tx.execute(_ADD_USER, {"email": "direct-0@example.com", "name": "D", "roles": "customer"})
    finally:
        await tx.close()

    assert len(heard.direct) == 1 and raised.value.orig.sqlstate == "23505"


async def test_a_cancelled_direct_statement_throws_its_connection_away(postgres):
    pool = postgres.engine.sync_engine.pool
    tx = WriteTransaction(postgres.write_engine)
    await tx.begin()
    try:
        for _ in range(2):
            await tx.execute(_SLEEP, {"s": 0})
        with Heard(postgres) as heard, pytest.raises(TimeoutError):
            await asyncio.wait_for(tx.execute(_SLEEP, {"s": 5}), 0.3)
    finally:
        await tx.close()

    assert len(heard.direct) == 1
    assert pool.checkedout() == 0  # and tests/conftest.py checks none went back inside a transaction


async def test_with_opentelemetrys_instrumentation_every_statement_has_its_span(postgres):
    """paygate/tracing.py's spans come from SQLAlchemy's events: while they are recorded, every
    statement goes through SQLAlchemy (on an engine of its own: the instrumentation stays)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from db.engine import Database
    from paygate.tracing import instrument_engine
    from tests.conftest import PG_URL

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    traced = Database.from_url(PG_URL)
    instrument_engine(traced.engine, provider)
    try:
        with Heard(traced) as heard:
            await _three_runs(traced, _TYPES, {"kind": Color.RED, "amount": Decimal(1), "at": datetime.now(UTC),
                                               "doc": {}, "n": 1})
    finally:
        await traced.dispose()

    assert heard.direct == [] and len(heard.through_sqlalchemy) == 3
    assert sum(1 for span in spans.get_finished_spans() if "SELECT" in span.name) == 3


async def test_a_statement_in_autocommit_goes_direct_answers_the_same_and_errors_the_same(postgres):
    """`in_autocommit` (the dummy gateway's claim): one statement on a pooled connection, no
    transaction; direct from its third run, as a write transaction's statements."""
    autocommit = postgres.engine.execution_options(isolation_level="AUTOCOMMIT")
    params = {"kind": Color.RED, "amount": Decimal("3.50"), "at": datetime(2026, 2, 3, tzinfo=UTC),
              "doc": [1, {"x": None}], "n": 7}

    with Heard(postgres) as heard:
        results = [await direct_statements.in_autocommit(autocommit, _AUTO_TYPES, params) for _ in range(3)]
        added = [await direct_statements.in_autocommit(autocommit, _AUTO_ADD_USER, {
            "email": f"auto-{n}@example.com", "name": "A", "roles": "customer"}) for n in range(2)]
        with pytest.raises(IntegrityError) as raised:
            await direct_statements.in_autocommit(autocommit, _AUTO_ADD_USER, {
                "email": "auto-0@example.com", "name": "A", "roles": "customer"})

    assert len(heard.through_sqlalchemy) == 4 and len(heard.direct) == 2
    assert type(results[2]) is direct_statements.DirectResult and results[2].all() == results[1].all()
    assert all(result.one().id for result in added)
    assert raised.value.orig.sqlstate == "23505"
    assert postgres.engine.sync_engine.pool.checkedout() == 0
