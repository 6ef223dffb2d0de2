"""Completing a payment whose checkout ended in the customer's browser (Razorpay Checkout's
signed answer, Flutterwave's redirect back to the shop).

    complete_payment   the buyer (or staff) hands over what the provider's checkout answered;
                       the provider verifies it (`CompletingProvider.complete`: a signature over
                       the ids, or the provider asked about the transaction) and the open
                       authorization is settled with the verified outcome

Nothing is recorded before the answer verifies: a forged or tampered answer is a ValidationError
and the payment stays as it was. Verifying asks the provider a question and moves no money, so no
attempt is recorded first (as `confirm_payment`). The same answer twice settles once: the second
finds the attempt settled (`Payment.finish_attempt` changes nothing for the same news), and the
webhook that tells the same thing changes nothing either.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.clock import Clock, utc_now
from domain.errors import InvalidStateError, NotFoundError
from domain.identity import Actor
from domain.payments.access import buyer_or_staff
from domain.payments.attempts import ask_provider, settle
from domain.payments.consequences import Policy
from domain.payments.model import Payment
from domain.payments.provider import Capability, CompleteRequest, CompletingProvider, Providers
from domain.payments.status import AttemptKind, PaymentStatus
from domain.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class CompletePayment:
    actor: Actor
    payment_id: int
    answer: Mapping[str, str] = field(default_factory=dict)


async def complete_payment(cmd: CompletePayment, uow: UnitOfWork, providers: Providers, policy: Policy,
                           clock: Clock = utc_now) -> Payment:
    async with uow:  # a read: whose payment, and what is open
        payment = await uow.payments.get(cmd.payment_id)
    if payment is None or not buyer_or_staff(cmd.actor, payment):
        raise NotFoundError("payment", cmd.payment_id)
    provider: CompletingProvider = providers.require(  # type: ignore[assignment]
        payment.provider, Capability.COMPLETE)
    request = CompleteRequest(payment.provider_ref or "", payment.amount, cmd.answer)  # refused before asking
    opened = payment.in_flight(AttemptKind.AUTHORIZE)
    if not opened or payment.provider_ref is None:
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE):
            # Told already (the webhook came first, or the same answer again): verified all the
            # same, so a forged answer is refused whatever state the payment is in.
            await ask_provider(provider.complete(request))
            return payment
        raise InvalidStateError(f"payment {payment.number} is {payment.status.value}: nothing to complete")
    outcome = await ask_provider(provider.complete(request))  # ValidationError: refused, nothing written
    return await settle(payment.pk, opened[-1].seq, outcome, cmd.actor, uow, policy, clock)
