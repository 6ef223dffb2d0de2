"""Stripe Connect through the official SDK's async calls: the ConnectProvider port
(domain/marketplace/connect.py).

    create_account      POST /v1/accounts (type express, country, business_type, email,
                        capabilities card_payments + transfers requested)
    account             GET  /v1/accounts/{id}
    onboarding_session  POST /v1/account_sessions (components.account_onboarding, for the
                        embedded component: client_secret) and, when a return URL is given,
                        POST /v1/account_links (type account_onboarding: a hosted page's url)
    transfer            POST /v1/transfers (destination, source_transaction: the payment's
                        charge, so the transfer waits for its funds; transfer_group)
    reverse_transfer    POST /v1/transfers/{id}/reversals
    payout              POST /v1/payouts with the Stripe-Account header (on the connected account)
    balance             GET  /v1/balance with the Stripe-Account header

Decisions:
- The client is made as StripeProvider's (providers/stripe/adapter.py): the pinned API version,
  the SDK's retries off, `call` (errors.py) with the shared RetryPolicy instead.
- Every create sends an idempotency key made from our own record's uuid (the port's requests
  carry it), so a retried call creates nothing twice.
- `source_transaction` must be a charge (`ch_…`): the payment's reference is a PaymentIntent
  (`pi_…`) or a Checkout Session (`cs_…`), whose `latest_charge` is read first.
- Stripe's refusals (4xx) are answers (`Refused`, with Stripe's code); outages raise
  ProviderUnavailableError (the outcome is unknown: the same key is sent again later).
- What Stripe echoes is checked: a transfer, reversal or payout of another amount or currency than
  asked is a ProviderIntegrityError.
"""
from __future__ import annotations

from typing import Any

import stripe

from domain.errors import ConflictError, NotFoundError, ProviderIntegrityError
from domain.marketplace.connect import (
    AccountState,
    Moved,
    NewAccount,
    OnboardingSession,
    PayoutOrder,
    ProviderBalance,
    Refused,
    TransferOrder,
)
from domain.money import Money
from providers.stripe.adapter import API_VERSION
from providers.stripe.errors import RetryPolicy, call, refusal


def _plain(obj: Any) -> Any:
    """The SDK's object as a plain dict (StripeObject is no dict in SDK 16)."""
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj


def account_state(account: Any) -> AccountState:
    """Stripe's Account object (from the API or an `account.updated` event) as our state."""
    account = _plain(account)
    requirements = account.get("requirements") or {}
    return AccountState(provider_ref=str(account["id"]), charges_enabled=bool(account.get("charges_enabled")),
                        payouts_enabled=bool(account.get("payouts_enabled")),
                        details_submitted=bool(account.get("details_submitted")),
                        requirements=tuple(requirements.get("currently_due") or ()),
                        disabled_reason=requirements.get("disabled_reason"))


def _refused(exc: stripe.StripeError) -> Refused:
    if isinstance(exc, stripe.IdempotencyError):
        raise ConflictError(f"Stripe refused the idempotency key: {exc.user_message}") from None
    return Refused(str(exc.code or getattr(exc.error, "type", None) or f"http_{exc.http_status}"),
                   str(exc.user_message or "Stripe refused the request."))


def _echoed(obj: Any, asked: Money, what: str) -> Money:
    obj = _plain(obj)
    got = Money.of(int(obj["amount"]), str(obj["currency"]).upper())
    if got != asked:
        raise ProviderIntegrityError(f"Stripe's {what} {obj.get('id')} moved {got}, not the {asked} asked")
    return got


class StripeConnect:
    name = "stripe"

    def __init__(self, api_key: str, *, api_base: str | None = None, timeout_s: float = 30.0,
                 retry: RetryPolicy = RetryPolicy()) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key, stripe_version=API_VERSION, max_network_retries=0,
            base_addresses={"api": api_base} if api_base else None, http_client=self._http)
        self._retry = retry

    async def close(self) -> None:
        await self._http.close_async()

    async def create_account(self, req: NewAccount) -> AccountState:
        params: dict[str, Any] = {
            "type": "express", "country": req.country, "business_type": req.business_type,
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
            "metadata": {"seller_id": str(req.seller_id)}}
        if req.email:
            params["email"] = req.email
        account = await call("create account", lambda: self._client.v1.accounts.create_async(
            params, {"idempotency_key": req.idempotency_key}), self._retry)  # type: ignore[arg-type]
        return account_state(account)

    async def account(self, account_ref: str) -> AccountState:
        try:
            return account_state(await call("retrieve account", lambda: self._client.v1.accounts.retrieve_async(
                account_ref), self._retry))
        except stripe.StripeError as exc:  # a refusal (call re-raises only those): no such account
            raise NotFoundError("connected account", account_ref) from exc

    async def onboarding_session(self, account_ref: str, *, return_url: str | None = None) -> OnboardingSession:
        session = await call("create account session", lambda: self._client.v1.account_sessions.create_async(
            {"account": account_ref, "components": {"account_onboarding": {"enabled": True}}}), self._retry)
        url = None
        if return_url:
            link = await call("create account link", lambda: self._client.v1.account_links.create_async(
                {"account": account_ref, "type": "account_onboarding", "return_url": return_url,
                 "refresh_url": return_url}), self._retry)
            url = str(_plain(link)["url"])
        return OnboardingSession(account_ref, str(_plain(session)["client_secret"]), url)

    async def _charge_of(self, payment_ref: str | None) -> str | None:
        """The charge a Stripe payment made; None for a payment Stripe doesn't know (one taken by
        another provider), which is then transferred without `source_transaction`."""
        if not payment_ref or payment_ref.startswith("ch_"):
            return payment_ref
        try:
            if payment_ref.startswith("cs_"):
                session = await call("retrieve session", lambda: self._client.v1.checkout.sessions.retrieve_async(
                    payment_ref, {"expand": ["payment_intent"]}), self._retry)
                intent = _plain(session).get("payment_intent")
                return intent.get("latest_charge") if isinstance(intent, dict) else None
            if payment_ref.startswith("pi_"):
                found = await call("retrieve payment intent",
                                   lambda: self._client.v1.payment_intents.retrieve_async(payment_ref), self._retry)
                return _plain(found).get("latest_charge")
        except stripe.StripeError:  # a refusal (call re-raises only those): not a payment of Stripe's
            return None
        return None

    async def transfer(self, req: TransferOrder) -> Moved | Refused:
        params: dict[str, Any] = {"amount": req.amount.minor, "currency": req.amount.code.lower(),
                                  "destination": req.account_ref, "description": req.description,
                                  "metadata": {"idempotency_key": req.idempotency_key}}
        charge = await self._charge_of(req.source_payment_ref)
        if charge:
            params["source_transaction"] = charge
        if req.transfer_group:
            params["transfer_group"] = req.transfer_group
        try:
            made = await call("create transfer", lambda: self._client.v1.transfers.create_async(
                params, {"idempotency_key": req.idempotency_key}), self._retry)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            if refusal(exc):
                return _refused(exc)
            raise
        return Moved(str(_plain(made)["id"]), _echoed(made, req.amount, "transfer"), "paid")

    async def reverse_transfer(self, idempotency_key: str, transfer_ref: str, amount: Money) -> Moved | Refused:
        try:
            made = await call("reverse transfer", lambda: self._client.v1.transfers.reversals.create_async(
                transfer_ref, {"amount": amount.minor}, {"idempotency_key": idempotency_key}), self._retry)
        except stripe.StripeError as exc:
            if refusal(exc):
                return _refused(exc)
            raise
        return Moved(str(_plain(made)["id"]), _echoed(made, amount, "transfer reversal"), "paid")

    async def payout(self, req: PayoutOrder) -> Moved | Refused:
        params: dict[str, Any] = {"amount": req.amount.minor, "currency": req.amount.code.lower(),
                                  "description": req.description}
        try:
            made = await call("create payout", lambda: self._client.v1.payouts.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": req.idempotency_key, "stripe_account": req.account_ref}), self._retry)
        except stripe.StripeError as exc:
            if refusal(exc):
                return _refused(exc)
            raise
        return Moved(str(_plain(made)["id"]), _echoed(made, req.amount, "payout"), str(_plain(made).get("status") or "pending"))

    async def payout_status(self, account_ref: str, payout_ref: str) -> tuple[str, str | None]:
        found = _plain(await call("retrieve payout", lambda: self._client.v1.payouts.retrieve_async(
            payout_ref, None, {"stripe_account": account_ref}), self._retry))
        return str(found.get("status") or "pending"), found.get("failure_code")

    async def balance(self, account_ref: str) -> ProviderBalance:
        found = await call("retrieve balance", lambda: self._client.v1.balance.retrieve_async(
            None, {"stripe_account": account_ref}), self._retry)
        totals: dict[str, int] = {}
        for part in ("available", "pending"):
            for entry in _plain(found).get(part) or ():
                code = str(entry["currency"]).upper()
                totals[code] = totals.get(code, 0) + int(entry["amount"])
        return ProviderBalance(totals)
