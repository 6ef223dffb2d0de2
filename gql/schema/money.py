"""Money as clients see it (CONTRACT.md, GraphQL): minor units, code, exact decimal, display text."""
from __future__ import annotations

import strawberry

from domain.money import Money as DomainMoney
from gql.schema.scalars import MinorUnits


@strawberry.type(description="An amount of one currency. `amount` is in minor units; `decimal` is exact.")
class Money:
    amount: MinorUnits
    currency: str
    decimal: str
    formatted: str

    @classmethod
    def from_domain(cls, money: DomainMoney) -> Money:
        return _OnDemand(money)


class _OnDemand(Money):
    """A Money whose `decimal` and `formatted` are computed when a query reads them.

    A page builds many amounts (six on every payment, two on every order line) and most queries
    select a few of their strings or none: building both strings for each was a measurable part of
    the page. Plain attributes for `amount` and `currency`, properties for the two strings: the
    GraphQL fields stay plain (resolved by attribute, no resolver), so the schema is unchanged.
    Not registered with Strawberry: the fields' type is `Money`, and this is one.
    """

    def __init__(self, money: DomainMoney) -> None:
        self.amount = MinorUnits(money.minor)
        self.currency = money.code
        self._money = money

    @property
    def decimal(self) -> str:  # type: ignore[override]
        return self._money.decimal

    @property
    def formatted(self) -> str:  # type: ignore[override]
        return self._money.formatted
