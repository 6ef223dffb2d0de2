"""The OpenAPI 3.1 document of every REST route (GET /openapi.json).

Each route module declares its operations next to its routes (`Operation`), so the document
is built from what is really mounted, with the seed's request and response schemas.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Route

from rest_compat.errors import ErrorTable

JSON = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    method: str            # "get", "post"
    path: str              # OpenAPI form: /api/payment/transactions/{transaction_id}/
    summary: str
    tag: str
    responses: dict[int, tuple[str, JSON | None]]  # status -> (description, JSON schema or None)
    request: JSON | None = None                    # JSON schema of the body
    parameters: tuple[JSON, ...] = ()
    secured: bool = True                           # bearer token; webhooks are signed instead
    extra: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class Api:
    """A seed's routes with their operations, under the seed's base path, answering errors by the
    seed's one table (rest_compat/errors.py)."""
    routes: list[Route]
    operations: list[Operation]
    base: str              # "/api/payment": every route's path starts with it
    errors: ErrorTable


def error_schema(key: str) -> JSON:
    return {"type": "object", "required": [key], "properties": {key: {"type": "string"}}}


def path_param(name: str, schema: JSON | None = None, description: str = "") -> JSON:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"},
            "description": description}


def query_param(name: str, schema: JSON, description: str = "") -> JSON:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _throttled(op: Operation) -> JSON:
    """Every route is rate limited (RATE_LIMIT): 429 with Retry-After, in the seed's error shape,
    which is the schema the operation already documents for its client errors."""
    shape = next((schema for status, (_, schema) in sorted(op.responses.items())
                  if 400 <= status < 500 and schema), error_schema("detail"))
    return {"description": "Too many requests: wait Retry-After seconds.",
            "headers": {"Retry-After": {"description": "Seconds until a request is allowed again.",
                                        "schema": {"type": "integer", "minimum": 0}}},
            "content": {"application/json": {"schema": shape}}}


def document(operations: Iterable[Operation], *, title: str = "paygate REST", version: str = "1") -> JSON:
    paths: JSON = {}
    for op in operations:
        entry: JSON = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": f"{op.method}_{op.path}".replace("/", "_").replace("{", "").replace("}", "").strip("_"),
            "responses": {
                str(status): {"description": description,
                              **({"content": {"application/json": {"schema": schema}}} if schema else {})}
                for status, (description, schema) in sorted(op.responses.items())}
            | {"429": _throttled(op)},
            **op.extra,
        }
        if op.parameters:
            entry["parameters"] = list(op.parameters)
        if op.request is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.request}}}
        entry["security"] = [{"bearer": []}] if op.secured else []
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "The legacy payment APIs paygate serves, path for path (shared/seeds)."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
