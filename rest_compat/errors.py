"""One table from domain errors to HTTP status codes, shared by every seed's routes.

A missing object and another user's object answer the same 404 (the domain raises the same
NotFoundError for both).
"""
from __future__ import annotations

from domain import errors as domain

STATUS: tuple[tuple[type[domain.PaymentsError], int], ...] = (
    (domain.NotFoundError, 404),
    (domain.NotAllowedError, 403),
    (domain.RefundExceedsCapturedError, 400),
    (domain.ValidationError, 400),          # with InvalidAmountError, UnknownCurrencyError, …
    (domain.InsufficientStockError, 409),
    (domain.PaymentDeclinedError, 402),
    (domain.InvalidStateError, 409),
    (domain.ConflictError, 409),
)


def status_of(exc: domain.PaymentsError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400
