"""Per-request data loaders: a relation field costs one query per batch, never one per row.

Each batch opens its own short session (db/queries.py), because one AsyncSession can't serve
fields resolving in parallel (STACK-NOTES.md).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TypeVar

from aiodataloader import DataLoader

from db import market_queries, order_queries, payment_queries, queries
from db.engine import Database

K = TypeVar("K")
V = TypeVar("V")


def _by_key(fetch: Callable[[Sequence[K]], Awaitable[dict[K, V]]]) -> DataLoader:
    async def batch(keys: list[K]) -> list[V | None]:
        found = await fetch(keys)
        return [found.get(key) for key in keys]

    return DataLoader(batch)


class Loaders:
    def __init__(self, db: Database) -> None:
        self.db = db

    @cached_property
    def users(self) -> DataLoader:
        return _by_key(lambda ids: queries.users_by_ids(self.db, ids))

    @cached_property
    def products(self) -> DataLoader:
        return _by_key(lambda ids: queries.products_by_ids(self.db, ids))

    @cached_property
    def orders(self) -> DataLoader:
        return _by_key(lambda ids: order_queries.orders_by_ids(self.db, ids))

    @cached_property
    def addresses(self) -> DataLoader:
        return _by_key(lambda ids: order_queries.addresses_by_ids(self.db, ids))

    @cached_property
    def payments(self) -> DataLoader:
        return _by_key(lambda ids: payment_queries.payments_by_ids(self.db, ids))

    @cached_property
    def payments_by_order(self) -> DataLoader:
        """An order's payments, oldest first; an empty list for an order without any."""
        async def batch(order_ids: list[int]) -> list[list]:
            found = await payment_queries.payments_by_order_ids(self.db, order_ids)
            return [found.get(order_id, []) for order_id in order_ids]

        return DataLoader(batch)

    @cached_property
    def payments_by_refund(self) -> DataLoader:
        return _by_key(lambda ids: payment_queries.payments_by_attempt_ids(self.db, ids))

    @cached_property
    def refund_requests(self) -> DataLoader:
        return _by_key(lambda ids: payment_queries.refund_requests_by_ids(self.db, ids))

    @cached_property
    def transfers_by_payout(self) -> DataLoader:
        """A payout's transfers, oldest first."""
        async def batch(payout_ids: list[int]) -> list[list]:
            found = await market_queries.transfers_of_payouts(self.db, payout_ids)
            return [found.get(payout_id, []) for payout_id in payout_ids]

        return DataLoader(batch)
