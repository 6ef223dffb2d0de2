"""PayPal's wire format <-> our money and outcomes: amounts as PayPal writes them, and how an
order, a capture, an authorization or a refund reads as the outcome of one of our attempts.

Amounts are `{"currency_code": "USD", "value": "29.99"}`: a decimal string, parsed exactly. PayPal
takes some currencies without decimals although ISO 4217 gives them two (HUF and TWD; JPY has none
anyway): "This currency does not support decimals. Passing a decimal amount will throw an error"
(developer.paypal.com/api/rest/reference/currency-codes/). Such an amount is sent as whole units,
and one with a fraction can't be sent at all (`PayPalAmountError`: refused before any call).

    order status                    as the outcome of our authorize (opening) attempt
    CREATED, SAVED,
    PAYER_ACTION_REQUIRED           RequiresAction: the buyer approves at PayPal (the approve link)
    APPROVED                        the adapter completes it (captures, or authorizes) first
    COMPLETED, intent CAPTURE       its capture: COMPLETED (later REFUNDED too) Succeeded,
                                    PENDING Pending, DECLINED or FAILED Declined
    COMPLETED, intent AUTHORIZE     its authorization: CREATED or (PARTIALLY_)CAPTURED Succeeded,
                                    PENDING Pending, DENIED, VOIDED, EXPIRED Declined
    VOIDED                          Declined("order_voided")
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.errors import PaymentsError, ProviderIntegrityError
from domain.money import Money, currency
from domain.payments.provider import Declined, Outcome, Pending, RequiresAction, Succeeded

Wire = dict[str, Any]

# developer.paypal.com/api/rest/reference/currency-codes/ (the ones the REST APIs take).
CURRENCIES = frozenset("AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP SGD "
                       "SEK CHF THB USD".split())
NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})
NEXT_ACTION = "paypal_approval"  # RequiresAction.next_action: the buyer approves on PayPal's page
_WAITING = frozenset({"CREATED", "SAVED", "PAYER_ACTION_REQUIRED"})


class PayPalAmountError(Exception):
    """An amount PayPal can't be sent: its currency isn't PayPal's, or it has a fraction PayPal drops."""


def paypal_amount(money: Money) -> Wire:
    code = money.code
    if code not in CURRENCIES:
        raise PayPalAmountError(f"PayPal does not take {code}")
    if code in NO_DECIMALS and money.currency.exponent:
        whole, fraction = divmod(money.minor, 10 ** money.currency.exponent)
        if fraction:
            raise PayPalAmountError(f"PayPal takes {code} in whole units only, not {money.decimal}")
        return {"currency_code": code, "value": str(whole)}
    return {"currency_code": code, "value": money.decimal}


def money_of(amount: object) -> Money:
    """PayPal's amount object as our Money, exactly; anything else is PayPal not answering as
    documented (an integrity error: never booked)."""
    code = amount.get("currency_code") if isinstance(amount, Mapping) else None
    value = amount.get("value") if isinstance(amount, Mapping) else None
    if not (isinstance(code, str) and isinstance(value, str)):
        raise ProviderIntegrityError(f"PayPal answered an unreadable amount: {amount!r}")
    try:
        cur = currency(code.upper())
        if cur.code in NO_DECIMALS and cur.exponent:  # whole units at PayPal, minor units here
            if not (value.isascii() and value.isdigit()):
                raise ValueError(value)
            return Money(int(value) * 10 ** cur.exponent, cur)
        return Money.parse_decimal(value, cur.code)
    except (PaymentsError, ValueError):  # an unknown currency, a malformed value: PayPal's answer
        raise ProviderIntegrityError(f"PayPal answered an unreadable amount: {amount!r}") from None


def link(obj: Mapping[str, Any], *rels: str) -> str | None:
    for item in obj.get("links") or ():
        if isinstance(item, Mapping) and item.get("rel") in rels and isinstance(item.get("href"), str):
            return str(item["href"])
    return None


def unit(order: Mapping[str, Any]) -> Mapping[str, Any]:
    units = order.get("purchase_units") or [{}]
    return units[0] if isinstance(units[0], Mapping) else {}


def order_amount(order: Mapping[str, Any]) -> Money:
    return money_of(unit(order).get("amount"))


def captures(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((unit(order).get("payments") or {}).get("captures") or [])


def authorizations(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((unit(order).get("payments") or {}).get("authorizations") or [])


def order_outcome(order: Mapping[str, Any]) -> Outcome:
    """An order as the outcome of the attempt that opened it (see the module's table). An
    APPROVED order reads as RequiresAction here: only the adapter's completion moves it on."""
    ref, status, amount = str(order["id"]), order.get("status"), order_amount(order)
    if status in _WAITING or status == "APPROVED":
        return RequiresAction(ref, amount, client_secret=ref, next_action=NEXT_ACTION,
                              redirect_url=link(order, "approve", "payer-action"))
    if status == "VOIDED":
        return Declined(ref, amount, "order_voided", "The PayPal order was voided.")
    if status != "COMPLETED":
        return Pending(ref, amount)
    if order.get("intent") == "AUTHORIZE":
        found = authorizations(order)
        return authorization_outcome(found[-1], ref) if found else Pending(ref, amount)
    found = captures(order)
    return capture_outcome(found[-1], ref) if found else Pending(ref, amount)


def capture_outcome(capture: Mapping[str, Any], ref: str) -> Outcome:
    """A capture, told under `ref` (the order's id: the payment's reference in our books)."""
    amount, status = money_of(capture.get("amount")), capture.get("status")
    if status in ("COMPLETED", "REFUNDED", "PARTIALLY_REFUNDED"):
        return Succeeded(ref, amount)
    if status == "PENDING":
        return Pending(ref, amount)
    reason = (capture.get("status_details") or {}).get("reason") or str(status).lower()
    return Declined(ref, amount, f"capture_{str(status).lower()}", f"PayPal's capture is {status} ({reason}).")


def authorization_outcome(authorization: Mapping[str, Any], ref: str) -> Outcome:
    amount, status = money_of(authorization.get("amount")), authorization.get("status")
    if status in ("CREATED", "CAPTURED", "PARTIALLY_CAPTURED"):
        return Succeeded(ref, amount)
    if status == "PENDING":
        return Pending(ref, amount)
    return Declined(ref, amount, f"authorization_{str(status).lower()}", f"PayPal's authorization is {status}.")


def refund_outcome(refund: Mapping[str, Any]) -> Outcome:
    ref, amount, status = str(refund["id"]), money_of(refund.get("amount")), refund.get("status")
    if status == "COMPLETED":
        return Succeeded(ref, amount)
    if status == "PENDING":
        return Pending(ref, amount)
    return Declined(ref, amount, f"refund_{str(status).lower()}", f"PayPal's refund is {status}.")
