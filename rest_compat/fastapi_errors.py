"""FastAPI's conventions for errors, for the API that was a FastAPI router (seed 003, /payments/).

    invalid input            422 {"detail": [{"loc": ["body", "amount"], "msg": "…", "type": "…"}]}
                             (pydantic 2's words and types, without its `input`: an input may
                             hold a card number, and nothing echoes one)
    no or bad bearer token   401 {"detail": "Not authenticated"} / "Could not validate credentials",
                             with WWW-Authenticate: Bearer (OAuth2PasswordBearer's answer)
    an admin's route         403 {"detail": "Not enough permissions"}
    no such path / method    404 {"detail": "Not Found"} / 405 {"detail": "Method Not Allowed"}
    everything else          {"detail": "…"} with the status the table below gives

A request refused here writes nothing: every check runs before a use case is called.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain import errors as domain
from domain.identity import Actor, Role
from rest_compat.errors import Answer, ErrorTable, RestError, Shape
from rest_compat.json_body import BadJson, read_json

Loc = tuple[str | int, ...]
MAX_INT = 2**31 - 1  # ids are 32-bit columns: a larger one names nothing


@dataclass(frozen=True, slots=True)
class Problem:
    loc: Loc
    msg: str
    type: str

    def json(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class Invalid(Exception):
    """One or more of pydantic's validation errors: 422."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.msg for p in self.problems))


def invalid(loc: Loc, msg: str, kind: str) -> Invalid:
    return Invalid([Problem(loc, msg, kind)])


def missing(loc: Loc) -> Invalid:
    return invalid(loc, "Field required", "missing")


# --- the error table --------------------------------------------------------------------------

_HTTP = {404: "Not Found", 405: "Method Not Allowed"}

STATUSES: Mapping[type[domain.PaymentsError], int | Answer] = {
    domain.NotFoundError: 404,
    domain.NotAllowedError: 403,
    domain.ValidationError: 400,
    domain.RefundExceedsCapturedError: 400,
    domain.InsufficientStockError: 409,
    domain.PaymentDeclinedError: 402,
    domain.InvalidStateError: 400,
    domain.ConflictError: 409,
    domain.RiskBlockedError: 402,   # refused by the risk checks, like a decline: {"detail": "…"}
    domain.RiskReviewError: 409,    # held for staff's review: not now
}


def _message(exc: domain.PaymentsError) -> str:
    if isinstance(exc, domain.NotFoundError):
        return f"{str(exc.kind).capitalize()} not found"  # nothing about whose it is, or whether it exists
    return exc.message


@dataclass(frozen=True)
class FastApiErrors(ErrorTable):
    def malformed(self, message: str) -> tuple[int, dict[str, object]]:
        return 422, {"detail": [Problem(("body",), f"JSON decode error: {message}", "json_invalid").json()]}

    def handlers(self) -> dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]]:
        found = super().handlers()

        async def on_invalid(_: Request, exc: Exception) -> Response:
            assert isinstance(exc, Invalid)
            return JSONResponse({"detail": [p.json() for p in exc.problems]}, status_code=422)

        async def on_http(_: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            return JSONResponse({"detail": _HTTP.get(exc.status_code, exc.detail)}, status_code=exc.status_code,
                                headers=exc.headers)

        return {**found, Invalid: on_invalid, HTTPException: on_http}


ERRORS = FastApiErrors(Shape.DETAIL, STATUSES, message=_message)


# --- the caller -------------------------------------------------------------------------------

def current_user(request: Request) -> Actor:
    """FastAPI's OAuth2PasswordBearer + get_current_user: 401 without a valid token."""
    state = request.scope.get("state", {})
    actor: Actor | None = state.get("actor")
    if actor is None:
        message = "Could not validate credentials" if state.get("auth_error") else "Not authenticated"
        raise RestError(401, message, {"WWW-Authenticate": "Bearer"})
    return actor


def current_admin(request: Request) -> Actor:
    """get_current_admin: staff and admins (every object is theirs to see), 403 for anyone else."""
    actor = current_user(request)
    if not actor.has(Role.STAFF, Role.ADMIN):
        raise RestError(403, "Not enough permissions")
    return actor


# --- reading input as pydantic would ----------------------------------------------------------

async def body_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise missing(("body",))
    try:
        body = read_json(raw, exact_numbers=True)  # numbers with a fraction stay their text
    except BadJson as exc:
        raise invalid(("body",), f"JSON decode error: {exc}", "json_invalid") from None
    if not isinstance(body, dict):
        raise invalid(("body",), "Input should be a valid dictionary or object to extract fields from",
                      "model_attributes_type")
    return body


def integer(value: object, loc: Loc) -> int:
    """pydantic's int in lax mode: 7 and "7" are 7; "7.5", "x", true are refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and value.strip().isascii():
        return int(value.strip())
    if isinstance(value, str):
        raise invalid(loc, "Input should be a valid integer, unable to parse string as an integer", "int_parsing")
    raise invalid(loc, "Input should be a valid integer", "int_type")


def bounded(value: int, loc: Loc, *, ge: int | None = None, le: int | None = None) -> int:
    if ge is not None and value < ge:
        raise invalid(loc, f"Input should be greater than or equal to {ge}", "greater_than_equal")
    if le is not None and value > le:
        raise invalid(loc, f"Input should be less than or equal to {le}", "less_than_equal")
    return value


def text(body: Mapping[str, Any], name: str, *, required: bool = True, max_length: int = 255,
         where: Loc = ("body",)) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise missing((*where, name))
        return None
    if not isinstance(value, str):
        raise invalid((*where, name), "Input should be a valid string", "string_type")
    if len(value) > max_length:
        raise invalid((*where, name), f"String should have at most {max_length} characters", "string_too_long")
    return value


def choice(value: str, allowed: Iterable[str], loc: Loc) -> str:
    options = list(allowed)
    if value not in options:
        quoted = [f"'{o}'" for o in options]
        said = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
        raise invalid(loc, f"Input should be {said}", "enum")
    return value
