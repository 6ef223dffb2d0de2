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
        return cls(amount=MinorUnits(money.minor), currency=money.code, decimal=money.decimal, formatted=money.formatted)
