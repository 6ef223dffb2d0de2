"""Scalars. GraphQL's Int is 32-bit and overflows on totals; money travels as MinorUnits.
DateTime is Strawberry's, refusing instants that exist in no database (see `_parse_datetime`)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import NewType

import strawberry
from graphql import GraphQLError, IntValueNode, ValueNode, print_ast
from strawberry.types.scalar import ScalarDefinition

_MAX = 2**63 - 1
_REFUSED = "MinorUnits must be a whole number that fits in 64 bits"

MinorUnits = NewType("MinorUnits", int)


def _parse_minor_units(value: object) -> int:
    # bool is an int in Python; a JSON true is not an amount.
    if type(value) is not int or not -_MAX - 1 <= value <= _MAX:
        raise GraphQLError(f"{_REFUSED}, not {value!r}")
    return value


def _parse_minor_units_literal(node: ValueNode, _variables: dict | None = None) -> int:
    """An amount written in the query text: an integer literal only. The default would read `1.5`,
    `1e309` or `"100"` through Python values first, and its exceptions would be masked as internal
    errors; a GraphQLError is the client's own mistake and is shown."""
    if not isinstance(node, IntValueNode):
        raise GraphQLError(f"{_REFUSED}, not {print_ast(node)}", nodes=node)
    return _parse_minor_units(int(node.value))


def _parse_datetime(value: object) -> datetime:
    """ISO 8601, as Strawberry's DateTime reads it (Python 3.11's fromisoformat reads the same
    forms as its dateutil.isoparse), but only instants that have a UTC time:
    "0001-01-01T00:00:00+14:00" is in year 0 in UTC, which Python and PostgreSQL can't hold, and
    failed inside the query as an internal error."""
    try:
        if not isinstance(value, str):
            raise TypeError("Expected a string.")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)
    except (ValueError, TypeError, OverflowError) as exc:
        raise GraphQLError(f"Value cannot represent a DateTime: {value!r}. {exc}") from None
    return parsed


SCALARS: dict[object, ScalarDefinition] = {
    MinorUnits: strawberry.scalar(
        name="MinorUnits",
        description="An amount in the currency's minor unit (cents, yen, fils) as a 64-bit integer, "
                    "sent as a JSON number.",
        serialize=int,
        parse_value=_parse_minor_units,
        parse_literal=_parse_minor_units_literal,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="Date with time (isoformat)",
        serialize=datetime.isoformat,
        parse_value=_parse_datetime,
    ),
}
