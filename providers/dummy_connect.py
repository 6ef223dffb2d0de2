"""The dummy gateway's Connect: sellers' accounts, onboarding, transfers, reversals, payouts and
balances, so the marketplace runs whole with no provider account (`make run`).

It keeps its records where the dummy gateway keeps its own (providers/dummy_records.py: paygate's
database), and behaves as Stripe Connect documents: an account starts with requirements due and
transfers and payouts disabled until onboarding is completed (`complete_onboarding`, what the
dummy's onboarding page does: paygate/dummy_pages.py); a transfer credits the account's balance,
a reversal takes it back (never more than was transferred), a payout takes it out (never more
than the balance: `balance_insufficient`). Payouts are paid at once: there is no bank to wait for.
Each call with an idempotency key is answered once and replayed after; the same key with another
request is refused (Stripe's `idempotency_error`).
"""
from __future__ import annotations

import secrets
from typing import Any

from domain.errors import ConflictError, NotFoundError
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
from providers.dummy_records import DummyRecords, MemoryRecords, Record, RecordBook, money_json

DUE_AT_START = ("external_account", "tos_acceptance.date", "individual.verification.document")
_ACCOUNT, _XFER, _ANSWER = "connect_account:", "connect_transfer:", "connect_answer:"


def _state(record: Record) -> AccountState:
    return AccountState(record["id"], record["charges_enabled"], record["payouts_enabled"],
                        record["details_submitted"], tuple(record["requirements"]), record.get("disabled_reason"))


def _moved(record: Record) -> Moved | Refused:
    if record.get("refused"):
        return Refused(record["code"], record["message"])
    return Moved(record["id"], Money.of(record["amount"][0], record["amount"][1]), record["status"])


class DummyConnect:
    name = "dummy"

    def __init__(self, records: DummyRecords | None = None) -> None:
        self._records = records if records is not None else MemoryRecords()

    async def _once(self, key: str, asked: list[Any], act) -> Record:
        async with self._records.transaction() as book:
            await book.lock(_ANSWER + key)
            first = await book.get(_ANSWER + key)
            if first is not None:
                if first["asked"] != asked:
                    raise ConflictError(f"idempotency key {key} was used for a different request")
                answer: Record = first["answer"]
                return answer
            answer = await act(book)
            await book.put(_ANSWER + key, {"asked": asked, "answer": answer})
            return answer

    async def create_account(self, req: NewAccount) -> AccountState:
        async def act(book: RecordBook) -> Record:
            record: Record = {"id": "acct_dummy_" + secrets.token_hex(8), "seller": req.seller_id, "country": req.country,
                      "business_type": req.business_type, "charges_enabled": False, "payouts_enabled": False,
                      "details_submitted": False, "requirements": list(DUE_AT_START), "balance": {}}
            await book.put(_ACCOUNT + record["id"], record)
            return record

        return _state(await self._once(req.idempotency_key, ["account", req.seller_id, req.country,
                                                              req.business_type], act))

    async def account(self, account_ref: str) -> AccountState:
        async with self._records.transaction() as book:
            record = await book.get(_ACCOUNT + account_ref)
        if record is None:
            raise NotFoundError("connected account", account_ref)
        return _state(record)

    async def onboarding_session(self, account_ref: str, *, return_url: str | None = None) -> OnboardingSession:
        await self.account(account_ref)
        secret = f"{account_ref}_secret_{secrets.token_hex(8)}"
        return OnboardingSession(account_ref, secret, f"/dummy/connect/{account_ref}/onboard")

    async def complete_onboarding(self, account_ref: str) -> AccountState | None:
        """What a seller finishing the dummy's onboarding form does: everything due is given."""
        async with self._records.transaction() as book:
            await book.lock(_ACCOUNT + account_ref)
            record = await book.get(_ACCOUNT + account_ref)
            if record is None:
                return None
            record |= {"charges_enabled": True, "payouts_enabled": True, "details_submitted": True,
                       "requirements": []}
            await book.put(_ACCOUNT + account_ref, record)
        return _state(record)

    async def transfer(self, req: TransferOrder) -> Moved | Refused:
        async def act(book: RecordBook) -> Record:
            await book.lock(_ACCOUNT + req.account_ref)
            account = await book.get(_ACCOUNT + req.account_ref)
            if account is None:
                return {"refused": True, "code": "resource_missing", "message": "No such destination account"}
            if not account["payouts_enabled"]:
                return {"refused": True, "code": "account_invalid",
                        "message": "The destination account needs to have at least one of the transfers capabilities enabled"}
            transfer: Record = {"id": "tr_dummy_" + secrets.token_hex(8), "amount": money_json(req.amount), "status": "paid",
                        "account": req.account_ref, "reversed": 0, "group": req.transfer_group}
            _credit(account, req.amount, +1)
            await book.put(_ACCOUNT + req.account_ref, account)
            await book.put(_XFER + transfer["id"], transfer)
            return transfer

        return _moved(await self._once(req.idempotency_key, ["transfer", req.account_ref, money_json(req.amount),
                                                              req.source_payment_ref], act))

    async def reverse_transfer(self, idempotency_key: str, transfer_ref: str, amount: Money) -> Moved | Refused:
        async def act(book: RecordBook) -> Record:
            await book.lock(_XFER + transfer_ref)
            transfer = await book.get(_XFER + transfer_ref)
            if transfer is None:
                return {"refused": True, "code": "resource_missing", "message": "No such transfer"}
            if transfer["reversed"] + amount.minor > transfer["amount"][0]:
                return {"refused": True, "code": "amount_too_large",
                        "message": "The reversal exceeds what is left of the transfer"}
            await book.lock(_ACCOUNT + transfer["account"])
            account = await book.get(_ACCOUNT + transfer["account"])
            transfer["reversed"] += amount.minor
            _credit(account or {}, amount, -1)
            await book.put(_XFER + transfer_ref, transfer)
            if account is not None:
                await book.put(_ACCOUNT + transfer["account"], account)
            return {"id": "trr_dummy_" + secrets.token_hex(8), "amount": money_json(amount), "status": "paid"}

        return _moved(await self._once(idempotency_key, ["reversal", transfer_ref, money_json(amount)], act))

    async def payout(self, req: PayoutOrder) -> Moved | Refused:
        async def act(book: RecordBook) -> Record:
            await book.lock(_ACCOUNT + req.account_ref)
            account = await book.get(_ACCOUNT + req.account_ref)
            if account is None:
                return {"refused": True, "code": "resource_missing", "message": "No such account"}
            if account["balance"].get(req.amount.code, 0) < req.amount.minor:
                return {"refused": True, "code": "balance_insufficient",
                        "message": "You have insufficient funds in your Stripe account for this transfer."}
            _credit(account, req.amount, -1)
            await book.put(_ACCOUNT + req.account_ref, account)
            return {"id": "po_dummy_" + secrets.token_hex(8), "amount": money_json(req.amount), "status": "paid"}

        return _moved(await self._once(req.idempotency_key, ["payout", req.account_ref, money_json(req.amount)], act))

    async def payout_status(self, account_ref: str, payout_ref: str) -> tuple[str, str | None]:
        # The dummy pays at once and keeps no payout after answering: every payout of its is paid.
        return ("paid", None) if payout_ref.startswith("po_dummy_") else ("failed", "resource_missing")

    async def balance(self, account_ref: str) -> ProviderBalance:
        async with self._records.transaction() as book:
            record = await book.get(_ACCOUNT + account_ref)
        return ProviderBalance(dict(record["balance"]) if record else {})


def _credit(account: Record, amount: Money, sign: int) -> None:
    balance = account.setdefault("balance", {})
    balance[amount.code] = balance.get(amount.code, 0) + sign * amount.minor
