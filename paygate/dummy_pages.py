"""The dummy gateway's stand-in for a bank's 3-D Secure page.

With a real provider the customer completes the challenge on the provider's page; with the
dummy gateway a client (or a test) posts here instead, then calls `paymentConfirm`.
"""
from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain.payments.provider import Declined, RequiresAction, Succeeded


async def _three_d_secure(request: Request) -> JSONResponse:
    gateway = request.app.state.services.providers["dummy"]
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return JSONResponse({"error": "body must be JSON like {\"authenticated\": true}"}, status_code=400)
    authenticated = body.get("authenticated", True) if isinstance(body, dict) else True
    if not isinstance(authenticated, bool):
        return JSONResponse({"error": "authenticated must be true or false"}, status_code=400)
    outcome = await gateway.confirm(request.path_params["ref"], authenticated=authenticated)
    match outcome:
        case Succeeded():
            return JSONResponse({"status": "succeeded"})
        case RequiresAction():
            return JSONResponse({"status": "requires_action"})
        case Declined(decline_code="resource_missing"):
            return JSONResponse({"error": "no such payment at the dummy gateway"}, status_code=404)
        case Declined():
            return JSONResponse({"status": "failed", "decline_code": outcome.decline_code})
    return JSONResponse({"status": "processing"})


def dummy_routes() -> list[Route]:
    return [Route("/dummy/3ds/{ref}", _three_d_secure, methods=["POST"])]
