"""The dummy gateway: a provider that moves no money and answers like Stripe's test mode, so
paygate can be run and tested without any provider's keys. Offered in development and tests; in
production only with PAYGATE_DUMMY_GATEWAY=on (CONTRACT.md), since it takes test cards.

Test cards (any expiry in the future, any well-formed CVC), as Stripe documents them:

    4242 4242 4242 4242   succeeds                 4000 0000 0000 0002   card_declined
    4000 0025 0000 3155   requires 3-D Secure       4000 0000 0000 9995   insufficient_funds
    any other Luhn-valid  succeeds                  4000 0000 0000 9987   lost_card
                                                    4000 0000 0000 0069   expired_card
                                                    4000 0000 0000 0119   processing_error

A malformed card is declined with `incorrect_number`, `expired_card` or `incorrect_cvc`, as Stripe
would. Saved payment method tokens stand for test cards: `pm_card_visa`, `pm_card_chargeDeclined`,
`pm_card_chargeDeclinedInsufficientFunds` and the others in PAYMENT_METHODS.

Its records (payments, refunds, the first answer to each idempotency key) live in the store the
composition root hands it (providers/dummy_records.py): paygate's database, so every app and
worker process sees the same gateway, as every process sees the same Stripe. Without one, a
store in this process's memory. A reference the gateway never issued answers
`Declined("resource_missing")` (Stripe's code for an unknown object).

Every method runs in one transaction of the store, locking the payment it changes and the
idempotency key it answers, so two refunds can't both pass the "not more than captured" check.

`find_authorization(req)` tells what became of an authorization sent under our idempotency key
whose answer was lost (the process died in between). The records know for certain: either the
gateway answered, or it never got the request; in that case it records a refusal under the key,
so a request that somehow still arrives with that key is refused too, and the answer the worker
settled on stays true.
"""
from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from domain.cards import CardInput, CardSummary
from domain.errors import ConflictError, ValidationError
from domain.money import Money
from domain.payments.provider import (
    AuthorizeRequest,
    Capability,
    CaptureMethod,
    CaptureRequest,
    CheckoutKind,
    Declined,
    FindRequest,
    OpenRequest,
    Outcome,
    RefundRequest,
    RequiresAction,
    Succeeded,
    VoidRequest,
)
from providers.dummy_records import (
    DummyRecords,
    MemoryRecords,
    Record,
    RecordBook,
    card_from,
    card_json,
    money_json,
    money_of,
    outcome_from,
    outcome_json,
)

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
    "resource_missing": "The dummy gateway knows no such reference.",
    "payment_intent_not_received": "The dummy gateway never received this payment.",
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

    def record(self) -> Record:
        return {"ref": self.ref, "amount": money_json(self.amount),
                "capture_method": str(self.capture_method), "status": self.status,
                "card": card_json(self.card), "client_secret": self.client_secret,
                "captured": money_json(self.captured), "refunded": money_json(self.refunded),
                "decline_code": self.decline_code}

    @classmethod
    def from_record(cls, record: Record) -> _Intent:
        return cls(record["ref"], money_of(record["amount"]), CaptureMethod(record["capture_method"]),
                   record["status"], card_from(record["card"]), record["client_secret"],
                   money_of(record["captured"]), money_of(record["refunded"]), record["decline_code"])


class DummyGateway:
    name = "dummy"
    capabilities = frozenset({Capability.AUTHORIZE, Capability.CAPTURE, Capability.VOID,
                              Capability.REFUND, Capability.FETCH, Capability.FIND, Capability.CHECKOUT})

    def __init__(self, records: DummyRecords | None = None, today: Callable[[], date] = _utc_today) -> None:
        self._records = records if records is not None else MemoryRecords()
        self._today = today  # injected so tests can pin the date that expiry is checked against

    def __repr__(self) -> str:
        return f"DummyGateway({self._records!r})"

    # --- the port ----------------------------------------------------------------------------

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        card = req.card
        # Only what a summary would show goes into the fingerprint: a replayed request is matched
        # without the gateway ever holding the number.
        asked = ["authorize", money_json(req.amount), str(req.capture_method), req.payment_method,
                 [card.last4, str(card.exp_month), str(card.exp_year)] if card else None]
        return await self._once(req.idempotency_key, asked, None, lambda book: self._authorize(book, req))

    async def capture(self, req: CaptureRequest) -> Outcome:
        asked = ["capture", req.provider_ref, money_json(req.amount)]
        return await self._once(req.idempotency_key, asked, req.provider_ref,
                                lambda book: self._capture(book, req))

    async def void(self, req: VoidRequest) -> Outcome:
        asked = ["void", req.provider_ref]
        return await self._once(req.idempotency_key, asked, req.provider_ref,
                                lambda book: self._void(book, req))

    async def refund(self, req: RefundRequest) -> Outcome:
        asked = ["refund", req.provider_ref, money_json(req.amount)]
        return await self._once(req.idempotency_key, asked, req.provider_ref,
                                lambda book: self._refund(book, req))

    async def fetch(self, provider_ref: str) -> Outcome:
        async with self._records.transaction() as book:
            refund = await book.get(_REFUND + provider_ref)
            if refund is not None:
                return outcome_from(refund)
            intent = await _intent(book, provider_ref)
        return self._state_of(intent) if intent else _declined(provider_ref, None, "resource_missing")

    async def find_authorization(self, req: FindRequest) -> Outcome:
        """What became of the authorization sent under `req.idempotency_key`: the payment's state
        now when the gateway answered it, else a refusal recorded under the key (see the docstring)."""
        idempotency_key = req.idempotency_key
        never_received = _declined(None, None, "payment_intent_not_received")
        async with self._records.transaction() as book:
            # Claimed, not locked and read: an authorization arriving now claims the same key, and
            # exactly one of the two gets it (`_once`).
            answer = await book.claim(_ANSWER + idempotency_key, {"asked": _NEVER_RECEIVED,
                                                                  "outcome": outcome_json(never_received)})
            if answer is None:
                return never_received
            first = outcome_from(answer["outcome"])
            if answer["asked"] != _NEVER_RECEIVED and answer["asked"][0] != "authorize":
                raise ConflictError(f"idempotency key {idempotency_key} was used for a {answer['asked'][0]}")
            intent = await _intent(book, first.provider_ref) if first.provider_ref else None
        return self._state_of(intent) if intent else first

    async def open(self, req: OpenRequest) -> Outcome:
        """A payment the customer completes on the dummy's own checkout page (seed 000's embedded
        checkout without Stripe): it waits, `requires_action` with no card yet, until the page
        (`complete_checkout`) is given a test payment method; HOSTED pages are its address."""
        asked = ["open", money_json(req.amount), str(req.capture_method), str(req.kind)]

        async def act(book: RecordBook) -> Outcome:
            ref = "pi_dummy_" + secrets.token_hex(12)
            intent = _Intent(ref, req.amount, req.capture_method, "requires_action", None,
                             f"{ref}_secret_{secrets.token_hex(12)}", Money(0, req.amount.currency),
                             Money(0, req.amount.currency))
            await book.put(_INTENT + ref, intent.record())
            return RequiresAction(ref, req.amount, intent.client_secret, CHECKOUT_ACTION,
                                  f"/dummy/checkout/{ref}" if req.kind is CheckoutKind.HOSTED else None)

        return await self._once(req.idempotency_key, asked, None, act)

    async def complete_checkout(self, provider_ref: str, payment_method: str) -> Outcome:
        """The customer pays on the dummy's checkout page with a test payment method
        (`pm_card_visa`, `pm_card_chargeDeclined`, ...); again, it answers the payment's state."""
        async with self._records.transaction() as book:
            await book.lock(_INTENT + provider_ref)
            intent = await _intent(book, provider_ref)
            if intent is None:
                return _declined(provider_ref, None, "resource_missing")
            if intent.status == "requires_action" and intent.card is None:
                card = self._saved_card(payment_method)
                if card is None:
                    intent.status, intent.decline_code = "failed", "resource_missing"
                else:
                    intent.card = card.validate(self._today())
                    if card.number in DECLINING_CARDS:
                        intent.status, intent.decline_code = "failed", DECLINING_CARDS[card.number]
                    else:
                        self._authorized(intent)
                await book.put(_INTENT + provider_ref, intent.record())
        return self._state_of(intent)

    # --- what the customer does on the 3-D Secure page ---------------------------------------

    async def confirm(self, provider_ref: str, *, authenticated: bool = True) -> Outcome:
        """Complete (or fail) the challenge; confirming again answers the payment's state."""
        async with self._records.transaction() as book:
            await book.lock(_INTENT + provider_ref)
            intent = await _intent(book, provider_ref)
            if intent is None:
                return _declined(provider_ref, None, "resource_missing")
            if intent.status == "requires_action" and intent.card is not None:  # a checkout page's has none yet
                if authenticated:
                    self._authorized(intent)
                else:
                    intent.status, intent.decline_code = "failed", "payment_intent_authentication_failure"
                await book.put(_INTENT + provider_ref, intent.record())
        return self._state_of(intent)

    # --- internals ---------------------------------------------------------------------------

    async def _once(self, key: str, asked: list[Any], ref: str | None,
                    act: Callable[[RecordBook], Awaitable[Outcome]]) -> Outcome:
        """A key is answered once, then its first answer is replayed; `ref` is the payment acted on."""
        if ref is None:  # a new payment: nothing is read, so the key's record can decide alone
            async with self._records.transaction() as book:
                answer = await act(book)
                first = await book.claim(_ANSWER + key, {"asked": asked, "outcome": outcome_json(answer)})
                if first is None:
                    return answer
                self._same_request(key, asked, first)
                return outcome_from(first["outcome"])
        async with self._records.transaction() as book:
            # Always the key first, then the payment: two transactions never wait on each other
            # in opposite orders.
            await book.lock(_ANSWER + key)
            if ref is not None:
                await book.lock(_INTENT + ref)
            first = await book.get(_ANSWER + key)
            if first is not None:
                self._same_request(key, asked, first)
                return outcome_from(first["outcome"])
            answer = await act(book)
            await book.put(_ANSWER + key, {"asked": asked, "outcome": outcome_json(answer)})
        return answer

    @staticmethod
    def _same_request(key: str, asked: list[Any], first: Record) -> None:
        # A key the worker found never received stays refused, whatever comes with it.
        never_received = first["asked"] == _NEVER_RECEIVED and asked[0] == "authorize"
        if first["asked"] != asked and not never_received:
            raise ConflictError(f"idempotency key {key} was used for a different request")

    async def _authorize(self, book: RecordBook, req: AuthorizeRequest) -> Outcome:
        ref = "pi_dummy_" + secrets.token_hex(12)
        intent = _Intent(ref, req.amount, req.capture_method, "failed", None,
                         f"{ref}_secret_{secrets.token_hex(12)}", Money(0, req.amount.currency),
                         Money(0, req.amount.currency))
        self._decide(intent, req)
        await book.put(_INTENT + ref, intent.record())
        return self._state_of(intent)

    def _decide(self, intent: _Intent, req: AuthorizeRequest) -> None:
        card = req.card or self._saved_card(req.payment_method)
        if card is None:
            intent.decline_code = "resource_missing"
            return
        try:
            intent.card = card.validate(self._today())
        except ValidationError as exc:
            intent.decline_code = _FIELD_DECLINES.get(exc.field or "", "incorrect_number")
            return
        if card.number in DECLINING_CARDS:
            intent.decline_code = DECLINING_CARDS[card.number]
        elif card.number == THREE_D_SECURE_CARD:
            intent.status = "requires_action"
        else:
            self._authorized(intent)

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

    async def _capture(self, book: RecordBook, req: CaptureRequest) -> Outcome:
        intent = await _intent(book, req.provider_ref)
        if intent is None:
            return _declined(req.provider_ref, req.amount, "resource_missing")
        if intent.status != "requires_capture":
            return _declined(intent.ref, req.amount, "payment_intent_unexpected_state")
        if req.amount > intent.amount:
            return _declined(intent.ref, req.amount, "amount_too_large")
        # Partial capture, once, like Stripe: the rest of the authorization is released.
        intent.status, intent.captured = "succeeded", req.amount
        await book.put(_INTENT + intent.ref, intent.record())
        return Succeeded(intent.ref, req.amount, intent.card)

    async def _void(self, book: RecordBook, req: VoidRequest) -> Outcome:
        intent = await _intent(book, req.provider_ref)
        if intent is None:
            return _declined(req.provider_ref, None, "resource_missing")
        if intent.status not in ("requires_action", "requires_capture"):
            return _declined(intent.ref, intent.amount, "payment_intent_unexpected_state")
        intent.status = "canceled"
        await book.put(_INTENT + intent.ref, intent.record())
        return Succeeded(intent.ref, intent.amount, intent.card)

    async def _refund(self, book: RecordBook, req: RefundRequest) -> Outcome:
        intent = await _intent(book, req.provider_ref)
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
        await book.put(_INTENT + intent.ref, intent.record())
        await book.put(_REFUND + refund.provider_ref, outcome_json(refund))
        return refund

    @staticmethod
    def _state_of(intent: _Intent) -> Outcome:
        """The authorization's outcome, which is what `fetch` settles: Succeeded once authorized
        (and captured, when capture is automatic), whatever was captured or refunded since."""
        if intent.status == "requires_action":
            action = "three_d_secure" if intent.card is not None else CHECKOUT_ACTION
            return RequiresAction(intent.ref, intent.amount, intent.client_secret, action, card=intent.card)
        if intent.status in ("requires_capture", "succeeded"):
            return Succeeded(intent.ref, intent.amount, intent.card)
        return _declined(intent.ref, intent.amount, intent.decline_code or "canceled", card=intent.card)


_INTENT, _REFUND, _ANSWER = "intent:", "refund:", "answer:"
CHECKOUT_ACTION = "dummy_checkout"  # the customer pays on the dummy's checkout page
_NEVER_RECEIVED = ["never received"]  # what `find_authorization` records under a key nobody sent


async def _intent(book: RecordBook, ref: str) -> _Intent | None:
    record = await book.get(_INTENT + ref)
    return None if record is None else _Intent.from_record(record)


def _declined(ref: str | None, amount: Money | None, code: str, card: CardSummary | None = None) -> Declined:
    return Declined(ref, amount, code, _MESSAGES.get(code, "The payment was declined."), card)
