"""Payment mutations: thin calls into domain/'s use cases with the request's services."""
from __future__ import annotations

from domain.cards import CardInput
from domain.orders.cancel import Cancellation, CancelOrder, cancel_order
from domain.payments.complete import CompletePayment, complete_payment
from domain.payments.model import Attempt, Payment
from domain.payments.provider import CaptureMethod
from domain.payments.refund_requests import (
    AskRefund,
    DecideRefund,
    RefundRequest,
    decide_refund,
    request_refund,
)
from domain.payments.service import (
    CapturePayment,
    ConfirmPayment,
    PayOrder,
    RefundPayment,
    capture_payment,
    confirm_payment,
    pay_order,
    refund_payment,
)
from gql.resolvers.auth import require_actor


def _services(context):
    return context.services.providers, context.services.policy


def client_key(context) -> str | None:
    """The request's Idempotency-Key as the use cases see it (paygate/idempotency.py), if it has one."""
    state = getattr(context.request, "scope", {}).get("state", {})
    return state.get("client_key")


async def pay(context, order_id: int, provider: str, capture_method: str, card: CardInput | None,
              payment_method: str | None) -> Payment:
    actor = require_actor(context)  # the use case decides who may
    providers, policy = _services(context)
    cmd = PayOrder(actor, order_id, provider, CaptureMethod(capture_method), card, payment_method)
    return await pay_order(cmd, context.new_uow(), providers, policy)


async def complete(context, payment_id: int, answer: dict[str, str]) -> Payment:
    actor = require_actor(context)  # the use case decides who may (the buyer, or staff)
    providers, policy = _services(context)
    return await complete_payment(CompletePayment(actor, payment_id, answer), context.new_uow(), providers, policy)


async def confirm(context, payment_id: int) -> Payment:
    actor = require_actor(context)
    providers, policy = _services(context)
    return await confirm_payment(ConfirmPayment(actor, payment_id), context.new_uow(), providers, policy)


async def capture(context, payment_id: int, amount: int | None) -> Payment:
    actor = require_actor(context)
    providers, policy = _services(context)
    cmd = CapturePayment(actor, payment_id, amount, client_key=client_key(context))
    return await capture_payment(cmd, context.new_uow(), providers, policy)


async def refund(context, payment_id: int, amount: int | None, reason: str | None) -> tuple[Payment, Attempt]:
    actor = require_actor(context)
    providers, policy = _services(context)
    cmd = RefundPayment(actor, payment_id, amount, reason, client_key=client_key(context))
    return await refund_payment(cmd, context.new_uow(), providers, policy)


async def cancel(context, order_id: int, reason: str) -> Cancellation:
    actor = require_actor(context)
    providers, policy = _services(context)
    cmd = CancelOrder(actor, order_id, reason, client_key=client_key(context))
    return await cancel_order(cmd, context.new_uow(), providers, policy)


async def ask_refund(context, payment_id: int, amount: int | None, reason: str) -> RefundRequest:
    actor = require_actor(context)  # the use case decides who may
    # The same window after capture as seed 003's refund requests (PAYGATE_REFUND_WINDOW_DAYS).
    window = context.services.policy.refund_window
    return await request_refund(AskRefund(actor, payment_id, amount, reason, window=window), context.new_uow(),
                                context.services.clock, providers=context.services.providers)


async def decide(context, request_id: int, approve: bool, note: str | None):
    actor = require_actor(context)
    providers, policy = _services(context)
    return await decide_refund(DecideRefund(actor, request_id, approve, note), context.new_uow(), providers, policy)
