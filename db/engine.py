"""Async engines for SQLite (embedded default) and PostgreSQL (production).

SQLite needs three things to keep concurrent writers exact (STACK-NOTES.md): the driver's own
transaction handling off, `BEGIN IMMEDIATE` for write transactions so that a read-then-write can't
interleave with another writer, and one in-process lock around write transactions so that writers
queue in Python instead of spinning on "database is locked".

PostgreSQL: no pre-ping, read sessions in autocommit (both below): a read is one round trip.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

WRITE_OPTION = "paygate_write"
RECYCLE_SECONDS = 1800


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool = True) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(sync, "begin")
    def _on_begin(conn) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, foreign_keys: bool = True, pool_size: int = 10) -> AsyncEngine:
    # hide_parameters: a failed statement's error (logged with its traceback) names the statement,
    # never the values it carried, which are customers' text.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine, foreign_keys=foreign_keys)
        return engine
    # No `pool_pre_ping`: it costs a round trip at every checkout (≈ 0.3 ms of CPU, a quarter of a
    # small read: bench/README.md). Connections older than `pool_recycle` are replaced at checkout
    # instead (idle-timeouts of proxies and servers are longer than that), and a connection that
    # breaks anyway (server restart, failover, killed backend) fails the one statement that finds
    # it: SQLAlchemy recognises the disconnect, invalidates that connection and every other one
    # opened before it, and the next checkout connects afresh (tests/test_engine.py). A request
    # that meets a dead connection gets an error once instead of a ping on every request.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=RECYCLE_SECONDS,
                               hide_parameters=True)


@dataclass
class Database:
    """One engine, its two session factories (read, write) and, for SQLite, the writers' queue."""

    engine: AsyncEngine
    is_sqlite: bool = field(init=False)
    _write_lock: asyncio.Lock | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # PostgreSQL reads run in autocommit: no BEGIN and ROLLBACK around them, one round trip a
        # statement. That changes nothing they see: at PostgreSQL's default READ COMMITTED every
        # statement takes its own snapshot, inside a transaction or not, so a page and its count
        # (or payments and then their attempts) read in one session could already come from
        # different commits; for a listing that is acceptable. A read that needs one snapshot for
        # several statements needs REPEATABLE READ, in a transaction of its own: not these.
        # Writes still go through `write_sessions` (transactions). SQLite keeps its transaction:
        # that BEGIN is ours (`_configure_sqlite`) and costs no round trip.
        read_engine = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # The API's reads take Core connections from it (db/reads.py): no ORM session to build.
        self.read_engine = read_engine
        self.read_sessions = async_sessionmaker(read_engine, class_=AsyncSession, expire_on_commit=False)
        write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        # The unit of work's transactions take connections from it (db/transaction.py).
        self.write_engine = write_engine
        self.write_sessions = async_sessionmaker(write_engine, class_=AsyncSession, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def write_lock(self) -> asyncio.Lock | None:
        if self.is_sqlite and self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
