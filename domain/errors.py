"""Domain errors. Catch at the level you care about; each surface maps them to its own shape.

PaymentsError
  NotFoundError              unknown id, or one the caller may not see (the two look the same)
  NotAllowedError            the caller is known but may not do this
  ValidationError            bad input, with the field it concerns
    InvalidAmountError       not an exact amount, or more decimals than the currency has
    UnknownCurrencyError     not an ISO 4217 code we know
  CurrencyMismatchError      arithmetic across two currencies
  InsufficientStockError     fewer left than asked for
  InvalidStateError          e.g. capture after cancel
  RefundExceedsCapturedError
  ConflictError              the same thing is being done concurrently, or already was
  PaymentDeclinedError       a decline carried up to a surface that wants an error
  RiskBlockedError           refused by the risk checks (domain/risk) before any provider call
  RiskReviewError            held for staff's review by the risk checks: not sent until approved
ProviderUnavailableError     timeout or 5xx: outcome unknown, retry with the same key
InvariantViolation           a bug, never input: no surface maps it; it is logged with the request
  UnbalancedEntryError       id and answered 500 (REST) or as a masked error (GraphQL)
  ProviderIntegrityError     the provider echoed another amount, currency or object than we asked,
                             or contradicted its own final answer: nothing of it may be booked

Only PaymentsError is expected: every surface has one table that maps each of its subclasses
(looked up along the MRO) to that surface's answer, and a test checks each table is complete.
"""
from __future__ import annotations


class PaymentsError(Exception):
    code = "error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()


class NotFoundError(PaymentsError):
    """Not found."""
    code = "not_found"

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class NotAllowedError(PaymentsError):
    """You may not do this."""
    code = "not_allowed"


class ValidationError(PaymentsError):
    """Invalid input."""
    code = "validation_error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidAmountError(ValidationError):
    code = "invalid_amount"

    def __init__(self, message: str, field: str | None = "amount") -> None:
        super().__init__(message, field)


class UnknownCurrencyError(ValidationError):
    code = "unknown_currency"

    def __init__(self, code: object) -> None:
        super().__init__(f"unknown currency {code!r}", "currency")


class CurrencyMismatchError(ValidationError):
    code = "currency_mismatch"

    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine {left} with {right}", "currency")


class InsufficientStockError(PaymentsError):
    code = "insufficient_stock"

    def __init__(self, product_id: int, requested: int, available: int) -> None:
        super().__init__(f"product {product_id}: {requested} requested, {available} available")
        self.product_id = product_id
        self.requested = requested
        self.available = available


class InvalidStateError(PaymentsError):
    """Not possible in the current state."""
    code = "invalid_state"


class RefundExceedsCapturedError(PaymentsError):
    """The refund exceeds what is left of the capture."""
    code = "refund_exceeds_captured"


class ConflictError(PaymentsError):
    """Conflicts with a concurrent or earlier request."""
    code = "conflict"


class PaymentDeclinedError(PaymentsError):
    code = "payment_declined"

    def __init__(self, decline_code: str, message: str = "") -> None:
        super().__init__(message or f"payment declined: {decline_code}")
        self.decline_code = decline_code


class ProviderUnavailableError(Exception):
    """The provider timed out or failed: the outcome is unknown; retry with the same key."""


class InvariantViolation(Exception):
    """Something that must never happen did: a bug here or at the provider, never the caller's input."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__)
        self.message = message or (self.__class__.__doc__ or "").strip()


class UnbalancedEntryError(InvariantViolation):
    """A journal entry must balance: debits equal credits in every currency."""


class ProviderIntegrityError(InvariantViolation):
    """The provider's answer contradicts what we asked or what it said before."""


class RiskBlockedError(PaymentsError):
    """The payment was refused by the risk checks before anything reached the provider."""
    code = "risk_blocked"

    def __init__(self, message: str, *, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class RiskReviewError(PaymentsError):
    """The payment waits for staff's review before it is sent to the provider."""
    code = "risk_review"
