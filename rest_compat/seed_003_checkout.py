"""Seed 003's methods that complete later, at the provider (`POST /payments/process` with
`payment_method` "paypal", "razorpay" or "flutterwave"): "answer pending with what the frontend
needs next".

    1st process  {payment_method, payment_details: {}}: the order's payment opened at the
                 provider (domain/payments/checkout.resume_payment: the same one again on a
                 reload), answered 202 with `next_action`:
                   paypal       the PayPal order's id (the JS SDK buttons' `createOrder`) and its
                                approval URL, with the public client id
                   razorpay     the Razorpay order's id, amount and currency, and the key id, for
                                Razorpay Checkout
                   flutterwave  the hosted page to send the customer to (`payment_details.return_url`
                                is where Flutterwave sends them back; the caller's origin +
                                /payment/return by default)
    2nd process  {payment_method, payment_details: <the checkout's answer>}: completed with what
                 the provider's checkout answered (`next_action.complete_with` names it):
                   paypal       {paypal_order_id} once the buyer approved: PayPal is asked and the
                                order captured (confirm_payment)
                   razorpay     {razorpay_payment_id, razorpay_order_id, razorpay_signature},
                                Flutterwave {transaction_id, tx_ref?}: verified with the provider
                                (domain/payments/complete.complete_payment) before anything is
                                recorded; a forged or tampered answer is a 400 and changes nothing
                 answered 200 with the payment when paid, 202 while the provider holds it, 402
                 when declined.

The payment completed is the order's open one for that provider; another user's order answers
404 as a missing one (the use cases decide who may). A provider that doesn't answer the opening
is a 503.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db.seed003_queries import order_history
from domain import errors
from domain.identity import Actor
from domain.payments.checkout import ResumePayment, resume_payment
from domain.payments.complete import CompletePayment, complete_payment
from domain.payments.model import Payment
from domain.payments.provider import Capability, CheckoutKind, Providers
from domain.payments.service import SETTLED, ConfirmPayment, confirm_payment
from domain.payments.status import AttemptKind, PaymentStatus
from rest_compat import seed_003_shapes as shapes
from rest_compat.fastapi_errors import missing, text
from rest_compat.http import RestError, database, services

MAX_URL = 2048
DONE = (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE)


@dataclass(frozen=True)
class CheckoutMethod:
    provider: str
    name: str
    kind: CheckoutKind  # how the customer pays at the provider (resume_payment's kind)
    needs: frozenset[Capability]  # what the provider must be able to do for this method to be offered
    answer: tuple[str, ...]  # what the checkout answers, sent back in payment_details to complete it
    optional: tuple[str, ...] = ()  # of `answer`, what may be left out

    @property
    def redirect(self) -> bool:
        return self.kind is CheckoutKind.HOSTED

    @property
    def requirements(self) -> dict[str, Any]:
        opening = ["return_url"] if self.redirect else []
        return {"payment_details": [], "optional": opening, "then": list(self.answer)}


_ELEMENT = frozenset({Capability.CHECKOUT, Capability.FETCH})
_VERIFIED = frozenset({Capability.CHECKOUT, Capability.COMPLETE})

CHECKOUT_METHODS: Mapping[str, CheckoutMethod] = {
    "paypal": CheckoutMethod("paypal", "PayPal", CheckoutKind.ELEMENTS, _ELEMENT, ("paypal_order_id",)),
    "razorpay": CheckoutMethod("razorpay", "Razorpay Checkout", CheckoutKind.ELEMENTS, _VERIFIED,
                               ("razorpay_payment_id", "razorpay_order_id", "razorpay_signature")),
    "flutterwave": CheckoutMethod("flutterwave", "Flutterwave", CheckoutKind.HOSTED, _VERIFIED,
                                  ("transaction_id", "tx_ref"), optional=("tx_ref",)),
}


def offered(providers: Providers) -> dict[str, CheckoutMethod]:
    return {name: m for name, m in CHECKOUT_METHODS.items()
            if m.provider in providers and m.needs <= providers[m.provider].capabilities}


def _answer(method: CheckoutMethod, details: dict[str, Any]) -> dict[str, str] | None:
    """The checkout's answer in payment_details, or None when it carries none (the first call)."""
    if not any(details.get(name) is not None for name in method.answer):
        return None
    answer = {}
    for name in method.answer:
        value = details.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # Flutterwave's transaction id is a number in its redirect's JSON form
        if value is None and name not in method.optional:
            raise missing(("body", "payment_details", name))
        if value is not None:
            found = text({name: value}, name, where=("body", "payment_details"))
            assert found is not None
            answer[name] = found
    return answer


async def process(request: Request, actor: Actor, order_id: int, method: CheckoutMethod,
                  details: dict[str, Any]) -> Response:
    answer = _answer(method, details)
    if answer is None:
        return await _open(request, actor, order_id, method, details)
    return await _complete(request, actor, order_id, method, answer)


async def _open(request: Request, actor: Actor, order_id: int, method: CheckoutMethod,
                details: dict[str, Any]) -> Response:
    return_url = None
    if method.redirect:
        origin = request.headers.get("origin") or str(request.base_url).rstrip("/")
        return_url = text(details, "return_url", required=False, max_length=MAX_URL,
                          where=("body", "payment_details")) or f"{origin}/payment/return"
    s = services(request)
    payment = await resume_payment(ResumePayment(actor, order_id, method.provider, method.kind,
                                                 return_url=return_url), s.uow(), s.providers, s.policy)
    if payment.status is PaymentStatus.FAILED:
        return _declined(payment)
    if payment.status is not PaymentStatus.REQUIRES_ACTION or not payment.provider_ref:
        raise RestError(503, f"{method.name} did not answer; try again shortly")
    return _answered(request, payment, method)


async def _complete(request: Request, actor: Actor, order_id: int, method: CheckoutMethod,
                    answer: dict[str, str]) -> Response:
    payment = await _open_payment(request, actor, order_id, method)
    s = services(request)
    if method.provider == "paypal":
        if answer["paypal_order_id"] != payment.provider_ref:
            # Refused as any checkout answer that doesn't verify (400), before PayPal is asked.
            raise errors.ValidationError("paypal_order_id is not the PayPal order of this order's payment",
                                         "paypal_order_id")
        if payment.in_flight(AttemptKind.AUTHORIZE):
            payment = await confirm_payment(ConfirmPayment(actor, payment.pk), s.uow(), s.providers, s.policy)
    else:
        payment = await complete_payment(CompletePayment(actor, payment.pk, answer), s.uow(), s.providers, s.policy)
    if payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED) or (
            payment.status is PaymentStatus.REQUIRES_ACTION and payment.decline_code):
        return _declined(payment)  # (an element stays open after a decline: another way to pay is still taken)
    if payment.status in DONE:
        return JSONResponse(shapes.payment(payment), status_code=200)
    return _answered(request, payment, method)


async def _open_payment(request: Request, actor: Actor, order_id: int, method: CheckoutMethod) -> Payment:
    """The order's newest payment at the method's provider that isn't over: the one to complete."""
    order, payments = await order_history(database(request), order_id)
    if order is None or order.buyer_id != actor.user_id:
        raise errors.NotFoundError("order", order_id)
    live = [p for p in payments if p.provider == method.provider and p.status not in SETTLED]
    if not live:
        raise errors.InvalidStateError(f"order {order.number} has no {method.name} payment to complete: "
                                       "send payment_details without the checkout's answer to open one")
    return max(live, key=lambda p: p.pk)


def _declined(payment: Payment) -> Response:
    return JSONResponse({"detail": f"Payment {payment.number} was declined ({payment.decline_code}): "
                                   f"{payment.decline_message or 'the provider declined it'}"}, status_code=402)


def _answered(request: Request, payment: Payment, method: CheckoutMethod) -> Response:
    """202 with the payment and what the frontend does next at the provider."""
    body = shapes.payment(payment, with_action=True)
    if payment.status is PaymentStatus.REQUIRES_ACTION:
        body["next_action"] = next_action(payment, method, services(request).providers.public_config(method.provider))
    return JSONResponse(body, status_code=202)


def next_action(payment: Payment, method: CheckoutMethod, public: Mapping[str, str]) -> dict[str, Any]:
    ref = payment.provider_ref
    action: dict[str, Any] = {"redirect_url": payment.redirect_url, "client_secret": payment.client_secret,
                              "complete_with": list(method.answer)}
    if method.provider == "paypal":
        # The JS SDK's buttons take the order id (createOrder); without them, the approval page.
        return {"type": "paypal_approval", **action, "paypal_order_id": ref,
                "client_id": public.get("publishable_key")}
    if method.provider == "razorpay":
        # Razorpay Checkout's options: key, order_id, amount (subunits) and currency.
        return {"type": "razorpay_checkout", **action, "redirect_url": None, "razorpay_order_id": ref,
                "key_id": public.get("key_id"), "amount": payment.amount.minor, "currency": payment.amount.code}
    return {"type": "redirect_to_url", **action}
