"""The dummy gateway's stand-in for a bank's 3-D Secure page.

With a real provider the customer completes the challenge on the provider's page; with the
dummy gateway a client (or a test) posts here instead, then calls `paymentConfirm`.
"""
from __future__ import annotations

import json
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.payment_queries import payment_by_provider_ref
from domain.payments.provider import Declined, RequiresAction, Succeeded
from domain.payments.reconcile import reconcile_payment


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


async def _checkout(request: Request) -> JSONResponse:
    """The dummy's checkout page (seed 000's embedded checkout without Stripe): the customer pays
    with a test payment method (`{"payment_method": "pm_card_visa"}`), then the payment is settled
    at once, as Stripe's `checkout.session.completed` webhook would settle it."""
    svc = request.app.state.services
    gateway = svc.providers.get("dummy")
    if gateway is None:
        return JSONResponse({"error": "the dummy gateway is not offered on this server"}, status_code=404)
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    method = body.get("payment_method", "pm_card_visa") if isinstance(body, dict) else None
    if not isinstance(method, str):
        return JSONResponse({"error": "body must be JSON like {\"payment_method\": \"pm_card_visa\"}"},
                            status_code=400)
    ref = request.path_params["ref"]
    outcome = await gateway.complete_checkout(ref, method)
    if isinstance(outcome, Declined) and outcome.decline_code == "resource_missing" and outcome.amount is None:
        return JSONResponse({"error": "no such payment at the dummy gateway"}, status_code=404)
    found = await payment_by_provider_ref(request.app.state.db, "dummy", ref)
    if found is not None:
        await reconcile_payment(found.pk, svc.uow(), svc.providers, svc.policy, svc.clock, grace=timedelta(0))
    match outcome:
        case Succeeded():
            return JSONResponse({"status": "succeeded"})
        case Declined():
            return JSONResponse({"status": "failed", "decline_code": outcome.decline_code})
    return JSONResponse({"status": "requires_action"})


def dummy_routes() -> list[Route]:
    return [Route("/dummy/3ds/{ref}", _three_d_secure, methods=["POST"]),
            Route("/dummy/checkout/{ref}", _checkout, methods=["POST"]),
            Route("/dummy/connect/{ref}/onboard", _onboard, methods=["POST"])]
