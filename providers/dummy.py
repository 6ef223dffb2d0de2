"""The dummy gateway: a provider that moves no money, answers like Stripe's test mode, and is
always offered (CONTRACT.md), so paygate can be run and tested without any provider's keys.

Test cards (any expiry in the future, any well-formed CVC), as Stripe documents them:

    4242 4242 4242 4242   succeeds                 4000 0000 0000 0002   card_declined
    4000 0025 0000 3155   requires 3-D Secure       4000 0000 0000 9995   insufficient_funds
    any other Luhn-valid  succeeds                  4000 0000 0000 9987   lost_card
                                                    4000 0000 0000 0069   expired_card
                                                    4000 0000 0000 0119   processing_error

A malformed card is declined with `incorrect_number`, `expired_card` or `incorrect_cvc`, as Stripe
would. Saved payment method tokens stand for test cards: `pm_card_visa`, `pm_card_chargeDeclined`,
`pm_card_chargeDeclinedInsufficientFunds` and the others in PAYMENT_METHODS.

State lives in this object's dicts: one process's memory, gone on restart. That is fine for a
test gateway, and it decides what an unknown reference means: `fetch`, `capture`, `void`,
`refund` and `confirm` of a reference this process never issued answer
`Declined("resource_missing")` (Stripe's code for an unknown object). That is the truth here:
nothing is held under that reference, so an attempt left open across a restart settles as failed
rather than staying open forever, and no money (there is none) can be lost by it.

Every method finishes without awaiting anything, so on one event loop each runs atomically:
two refunds can't both pass the "not more than captured" check.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from domain.cards import CardInput, CardSummary
from domain.errors import ConflictError, ValidationError
from domain.money import Money
from domain.payments.provider import (AuthorizeRequest, Capability, CaptureMethod, CaptureRequest, Declined,
                                      Outcome, RefundRequest, RequiresAction, Succeeded, VoidRequest)

# Stripe's decline messages, so that clients written against Stripe show the same text.
_MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "incorrect_number": "Your card number is incorrect.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "payment_intent_authentication_failure": "The customer did not complete 3-D Secure authentication.",
    "resource_missing": "The dummy gateway knows no such reference (its state lives in one process).",
    "payment_intent_unexpected_state": "The payment is not in a state that allows this.",
    "amount_too_large": "The amount is more than what is left.",
    "charge_already_refunded": "The payment has already been refunded in full.",
}
DECLINING_CARDS = {  # public test numbers, not customers' cards
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000009987": "lost_card",
    "4000000000000069": "expired_card",
    "4000000000000119": "processing_error",
}
THREE_D_SECURE_CARD = "4000002500003155"
PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_authenticationRequired": THREE_D_SECURE_CARD,
}
_FIELD_DECLINES = {"card_number": "incorrect_number", "expiry": "expired_card", "cvc": "incorrect_cvc"}


def _utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(slots=True)
class _Intent:
    """What the gateway remembers of a payment; a card summary, never a card number."""

    ref: str
    amount: Money
    capture_method: CaptureMethod
    status: str  # requires_action, requires_capture, succeeded, canceled or failed
    card: CardSummary | None
    client_secret: str
    captured: Money
    refunded: Money
    decline_code: str | None = None


class DummyGateway:
    name = "dummy"
    capabilities = frozenset({Capability.AUTHORIZE, Capability.CAPTURE, Capability.VOID,
                              Capability.REFUND, Capability.FETCH})

    def __init__(self, today: Callable[[], date] = _utc_today) -> None:
        self._today = today  # injected so tests can pin the date that expiry is checked against
        self._intents: dict[str, _Intent] = {}
        self._refunds: dict[str, Succeeded] = {}
        # idempotency key -> (what was asked, first answer); a key is answered once, then replayed
        self._answers: dict[str, tuple[tuple[object, ...], Outcome]] = {}

    def __repr__(self) -> str:
        return f"DummyGateway({len(self._intents)} payments, {len(self._refunds)} refunds)"

    # --- the port ----------------------------------------------------------------------------

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        card = req.card
        # Only what a summary would show goes into the fingerprint: a replayed request is matched
        # without the gateway ever holding the number.
        asked = ("authorize", req.amount, req.capture_method, req.payment_method,
                 card and (card.last4, str(card.exp_month), str(card.exp_year)))
        return self._once(req.idempotency_key, asked, lambda: self._authorize(req))

    async def capture(self, req: CaptureRequest) -> Outcome:
        asked = ("capture", req.provider_ref, req.amount)
        return self._once(req.idempotency_key, asked, lambda: self._capture(req))

    async def void(self, req: VoidRequest) -> Outcome:
        asked = ("void", req.provider_ref)
        return self._once(req.idempotency_key, asked, lambda: self._void(req))

    async def refund(self, req: RefundRequest) -> Outcome:
        asked = ("refund", req.provider_ref, req.amount)
        return self._once(req.idempotency_key, asked, lambda: self._refund(req))

    async def fetch(self, provider_ref: str) -> Outcome:
        if provider_ref in self._refunds:
            return self._refunds[provider_ref]
        intent = self._intents.get(provider_ref)
        return self._state_of(intent) if intent else _declined(provider_ref, None, "resource_missing")

    # --- what the customer does on the 3-D Secure page ---------------------------------------

    async def confirm(self, provider_ref: str, *, authenticated: bool = True) -> Outcome:
        """Complete (or fail) the challenge; confirming again answers the payment's state."""
        intent = self._intents.get(provider_ref)
        if intent is None:
            return _declined(provider_ref, None, "resource_missing")
        if intent.status == "requires_action":
            if authenticated:
                self._authorized(intent)
            else:
                intent.status, intent.decline_code = "failed", "payment_intent_authentication_failure"
        return self._state_of(intent)

    # --- internals ---------------------------------------------------------------------------

    def _once(self, key: str, asked: tuple[object, ...], act: Callable[[], Outcome]) -> Outcome:
        if key in self._answers:
            first_asked, first_answer = self._answers[key]
            if first_asked != asked:
                raise ConflictError(f"idempotency key {key} was used for a different request")
            return first_answer
        answer = act()
        self._answers[key] = (asked, answer)
        return answer

    def _authorize(self, req: AuthorizeRequest) -> Outcome:
        ref = "pi_dummy_" + secrets.token_hex(12)
        intent = _Intent(ref, req.amount, req.capture_method, "failed", None,
                         f"{ref}_secret_{secrets.token_hex(12)}", Money(0, req.amount.currency),
                         Money(0, req.amount.currency))
        self._intents[ref] = intent
        card = req.card or self._saved_card(req.payment_method)
        if card is None:
            intent.decline_code = "resource_missing"
            return self._state_of(intent)
        try:
            intent.card = card.validate(self._today())
        except ValidationError as exc:
            intent.decline_code = _FIELD_DECLINES.get(exc.field or "", "incorrect_number")
            return self._state_of(intent)
        if card.number in DECLINING_CARDS:
            intent.decline_code = DECLINING_CARDS[card.number]
        elif card.number == THREE_D_SECURE_CARD:
            intent.status = "requires_action"
        else:
            self._authorized(intent)
        return self._state_of(intent)

    def _saved_card(self, payment_method: str | None) -> CardInput | None:
        number = PAYMENT_METHODS.get(payment_method or "")
        if number is None:
            return None
        cvc = "1234" if number.startswith(("34", "37")) else "123"
        return CardInput(number, 12, self._today().year + 2, cvc)

    @staticmethod
    def _authorized(intent: _Intent) -> None:
        if intent.capture_method is CaptureMethod.AUTOMATIC:
            intent.status, intent.captured = "succeeded", intent.amount
        else:
            intent.status = "requires_capture"

    def _capture(self, req: CaptureRequest) -> Outcome:
        intent = self._intents.get(req.provider_ref)
        if intent is None:
            return _declined(req.provider_ref, req.amount, "resource_missing")
        if intent.status != "requires_capture":
            return _declined(intent.ref, req.amount, "payment_intent_unexpected_state")
        if req.amount > intent.amount:
            return _declined(intent.ref, req.amount, "amount_too_large")
        # Partial capture, once, like Stripe: the rest of the authorization is released.
        intent.status, intent.captured = "succeeded", req.amount
        return Succeeded(intent.ref, req.amount, intent.card)

    def _void(self, req: VoidRequest) -> Outcome:
        intent = self._intents.get(req.provider_ref)
        if intent is None:
            return _declined(req.provider_ref, None, "resource_missing")
        if intent.status not in ("requires_action", "requires_capture"):
            return _declined(intent.ref, intent.amount, "payment_intent_unexpected_state")
        intent.status = "canceled"
        return Succeeded(intent.ref, intent.amount, intent.card)

    def _refund(self, req: RefundRequest) -> Outcome:
        intent = self._intents.get(req.provider_ref)
        if intent is None:
            return _declined(None, req.amount, "resource_missing")
        if intent.status != "succeeded":
            return _declined(None, req.amount, "payment_intent_unexpected_state")
        left = intent.captured - intent.refunded
        if left.minor == 0:
            return _declined(None, req.amount, "charge_already_refunded")
        if req.amount > left:
            return _declined(None, req.amount, "amount_too_large")
        intent.refunded = intent.refunded + req.amount
        refund = Succeeded("re_dummy_" + secrets.token_hex(12), req.amount)
        self._refunds[refund.provider_ref] = refund
        return refund

    @staticmethod
    def _state_of(intent: _Intent) -> Outcome:
        """The authorization's outcome, which is what `fetch` settles: Succeeded once authorized
        (and captured, when capture is automatic), whatever was captured or refunded since."""
        if intent.status == "requires_action":
            return RequiresAction(intent.ref, intent.amount, intent.client_secret, "three_d_secure",
                                  card=intent.card)
        if intent.status in ("requires_capture", "succeeded"):
            return Succeeded(intent.ref, intent.amount, intent.card)
        return _declined(intent.ref, intent.amount, intent.decline_code or "canceled", card=intent.card)


def _declined(ref: str | None, amount: Money | None, code: str, card: CardSummary | None = None) -> Declined:
    return Declined(ref, amount, code, _MESSAGES.get(code, "The payment was declined."), card)
