"""Expected errors as types: a mutation returns a union of its success type and these.

One table (`expected_error`) maps domain errors to them; anything not in it (InvariantViolation,
or a PaymentsError the table forgot) is unexpected: it is raised, logged with the request id and
masked. Every mutation's union carries every error type (`result`), so an expected error can
never fall outside the union it is returned in (a race can raise what the happy path never
does: ten cancels at once meet RefundExceedsCaptured), and clients match on `... on Error`.
"""
from __future__ import annotations

from typing import Annotated, Any, Union

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


@strawberry.type(description="Refused by the risk checks before anything was sent to the provider.")
class RiskBlocked(Error):
    reasons: list[str]


@strawberry.type(description="Held by the risk checks for staff's review; nothing was sent. Pay again once "
                             "staff approved it (riskReviewApprove).")
class RiskReview(Error):
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
        case domain.RiskBlockedError():
            return RiskBlocked(code=exc.code, message=exc.message, reasons=list(exc.reasons))
        case domain.RiskReviewError():
            return RiskReview(code=exc.code, message=exc.message)
        case domain.ConflictError() | domain.InvalidStateError():
            return Conflict(code=exc.code, message=exc.message)
    raise exc  # an expected error this table doesn't know is a bug here: masked, logged


ERROR_TYPES = (NotFound, NotAllowed, ValidationError, InsufficientStock, PaymentDeclined,
               RefundExceedsCaptured, Conflict, RiskBlocked, RiskReview)


def result(name: str, *success: type) -> Any:
    """A mutation's result: a union of its success types and every expected error type."""
    return Annotated[Union[(*success, *ERROR_TYPES)], strawberry.union(name)]
