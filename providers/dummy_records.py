"""Where the dummy gateway keeps what it knows: the port, its in-memory store, and the JSON shape.

A real provider keeps its payments on its own servers, which every paygate process asks. The
dummy gateway has no servers, so its records need a home that every process shares: the
composition root gives it one (db/dummy_gateway.py: a table in paygate's own database). Kept in
one process's memory, a payment authorized by one app process was unknown to the others: with
`--workers 2` about half the refunds answered `resource_missing`, and no worker could reconcile a
dummy attempt left open by a crash.

A record is a JSON object under a string key ("intent:<ref>", "refund:<ref>", "answer:<key>").
Everything the gateway does happens inside one `transaction()`: its reads and writes commit
together or not at all, and `lock(key)` holds off every other transaction that locks the same key
until this one ends, so two refunds of one payment (or two requests with one idempotency key)
never both pass their check, in one process or in several.

`MemoryRecords` keeps them in this process (tests, and anything that builds a `DummyGateway()`
without a store): one transaction at a time.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from domain.cards import CardSummary
from domain.money import Money
from domain.payments.provider import Declined, Outcome, Pending, RequiresAction, Succeeded

Record = dict[str, Any]


class RecordBook(Protocol):
    """One transaction over the records."""

    async def lock(self, key: str) -> None: ...

    async def get(self, key: str) -> Record | None: ...

    async def put(self, key: str, record: Record) -> None: ...

    async def claim(self, key: str, record: Record) -> Record | None:
        """Put `record` under `key` unless a record is there, and answer that one (None: claimed).
        For a transaction whose every put follows from winning the key: when another record was
        there, none of them is written. The key's UNIQUE decides, so it needs no `lock` first."""
        ...


class DummyRecords(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[RecordBook]: ...


class MemoryRecords:
    """The records in this process's memory; a transaction's writes land when it ends without error."""

    def __init__(self) -> None:
        self._records: dict[str, str] = {}
        self._one_at_a_time = asyncio.Lock()

    def __repr__(self) -> str:
        def count(prefix: str) -> int:
            return sum(key.startswith(prefix) for key in self._records)

        return f"{count('intent:')} payments, {count('refund:')} refunds"

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[RecordBook]:
        async with self._one_at_a_time:
            book = _MemoryBook(self._records)
            yield book
            self._records.update(book.written)


class _MemoryBook:
    def __init__(self, records: dict[str, str]) -> None:
        self.records = records
        self.written: dict[str, str] = {}

    async def lock(self, key: str) -> None:
        pass  # the whole transaction holds the store's lock

    async def get(self, key: str) -> Record | None:
        text = self.written.get(key, self.records.get(key))
        return None if text is None else json.loads(text)

    async def put(self, key: str, record: Record) -> None:
        self.written[key] = json.dumps(record)  # stored as text: the caller's dict can't change it

    async def claim(self, key: str, record: Record) -> Record | None:
        first = await self.get(key)
        if first is not None:
            self.written = {}
            return first
        await self.put(key, record)
        return None


# --- outcomes as JSON ------------------------------------------------------------------------


def money_json(money: Money | None) -> list[Any] | None:
    return None if money is None else [money.minor, money.code]


def money_from(value: list[Any] | None) -> Money | None:
    return None if value is None else Money.of(int(value[0]), str(value[1]))


def money_of(value: list[Any]) -> Money:
    return Money.of(int(value[0]), str(value[1]))


def card_json(card: CardSummary | None) -> Record | None:
    if card is None:
        return None
    return {"brand": str(card.brand), "last4": card.last4, "exp_month": card.exp_month,
            "exp_year": card.exp_year}


def card_from(value: Record | None) -> CardSummary | None:
    return None if value is None else CardSummary(**value)


def outcome_json(outcome: Outcome) -> Record:
    record: Record = {"type": type(outcome).__name__, "provider_ref": outcome.provider_ref,
                      "amount": money_json(outcome.amount), "card": card_json(outcome.card)}
    match outcome:
        case RequiresAction():
            record |= {"client_secret": outcome.client_secret, "next_action": outcome.next_action,
                       "redirect_url": outcome.redirect_url}
        case Declined():
            record |= {"decline_code": outcome.decline_code, "message": outcome.message}
    return record


def outcome_from(record: Record) -> Outcome:
    ref, card = record["provider_ref"], card_from(record["card"])
    match record["type"]:
        case "Succeeded":
            return Succeeded(ref, money_of(record["amount"]), card)
        case "Pending":
            return Pending(ref, money_of(record["amount"]), card)
        case "RequiresAction":
            return RequiresAction(ref, money_of(record["amount"]), record["client_secret"],
                                  record["next_action"], record["redirect_url"], card)
        case "Declined":
            return Declined(ref, money_from(record["amount"]), record["decline_code"], record["message"],
                            card)
    raise ValueError(f"not a recorded outcome: {record['type']!r}")
