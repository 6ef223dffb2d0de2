"""Stripe Connect for tests/fake_stripe.py, following Stripe's API reference for what paygate uses
(localstripe has none of it):

    POST /v1/accounts                    type, country, business_type, email, capabilities, metadata
    GET  /v1/accounts/{id}
    POST /v1/account_sessions            account, components[account_onboarding][enabled]
    POST /v1/account_links               account, type, return_url, refresh_url
    POST /v1/transfers                   amount, currency, destination, source_transaction, transfer_group
    GET  /v1/transfers/{id}
    POST /v1/transfers/{id}/reversals    amount (all that is left when absent)
    POST /v1/payouts                     amount, currency, description; Stripe-Account: the connected account
    GET  /v1/payouts/{id}                Stripe-Account: the connected account
    GET  /v1/balance                     Stripe-Account: the connected account (else the platform's)

As Stripe documents them: a new Express account has requirements currently due and neither
charges nor payouts enabled, and its `transfers` capability is inactive until onboarding is
done (`complete_onboarding`, what the seller does on Stripe's pages); a transfer to an account
without it is refused (400), as is one whose `source_transaction` is no charge of ours, or larger
than the charge; a reversal can't exceed what is left of the transfer; a payout can't exceed the
connected account's available balance (400 `balance_insufficient`) and starts `pending` until
`settle_payout` (the bank: paid, failed or canceled), whose event a test builds with
FakeStripe.event.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Route

from tests.fake_stripe_wire import StripeRefusal, invalid, positive

DUE = ["business_profile.url", "external_account", "individual.dob.day", "tos_acceptance.date"]


def _ident(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _missing(kind: str, ident: str) -> StripeRefusal:
    return StripeRefusal(404, "invalid_request_error", f"No such {kind}: '{ident}'", code="resource_missing",
                         param="id")


@dataclass
class FakeConnect:
    charge_amount: Callable[[str], int | None]  # a charge's amount, by its id (FakeStripe's intents)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    payouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    balances: dict[str, dict[str, int]] = field(default_factory=dict)  # account -> currency -> available
    stripe_account: str | None = None  # the current request's Stripe-Account header

    def reset(self) -> None:
        self.accounts.clear(), self.transfers.clear(), self.payouts.clear(), self.balances.clear()

    def routes(self, endpoint: Callable[[Any], Any]) -> list[Route]:
        return [
            Route("/v1/accounts", endpoint(self._create_account), methods=["POST"]),
            Route("/v1/accounts/{id}", endpoint(self._retrieve_account), methods=["GET"]),
            Route("/v1/account_sessions", endpoint(self._create_session), methods=["POST"]),
            Route("/v1/account_links", endpoint(self._create_link), methods=["POST"]),
            Route("/v1/transfers", endpoint(self._create_transfer), methods=["POST"]),
            Route("/v1/transfers/{id}", endpoint(self._retrieve_transfer), methods=["GET"]),
            Route("/v1/transfers/{id}/reversals", endpoint(self._create_reversal), methods=["POST"]),
            Route("/v1/payouts", endpoint(self._create_payout), methods=["POST"]),
            Route("/v1/payouts/{id}", endpoint(self._retrieve_payout), methods=["GET"]),
            Route("/v1/balance", endpoint(self._retrieve_balance), methods=["GET"]),
        ]

    # --- what happens outside the API: the seller onboards, the bank answers ---------------------

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        account = self.accounts[account_id]
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True,
                       capabilities={"card_payments": "active", "transfers": "active"})
        account["requirements"] = {**account["requirements"], "currently_due": [], "eventually_due": []}
        return account

    def settle_payout(self, payout_id: str, status: str, failure_code: str | None = None) -> dict[str, Any]:
        payout = self.payouts[payout_id]
        assert status in ("paid", "failed", "canceled"), status
        payout.update(status=status, failure_code=failure_code if status == "failed" else None)
        if status != "paid":  # the money is back on the connected account
            self._credit(payout["_account"], payout["currency"], payout["amount"])
        return {k: v for k, v in payout.items() if not k.startswith("_")}

    # --- accounts ----------------------------------------------------------------------------

    def _create_account(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        kind = p.get("type")
        if kind not in ("express", "custom", "standard") and not p.get("controller"):
            raise invalid("Missing required param: type.", "type", code="parameter_missing")
        country = p.get("country", "US")
        if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            raise invalid(f"Country '{country}' is unknown. Try using a 2-character alpha country code instead, "
                          "such as 'US', 'EG', or 'GB'.", "country", code="country_unsupported")
        business = p.get("business_type")
        if business is not None and business not in ("individual", "company", "non_profit", "government_entity"):
            raise invalid("Invalid business_type: must be one of individual, company, non_profit, or "
                          "government_entity", "business_type", code="parameter_invalid_string")
        account = {"id": _ident("acct_"), "object": "account", "type": kind, "country": country.upper(),
                   "business_type": business, "email": p.get("email"), "metadata": p.get("metadata", {}),
                   "charges_enabled": False, "payouts_enabled": False, "details_submitted": False,
                   "capabilities": {"card_payments": "inactive", "transfers": "inactive"},
                   "requirements": {"currently_due": list(DUE), "eventually_due": list(DUE),
                                    "past_due": [], "disabled_reason": "requirements.past_due"},
                   "created": int(time.time())}
        self.accounts[account["id"]] = account
        return account

    def _account(self, ident: str | None, param: str = "account") -> dict[str, Any]:
        if not ident or ident not in self.accounts:
            raise invalid(f"No such account: '{ident}'", param, code="resource_missing")
        return self.accounts[ident]

    def _retrieve_account(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        if ident not in self.accounts:
            raise _missing("account", ident)
        return self.accounts[ident]

    def _create_session(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        account = self._account(p.get("account"))
        components = p.get("components")
        if not isinstance(components, dict) or not components:
            raise invalid("Missing required param: components.", "components", code="parameter_missing")
        return {"object": "account_session", "account": account["id"],
                "client_secret": f"accs_secret__{secrets.token_hex(16)}", "expires_at": int(time.time()) + 1800,
                "livemode": False, "components": components}

    def _create_link(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        account = self._account(p.get("account"))
        if p.get("type") not in ("account_onboarding", "account_update"):
            raise invalid("Missing required param: type.", "type", code="parameter_missing")
        for name in ("return_url", "refresh_url"):
            if not str(p.get(name, "")).startswith(("https://", "http://")):
                raise invalid(f"Missing required param: {name}.", name, code="parameter_missing")
        return {"object": "account_link", "created": int(time.time()), "expires_at": int(time.time()) + 300,
                "url": f"https://connect.stripe.com/setup/e/{account['id']}/{secrets.token_hex(8)}"}

    # --- transfers and reversals ---------------------------------------------------------------

    def _create_transfer(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        amount, currency = positive(p, "amount"), p.get("currency", "")
        if len(currency) != 3:
            raise invalid("Missing required param: currency.", "currency", code="parameter_missing")
        account = self._account(p.get("destination"), "destination")
        if account["capabilities"].get("transfers") != "active":
            raise invalid("Your destination account needs to have at least one of the following capabilities "
                          "enabled: transfers, crypto_transfers, legacy_payments", "destination")
        source = p.get("source_transaction")
        if source is not None:
            charged = self.charge_amount(source)
            if charged is None:
                raise invalid(f"No such charge: '{source}'", "source_transaction", code="resource_missing")
            if amount > charged:
                raise invalid("Transfer amount exceeds the source transaction's amount.", "amount")
        transfer = {"id": _ident("tr_"), "object": "transfer", "amount": amount, "amount_reversed": 0,
                    "currency": currency, "destination": account["id"], "destination_payment": _ident("py_"),
                    "reversed": False, "reversals": {"object": "list", "data": [], "has_more": False},
                    "source_transaction": source, "transfer_group": p.get("transfer_group"),
                    "description": p.get("description"), "metadata": p.get("metadata", {}),
                    "created": int(time.time())}
        self.transfers[transfer["id"]] = transfer
        self._credit(account["id"], currency, amount)
        return transfer

    def _retrieve_transfer(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        if ident not in self.transfers:
            raise _missing("transfer", ident)
        return self.transfers[ident]

    def _create_reversal(self, ident: str, p: dict[str, Any]) -> dict[str, Any]:
        transfer = self._retrieve_transfer(ident, p)
        left = transfer["amount"] - transfer["amount_reversed"]
        amount = positive(p, "amount") if "amount" in p else left
        if left == 0:
            raise invalid("Transfer has already been fully reversed.", code="transfer_already_reversed")
        if amount > left:
            raise invalid(f"You can't reverse more than the remaining amount of this transfer ({left}).", "amount")
        reversal = {"id": _ident("trr_"), "object": "transfer_reversal", "amount": amount,
                    "currency": transfer["currency"], "transfer": transfer["id"], "created": int(time.time())}
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, reversal)
        self._credit(transfer["destination"], transfer["currency"], -amount)
        return reversal

    def reverse_from_dashboard(self, transfer_id: str, amount: int) -> dict[str, Any]:
        """The platform's operator reverses a transfer in Stripe's dashboard: the event follows."""
        self._create_reversal(transfer_id, {"amount": str(amount)})
        return self.transfers[transfer_id]

    # --- payouts and balance ---------------------------------------------------------------------

    def _create_payout(self, _id: None, p: dict[str, Any]) -> dict[str, Any]:
        account = self._account(self.stripe_account, "stripe_account") if self.stripe_account else None
        amount, currency = positive(p, "amount"), p.get("currency", "")
        if account is None:
            raise invalid("The platform's own payouts are not part of this fake.", "amount")
        available = self.balances.get(account["id"], {}).get(currency, 0)
        if amount > available:
            raise invalid("You have insufficient funds in your Stripe account for this transfer. Your card "
                          "balance is too low.", "amount", code="balance_insufficient")
        self._credit(account["id"], currency, -amount)
        payout = {"id": _ident("po_"), "object": "payout", "amount": amount, "currency": currency,
                  "status": "pending", "description": p.get("description"), "failure_code": None,
                  "arrival_date": int(time.time()) + 2 * 86400, "created": int(time.time()), "_account": account["id"]}
        self.payouts[payout["id"]] = payout
        return {k: v for k, v in payout.items() if not k.startswith("_")}

    def _retrieve_payout(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        payout = self.payouts.get(ident)
        # A connected account's payout is found with its Stripe-Account header only.
        if payout is None or payout["_account"] != self.stripe_account:
            raise _missing("payout", ident)
        return {k: v for k, v in payout.items() if not k.startswith("_")}

    def _retrieve_balance(self, _id: None, _p: dict[str, Any]) -> dict[str, Any]:
        amounts = self.balances.get(self.stripe_account or "", {})
        return {"object": "balance", "livemode": False,
                "available": [{"amount": v, "currency": c} for c, v in sorted(amounts.items())],
                "pending": []}

    def _credit(self, account_id: str, currency: str, amount: int) -> None:
        balance = self.balances.setdefault(account_id, {})
        balance[currency] = balance.get(currency, 0) + amount
