"""A write transaction's Core statements sent straight to asyncpg on PostgreSQL (issue 16).

SQLAlchemy's execution of one Core statement (the AsyncConnection's greenlet crossing, the
compiled-cache lookup by cache key, the execution context, the cursor adapter, CursorResult) cost
≈ 95 µs of CPU against ≈ 25 µs for the same statement on the asyncpg connection with its result
made here (measured, 2026-12-06), and the buyer's flow sends a dozen of them per transaction
pair. So `WriteTransaction` (db/transaction.py) hands its Core statements to `DirectStatements`
first, which sends them on the very asyncpg connection SQLAlchemy checked out, inside the
transaction SQLAlchemy's asyncpg adapter began (its own `_start_transaction`, under its own
execution mutex): BEGIN, COMMIT, ROLLBACK and the connection's return to the pool stay
SQLAlchemy's, so their state can never disagree with the server's.

What SQLAlchemy would have done, done here:

- the statement is compiled once, from the object itself (statements are built once, at import):
  the SQL text, the bind processors, Python-side column defaults. An object is taken direct only
  from its third execution: its first only notes it (a statement built per call never comes back,
  and compiling it would cost more than SQLAlchemy's cache lookup), its second runs through
  SQLAlchemy and is learnt from: the result's metadata (the row keys, the result processors:
  enums, JSON…) is SQLAlchemy's own, and the SQL we compiled must be the very text SQLAlchemy
  sent, or the statement never goes direct. Statements SQLAlchemy renders per execution (IN with
  an expanding list, literal_execute) and executemany stay SQLAlchemy's.
- rows come back as SQLAlchemy's `Row`s in SQLAlchemy's own `IteratorResult` (`.one()`,
  `.scalar()`, `.mappings()`… behave as CursorResult's), with `rowcount` from the command tag.
- the write batch (db/write_batch.py) waiting on the connection is sent first, as its engine hook
  would have.
- statement listeners: a `before_cursor_execute` listener marked `hears_direct` (the statement
  counter of /metrics, the suite's counters) is called for each statement sent here too, with no
  cursor and no context. Any other listener (OpenTelemetry's spans, a test's compile watcher), any
  `after_*` or unmarked `before_execute` listener, SQL echo or a schema translation sends every
  statement back through SQLAlchemy, checked at each statement.
- errors: asyncpg's exception is translated by the adapter and SQLAlchemy's connection
  (`_handle_dbapi_exception`: the same IntegrityError or DBAPIError with `.orig.sqlstate`,
  `handle_error` listeners, a broken or cancelled connection invalidated), as on its own path.

SQLite never comes here (its driver is not asyncpg).
"""
from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.engine.cursor import _NO_RESULT_METADATA
from sqlalchemy.engine.result import IteratorResult, ResultMetaData, SimpleResultMetaData
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_, greenlet_spawn

from db import write_batch

HEARS = "hears_direct_statements"
_ENABLED = [True]
_STATUS = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")


def hears_direct(listener: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a `before_cursor_execute` listener as one that also hears the statements sent
    direct: it must take `cursor` and `context` as None (and `conn` as the pool's connection for
    a statement in autocommit, `in_autocommit`: it has the same `info`) and, as it is registered with
    `retval=True` (SQLAlchemy would wrap it otherwise, and the mark be lost), answer
    `(statement, parameters)`. The same mark on a `before_execute` listener (retval=True) says
    that sending direct does its work itself (the write batch's hook)."""
    setattr(listener, HEARS, True)
    return listener


def set_enabled(on: bool) -> None:
    """Send statements direct (the default) or always through SQLAlchemy (measurements, tests)."""
    _ENABLED[0] = on


# Statements learnt, compiled once: id(statement) -> _Seen (checked against its weak reference:
# an id is reused once its object is gone, and then the entry goes with it).
_SEEN: dict[int, _Seen] = {}
COMPILED = [0]  # statements compiled here, ever: a second flow must compile none (tests)


LEARN = object()  # `plan`'s answer: run it through SQLAlchemy, then `learn` from it
_NEVER = object()  # a plan's place for a statement that must stay SQLAlchemy's


def _forgetter(key: int) -> Callable[[weakref.ref], None]:
    def forget(ref: weakref.ref) -> None:
        seen = _SEEN.get(key)
        if seen is not None and seen.ref is ref:
            del _SEEN[key]
    return forget


class _Seen:
    __slots__ = ("plans", "ref")

    def __init__(self, statement: Any) -> None:
        self.ref = weakref.ref(statement, _forgetter(id(statement)))
        self.plans: dict[tuple[str, ...], _Plan | object] = {}  # or _NEVER


class _Plan:
    """One statement and set of parameter names, compiled once."""

    __slots__ = ("compiled", "defaults", "metadata", "names", "processors", "sql")

    def __init__(self, sql: str, compiled: Any, metadata: ResultMetaData | None) -> None:
        self.sql = sql
        self.compiled = compiled
        self.metadata = metadata
        self.processors = compiled._bind_processors
        self.names = compiled.positiontup or ()
        # Python-side column defaults, as SQLAlchemy's execution context computes them: a scalar,
        # or a function of no argument (SQLAlchemy wraps those, keeping them as __wrapped__).
        self.defaults = tuple((column.key, column.default) for column in compiled.insert_prefetch) + tuple(
            (column.key, column.onupdate) for column in compiled.update_prefetch)

    def values(self, params: Mapping[str, Any] | None) -> list[Any]:
        bound = self.compiled.construct_params(params, escape_names=False)
        for key, default in self.defaults:
            bound[key] = default.arg if default.is_scalar else default.arg(None)
        processors = self.processors
        return [bound[name] if (process := processors.get(name)) is None else process(bound[name])
                for name in self.names]


def _compilable(compiled: Any) -> bool:
    if compiled.post_compile_params or compiled.literal_execute_params or compiled.schema_translate_map:
        return False
    if not compiled.positional:
        return False
    defaults = [column.default for column in compiled.insert_prefetch]
    defaults += [column.onupdate for column in compiled.update_prefetch]
    for default in defaults:
        if default is None or default.is_sequence or default.is_clause_element:
            return False
        if default.is_callable and not hasattr(default.arg, "__wrapped__"):
            return False  # it wants SQLAlchemy's execution context
    return True


class DirectResult(IteratorResult):
    """SQLAlchemy's buffered result over asyncpg's rows, with CursorResult's `rowcount`."""

    def __init__(self, metadata: ResultMetaData, rows: list[Any], status: str | None) -> None:
        super().__init__(metadata, iter(rows))
        self._status = status

    @property
    def rowcount(self) -> int:
        found = _STATUS.match(self._status or "")
        return int(found.group(1)) if found else -1


class DirectStatements:
    """The direct path of one write transaction's connection (see the module's docstring)."""

    __slots__ = ("adapter", "connection", "dialect")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.adapter = connection.connection.dbapi_connection
        self.dialect = connection.dialect

    @classmethod
    def over(cls, connection: Connection) -> DirectStatements | None:
        """The direct path over `connection`, or None where statements stay SQLAlchemy's."""
        if not _ENABLED[0] or connection.dialect.driver != "asyncpg":
            return None
        if connection.get_execution_options().get("schema_translate_map"):
            return None
        return cls(connection)

    def hearers(self) -> list[Callable[..., Any]] | None:
        """The statement listeners to call, or None when one of them needs SQLAlchemy's path."""
        connection = self.connection
        if not connection.in_transaction() or connection.invalidated or connection._echo:
            return None  # SQLAlchemy begins a transaction (autobegin) or raises, and says so
        return _hearers(connection.dispatch, self.dialect)

    def plan(self, statement: Any, params: Mapping[str, Any] | None) -> _Plan | object | None:
        return _plan_of(statement, params)

    def learn(self, statement: Any, params: Mapping[str, Any] | None, result: Any) -> None:
        _learn(statement, params, result, self.dialect)

    async def execute(self, plan: _Plan, params: Mapping[str, Any] | None,
                      hearers: list[Callable[..., Any]]) -> DirectResult:
        await self._flush_batch()
        values = plan.values(params)
        rows, status, _attributes = await self._send(plan.sql, values, hearers)
        return DirectResult(plan.metadata or _NO_ROWS, rows, status)

    async def driver_sql(self, sql: str, values: list[Any], hearers: list[Callable[..., Any]]) -> DirectResult:
        """Driver SQL (the write batch's statements): rows keyed by the names the server gives,
        unprocessed, as SQLAlchemy's `exec_driver_sql` answers them."""
        await self._flush_batch()
        rows, status, attributes = await self._send(sql, values, hearers)
        return DirectResult(_names_of(attributes) if attributes else _NO_ROWS, rows, status)

    async def _flush_batch(self) -> None:
        batch = write_batch.pending(self.connection)
        if batch is not None:
            await batch.flush()

    async def _send(self, sql: str, values: list[Any],
                    hearers: list[Callable[..., Any]]) -> tuple[list[Any], str | None, Any]:
        connection = self.connection
        for listener in hearers:
            listener(connection, None, sql, values, None, False)
        adapter = self.adapter
        try:
            async with adapter._execute_mutex:
                if adapter._transaction is None:
                    await adapter._start_transaction()
                prepared, attributes = await adapter._prepare(sql, self.dialect._invalidate_schema_cache_asof)
                rows = await prepared.fetch(*values)
                return rows, prepared.get_statusmsg(), attributes
        except BaseException as error:
            await greenlet_spawn(_raise_as_sqlalchemy, connection, adapter, error, sql, values)
            raise  # not reached: the above raises


def _hearers(dispatch: Any, dialect: Any) -> list[Callable[..., Any]] | None:
    """The statement listeners of `dispatch` to call, or None when one needs SQLAlchemy's path."""
    if dispatch.after_cursor_execute or dispatch.after_execute:
        return None
    for listener in dispatch.before_execute:
        if not getattr(listener, HEARS, False):
            return None
    hearers = []
    for listener in dispatch.before_cursor_execute:
        if not getattr(listener, HEARS, False):
            return None
        hearers.append(listener)
    if dialect.dispatch.do_execute or dialect.dispatch.do_execute_no_params:
        return None
    return hearers


def _plan_of(statement: Any, params: Mapping[str, Any] | None) -> _Plan | object | None:
    """How to send `statement`: a _Plan; None (SQLAlchemy's path); or `LEARN`: through
    SQLAlchemy, then `_learn` from its result."""
    seen = _SEEN.get(id(statement))
    if seen is None or seen.ref() is not statement:
        if getattr(statement, "_execution_options", None):
            return None  # options are SQLAlchemy's to honour
        _SEEN[id(statement)] = _Seen(statement)
        return None
    plan = seen.plans.get(tuple(sorted(params)) if params else (), LEARN)
    return None if plan is _NEVER else plan


def _learn(statement: Any, params: Mapping[str, Any] | None, result: Any, dialect: Any) -> None:
    """Compile `statement` for the direct path, from what SQLAlchemy did with it (`result`)."""
    seen = _SEEN.get(id(statement))
    if seen is None or seen.ref() is not statement:
        return
    keys = tuple(sorted(params)) if params else ()
    context = getattr(result, "context", None)
    plan: _Plan | object = _NEVER
    if context is not None and context.compiled is not None and not context.executemany:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=False)
        COMPILED[0] += 1
        if compiled.string == context.compiled.string and _compilable(compiled):
            plan = _Plan(compiled.string, compiled, result._metadata if result.returns_rows else None)
    seen.plans[keys] = plan


async def in_autocommit(engine: AsyncEngine, statement: Any, params: Mapping[str, Any] | None) -> Any:
    """One statement on a pooled connection in autocommit (`engine`: an AUTOCOMMIT copy of the
    engine), answered as SQLAlchemy answers it. On PostgreSQL, straight on asyncpg as a write
    transaction's statements are (learnt the same way, heard by the same listeners, which get the
    pool's connection as `conn`: it has the same `info`): no BEGIN is sent, asyncpg runs a statement
    outside a transaction in autocommit. Measured: ≈ 55 µs of CPU against ≈ 185 µs through an
    AUTOCOMMIT connection (its isolation level set at checkout and reset at checkin, the greenlet
    crossed three times): the dummy gateway's claim, once a payment (db/dummy_gateway.py)."""
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect
    plan = _plan_of(statement, params) if _ENABLED[0] and dialect.driver == "asyncpg" else None
    hearers = _hearers(sync_engine.dispatch, dialect) if isinstance(plan, _Plan) and not sync_engine.echo else None
    if hearers is None:
        async with engine.connect() as connection:
            result = await connection.execute(statement, params)
        if plan is LEARN:
            _learn(statement, params, result, dialect)
        return result
    assert isinstance(plan, _Plan)
    rows, status = await greenlet_spawn(_on_a_pooled_connection, sync_engine, plan, plan.values(params), hearers)
    return DirectResult(plan.metadata or _NO_ROWS, rows, status)


def _on_a_pooled_connection(engine: Any, plan: _Plan, values: list[Any],
                            hearers: list[Callable[..., Any]]) -> tuple[list[Any], str | None]:
    """In a greenlet (the pool's checkout and checkin may connect or close a connection)."""
    pooled = engine.pool.connect()
    try:
        for listener in hearers:
            listener(pooled, None, plan.sql, values, None, False)
        adapter = pooled.dbapi_connection
        try:
            rows, status, _attributes = await_(_fetch(adapter, plan.sql, values, engine.dialect))
        except BaseException as error:
            # Its state is unknown (a broken socket, a cancelled statement half-read): never reused.
            pooled.invalidate(error)
            try:
                if isinstance(error, Exception):
                    adapter._handle_exception(error)
                raise
            except adapter.dbapi.Error as translated:
                Connection._handle_dbapi_exception_noconnection(translated, engine.dialect, engine)
        return rows, status
    finally:
        pooled.close()


async def _fetch(adapter: Any, sql: str, values: list[Any], dialect: Any) -> tuple[list[Any], str | None, Any]:
    async with adapter._execute_mutex:
        prepared, attributes = await adapter._prepare(sql, dialect._invalidate_schema_cache_asof)
        rows = await prepared.fetch(*values)
        return rows, prepared.get_statusmsg(), attributes


_NO_ROWS: ResultMetaData = _NO_RESULT_METADATA  # a statement without rows: `.all()` raises, as CursorResult's
_NAMES: dict[int, tuple[Any, ResultMetaData]] = {}  # by id(attributes) of a prepared statement


def _names_of(attributes: Any) -> ResultMetaData:
    found = _NAMES.get(id(attributes))
    if found is not None and found[0] is attributes:
        return found[1]
    if len(_NAMES) >= 512:
        _NAMES.clear()
    metadata = SimpleResultMetaData([attribute.name for attribute in attributes])
    _NAMES[id(attributes)] = (attributes, metadata)
    return metadata


def _raise_as_sqlalchemy(connection: Connection, adapter: Any, error: BaseException, sql: str,
                         values: list[Any]) -> None:
    """In a greenlet: raise `error` as SQLAlchemy's path raises it (the adapter translates
    asyncpg's exception to its DBAPI one; the connection wraps it, runs `handle_error` listeners
    and invalidates a broken or cancelled connection)."""
    try:
        if isinstance(error, Exception):
            adapter._handle_exception(error)
        raise error
    except BaseException as translated:
        if isinstance(translated, (adapter.dbapi.InvalidCachedStatementError, adapter.dbapi.InternalServerError)):
            connection.dialect._invalidate_schema_cache()  # what the asyncpg execution context does
        connection._handle_dbapi_exception(translated, sql, tuple(values), None, None)
