"""Mutations that move money: processPayment, capture, refund, cancel and refund requests.

Each returns a union of its result and the typed errors a client should handle; a decline is
an expected outcome (PaymentDeclined), not an exception.
"""
from __future__ import annotations

import strawberry

from domain.cards import CardInput as DomainCardInput
from domain.errors import NotFoundError, PaymentsError
from domain.payments.model import Attempt as DomainAttempt
from domain.payments.status import AttemptStatus, PaymentStatus
from gql.resolvers import payments as payment_resolvers
from gql.resolvers import risk as risk_resolvers
from gql.schema.errors import PaymentDeclined, expected_error, result
from gql.schema.orders import Order
from gql.schema.payments import CaptureMethodEnum, Payment, Refund, RefundRequest
from gql.schema.relay import global_id_of
from gql.schema.risk import RiskReviewInput
from gql.schema.scalars import MinorUnits


@strawberry.input(description="A card as typed by its holder. Never stored: only brand, last 4 and expiry are kept.")
class CardInput:
    number: str
    exp_month: int
    exp_year: int
    cvc: str


@strawberry.input
class ProcessPaymentInput:
    order_id: strawberry.ID
    provider: str = "dummy"
    card: CardInput | None = None
    payment_method: str | None = strawberry.field(default=None, description="A provider token, e.g. pm_card_visa.")
    capture_method: CaptureMethodEnum = CaptureMethodEnum.AUTOMATIC


@strawberry.input
class PaymentConfirmInput:
    payment_id: strawberry.ID


@strawberry.input(description="What the provider's checkout answered in the customer's browser: Razorpay "
                               "Checkout's handler response, or the query of Flutterwave's redirect back.")
class PaymentCompleteInput:
    payment_id: strawberry.ID
    razorpay_payment_id: str | None = None
    razorpay_order_id: str | None = None
    razorpay_signature: str | None = None
    flutterwave_transaction_id: str | None = strawberry.field(default=None,
                                                               description="The redirect's `transaction_id`.")
    flutterwave_tx_ref: str | None = strawberry.field(default=None, description="The redirect's `tx_ref`.")

    def answer(self) -> dict[str, str]:
        given = {"razorpay_payment_id": self.razorpay_payment_id, "razorpay_order_id": self.razorpay_order_id,
                 "razorpay_signature": self.razorpay_signature, "transaction_id": self.flutterwave_transaction_id,
                 "tx_ref": self.flutterwave_tx_ref}
        return {name: value for name, value in given.items() if value is not None}


@strawberry.input
class CaptureInput:
    payment_id: strawberry.ID
    amount: MinorUnits | None = strawberry.field(default=None, description="Minor units; all authorized if null.")


@strawberry.input
class RefundInput:
    payment_id: strawberry.ID
    amount: MinorUnits | None = strawberry.field(default=None, description="Minor units; all refundable if null.")
    reason: str | None = None


@strawberry.input
class CancelInput:
    order_id: strawberry.ID
    reason: str


@strawberry.input
class RefundRequestInput:
    payment_id: strawberry.ID
    reason: str
    amount: MinorUnits | None = None


@strawberry.input
class RefundRequestDecisionInput:
    id: strawberry.ID
    note: str | None = None


@strawberry.type
class CancelSuccess:
    order: Order
    payment: Payment | None
    refund: Refund | None


@strawberry.type
class RefundRequestDecision:
    request: RefundRequest
    payment: Payment | None
    refund: Refund | None


ProcessPaymentResult = result("ProcessPaymentResult", Payment)
CaptureResult = result("CaptureResult", Payment)
RefundResult = result("RefundResult", Refund)
CancelResult = result("CancelResult", CancelSuccess)
RefundRequestResult = result("RefundRequestResult", RefundRequest)
RefundRequestDecisionResult = result("RefundRequestDecisionResult", RefundRequestDecision)


def _id(kind: str, global_id: strawberry.ID) -> int:
    legacy_id = global_id_of(kind, global_id)
    if legacy_id is None:
        raise NotFoundError(kind.lower(), global_id)
    return legacy_id


def _declined(code: str | None, message: str | None) -> PaymentDeclined:
    code = code or "declined"
    return PaymentDeclined(code="payment_declined", message=message or f"declined: {code}", decline_code=code)


def _refund_or_decline(payment, attempt: DomainAttempt):
    if attempt.status is AttemptStatus.FAILED:
        return _declined(attempt.decline_code, None)
    return Refund.from_domain(payment, attempt)


async def process_payment(info: strawberry.Info, input: ProcessPaymentInput) -> ProcessPaymentResult:
    """Pay an order the caller checked out. A 3-D Secure card answers with status REQUIRES_ACTION."""
    try:
        card = (DomainCardInput(input.card.number, input.card.exp_month, input.card.exp_year, input.card.cvc)
                if input.card else None)
        payment = await payment_resolvers.pay(info.context, _id("Order", input.order_id), input.provider,
                                              input.capture_method.value, card, input.payment_method)
    except PaymentsError as exc:
        return expected_error(exc)
    if payment.status is PaymentStatus.FAILED:
        return _declined(payment.decline_code, payment.decline_message)
    return Payment.from_domain(payment)


async def payment_confirm(info: strawberry.Info, input: PaymentConfirmInput) -> ProcessPaymentResult:
    """After the customer completed 3-D Secure at the provider: settle the payment with the
    provider's answer. With the dummy gateway, POST /dummy/3ds/{clientSecret's ref} first."""
    try:
        payment = await payment_resolvers.confirm(info.context, _id("Payment", input.payment_id))
    except PaymentsError as exc:
        return expected_error(exc)
    if payment.status is PaymentStatus.FAILED:
        return _declined(payment.decline_code, payment.decline_message)
    return Payment.from_domain(payment)


async def payment_complete(info: strawberry.Info, input: PaymentCompleteInput) -> ProcessPaymentResult:
    """Complete a payment opened at Razorpay or Flutterwave with what its checkout answered in the
    browser. The answer is verified server-side (Razorpay's signature; Flutterwave's transaction,
    asked for by id) before anything is recorded: a forged one is a ValidationError."""
    try:
        payment = await payment_resolvers.complete(info.context, _id("Payment", input.payment_id), input.answer())
    except PaymentsError as exc:
        return expected_error(exc)
    if payment.status is PaymentStatus.FAILED:
        return _declined(payment.decline_code, payment.decline_message)
    return Payment.from_domain(payment)


async def capture(info: strawberry.Info, input: CaptureInput) -> CaptureResult:
    """Capture an authorized payment, all of it or part (the rest is released). Staff only."""
    try:
        payment = await payment_resolvers.capture(info.context, _id("Payment", input.payment_id), input.amount)
    except PaymentsError as exc:
        return expected_error(exc)
    if payment.status is PaymentStatus.REQUIRES_CAPTURE and payment.attempts[-1].status is AttemptStatus.FAILED:
        return _declined(payment.attempts[-1].decline_code, None)
    return Payment.from_domain(payment)


async def refund(info: strawberry.Info, input: RefundInput) -> RefundResult:
    """Refund a payment through its provider, all that is left or part. Staff only."""
    try:
        payment, attempt = await payment_resolvers.refund(info.context, _id("Payment", input.payment_id),
                                                          input.amount, input.reason)
    except PaymentsError as exc:
        return expected_error(exc)
    return _refund_or_decline(payment, attempt)


async def cancel(info: strawberry.Info, input: CancelInput) -> CancelResult:
    """Cancel an order, giving back what was paid. Its buyer, a seller in it, or staff."""
    try:
        done = await payment_resolvers.cancel(info.context, _id("Order", input.order_id), input.reason)
    except PaymentsError as exc:
        return expected_error(exc)
    return CancelSuccess(order=Order.from_domain(done.order),
                         payment=Payment.from_domain(done.payment) if done.payment else None,
                         refund=Refund.from_domain(done.payment, done.refund) if done.payment and done.refund else None)


async def refund_request(info: strawberry.Info, input: RefundRequestInput) -> RefundRequestResult:
    """Ask for a refund of one of the caller's payments; staff decide."""
    try:
        request = await payment_resolvers.ask_refund(info.context, _id("Payment", input.payment_id), input.amount,
                                                     input.reason)
    except PaymentsError as exc:
        return expected_error(exc)
    return RefundRequest.from_domain(request)


async def _decide(info: strawberry.Info, input: RefundRequestDecisionInput, approve: bool):
    try:
        request, payment, attempt = await payment_resolvers.decide(
            info.context, _id("RefundRequest", input.id), approve, input.note)
    except PaymentsError as exc:
        return expected_error(exc)
    if attempt is not None and attempt.status is AttemptStatus.FAILED:
        return _declined(attempt.decline_code, None)
    return RefundRequestDecision(request=RefundRequest.from_domain(request),
                                 payment=Payment.from_domain(payment) if payment else None,
                                 refund=Refund.from_domain(payment, attempt) if attempt else None)


async def refund_request_approve(info: strawberry.Info, input: RefundRequestDecisionInput
                                 ) -> RefundRequestDecisionResult:
    """Approve a refund request: the refund goes to the provider now. Staff only."""
    return await _decide(info, input, approve=True)


async def refund_request_reject(info: strawberry.Info, input: RefundRequestDecisionInput
                                ) -> RefundRequestDecisionResult:
    """Reject a refund request; no money moves. Staff only."""
    return await _decide(info, input, approve=False)


RiskReviewResult = result("RiskReviewResult", Payment)


async def _review(info: strawberry.Info, input: RiskReviewInput, approve: bool) -> RiskReviewResult:
    try:
        payment_id = global_id_of("Payment", input.payment_id)
        if payment_id is None:
            raise NotFoundError("payment", input.payment_id)
        payment = await risk_resolvers.review(info.context, payment_id, approve)
    except PaymentsError as exc:
        return expected_error(exc)
    return Payment.from_domain(payment)


async def risk_review_approve(info: strawberry.Info, input: RiskReviewInput) -> RiskReviewResult:
    """Let a payment held by the risk checks through: the buyer's next try is sent. Staff only."""
    return await _review(info, input, approve=True)


async def risk_review_reject(info: strawberry.Info, input: RiskReviewInput) -> RiskReviewResult:
    """Refuse a payment held by the risk checks: it is canceled, nothing was sent. Staff only."""
    return await _review(info, input, approve=False)
