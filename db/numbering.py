"""Rows whose human-readable number (ORD-…, TXN-…, REF-…) is written by the INSERT that makes them.

A number derives from the row's id (domain/numbers.py), which the database assigns: inserting and
then updating the number costs a second statement per order, payment and refund. Instead the
INSERT takes its id itself (PostgreSQL: the column's sequence; SQLite: one past the largest id,
which is what SQLite assigns anyway, and safe there because the write transaction holds the
database's one write lock) and computes the number from it in SQL, in one statement.

The SQL is domain/numbers.py's arithmetic for ids below 2³⁰ (orders) or 2³² (within 64-bit integers on both
databases: the multiplier is split in 24-bit halves so no product overflows). Past that it
writes NULL, and `numbered_insert`'s caller sets the number from Python with an UPDATE, as it
also would should the two ever disagree (tests/test_numbering.py holds them equal).
"""
from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Integer, Table, bindparam, case, cast, func, literal_column
from sqlalchemy import select as core_select
from sqlalchemy.sql.elements import ColumnElement

from domain.numbers import Scheme


def sql_limit(scheme: Scheme) -> int:
    """Ids from here on get their number from Python: past 2³², or past the code space (where
    domain/numbers.py makes longer codes)."""
    return 1 << min(32, _bits(scheme.alphabet) * scheme.width)


def _bits(alphabet: str) -> int:
    bits = len(alphabet).bit_length() - 1
    assert 1 << bits == len(alphabet), "the alphabet's size is a power of two"
    return bits


def number_sql(scheme: Scheme, row_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """`scheme(row_id)` in SQL for ids below `sql_limit(scheme)` (NULL from there), on PostgreSQL
    and SQLite."""
    bits = _bits(scheme.alphabet)
    space_bits = bits * scheme.width
    low, high = scheme.multiplier & 0xFFFFFF, scheme.multiplier >> 24
    assert high < 1 << 24
    mask = (1 << space_bits) - 1
    # (id × m) mod 2^space, with m = high·2²⁴ + low: each product stays below 2⁵⁶. Constants are
    # written in the SQL (PostgreSQL's >> takes an integer, not a bound bigint).
    scrambled = (row_id * _n(low) + (row_id * _n(high)).op("&")(_n(0xFFFFFF)) * _n(1 << 24)).op("&")(_n(mask))
    text: ColumnElement[Any] = literal_column(f"'{scheme.prefix}'")
    for place in reversed(range(scheme.width)):
        digit = scrambled.op(">>")(_n(place * bits)).op("&")(_n(len(scheme.alphabet) - 1)) + _n(1)
        text = text.concat(func.substr(literal_column(f"'{scheme.alphabet}'"), cast(digit, Integer), _n(1)))
    return case((row_id < _n(sql_limit(scheme)), text), else_=None)


def _n(value: int) -> ColumnElement[Any]:
    return literal_column(str(int(value)))


def numbered_insert(table: Table, names: tuple[str, ...], scheme: Scheme, is_sqlite: bool):
    """INSERT … SELECT of one row whose id and number the statement assigns, RETURNING both; the
    other columns are bound parameters named after them. Built once per table and columns: an
    INSERT built anew for every row costs SQLAlchemy more CPU than the database spends on it."""
    return _numbered_insert(table, names, scheme, is_sqlite)


@functools.cache
def _numbered_insert(table: Table, names: tuple[str, ...], scheme: Scheme, is_sqlite: bool):
    if is_sqlite:
        next_id = core_select((func.coalesce(func.max(table.c.id), 0) + 1).label("id")).subquery("n")
    else:
        sequence = f"{table.name}_id_seq"  # the SERIAL column's own sequence (migrations)
        next_id = core_select(func.nextval(literal_column(f"'{sequence}'::regclass")).label("id")).subquery("n")
    row_id = next_id.c.id
    picked = core_select(row_id, number_sql(scheme, row_id),
                         *(bindparam(name, type_=table.c[name].type) for name in names))
    return (table.insert().from_select(["id", "number", *names], picked)
            .returning(table.c.id, table.c.number))
