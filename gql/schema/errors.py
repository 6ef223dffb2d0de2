"""Expected errors as types: a mutation returns a union of its success type and these.

One table maps domain errors to them; anything not in it is unexpected and is masked.
"""
from __future__ import annotations

import strawberry

from domain import errors as domain
from gql.schema.relay import to_global_id


@strawberry.interface(description="An expected failure of a mutation.")
class Error:
    code: str
    message: str


@strawberry.type
class NotFound(Error):
    pass


@strawberry.type
class NotAllowed(Error):
    pass


@strawberry.type
class ValidationError(Error):
    field: str | None


@strawberry.type
class InsufficientStock(Error):
    product_id: strawberry.ID
    requested: int
    available: int


@strawberry.type
class PaymentDeclined(Error):
    decline_code: str


@strawberry.type
class RefundExceedsCaptured(Error):
    pass


@strawberry.type
class Conflict(Error):
    pass


def expected_error(exc: domain.PaymentsError) -> Error:
    """The schema's error type for an expected domain error."""
    match exc:
        case domain.NotFoundError():
            return NotFound(code=exc.code, message=exc.message)
        case domain.NotAllowedError():
            return NotAllowed(code=exc.code, message=exc.message)
        case domain.ValidationError():
            return ValidationError(code=exc.code, message=exc.message, field=exc.field)
        case domain.InsufficientStockError():
            return InsufficientStock(code=exc.code, message=exc.message,
                                     product_id=strawberry.ID(to_global_id("Product", exc.product_id)),
                                     requested=exc.requested, available=exc.available)
        case domain.PaymentDeclinedError():
            return PaymentDeclined(code=exc.code, message=exc.message, decline_code=exc.decline_code)
        case domain.RefundExceedsCapturedError():
            return RefundExceedsCaptured(code=exc.code, message=exc.message)
        case domain.ConflictError() | domain.InvalidStateError():
            return Conflict(code=exc.code, message=exc.message)
    return Conflict(code=exc.code, message=exc.message)


ERROR_TYPES = (NotFound, NotAllowed, ValidationError, InsufficientStock, PaymentDeclined,
               RefundExceedsCaptured, Conflict)
