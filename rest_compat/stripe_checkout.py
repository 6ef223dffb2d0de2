"""What seeds 000 and 001 share when a cart becomes a Stripe Checkout page: the cart checked out
into an order holding its stock, and the order's payment opened at Stripe as a Checkout Session.

The seeds' own request and response shapes stay in their modules; this holds the calls.
Where the page sends the customer afterwards: the client's `return_url` (and `cancel_url`) when
the body names them, else the caller's own origin (the shop's page that called us).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from domain.errors import PaymentsError
from domain.identity import Actor
from domain.orders.service import Checkout, UndoCheckout, checkout, undo_checkout
from domain.payments.checkout import OpenPayment, ResumePayment, open_payment, resume_payment
from domain.payments.model import Payment
from domain.payments.provider import CheckoutKind, check_page_urls
from domain.payments.status import PaymentStatus
from rest_compat.http import RestError, services

PROVIDER = "stripe"
NOT_CONFIGURED = "Stripe is not configured on this gateway (PAYGATE_STRIPE_API_KEY)."
NO_ANSWER = "Stripe did not answer; your cart is as it was: try again shortly."
MAX_URL = 2048
# Stripe puts the session's id where this placeholder stands, so the return page can look it up.
SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def require_stripe(request: Request) -> None:
    if PROVIDER not in services(request).providers:
        raise RestError(503, NOT_CONFIGURED)


def return_urls(request: Request, body: dict[str, Any]) -> tuple[str, str]:
    origin = request.headers.get("origin") or str(request.base_url).rstrip("/")
    default = f"{origin}/checkout/return?session_id={SESSION_PLACEHOLDER}"
    urls = []
    for name, fallback in (("return_url", default), ("cancel_url", f"{origin}/cart")):
        value = body.get(name, fallback)
        if not (isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= MAX_URL):
            raise RestError(400, f"{name} must be an absolute http(s) URL")
        urls.append(value)
    return urls[0], urls[1]


async def cart_to_checkout_page(request: Request, actor: Actor, kind: CheckoutKind, *,
                                shipping_address_id: int | None, return_url: str, cancel_url: str,
                                provider: str = PROVIDER) -> Payment:
    """Check the cart out and open its order's payment at Stripe. When the page isn't opened
    (Stripe refused, or didn't answer) the cart is left as it was: the order is undone, its
    stock released and its lines put back, so the same request can simply be sent again. A
    page Stripe may have opened without our hearing of it is unreachable (nobody got its
    address); the worker settles its attempt by asking Stripe."""
    check_page_urls(kind, return_url, cancel_url)  # refused before the cart becomes an order
    svc = services(request)
    cmd = Checkout(actor=actor, shipping_address_id=shipping_address_id, now=datetime.now(UTC),
                   reservation=svc.policy.reservation)
    order = await checkout(cmd, svc.uow())
    try:
        payment = await open_payment(OpenPayment(actor, order.pk, provider, kind, return_url=return_url,
                                                 cancel_url=cancel_url), svc.uow(), svc.providers,
                                     svc.policy)
    except PaymentsError:
        await _undo(request, actor, order.pk, "the payment page could not be opened")
        raise
    if payment.status is PaymentStatus.REQUIRES_ACTION and payment.provider_ref:
        return payment
    if payment.status is PaymentStatus.FAILED:
        await _undo(request, actor, order.pk, "Stripe refused to open the payment page")
        raise RestError(502, f"Stripe refused to open the payment page: "
                             f"{payment.decline_message or payment.decline_code}")
    await _undo(request, actor, order.pk, "Stripe did not answer")
    raise RestError(503, NO_ANSWER)


async def resume_checkout_page(request: Request, actor: Actor, order_id: int, kind: CheckoutKind, *,
                               return_url: str, cancel_url: str, provider: str = PROVIDER) -> Payment:
    svc = services(request)
    payment = await resume_payment(ResumePayment(actor, order_id, provider, kind, return_url=return_url,
                                                 cancel_url=cancel_url), svc.uow(), svc.providers, svc.policy)
    if payment.status is PaymentStatus.FAILED:
        raise RestError(502, f"Stripe refused to open the payment page: {payment.decline_message or payment.decline_code}")
    return opened(payment)


def opened(payment: Payment) -> Payment:
    if payment.status is not PaymentStatus.REQUIRES_ACTION or not payment.provider_ref:
        raise RestError(503, NO_ANSWER)
    return payment


async def _undo(request: Request, actor: Actor, order_id: int, reason: str) -> None:
    await undo_checkout(UndoCheckout(actor, order_id, reason, datetime.now(UTC)), services(request).uow())
