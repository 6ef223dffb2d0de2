"""Stripe Checkout Sessions <-> our requests and outcomes: what `open` sends for a payment page,
and how a session reads as the outcome of the authorization it stands for.

A payment opened as a Checkout Session keeps the session's id (`cs_…`) as its reference for good:
Stripe creates the session's PaymentIntent only when the customer pays (API versions since
2022-08-01), so there is no `pi_…` to keep at first. The adapter finds the PaymentIntent behind
the session whenever it must capture, void, refund or fetch.

    session status   payment intent                 as an authorization
    open             none yet, or declined          RequiresAction(client_secret, "embedded" | "hosted",
                     (the page lets them retry)       redirect_url for hosted)
    expired          none, or canceled by Stripe    Declined("expired")
    complete         its state (wire.authorization_outcome), under the session's id

Stripe's `ui_mode` names for this API version (stripe 16.1.0's param types) are `embedded_page`
and `hosted_page`; `return_url` is for embedded pages only, `success_url` and `cancel_url` for
hosted ones. `expires_at` must fall 30 minutes to 24 hours after the session is created.
"""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

from stripe.params.checkout import (
    SessionCreateParams,
    SessionCreateParamsLineItem,
    SessionCreateParamsPaymentIntentData,
)

from domain.payments.provider import (
    CheckoutKind,
    Declined,
    OpenRequest,
    Outcome,
    Pending,
    RequiresAction,
    Succeeded,
)
from providers.stripe import wire

UI_MODES = {CheckoutKind.EMBEDDED: "embedded_page", CheckoutKind.HOSTED: "hosted_page"}
# RequiresAction.next_action of an open session, by its ui_mode.
NEXT_ACTIONS = {"embedded_page": "embedded", "hosted_page": "hosted"}

# Stripe's window for `expires_at`, from the session's creation. It is computed from when the
# attempt was recorded (OpenRequest.opened_at), a little before Stripe creates the session, so
# both ends keep a margin; and from that fixed time, a retry with the same idempotency key sends
# the same parameters. A rounded-up expiry lands on a 5-minute grid.
SHORTEST = timedelta(minutes=30)
LONGEST = timedelta(hours=24)
MARGIN = timedelta(minutes=2)
GRID_S = 300


def is_session(provider_ref: str) -> bool:
    return provider_ref.startswith("cs_")


def expires_at(wanted: datetime | None, now: datetime) -> int | None:
    """`wanted` as Stripe's unix time, moved into Stripe's window; None leaves Stripe's default (24 h)."""
    if wanted is None:
        return None
    soonest, latest = now + SHORTEST + MARGIN, now + LONGEST - MARGIN
    if wanted < soonest:
        return math.ceil(soonest.timestamp() / GRID_S) * GRID_S
    return math.ceil(min(wanted, latest).timestamp())


def session_params(req: OpenRequest, now: datetime) -> SessionCreateParams:
    """The body of `POST /v1/checkout/sessions` for an EMBEDDED or HOSTED request."""
    ui_mode = UI_MODES[req.kind]
    if req.return_url is None:  # OpenRequest refuses a page without one; narrowed for the type
        raise ValueError("a Checkout Session needs a return_url")
    intent_data: SessionCreateParamsPaymentIntentData = {"capture_method": req.capture_method.value, "metadata": dict(req.metadata)}
    params: SessionCreateParams = {"mode": "payment", "ui_mode": ui_mode, "line_items": _lines(req),
                              "metadata": dict(req.metadata), "payment_intent_data": intent_data}
    if req.kind is CheckoutKind.EMBEDDED:
        params["return_url"] = req.return_url
    else:
        params["success_url"] = req.return_url
        if req.cancel_url:
            params["cancel_url"] = req.cancel_url
    expiry = expires_at(req.expires_at, now)
    if expiry is not None:
        params["expires_at"] = expiry
    if req.customer_email:
        params["customer_email"] = req.customer_email
    return params


def _lines(req: OpenRequest) -> list[SessionCreateParamsLineItem]:
    # Without lines, one line for the whole amount: Checkout lists at least one item.
    lines = [(line.name, line.unit_amount, line.quantity) for line in req.lines] or [
        (_whole_order(req), req.amount, 1)]
    items: list[SessionCreateParamsLineItem] = []
    for name, unit, quantity in lines:
        amount, cur = wire.stripe_amount(unit)
        items.append({"price_data": {"currency": cur, "unit_amount": amount, "product_data": {"name": name}},
                      "quantity": quantity})
    return items


def _whole_order(req: OpenRequest) -> str:
    order = req.metadata.get("payment_number") or req.metadata.get("order_id")
    return f"Order {order}" if order else "Order"


def session_outcome(session: wire.Wire) -> Outcome:
    """A Checkout Session as the outcome of its authorization (see the module's table). The
    PaymentIntent is read when `payment_intent` is expanded; an id alone reads as Pending."""
    ref, status = session["id"], session.get("status")
    amount = wire.money_of(session.get("amount_total"), session.get("currency"))
    if status == "open":
        return RequiresAction(ref, amount, str(session.get("client_secret") or ""),
                              NEXT_ACTIONS.get(str(session.get("ui_mode")), str(session.get("ui_mode"))),
                              redirect_url=session.get("url"))
    if status == "expired":
        return Declined(ref, amount, "expired", "The payment page expired before the customer paid.")
    intent = session.get("payment_intent")
    if status != "complete" or not isinstance(intent, dict):
        return Pending(ref, amount)
    return as_session(wire.authorization_outcome(intent), intent["id"], ref)


def paid_outcome(session: wire.Wire) -> Outcome | None:
    """A completed session Stripe calls `paid` (the event's object, PaymentIntent not expanded):
    authorized, and captured too when capture is automatic. None for `unpaid`: ask its PaymentIntent."""
    if session.get("status") != "complete" or session.get("payment_status") != "paid":
        return None
    return Succeeded(session["id"], wire.money_of(session.get("amount_total"), session.get("currency")))


def intent_of(session: wire.Wire) -> wire.Wire | None:
    """The session's PaymentIntent, when it has one and it is expanded."""
    intent = session.get("payment_intent")
    return intent if isinstance(intent, dict) else None


def as_session(outcome: Outcome, intent_id: str, session_id: str) -> Outcome:
    """An outcome about the session's PaymentIntent, told under the session's id (the payment's
    reference in our domain, which checks every answer's reference against it)."""
    if outcome.provider_ref != intent_id:
        return outcome
    return replace(outcome, provider_ref=session_id)


def void_outcome(session: wire.Wire) -> Outcome:
    """A session after `expire` (or one that was never paid): nothing is held any more."""
    amount = wire.money_of(session.get("amount_total"), session.get("currency"))
    if session.get("status") == "expired":
        return Succeeded(session["id"], amount)
    return Declined(session["id"], amount, "checkout_session_unexpected_state",
                    f"Stripe answered a {session.get('status')} Checkout Session, not an expired one.")
