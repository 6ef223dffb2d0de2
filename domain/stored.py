"""Objects once stored: the id a stored object has, and re-reads of rows known to exist.

A domain object is built before its row exists (`Payment.new`, checkout's `Order`, an `Attempt`
started on a payment) and gets its id when a repository's `add` (or a payment's `save`) writes
it. So the field stays `id: int | None`, and every stored object also has `pk: int`: the id,
typed as what it is once persisted (and `stored("order number", order.number)` reads the
number made from it). Code that needs an id (a query, a foreign key, a ledger
account) reads `pk`; code that builds objects never has to invent one. Reading `pk` of an object
never stored is a bug, not input: it raises `InvariantViolation` (answered 500, logged) instead of
sending `None` on to a query.

Ruled out: `id: int` with a placeholder (0) for new objects, which the type can't tell from a
real id; and a `NewPayment`/`Payment` split for every aggregate, which doubles each class and its
mapping for the one field that differs.

A use case that re-reads, inside a later transaction, an object it has already seen (to lock it,
or after the provider answered) gets `X | None` from the repository like any lookup; `existing`
says "it was there a moment ago" and answers `NotFoundError` should it be gone.
"""
from __future__ import annotations

from typing import TypeVar

from domain.errors import InvariantViolation, NotFoundError

T = TypeVar("T")


class NotStoredError(InvariantViolation):
    """The id of an object that was never stored was asked for."""


def stored(what: str, value: T | None) -> T:
    """`value` (an id, or a number made from it), which only a stored object has."""
    if value is None:
        raise NotStoredError(f"no {what}: the object was never stored")
    return value


def existing(found: T | None, kind: str, ident: object) -> T:
    if found is None:
        raise NotFoundError(kind, ident)
    return found
