"""Relay: the Node interface with global ids, and connections paged by `first`/`after`.

A global id is base64("Type:legacyId"); a cursor is base64("cursor:<id>") of the row it follows,
so pages are keyset reads, stable while rows are added.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry
from graphql import GraphQLError

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_ID = 2**31 - 1  # ids are 32-bit columns: a larger one names no row, and the driver refuses it

T = TypeVar("T")


def to_global_id(type_name: str, legacy_id: int) -> str:
    return base64.b64encode(f"{type_name}:{legacy_id}".encode()).decode()


def _decimal_id(text: str) -> int:
    """An id as we write it: ASCII digits, perhaps a sign (int() alone also reads "１" and " 1")."""
    digits = text[1:] if text[:1] == "-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(text)
    return int(text)


def from_global_id(global_id: str) -> tuple[str, int | None]:
    """The type name and legacy id of a global id; the id is None when no row can have it."""
    try:
        type_name, _, raw = base64.b64decode(global_id, validate=True).decode().partition(":")
        legacy_id = _decimal_id(raw)
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError("not a valid global id", extensions={"code": "BAD_USER_INPUT"}) from None
    return type_name, legacy_id if 0 < legacy_id <= MAX_ID else None


def global_id_of(expected_type: str, global_id: str) -> int | None:
    """The legacy id inside a global id of the expected type; None for an id of another type, or
    one no row can have."""
    type_name, legacy_id = from_global_id(global_id)
    return legacy_id if type_name == expected_type else None


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


@dataclass(frozen=True, slots=True)
class PageRequest:
    after_id: int | None
    limit: int  # one more than asked for, to learn whether a next page exists
    first: int


def page_request(first: int | None, after: str | None) -> PageRequest:
    first = DEFAULT_PAGE if first is None else first
    if not 0 <= first <= MAX_PAGE:
        raise GraphQLError(f"`first` must be between 0 and {MAX_PAGE}", extensions={"code": "BAD_USER_INPUT"})
    after_id = None
    if after is not None:
        try:
            kind, _, raw = base64.b64decode(after, validate=True).decode().partition(":")
            after_id = _decimal_id(raw)
            if kind != "cursor" or not 0 <= after_id <= MAX_ID:
                raise ValueError(kind)
        except (ValueError, UnicodeDecodeError):
            raise GraphQLError("not a valid cursor", extensions={"code": "BAD_USER_INPUT"}) from None
    return PageRequest(after_id=after_id, limit=first + 1, first=first)


def cursor_of(row_id: int) -> str:
    return base64.b64encode(f"cursor:{row_id}".encode()).decode()


def connection(nodes: list, ids: list[int], req: PageRequest, total: int) -> Connection:
    """Build a page from up to `req.limit` rows (the extra row only says a next page exists)."""
    has_next = len(nodes) > req.first
    nodes, ids = nodes[: req.first], ids[: req.first]
    edges = [Edge(cursor=cursor_of(i), node=n) for n, i in zip(nodes, ids, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next, has_previous_page=req.after_id is not None,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )
