"""Checkout Sessions for tests/fake_stripe.py, after Stripe's API reference for the pinned version
(2026-10-28.endive, stripe 16.1.0's param types), in `payment` mode:

    POST /v1/checkout/sessions               create: ui_mode `embedded_page` (return_url; no
                                             success_url or cancel_url) or `hosted_page` (the
                                             default; success_url, cancel_url; no return_url),
                                             line_items with price_data, expires_at 30 min to 24 h
                                             after creation, payment_intent_data, metadata
    GET  /v1/checkout/sessions/{id}          expand payment_intent, payment_intent.payment_method
    POST /v1/checkout/sessions/{id}/expire   open sessions only; its PaymentIntent (a declined
                                             try) is canceled with it

As at Stripe (API versions since 2022-08-01), a session has no PaymentIntent until the customer
pays. What the customer does on the page is played by `complete` and `expire` (FakeStripe's
`complete_session` and `expire_session`).
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from tests.fake_stripe_wire import StripeRefusal, invalid, positive

if TYPE_CHECKING:
    from tests.fake_stripe import FakeStripe

UI_MODES = ("elements", "embedded_page", "form", "hosted_page")
SERVED_UI_MODES = ("embedded_page", "hosted_page")
SHORTEST_S, LONGEST_S = 30 * 60, 24 * 60 * 60


@dataclass
class FakeCheckout:
    stripe: FakeStripe
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: Callable[[], float] = time.time  # Stripe's clock, for `created` and the expiry window

    def reset(self) -> None:
        self.sessions.clear()
        self.clock = time.time

    def routes(self, endpoint: Callable[[Any], Any]) -> list[Route]:
        return [
            Route("/v1/checkout/sessions", endpoint(self._create), methods=["POST"]),
            Route("/v1/checkout/sessions/{id}", endpoint(self._retrieve), methods=["GET"]),
            Route("/v1/checkout/sessions/{id}/expire", endpoint(self._expire), methods=["POST"]),
        ]

    # --- the customer -----------------------------------------------------------------------------

    def complete(self, session_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
        """The customer pays on the page. The session's PaymentIntent is made (or, after a declined
        try, reused) and confirmed: accepted, the session is complete, `paid` when the money was
        taken and `unpaid` when it is only held (manual capture); declined, the session stays open
        for another try. 3-D Secure is passed on the page. Refused (StripeRefusal) when the session
        is no longer open, as the page refuses."""
        session = self._session(session_id)
        if session["status"] != "open":
            raise invalid(f"This Checkout Session is {session['status']} and can no longer be paid.")
        intent = self.stripe.intents.get(session["payment_intent"] or "") or self.stripe.new_intent(
            session["amount_total"], session["currency"], session["_capture_method"],
            session["_intent_metadata"], session=session_id)
        session["payment_intent"] = intent["id"]
        intent.update(payment_method=payment_method, last_payment_error=None)
        try:
            self.stripe._confirm(intent)
        except StripeRefusal:
            return self._shown(session, {})
        if intent["status"] == "requires_action":
            self.stripe.authorized(intent)
        session.update(status="complete", url=None,
                       payment_status="paid" if intent["status"] == "succeeded" else "unpaid")
        return self._shown(session, {})

    def expire(self, session_id: str) -> dict[str, Any]:
        """An open session reaches its `expires_at` (or is expired through the API)."""
        session = self._session(session_id)
        if session["status"] != "open":
            raise invalid(f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                          f'Session has a status of `{session["status"]}`.')
        intent = self.stripe.intents.get(session["payment_intent"] or "")
        if intent is not None and intent["status"] in ("requires_payment_method", "requires_confirmation",
                                                       "requires_action"):
            self.stripe.cancel(intent, "abandoned")
        session.update(status="expired", url=None)
        return self._shown(session, {})

    # --- the API ----------------------------------------------------------------------------------

    def _create(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        now = int(self.clock())
        if "mode" not in p:
            raise invalid("Missing required param: mode.", "mode", code="parameter_missing")
        if p["mode"] != "payment":
            raise invalid(f"This fake serves mode=payment only, not {p['mode']!r}.", "mode")
        ui_mode = p.get("ui_mode", "hosted_page")
        if ui_mode not in UI_MODES:
            raise invalid(f"Invalid ui_mode: must be one of {', '.join(UI_MODES)}", "ui_mode")
        if ui_mode not in SERVED_UI_MODES:
            raise invalid(f"This fake serves ui_mode {' and '.join(SERVED_UI_MODES)} only.", "ui_mode")
        _urls(ui_mode, p)
        lines, currency = _line_items(p.get("line_items"))
        expires_at = _expires_at(p, now)
        intent_data = p.get("payment_intent_data", {})
        capture_method = intent_data.get("capture_method", "automatic")
        if capture_method not in ("automatic", "automatic_async", "manual"):
            raise invalid("Invalid payment_intent_data[capture_method]",
                          "payment_intent_data[capture_method]")
        ident = "cs_test_" + secrets.token_hex(24)
        total = sum(line["amount_total"] for line in lines)
        embedded = ui_mode == "embedded_page"
        session = {
            "id": ident, "object": "checkout.session", "mode": "payment", "ui_mode": ui_mode,
            "status": "open", "payment_status": "unpaid", "amount_subtotal": total, "amount_total": total,
            "currency": currency, "created": now, "expires_at": expires_at, "metadata": p.get("metadata", {}),
            "customer_email": p.get("customer_email"), "payment_intent": None,
            "client_secret": f"{ident}_secret_{secrets.token_hex(12)}" if embedded else None,
            "url": f"https://checkout.stripe.com/c/pay/{ident}" if ui_mode == "hosted_page" else None,
            "return_url": p.get("return_url"), "success_url": p.get("success_url"),
            "cancel_url": p.get("cancel_url"), "redirect_on_completion": (
                p.get("redirect_on_completion", "always") if embedded else None),
            "_lines": lines, "_capture_method": capture_method,
            "_intent_metadata": intent_data.get("metadata", {}),
        }
        self.sessions[ident] = session
        return self._shown(session, p)

    def _retrieve(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        return self._shown(self._session(ident), p)

    def _expire(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        self.expire(ident)
        return self._shown(self.sessions[ident], p)

    # --- internals --------------------------------------------------------------------------------

    def _session(self, ident: str) -> dict[str, Any]:
        if ident not in self.sessions:
            raise StripeRefusal(404, "invalid_request_error", f"No such checkout.session: '{ident}'",
                                code="resource_missing", param="session")
        return self.sessions[ident]

    def _shown(self, session: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in session.items() if not k.startswith("_")}
        if "payment_intent" in p.get("expand", []) and session["payment_intent"]:
            intent = self.stripe.intents[session["payment_intent"]]
            shown["payment_intent"] = self.stripe._shown(intent, p, expand="payment_intent.")
        return shown


def _urls(ui_mode: str, p: dict[str, Any]) -> None:
    """Which of return_url, success_url and cancel_url each ui_mode takes."""
    if ui_mode == "embedded_page":
        for name in ("success_url", "cancel_url"):
            if name in p:
                raise invalid(f"You cannot set `{name}` when `ui_mode` is `embedded_page`.", name)
        if "return_url" not in p and p.get("redirect_on_completion", "always") != "never":
            raise invalid("`return_url` is required when `redirect_on_completion` is `always` or "
                          "`if_required`.", "return_url")
    elif "return_url" in p:
        raise invalid("You can only set `return_url` when `ui_mode` is `embedded_page` or `elements`.",
                      "return_url")


def _line_items(items: object) -> tuple[list[dict[str, Any]], str]:
    """Line items with price_data (this fake has no Prices), and their one currency."""
    if not isinstance(items, list) or not items:
        raise invalid("You must provide at least one line item in `payment` mode.", "line_items",
                      code="parameter_missing")
    lines, currencies = [], set()
    for i, item in enumerate(items):
        name = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"Invalid {name}: must be a hash", name)
        if "price" in item:
            raise invalid(f"No such price: '{item['price']}'", f"{name}[price]", code="resource_missing")
        data = item.get("price_data")
        if not isinstance(data, dict):
            raise invalid(f"Missing required param: {name}[price_data].", f"{name}[price_data]",
                          code="parameter_missing")
        product = data.get("product_data")
        if not (isinstance(product, dict) and product.get("name")):
            raise invalid(f"Missing required param: {name}[price_data][product_data][name].",
                          f"{name}[price_data][product_data][name]", code="parameter_missing")
        if not data.get("currency"):
            raise invalid(f"Missing required param: {name}[price_data][currency].",
                          f"{name}[price_data][currency]", code="parameter_missing")
        unit = positive(data, "unit_amount", zero=True)
        quantity = positive(item, "quantity")
        currencies.add(data["currency"])
        lines.append({"description": product["name"], "currency": data["currency"], "quantity": quantity,
                      "unit_amount": unit, "amount_total": unit * quantity})
    if len(currencies) > 1:
        raise invalid("All line items must be in the same currency.", "line_items")
    return lines, currencies.pop()


def _expires_at(p: dict[str, Any], now: int) -> int:
    if "expires_at" not in p:
        return now + LONGEST_S
    value = positive(p, "expires_at")
    if value < now + SHORTEST_S:
        raise invalid("The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
                      "creation.", "expires_at")
    if value > now + LONGEST_S:
        raise invalid("The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                      "expires_at")
    return value
