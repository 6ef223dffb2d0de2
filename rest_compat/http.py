"""What every REST route needs: the caller, the JSON body, the app's services, and errors in the
seed's own shape ({"detail": …} or {"error": …}).

Routes raise RestError (or let a domain error through); `endpoint` turns both into the seed's
answer, so every route of a seed answers errors the same way.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db.engine import Database
from db.uow import SqlUnitOfWork
from domain.errors import PaymentsError
from domain.identity import Actor, Role
from rest_compat.errors import status_of


class Shape(StrEnum):
    DETAIL = "detail"  # {"detail": "…"}, as Django REST framework answers (seeds 001, 004)
    ERROR = "error"    # {"error": "…"} (seeds 000, 002, 004's custom errors)


class RestError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# The error shape of each seed's base path (shared/seeds/INDEX.md); Django REST framework's
# {"detail": …} for the others. Used wherever a layer in front of the routes (rate limits)
# answers for them.
SEED_ERROR_SHAPES: tuple[tuple[str, Shape], ...] = (
    ("/api/payments/", Shape.ERROR),     # seed 000
    ("/api/v1/payments/", Shape.ERROR),  # seed 002
)


def shape_for(path: str) -> Shape:
    return next((shape for prefix, shape in SEED_ERROR_SHAPES if path.startswith(prefix)), Shape.DETAIL)


def error_response(shape: Shape, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({shape.value: message}, status_code=status, headers=headers)


@dataclass(frozen=True)
class Services:
    db: Database
    providers: Any  # domain.payments.provider.Providers
    policy: Any     # domain.payments.consequences.Policy
    settings: Any   # paygate.settings.Settings
    events: Any
    billing: Any = None  # domain.billing.provider.BillingProvider, None when Stripe isn't configured

    def uow(self, request: Request) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, request.headers.get("x-request-id"), self.events)


def services(request: Request) -> Services:
    state = request.app.state
    s = state.services
    return Services(db=state.db, providers=s["providers"], policy=s["policy"], settings=state.settings,
                    events=s.get("events"), billing=s.get("billing"))


def caller(request: Request, *roles: Role) -> Actor:
    """The verified caller: 401 without a valid bearer token, 403 without one of `roles`.

    The token was verified once, by the app's authentication layer, which left the caller (or
    why the token was refused) in the request's state.
    """
    state = request.scope.get("state", {})
    actor = state.get("actor")
    if actor is None:
        reason = state.get("auth_error") or "Authentication credentials were not provided."
        raise RestError(401, reason, {"WWW-Authenticate": "Bearer"})
    if roles and not actor.has(*roles):
        raise RestError(403, "You do not have permission to perform this action.")
    return actor


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 for anything else. Numbers stay exact (parse_float=str)."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"null", parse_float=str, parse_int=int)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting exhausts the parser's stack
        raise RestError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise RestError(400, "request body must be a JSON object")
    return body


Handler = Callable[[Request], Awaitable[Response]]


def endpoint(shape: Shape) -> Callable[[Handler], Handler]:
    """Answer RestError and expected domain errors in the seed's shape; anything else is a 500
    that the outermost middleware logs with its trace and answers plainly."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except RestError as exc:
                return error_response(shape, exc.status, exc.message, exc.headers)
            except PaymentsError as exc:
                return error_response(shape, status_of(exc), exc.message)

        return run

    return wrap
