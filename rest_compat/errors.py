"""One error table per API: the status and body each expected error gets under that API's base
path, registered as Starlette exception handlers on the API's mount (rest_compat/__init__.py).

A table is looked up along the exception's MRO, as Starlette looks up its handlers, and stops at
PaymentsError: an expected error the table doesn't name is a bug in the table (a test walks
every PaymentsError subclass through every table), so it is re-raised, logged with the request
id and answered 500, never dressed as a 400. InvariantViolation (domain/errors.py) is never in a
table. A missing object and another user's object answer the same 404 (the domain raises the
same NotFoundError for both).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain import errors as domain


class Shape(StrEnum):
    DETAIL = "detail"  # {"detail": "…"}, as Django REST framework answers (seeds 001, 004)
    ERROR = "error"    # {"error": "…"} (seeds 000, 002, 004's custom errors)


class RestError(Exception):
    """A refusal decided at the REST edge (malformed input, a seed's own rule), with its status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(shape: Shape, status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({shape.value: message}, status_code=status, headers=dict(headers or {}))


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    shape: Shape | None = None  # None: the table's own shape


# The statuses most seeds use; a seed whose document says otherwise gives its own table.
STATUSES: Mapping[type[domain.PaymentsError], int | Answer] = {
    domain.NotFoundError: 404,
    domain.NotAllowedError: 403,
    domain.ValidationError: 400,           # with InvalidAmountError, UnknownCurrencyError, …
    domain.RefundExceedsCapturedError: 400,
    domain.InsufficientStockError: 409,
    domain.PaymentDeclinedError: 402,
    domain.InvalidStateError: 409,
    domain.ConflictError: 409,
    domain.RiskBlockedError: 402,          # refused like a decline, before any provider call
    domain.RiskReviewError: 409,           # not now: staff review it first
}

# Starlette's own refusals (no such path under the base, wrong method) in the seed's words.
_HTTP_MESSAGES = {404: {Shape.DETAIL: "Not found.", Shape.ERROR: "Not found"}}


@dataclass(frozen=True)
class ErrorTable:
    shape: Shape
    statuses: Mapping[type[domain.PaymentsError], int | Answer] = field(default_factory=lambda: STATUSES)
    # A seed's own wording of an error (Django's "No Transaction matches the given query.").
    message: Callable[[domain.PaymentsError], str] = lambda exc: exc.message

    def malformed(self, message: str) -> tuple[int, dict[str, object]]:
        """The status and body for a request body that isn't JSON we read (paygate/body_limits.py)."""
        return 400, {self.shape.value: message}

    def answer_for(self, exc: domain.PaymentsError) -> Answer | None:
        for kind in type(exc).__mro__:
            if kind is domain.PaymentsError:
                break
            found = self.statuses.get(kind)
            if found is not None:
                return found if isinstance(found, Answer) else Answer(found)
        return None

    def respond(self, exc: domain.PaymentsError) -> Response:
        answer = self.answer_for(exc)
        if answer is None:
            raise exc  # a table that misses an expected error is a bug: 500, logged
        return error_response(answer.shape or self.shape, answer.status, self.message(exc))

    def handlers(self) -> dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]]:
        async def on_domain(_: Request, exc: Exception) -> Response:
            assert isinstance(exc, domain.PaymentsError)
            return self.respond(exc)

        async def on_rest(_: Request, exc: Exception) -> Response:
            assert isinstance(exc, RestError)
            return error_response(self.shape, exc.status, exc.message, exc.headers)

        async def on_http(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            if exc.status_code == 405:
                message = f'Method "{request.method}" not allowed.'
            else:
                message = _HTTP_MESSAGES.get(exc.status_code, {}).get(self.shape, exc.detail)
            return error_response(self.shape, exc.status_code, message, exc.headers)

        return {domain.PaymentsError: on_domain, RestError: on_rest, HTTPException: on_http}
