"""Writes a transaction defers, sent together: on PostgreSQL one statement of data-modifying CTEs
(`WITH b0 AS (INSERT …), b1 AS (UPDATE …) INSERT …`) instead of one round trip each (issue 16).

A repository defers a write whose answer nobody needs (an audit row, an outgoing event, an email,
the final UPDATEs of a settled payment) with `defer`, and runs one whose answer it needs with
`execute`, which carries the deferred writes along as CTEs of its own statement when they touch
other tables. Whatever else happens, a deferred write reaches the database

- before any other statement of its transaction runs (an engine `before_execute` hook writes the
  batch first), so no read, ORM flush or lock can miss it or see the rows in a different order;
- before COMMIT (the engine's `commit` hook), so none is ever lost; a ROLLBACK drops it.

All the statements of one batch share one snapshot and don't see each other's rows, and PostgreSQL
runs its CTEs in an order of its own choosing, so a batch never holds two writes that could tell:
a write to a table the batch reads, a read of a table it writes, or a second write to a table
sends the batch first (`_clashes`) - except rows of the same INSERT … VALUES, which become one
multi-row INSERT, in the order they were deferred (ids follow that order: events are delivered in
it, an order's lines read in it). Rows a batch inserts may reference each other (foreign keys are
checked at the statement's end).

SQLite has no DML in CTEs: there every write runs at once, exactly as before.
"""
from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import TextClause
from sqlmodel.ext.asyncio.session import AsyncSession

# The batch waiting on each connection (the sync Connection of a write session: one per checkout,
# so a batch can never outlive its transaction's connection).
_PENDING: weakref.WeakKeyDictionary[Connection, WriteBatch] = weakref.WeakKeyDictionary()
_WATCHED: weakref.WeakSet[Engine] = weakref.WeakSet()
_NUMBER = re.compile(r"\$(\d+)")
_VALUES = re.compile(r"^(INSERT INTO .+? VALUES )(\(.*\))$", re.DOTALL)
MAIN = "/*main*/"  # in a text statement that starts with WITH: where its CTEs end and its main statement begins


Pieces = tuple[tuple[str, ...], tuple[int, ...]]  # text cut at each `$n`, and the n's


def _split(sql: str) -> Pieces:
    parts = _NUMBER.split(sql)
    return tuple(parts[0::2]), tuple(int(n) for n in parts[1::2])


def _render(pieces: Pieces, offset: int) -> str:
    texts, numbers = pieces
    out = [texts[0]]
    for number, text in zip(numbers, texts[1:], strict=True):
        out.append(f"${number + offset}")
        out.append(text)
    return "".join(out)


def _python_default(default: Any) -> Any:
    return default.arg if default.is_scalar else default.arg(None)


@dataclass(frozen=True, slots=True)
class _Template:
    """One statement compiled once for PostgreSQL: its own CTEs (hoisted into the batch's WITH:
    PostgreSQL allows DML in WITH only at the top level), its main text, and how to bind it."""
    ctes: tuple[Pieces, ...]
    main: Pieces
    compiled: Any
    # An INSERT … VALUES of one row: the text before its row, and the row; rows of several
    # deferrals of it are written by one multi-row INSERT.
    values_head: str | None
    values_row: Pieces | None

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        """The parameters in the order of $1, $2, …, as SQLAlchemy would send them."""
        compiled = self.compiled
        bound = compiled.construct_params(params, _check=False)
        # Python-side column defaults, which SQLAlchemy's execution context computes otherwise.
        for column in compiled.insert_prefetch:
            if column.key not in params:
                bound[column.key] = _python_default(column.default)
        for column in compiled.update_prefetch:
            if column.key not in params:
                bound[column.key] = _python_default(column.onupdate)
        processors = compiled._bind_processors
        out = []
        for name in compiled.positiontup:
            process = processors.get(name)
            out.append(bound[name] if process is None else process(bound[name]))
        return out


# Compiled once per statement (they are built once, at import) and set of parameter names.
_TEMPLATES: dict[tuple[int, tuple[str, ...]], _Template] = {}
_KEEP: list[Any] = []  # the statements compiled: alive, so their id() is never reused


def _template(statement: Any, keys: tuple[str, ...], dialect: Any) -> _Template:
    found = _TEMPLATES.get((id(statement), keys))
    if found is not None:
        return found
    if isinstance(statement, TextClause):
        compiled = statement.compile(dialect=dialect)
    else:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    sql = compiled.string.strip()
    ctes: tuple[Pieces, ...] = ()
    if sql[:5].upper() == "WITH ":
        own, sql = sql[5:].split(MAIN)
        ctes = (_split(own.strip().rstrip(",")),)
    sql = sql.strip()
    values = _VALUES.match(sql)
    head: str | None = None
    row: Pieces | None = None
    if values and "$" not in values.group(1):
        head, row = values.group(1), _split(values.group(2))
    template = _Template(ctes, _split(sql), compiled, head, row)
    _TEMPLATES[id(statement), keys] = template
    _KEEP.append(statement)
    return template


@dataclass(slots=True)
class _Write:
    template: _Template
    rows: list[Mapping[str, Any]]  # the parameters; several only for an INSERT … VALUES
    writes: frozenset[str]
    appends: bool

    def render(self, offset: int) -> tuple[str, list[Any]]:
        template = self.template
        values: list[Any] = []
        if template.values_row is None:
            return _render(template.main, offset), template.values(self.rows[0])
        rows = []
        for params in self.rows:
            rows.append(_render(template.values_row, offset + len(values)))
            values.extend(template.values(params))
        return f"{template.values_head}{', '.join(rows)}", values


def _tables(statement: Any) -> frozenset[str]:
    table = getattr(statement, "table", None)
    return frozenset({table.name}) if table is not None else frozenset()


class WriteBatch:
    """The deferred writes of one write transaction on one session."""

    def __init__(self, session: AsyncSession, is_sqlite: bool) -> None:
        self.session = session
        self.is_sqlite = is_sqlite
        self._writes: list[_Write] = []
        self._written: dict[str, _Write | None] = {}  # table -> its one appending write (None: others)
        self._read: set[str] = set()
        self._connection: Connection | None = None

    @property
    def defers(self) -> bool:
        return not self.is_sqlite

    @classmethod
    def at_once(cls, session: AsyncSession) -> WriteBatch:
        """A batch that defers nothing: for a repository built outside a unit of work."""
        return cls(session, is_sqlite=True)

    async def defer(self, statement: Any, params: Mapping[str, Any], *, writes: Iterable[str] | None = None,
                    reads: Iterable[str] = (), appends: bool | None = None) -> None:
        """Write `statement` with `params` later (see the module's docstring). `statement` is built
        once, at import (its compiled form is kept by identity). `writes` and `reads`: the tables
        it writes and reads besides its own (for a text statement, all of them); `appends`: it
        only inserts rows (by default: an INSERT)."""
        if self.is_sqlite:
            await self.session.exec(statement, params=params)  # type: ignore[call-overload]
            return
        written = frozenset(writes) if writes is not None else _tables(statement)
        read = frozenset(reads)
        only_inserts = appends if appends is not None else getattr(statement, "is_insert", False)
        connection = await self._connect()
        template = _template(statement, tuple(sorted(params)), connection.dialect)
        same = [self._written.get(table) for table in written]
        if (only_inserts and template.values_row is not None and same and same[0] is not None
                and same[0].template is template and all(w is same[0] for w in same) and not written & self._read):
            same[0].rows.append(params)  # one more row of a pending INSERT … VALUES, after the others of a pending INSERT … VALUES, after the others
            _PENDING[connection] = self
            return
        if self._clashes(written, read):
            await self.flush()
        write = _Write(template, [params], written, only_inserts)
        self._writes.append(write)
        for table in written:
            self._written[table] = write if only_inserts else None
        self._read |= read
        _PENDING[connection] = self

    async def execute(self, statement: Any, params: Mapping[str, Any], *, writes: Iterable[str] | None = None,
                      reads: Iterable[str] = ()) -> Any:
        """Run `statement` now and answer its result; on PostgreSQL the deferred writes go with it, as
        CTEs of the same statement, when it neither reads nor writes what they write (else first)."""
        if not self._writes or self.is_sqlite:
            return await self.session.exec(statement, params=params)  # type: ignore[call-overload]
        written = frozenset(writes) if writes is not None else _tables(statement)
        if self._clashes(written, frozenset(reads)):
            await self.flush()
            return await self.session.exec(statement, params=params)  # type: ignore[call-overload]
        connection = await self._connect()
        template = _template(statement, tuple(sorted(params)), connection.dialect)
        sql, values = self._take(_Write(template, [params], written, False))
        return await self.session.driver_sql(sql, values)  # type: ignore[attr-defined]

    async def flush(self) -> None:
        if self._writes:
            sql, values = self._take(self._writes.pop())
            # The transaction's (db/transaction.py): straight to asyncpg when it may, else SQLAlchemy's.
            await self.session.driver_sql(sql, values)  # type: ignore[attr-defined]

    def flush_sync(self, connection: Connection) -> None:
        if not self._writes:
            return
        last = self._writes.pop()
        sql, values = self._take(last)
        connection.exec_driver_sql(sql, tuple(values))

    def discard(self) -> None:
        self._writes, self._written, self._read = [], {}, set()
        if self._connection is not None:
            _PENDING.pop(self._connection, None)

    def _clashes(self, written: frozenset[str], read: frozenset[str]) -> bool:
        if not self._writes:
            return False
        return bool(read & self._written.keys() or written & self._read or written & self._written.keys())

    async def _connect(self) -> Connection:
        connection = self._connection
        if connection is None:
            connection = (await self.session.connection()).sync_connection
            assert connection is not None  # a session's connection is open while its transaction is
            self._connection = connection
            _watch(connection.engine)
        return connection

    def _take(self, main: _Write) -> tuple[str, list[Any]]:
        """The batch's writes and `main` as one statement (main's result is the statement's), and
        its parameters; the batch is empty after."""
        writes = self._writes
        self.discard()
        ctes: list[str] = []
        values: list[Any] = []
        for index, write in enumerate(writes):
            offset = len(values)  # a statement's own CTEs and main text share its numbering
            ctes.extend(_render(cte, offset) for cte in write.template.ctes)
            sql, more = write.render(offset)
            ctes.append(f"b{index} AS ({sql})")
            values.extend(more)
        offset = len(values)
        ctes.extend(_render(cte, offset) for cte in main.template.ctes)
        body, more = main.render(offset)
        values.extend(more)
        return (f"WITH {', '.join(ctes)} {body}" if ctes else body), values


def pending(connection: Connection) -> WriteBatch | None:
    """The batch waiting on `connection`, taken off it: its writes must be sent now, before the
    connection's next statement (db/direct_statements.py, which sends that statement itself)."""
    return _PENDING.pop(connection, None)


def _flush_pending(connection: Connection) -> None:
    batch = _PENDING.pop(connection, None)
    if batch is not None:
        batch.flush_sync(connection)


def _before_execute(connection: Connection, statement: Any, multiparams: Any, params: Any, _options: Any) -> Any:
    _flush_pending(connection)
    return statement, multiparams, params


# The direct path sends the batch itself (`pending`): this hook doesn't keep a statement from it.
# Registered with retval=True, as SQLAlchemy would otherwise wrap it and lose the mark.
_before_execute.hears_direct_statements = True  # type: ignore[attr-defined]


def _on_commit(connection: Connection) -> None:
    _flush_pending(connection)


def _on_rollback(connection: Connection) -> None:
    batch = _PENDING.pop(connection, None)
    if batch is not None:
        batch.discard()


def _watch(engine: Engine) -> None:
    base = getattr(engine, "_proxied", engine)  # an engine with execution options shares its parent's events
    while hasattr(base, "_proxied"):
        base = base._proxied
    if base in _WATCHED:
        return
    event.listen(base, "before_execute", _before_execute, retval=True)
    event.listen(base, "commit", _on_commit)
    event.listen(base, "rollback", _on_rollback)
    _WATCHED.add(base)
