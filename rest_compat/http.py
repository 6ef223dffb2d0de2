"""What every REST route needs: the caller, the JSON body, the app's services and its database
(read queries only).

Routes raise RestError (a refusal decided at the edge) or let a domain error through; the error
table of the route's API (rest_compat/errors.py), registered on the API's mount, answers both in
the seed's shape. Who may do what is the use case's to decide: a route only authenticates.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from db.engine import Database
from domain.identity import Actor, Role
from domain.services import Services
from rest_compat.errors import RestError, Shape, error_response
from rest_compat.json_body import BadJson, read_json

__all__ = ["Handler", "RestError", "Shape", "caller", "client_key", "database", "error_response", "json_object", "services",
           "settings"]


class EdgeSettings(Protocol):
    """The settings the REST edge reads itself: webhook secrets (a provider's signature is its
    authentication) and what seed 004 shows as its configuration."""

    default_currency: str
    gateway_webhook_secret: str | None
    stripe_webhook_secret: str | None
    razorpay_webhook_secret: str | None
    flutterwave_secret_hash: str | None
    stripe_connect_webhook_secret: str | None


def services(request: Request) -> Services:
    """The app's one set of services, built once in create_app."""
    found: Services = request.app.state.services
    return found


def database(request: Request) -> Database:
    """The database, for db/'s read queries."""
    found: Database = request.app.state.db
    return found


def settings(request: Request) -> EdgeSettings:
    found: EdgeSettings = request.app.state.settings
    return found


def caller(request: Request, *roles: Role) -> Actor:
    """The verified caller: 401 without a valid bearer token, 403 without one of `roles` (a
    seed's documented permission, such as Django's IsAdminUser; what a caller may do with an
    object is the use case's to decide).

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


def client_key(request: Request) -> str | None:
    """The request's Idempotency-Key as the use cases see it (paygate/idempotency.py), if it has one:
    a refund retried with it resumes the refund it started."""
    key: str | None = request.scope.get("state", {}).get("client_key")
    return key


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 for anything else (rest_compat/json_body.py says what is
    refused). Numbers with a fraction stay their exact text."""
    try:
        body = read_json(await request.body() or b"null", exact_numbers=True)
    except BadJson as exc:
        raise RestError(400, str(exc)) from None
    if not isinstance(body, dict):
        raise RestError(400, "request body must be a JSON object")
    return body


Handler = Callable[[Request], Awaitable[Response]]
