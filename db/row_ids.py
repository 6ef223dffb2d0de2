"""A row's primary key, typed as what it is once the row was read from the database.

SQLModel declares `id: int | None` on every table (None until the row is inserted); a row read
back always has one. `pk(row)` says so to the type checker and fails loudly should a row that was
never inserted reach code that needs its id.
"""
from __future__ import annotations

from typing import Protocol


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def pk(row: _Row) -> int:
    if row.id is None:
        raise ValueError(f"{type(row).__name__} was never inserted: it has no id")
    return row.id
