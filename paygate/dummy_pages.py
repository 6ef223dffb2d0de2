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
    gateway = request.app.state.services.providers.get("dummy")
    if gateway is None:  # not offered here (production, unless PAYGATE_DUMMY_GATEWAY=on)
        return JSONResponse({"error": "the dummy gateway is not offered on this server"}, status_code=404)
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


async def _onboard(request: Request) -> JSONResponse:
    """The dummy's stand-in for Stripe's onboarding form: posting here completes it (Stripe then
    sends `account.updated`; the dummy's account status is read back by `stripe/account-status/`)."""
    connect = request.app.state.services.connect
    complete = getattr(connect, "complete_onboarding", None)
    if complete is None:
        return JSONResponse({"error": "the dummy gateway is not offered on this server"}, status_code=404)
    state = await complete(request.path_params["ref"])
    if state is None:
        return JSONResponse({"error": "no such account at the dummy gateway"}, status_code=404)
    return JSONResponse({"account_id": state.provider_ref, "charges_enabled": state.charges_enabled,
                         "payouts_enabled": state.payouts_enabled})


def dummy_routes() -> list[Route]:
    return [Route("/dummy/3ds/{ref}", _three_d_secure, methods=["POST"]),
            Route("/dummy/connect/{ref}/onboard", _onboard, methods=["POST"])]
