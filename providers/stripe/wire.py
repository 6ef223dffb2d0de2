"""Stripe's wire format <-> ours: amounts in Stripe's minor units, PaymentIntents and Refunds as
outcomes, PaymentMethods as card summaries.

Amounts. Stripe takes "the currency's smallest unit", which is ISO 4217's exponent (what
`domain.money` uses) except where Stripe kept an older representation for compatibility:
ISK stays two-decimal in Stripe's API ("an ISK amount of `100` will continue to represent 1
króna", support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds) while
ISO gives it none. A Stripe amount that can't be expressed in our units is a ConflictError:
money in an amount we can't book must never be booked rounded.

Outcomes mirror providers/dummy.py, which is what domain/payments/model.py expects:

    PaymentIntent status        as an authorization             as a capture / a void
    succeeded                   Succeeded(amount)               Succeeded(amount_received)
    requires_capture            Succeeded(amount): authorized   (capture still owed)
    requires_action             RequiresAction(client_secret)
    processing                  Pending
    requires_confirmation       Pending
    requires_payment_method     Declined(last_payment_error's decline_code or code); without an
                                error, opened for Stripe.js and awaiting the customer:
                                RequiresAction(client_secret, "elements")
    canceled                    Declined("canceled")            void: Succeeded(amount)

A declined PaymentIntent that the customer completes in the page (Elements) stays open at Stripe
for another try; whether ours stays open too is the domain's to decide, so it is read as Declined
like any other decline.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.cards import Brand, CardSummary
from domain.errors import ConflictError, ValidationError
from domain.money import Money, currency
from domain.payments.provider import Declined, Outcome, Pending, RequiresAction, Succeeded

# Stripe's exponent where it differs from ISO 4217's (see the module docstring).
STRIPE_EXPONENT = {"ISK": 2}
_BRANDS = {b.value: b for b in Brand}
_BRANDS.update({"american_express": Brand.AMEX, "diners_club": Brand.DINERS})

Wire = Mapping[str, Any]  # a Stripe object as the SDK hands it over (a dict subclass)
# RequiresAction.next_action for a payment the customer completes in Stripe.js's Payment Element.
ELEMENTS = "elements"


def stripe_amount(money: Money) -> tuple[int, str]:
    """(amount, lowercase currency) as Stripe's API takes them."""
    shift = STRIPE_EXPONENT.get(money.code, money.currency.exponent) - money.currency.exponent
    return money.minor * 10**shift, money.code.lower()


def money_of(amount: object, code: object) -> Money:
    """A Stripe amount and currency as our Money; refuses what our units can't hold exactly."""
    if type(amount) is not int or not isinstance(code, str):
        raise ConflictError(f"Stripe answered an amount we can't read: {amount!r} {code!r}")
    cur = currency(code)
    shift = STRIPE_EXPONENT.get(cur.code, cur.exponent) - cur.exponent
    minor, rest = divmod(amount, 10**shift)
    if rest:
        raise ConflictError(f"Stripe answered {amount} {code}, which is not a whole {cur.code} minor unit")
    return Money(minor, cur)


def card_summary(payment_method: object) -> CardSummary | None:
    """Brand, last four and expiry of an expanded card PaymentMethod; None for anything else."""
    if not isinstance(payment_method, Mapping) or payment_method.get("type") != "card":
        return None
    card = payment_method.get("card") or {}
    try:
        return CardSummary(_BRANDS.get(str(card.get("brand")), Brand.UNKNOWN), str(card.get("last4")),
                           int(card["exp_month"]), int(card["exp_year"]))
    except (KeyError, TypeError, ValueError, ValidationError):
        return None  # a summary is a nicety; a card Stripe describes oddly doesn't fail a payment


def authorization_outcome(intent: Wire) -> Outcome:
    """A PaymentIntent's state as the outcome of its authorization (what `fetch` answers)."""
    ref, status = intent["id"], intent.get("status")
    amount = money_of(intent.get("amount"), intent.get("currency"))
    card = card_summary(intent.get("payment_method"))
    if status in ("succeeded", "requires_capture"):
        return Succeeded(ref, amount, card)
    if status == "requires_action":
        action = intent.get("next_action") or {}
        redirect = (action.get("redirect_to_url") or {}).get("url")
        return RequiresAction(ref, amount, str(intent.get("client_secret")), "three_d_secure",
                              redirect_url=redirect, card=card)
    if status in ("processing", "requires_confirmation"):
        return Pending(ref, amount, card)
    if status == "canceled":
        return Declined(ref, amount, "canceled", "The payment was canceled.", card)
    error = intent.get("last_payment_error") or {}
    if status == "requires_payment_method" and not error:
        return RequiresAction(ref, amount, str(intent.get("client_secret")), ELEMENTS, card=card)
    code = error.get("decline_code") or error.get("code") or "requires_payment_method"
    return Declined(ref, amount, str(code), str(error.get("message") or "The payment was declined."), card)


def capture_outcome(intent: Wire) -> Outcome:
    """A PaymentIntent after `capture`: what was received, which is what we asked to capture."""
    if intent.get("status") == "succeeded":
        return Succeeded(intent["id"], money_of(intent.get("amount_received"), intent.get("currency")),
                         card_summary(intent.get("payment_method")))
    return _unexpected(intent, "captured")


def void_outcome(intent: Wire) -> Outcome:
    """A PaymentIntent after `cancel`: the whole authorization is released."""
    if intent.get("status") == "canceled":
        return Succeeded(intent["id"], money_of(intent.get("amount"), intent.get("currency")),
                         card_summary(intent.get("payment_method")))
    return _unexpected(intent, "canceled")


def refund_outcome(refund: Wire) -> Outcome:
    ref, status = refund["id"], refund.get("status")
    amount = money_of(refund.get("amount"), refund.get("currency"))
    if status == "succeeded":
        return Succeeded(ref, amount)
    if status in ("pending", "requires_action"):
        return Pending(ref, amount)
    return Declined(ref, amount, str(refund.get("failure_reason") or status or "refund_failed"),
                    "Stripe could not complete the refund.")


def _unexpected(intent: Wire, wanted: str) -> Outcome:
    amount = money_of(intent.get("amount"), intent.get("currency"))
    if intent.get("status") == "processing":
        return Pending(intent["id"], amount)
    return Declined(intent["id"], amount, "payment_intent_unexpected_state",
                    f"Stripe answered {intent.get('status')}, not {wanted}.")
