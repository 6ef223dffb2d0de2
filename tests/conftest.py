"""The suite's fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is used when one answers at PAYGATE_TEST_DATABASE_URL (default: the local `test`
database); with CI=true it must answer, and its tests fail rather than skip. Each backend is
migrated from empty once per session, and every test starts from empty tables.

Under pytest-xdist (`make test` runs two workers) each worker has a PostgreSQL database and a
Redis database of its own, derived from those settings: tests/workers.py.
"""
from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from hypothesis import settings

import db.payment_tables
from db.direct_statements import hears_direct
from db.engine import Database, make_engine
from db.migrate import upgrade
from gql import execution
from paygate.app import create_app
from paygate.auth import TokenCodec
from paygate.settings import Settings
from tests.fake_stripe import FakeStripe
from tests.reset import truncate_all
from tests.workers import create_database_if_missing, postgres_url_for, redis_url_for

# PayPal's fake and adapters (fixtures: fake_paypal_server, paypal, adapter).
pytest_plugins = ["tests.paypal_fixtures"]

# This process's own (tests/workers.py): as given in a serial run, suffixed in an xdist worker.
REDIS_URL = redis_url_for(os.environ.get("PAYGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
PG_URL = postgres_url_for(os.environ.get("PAYGATE_TEST_DATABASE_URL",
                                         "postgresql+asyncpg://postgres@127.0.0.1:5432/test"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_SECRET = "paygate-test-secret-long-enough-for-hs256"

# Property tests: random in development (new histories every run, failures kept in the local
# example database); in CI the same examples every run, so a red build is reproducible and a
# green one is not luck. A test's own settings (examples, steps) are built on the loaded profile.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile("ci" if IN_CI else "dev")

# Every query of the suite runs both ways: the compiled plan (gql/execution) and graphql-core, and
# their JSON must be the same bytes; a difference fails the request and, below, the test. Every
# mutation run without Strawberry's view (paygate/graphql_mutations.py) is answered by Strawberry's
# view too, from the same raw result, and the two responses must be the same bytes.
execution.set_default_mode("verify")


@pytest.fixture(autouse=True)
def _plans_answer_as_graphql_core_does():
    seen = len(execution.MISMATCHES)
    yield
    assert execution.MISMATCHES[seen:] == [], \
        "a direct answer differed: a compiled plan from graphql-core, or a direct mutation from Strawberry"


async def _select_1(url: str) -> str | None:
    engine = make_engine(url, pool_size=1)
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return None
    except Exception as exc:  # any failure to reach it means "not here"
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()


async def _postgres_answers(url: str) -> str | None:
    """None when the database answers, creating it first if the server answers without it (an
    xdist worker's own database, on its first run); else why not."""
    problem = await _select_1(url)
    if problem is None:
        return None
    try:
        await create_database_if_missing(url)
    except Exception:  # no server, or no right to create: report the first problem
        return problem
    return await _select_1(url)


async def reset_postgres_schema(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            await conn.exec_driver_sql("DROP SCHEMA IF EXISTS jobs CASCADE")  # pgqueuer's (db/jobs.py)
            await conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        await engine.dispose()


# Each backend's database, migrated once per process (or why PostgreSQL can't be had). pytest
# finalises a parametrised session fixture whenever the next test wants the other param, and under
# pytest-xdist the two backends' tests alternate (a module's SQLite tests, then its PostgreSQL
# ones): without this, each switch dropped and migrated PostgreSQL again, 6–11 s a module.
_migrated: dict[str, str] = {}
_unavailable: dict[str, str] = {}


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path_factory) -> str:
    backend = request.param
    if backend in _unavailable:
        (pytest.fail if IN_CI else pytest.skip)(_unavailable[backend])
    if backend in _migrated:
        return _migrated[backend]
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'paygate.db'}"
    else:
        url = PG_URL
        problem = await _postgres_answers(url)
        if problem:
            message = f"PostgreSQL did not answer at {url}: {problem}"
            if IN_CI:
                message += " (CI=true: the PostgreSQL tests must run)"
            _unavailable[backend] = message
            (pytest.fail if IN_CI else pytest.skip)(message)
        await reset_postgres_schema(url)
    await asyncio.to_thread(upgrade, url)
    _migrated[backend] = url
    return url


# Connections that went back to the pool inside a transaction (see `watch_checkins`): each one
# an open transaction whose writes others can't see until whoever checks it out next commits.
LEFT_IN_TRANSACTION: list[str] = []


def watch_checkins(db: Database) -> None:
    """Note every PostgreSQL connection that goes back to `db`'s pool inside a transaction.
    asyncpg knows the server's transaction status from each reply (ReadyForQuery): no round trip.
    The pool's `checkin` event comes after its reset (its ROLLBACK, when it sends one)."""
    from sqlalchemy import event

    def on_checkin(dbapi_connection, _record) -> None:
        driver = getattr(dbapi_connection, "_connection", None)
        if driver is not None and not driver.is_closed() and driver.is_in_transaction():
            LEFT_IN_TRANSACTION.append(f"pid {driver.get_server_pid()}")

    if not db.is_sqlite:
        event.listen(db.engine.sync_engine.pool, "checkin", on_checkin)


@pytest.fixture(autouse=True)
def _no_connection_goes_back_to_the_pool_inside_a_transaction():
    seen = len(LEFT_IN_TRANSACTION)
    yield
    assert LEFT_IN_TRANSACTION[seen:] == [], "connections went back to the pool inside a transaction"


@pytest.fixture(scope="session")
async def shared_db(database_url) -> AsyncIterator[Database]:
    db = Database.from_url(database_url)
    watch_checkins(db)
    yield db
    await db.dispose()


@pytest.fixture
async def db(shared_db) -> Database:
    await truncate_all(shared_db)
    return shared_db


@pytest.fixture(scope="session")
def tokens() -> TokenCodec:
    return TokenCodec(TEST_SECRET)


def settings_for(database_url: str, **overrides) -> Settings:
    defaults = {"env": "test", "secret_key": TEST_SECRET, "rate_limit": "off"}
    return Settings(database_url=database_url, **(defaults | overrides))


@dataclass
class Served:
    url: str
    app: object


async def start_server(app) -> tuple[uvicorn.Server, asyncio.Task, str]:
    """The real app under uvicorn on a free loopback port, in this test's event loop."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets it knows are TCP, and
    # without it every response waits on the client's delayed ACK (~40 ms a request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # proxy_headers off, as `paygate serve` runs it: the app decides whose forwarded headers count.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, access_log=False,
                                           proxy_headers=False))
    server.install_signal_handlers = lambda: None  # pytest owns the signals
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}"


async def stop_server(server: uvicorn.Server, task: asyncio.Task) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture(scope="session")
async def served(database_url, shared_db) -> AsyncIterator[Served]:
    from tests.routes import failing_routes

    app = create_app(settings_for(database_url), db=shared_db, extra_routes=failing_routes())
    server, task, url = await start_server(app)
    yield Served(url=url, app=app)
    await stop_server(server, task)


@pytest.fixture
async def client(served, db) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        yield http


# --- the app with Stripe, pointed at tests/fake_stripe.py (one fake server per test module) -------

STRIPE_WEBHOOK_SECRET = "whsec_test_paygate"
STRIPE_PUBLISHABLE_KEY = "pk_test_paygate"


@pytest.fixture(scope="module")
async def fake_stripe() -> AsyncIterator[tuple[FakeStripe, str]]:
    fake = FakeStripe()
    server, task, url = await start_server(fake.app)
    yield fake, url
    await stop_server(server, task)


@pytest.fixture(scope="module")
async def app_url(database_url, shared_db, fake_stripe) -> AsyncIterator[str]:
    """The app with Stripe configured against the fake (modules may override it)."""
    settings = settings_for(database_url, stripe_api_key="sk_test_paygate", stripe_api_base=fake_stripe[1],
                            stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
                            stripe_publishable_key=STRIPE_PUBLISHABLE_KEY)
    server, task, url = await start_server(create_app(settings, db=shared_db))
    yield url
    await stop_server(server, task)


@pytest.fixture
async def http(app_url, db, fake_stripe) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app_url`, the fake Stripe reset for each test."""
    fake_stripe[0].reset()
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
        yield client


@pytest.fixture
def fake(fake_stripe) -> FakeStripe:
    return fake_stripe[0]


@pytest.fixture
async def shop(db, tokens):
    from tests.graphql import load_shop

    return await load_shop(db, tokens)


class StatementCounter:
    """Counts the SQL statements an engine runs, to assert that a request's cost is constant."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.statements: list[str] = []

    # It hears the statements a write transaction sends straight to asyncpg too
    # (db/direct_statements.py): counting them keeps that path from going through SQLAlchemy.
    @hears_direct
    def _count(self, _conn, _cursor, statement, parameters, *_args):
        if not execution.VERIFYING.get() and not statement.lstrip().upper().startswith(
                ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):  # VERIFYING: the compiled plan's check running the query again
            self.statements.append(statement)
        return statement, parameters

    def __enter__(self) -> StatementCounter:
        from sqlalchemy import event

        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._count, retval=True)
        return self

    def __exit__(self, *exc) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def statements(db) -> StatementCounter:
    return StatementCounter(db)


@pytest.fixture
async def redis_url() -> str:
    """This process's Redis database (15 by default; tests/workers.py), flushed; skipped where none
    runs, except with CI=true."""
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    try:
        async with asyncio.timeout(3):
            await client.flushdb()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"Redis did not answer at {REDIS_URL}: {exc} (CI=true: Redis tests must run)")
        pytest.skip(f"Redis did not answer at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


# The app with Razorpay and Flutterwave against their fakes (imported last: it uses the above).
from tests.regional_fixtures import fakes, regional_app, rhttp  # noqa: E402, F401
