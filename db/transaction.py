"""A write transaction on one connection: what the unit of work's repositories use as their session.

The write path's statements are SQLAlchemy Core (built once in each repository module), and an ORM
`AsyncSession` in front of them cost a third more CPU per statement than the connection alone
(issue 16: the session's state machine, its execute path and its transaction bookkeeping, at every
statement and every BEGIN and COMMIT). So a Core statement runs on the connection itself; the
repositories that still add, flush or query ORM rows get an `AsyncSession` made over the same
connection, inside the same transaction, the first time they need one, and everything they call
that this class doesn't define goes to it.

What a session guaranteed still holds: SQLAlchemy autoflushes a session before a Core statement it
executes (issue #9809), so a Core statement here first flushes rows the ORM session still holds;
`commit` flushes them too. The session joins the connection's transaction ("rollback_only": it
never commits or ends it), and only `commit` and `close` here end it.

Each crossing into SQLAlchemy's greenlet costs a greenlet switch both ways: opening (connect and
BEGIN) and ending (COMMIT or ROLLBACK, and the connection back to the pool) take one each. On
PostgreSQL the Core statements in between skip SQLAlchemy's execution altogether where nothing
needs it: db/direct_statements.py sends them on the same asyncpg connection, inside the same
transaction; opening and ending stay SQLAlchemy's.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from db.direct_statements import LEARN, DirectStatements


def _begin(engine: Engine) -> Connection:
    connection = engine.connect()
    try:
        connection.begin()
    except BaseException:
        connection.close()
        raise
    return connection


def _commit(connection: Connection) -> None:
    connection.commit()


def _close(connection: Connection) -> None:
    transaction = connection.get_transaction()
    if transaction is not None and not transaction.is_active:
        # A COMMIT that failed before reaching the driver (an exception in a `commit` listener:
        # the write batch's last writes, db/write_batch.py) leaves SQLAlchemy's transaction
        # inactive but still the connection's: `close` then sends no ROLLBACK and tells the pool
        # the connection was reset, and it went back to the pool inside the open transaction,
        # its writes invisible until the next write transaction on it committed them
        # (tests/test_transaction_pool.py). `rollback` forgets it, so the pool's reset rolls back.
        connection.rollback()
    connection.close()  # rolls back a transaction still open


def _orm(statement: Any) -> bool:
    """Whether only a session can run `statement` as SQLModel's session would: ORM entities (their
    rows, identity map, ORM-enabled UPDATE and DELETE) or SQLModel's select of one column or entity,
    which `exec` answers as scalars."""
    if isinstance(statement, SelectOfScalar):
        return True
    attrs = getattr(statement, "_propagate_attrs", None)
    return attrs is None or attrs.get("compile_state_plugin") == "orm"


class WriteTransaction:
    """One write transaction: Core statements on its connection, ORM work on a session over it."""

    __slots__ = ("_async_engine", "_connection", "_direct", "_orm")

    def __init__(self, engine: AsyncEngine) -> None:
        self._async_engine = engine
        self._connection: AsyncConnection | None = None
        self._orm: AsyncSession | None = None
        self._direct: DirectStatements | None = None

    async def begin(self) -> None:
        """Take a connection from the pool and begin the transaction on it (on PostgreSQL the
        driver sends BEGIN with the first statement; on SQLite, db/engine.py's BEGIN IMMEDIATE)."""
        sync = await greenlet_spawn(_begin, self._async_engine.sync_engine)
        self._connection = AsyncConnection(self._async_engine, sync)
        # PostgreSQL: Core statements straight on asyncpg where nothing needs SQLAlchemy's path.
        self._direct = DirectStatements.over(sync)

    async def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("the transaction is not begun, or already over")
        return self._connection

    @property
    def orm(self) -> AsyncSession:
        if self._orm is None:
            if self._connection is None:
                raise RuntimeError("the transaction is not begun, or already over")
            self._orm = AsyncSession(bind=self._connection, expire_on_commit=False)
        return self._orm

    async def _flushed(self) -> AsyncConnection:
        orm = self._orm
        if orm is not None and (orm.new or orm.dirty or orm.deleted):
            await orm.flush()
        return await self.connection()

    async def exec(self, statement: Any, *, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
                   **kwargs: Any) -> Any:
        if kwargs or _orm(statement):
            return await self.orm.exec(statement, params=params, **kwargs)
        return await self._core(statement, params)

    async def execute(self, statement: Any, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
                      **kwargs: Any) -> Any:
        if kwargs or _orm(statement):
            return await self.orm.execute(statement, params, **kwargs)
        return await self._core(statement, params)

    async def _core(self, statement: Any, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> Any:
        """A Core statement: direct on asyncpg (db/direct_statements.py) when it may, else
        SQLAlchemy's; a list of parameters (executemany) is always SQLAlchemy's."""
        connection = await self._flushed()
        direct = self._direct
        if direct is None or not (params is None or isinstance(params, Mapping)):
            return await connection.execute(statement, params)
        plan = direct.plan(statement, params)
        if plan is not None and plan is not LEARN:
            hearers = direct.hearers()
            if hearers is not None:
                return await direct.execute(plan, params, hearers)  # type: ignore[arg-type]
        result = await connection.execute(statement, params)
        if plan is LEARN:
            direct.learn(statement, params, result)
        return result

    async def driver_sql(self, sql: str, values: list[Any]) -> Any:
        """SQL text with `$n` parameters (the write batch's statements, db/write_batch.py)."""
        connection = await self._flushed()
        direct = self._direct
        if direct is not None:
            hearers = direct.hearers()
            if hearers is not None:
                return await direct.driver_sql(sql, values, hearers)
        return await connection.exec_driver_sql(sql, tuple(values))

    async def flush(self) -> None:
        if self._orm is not None:
            await self._orm.flush()

    def __getattr__(self, name: str) -> Any:
        # add, get, delete, refresh, scalar...: the ORM's.
        return getattr(self.orm, name)

    async def commit(self) -> None:
        await self.flush()
        if self._connection is not None:
            connection = self._connection.sync_connection
            assert connection is not None
            await greenlet_spawn(_commit, connection)

    async def close(self) -> None:
        """End the transaction (rolled back unless committed) and give the connection back."""
        orm, self._orm = self._orm, None
        async_connection, self._connection = self._connection, None
        self._direct = None
        try:
            if orm is not None:
                await orm.close()  # forgets its rows; the transaction is not the session's to end
        finally:
            if async_connection is not None and async_connection.sync_connection is not None:
                await greenlet_spawn(_close, async_connection.sync_connection)
