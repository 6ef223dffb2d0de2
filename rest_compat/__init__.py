"""The REST compatibility layer: the five seed APIs, path for path, and the webhook endpoints.

Each seed has its own module exposing `api() -> Api` (routes, their OpenAPI operations, the
seed's base path and its one error table); `apis()` lists those served, and `mounts()` serves
each base path as one Starlette mount whose exception handlers are that seed's table. So every
route of a seed, and every path under its base that doesn't exist (404) or a method it doesn't
take (405), answers errors in the seed's own shape.
"""
from __future__ import annotations

import functools

from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Mount, Route

from rest_compat import (
    seed_000,
    seed_001,
    seed_002,
    seed_002_billing,
    seed_002_paypal,
    seed_003,
    seed_004,
    webhooks_paypal,
    webhooks_regional,
    webhooks_stripe,
)
from rest_compat.errors import ErrorTable, Shape
from rest_compat.openapi import Api


def apis() -> list[Api]:
    return [seed_000.api(), seed_001.api(), seed_002.api(), seed_002_billing.api(), seed_002_paypal.api(),
            seed_003.api(), seed_004.api(), webhooks_stripe.api(), webhooks_paypal.api(), webhooks_regional.api()]


def mounts(served: list[Api]) -> list[Mount]:
    by_base: dict[str, list[Api]] = {}
    for api in served:
        by_base.setdefault(api.base, []).append(api)
    found = []
    for base, group in by_base.items():
        tables = {id(api.errors) for api in group}
        if len(tables) != 1:
            raise ValueError(f"{base}: one API, one error table ({len(tables)} given)")
        routes = []
        for api in group:
            for route in api.routes:
                if not route.path.startswith(base + "/"):
                    raise ValueError(f"{route.path} is not under its API's base {base}")
                routes.append(Route(route.path[len(base):], route.endpoint, methods=route.methods, name=route.name))
        handlers = group[0].errors.handlers()
        found.append(Mount(base, routes=routes, middleware=[Middleware(ExceptionMiddleware, handlers=handlers)]))
    return found


@functools.cache
def _tables() -> tuple[tuple[str, ErrorTable], ...]:
    # Longest base first, so a base inside another (none today) would win over it.
    found = {api.base + "/": api.errors for api in apis()}
    return tuple(sorted(found.items(), key=lambda pair: -len(pair[0])))


def _table_for(path: str) -> ErrorTable | None:
    return next((table for base, table in _tables() if path.startswith(base)), None)


def shape_for(path: str) -> Shape:
    """The error shape of the API whose base `path` is under, from that API's own table; Django
    REST framework's {"detail": …} elsewhere. For the layers that answer before any route does
    (rate limits, body limits)."""
    table = _table_for(path)
    return table.shape if table else Shape.DETAIL


def malformed_for(path: str, message: str) -> tuple[int, dict[str, object]]:
    """Status and body for a request body that isn't JSON we read, in the words of the API
    `path` is under (400 in most seeds; FastAPI's 422 under seed 003's)."""
    table = _table_for(path)
    return table.malformed(message) if table else (400, {Shape.DETAIL.value: message})
