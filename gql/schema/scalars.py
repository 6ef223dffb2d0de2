"""Scalars. GraphQL's Int is 32-bit and overflows on totals; money travels as MinorUnits."""
from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

_MAX = 2**63 - 1

MinorUnits = NewType("MinorUnits", int)


def _parse_minor_units(value: object) -> int:
    # bool is an int in Python; a JSON true is not an amount.
    if type(value) is not int or not -_MAX - 1 <= value <= _MAX:
        raise ValueError("MinorUnits must be a whole number that fits in 64 bits")
    return value


SCALARS: dict[object, ScalarDefinition] = {
    MinorUnits: strawberry.scalar(
        name="MinorUnits",
        description="An amount in the currency's minor unit (cents, yen, fils) as a 64-bit integer, "
                    "sent as a JSON number.",
        serialize=int,
        parse_value=_parse_minor_units,
    ),
}
