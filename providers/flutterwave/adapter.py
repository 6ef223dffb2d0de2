"""Flutterwave v3 Standard behind the provider port, over httpx (no maintained Python SDK for v3).

    open        POST /v3/payments: a hosted payment link for our tx_ref (wire.py), the amount in
                major units, `redirect_url` our return URL; the customer is redirected there
                (`RequiresAction` with the link). Flutterwave refuses a second transaction for
                a tx_ref, so sending the opening again with the same key is safe
    complete    the redirect's `transaction_id`, verified by id (GET /v3/transactions/{id}/verify):
                it must be our tx_ref's, in our amount and currency, before it counts as paid
    refund      POST /v3/transactions/{id}/refund (amount in major units, `comments` our attempt's
                key). Flutterwave has no idempotency header: the transaction's refunds are read
                first (GET /v3/refunds?id=…) and one carrying our key is answered instead
    fetch       a payment by our tx_ref (GET /v3/transactions/verify_by_reference); a refund by
                its id (GET /v3/refunds/{id})
    news        a webhook's `charge.completed`, verified by the transaction's id as on return

Flutterwave Standard charges at once: no separate capture, so a manual-capture opening is
declined; void only closes a page nobody has paid on. Bearer auth with the secret key. Errors are `{"status": "error", "message"}`: a
refusal is a Declined outcome with that message.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.errors import ProviderUnavailableError, ValidationError
from domain.payments.provider import (
    AuthorizeRequest,
    Capability,
    CaptureMethod,
    CaptureRequest,
    CheckoutKind,
    CompleteRequest,
    Declined,
    OpenRequest,
    Outcome,
    RefundRequest,
    RequiresAction,
    Succeeded,
    VoidRequest,
)
from domain.payments.provider_events import PaymentNews
from domain.payments.status import AttemptKind
from providers.flutterwave import wire
from providers.http_api import Json, JsonApi, Refusal
from providers.retry import RetryPolicy

API_BASE = "https://api.flutterwave.com"
NEXT_ACTION = "hosted"
PROVIDER = "flutterwave"


class FlutterwaveProvider:
    name = PROVIDER
    capabilities = frozenset({Capability.CHECKOUT, Capability.COMPLETE, Capability.REFUND, Capability.VOID,
                              Capability.FETCH})
    checkout_kinds = frozenset({CheckoutKind.HOSTED})

    def __init__(self, secret_key: str, *, api_base: str | None = None, retry: RetryPolicy | None = None) -> None:
        self._api = JsonApi(PROVIDER, api_base or API_BASE, headers={"Authorization": f"Bearer {secret_key}"},
                            retry=retry)

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        return Declined(None, req.amount, "not_supported", "Flutterwave takes payment on its hosted page.")

    async def open(self, req: OpenRequest) -> Outcome:
        if req.capture_method is not CaptureMethod.AUTOMATIC:
            return Declined(None, req.amount, "manual_capture_unsupported",
                            "Flutterwave Standard charges at once; it can't only authorize.")
        ref = wire.tx_ref(req.idempotency_key, req.amount)
        body: dict[str, Any] = {
            "tx_ref": ref, "amount": wire.wire_amount(req.amount), "currency": req.amount.code,
            "redirect_url": req.return_url, "customer": {"email": req.customer_email or "customer@example.invalid"},
            "meta": dict(req.metadata),
            "customizations": {"title": f"Order {req.metadata.get('order', req.metadata.get('payment_number', ''))}"},
        }
        try:
            answer = await self._api.call("POST", "/v3/payments", body=body)
        except Refusal as refusal:
            return _declined(None, req.amount, refusal)
        link = (answer.get("data") or {}).get("link")
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            raise ProviderUnavailableError("Flutterwave answered no payment link")
        return RequiresAction(ref, req.amount, "", NEXT_ACTION, redirect_url=link)

    async def complete(self, req: CompleteRequest) -> Outcome:
        ident = req.answer.get("transaction_id") or ""
        if not ident.isdigit() or len(ident) > 20:
            raise ValidationError("transaction_id: Flutterwave's transaction id from the redirect is needed",
                                  "transaction_id")
        if req.answer.get("tx_ref") not in (None, req.provider_ref):
            raise ValidationError("the redirect is about another payment", "tx_ref")
        transaction = await self._verify(ident)
        if transaction is None or transaction.get("tx_ref") != req.provider_ref:
            raise ValidationError("Flutterwave's transaction is not this payment's", "transaction_id")
        outcome = wire.transaction_outcome(req.provider_ref, transaction)
        if isinstance(outcome, Declined) and outcome.decline_code == "amount_mismatch":
            raise ValidationError(outcome.message, "transaction_id")
        return outcome

    async def capture(self, req: CaptureRequest) -> Outcome:
        return Declined(req.provider_ref, None, "not_supported", "Flutterwave Standard has no separate capture.")

    async def void(self, req: VoidRequest) -> Outcome:
        """Close a page nobody has paid on. Flutterwave can't expire a payment link, so this only
        answers whether the customer paid: not yet, the payment ends (a payment made on the link
        later finds nothing open here, and is left to operators); paid, declined."""
        transaction = await self._by_reference(req.provider_ref)
        if transaction is not None and transaction.get("status") == "successful":
            return Declined(req.provider_ref, None, "already_paid", "The customer paid on the page.")
        return Succeeded(req.provider_ref, wire.asked(req.provider_ref))

    async def refund(self, req: RefundRequest) -> Outcome:
        transaction = await self._by_reference(req.provider_ref)
        if transaction is None or transaction.get("status") != "successful":
            return Declined(None, req.amount, "not_paid", "Flutterwave has no successful transaction to refund.")
        ident = str(transaction["id"])
        earlier = await self._our_refund(ident, req.idempotency_key)
        if earlier is not None:
            return wire.refund_outcome(earlier, req.amount.code)  # made before its answer was lost
        body = {"amount": wire.wire_amount(req.amount), "comments": req.idempotency_key}
        try:
            # Sent once: Flutterwave would refund twice for a retried request.
            answer = await self._api.call("POST", f"/v3/transactions/{ident}/refund", body=body, retry=False)
        except Refusal as refusal:
            return _declined(None, req.amount, refusal)
        except ProviderUnavailableError:
            earlier = await self._our_refund(ident, req.idempotency_key)
            if earlier is None:
                raise  # unknown: reconciliation sends it again, after looking for it first
            return wire.refund_outcome(earlier, req.amount.code)
        return wire.refund_outcome(_data(answer), req.amount.code)

    async def _our_refund(self, transaction_id: str, key: str) -> Mapping[str, Any] | None:
        """The transaction's refund carrying our attempt's key in its comments, if one was made."""
        listed = await self._api.call("GET", "/v3/refunds", params={"id": transaction_id})
        for refund in listed.get("data") or []:
            if isinstance(refund, Mapping) and key in (refund.get("comments"), refund.get("comment")):
                return refund
        return None

    async def fetch(self, provider_ref: str) -> Outcome:
        if provider_ref.startswith(wire.REFUND_PREFIX):
            ident = provider_ref.removeprefix(wire.REFUND_PREFIX)
            if not ident.isdigit():
                raise ValidationError(f"{provider_ref!r} is not a Flutterwave refund", "provider_ref")
            try:
                refund = _data(await self._api.call("GET", f"/v3/refunds/{ident}"))
            except Refusal as refusal:
                return _declined(provider_ref, None, refusal)
            transaction = await self._verify(str(refund.get("tx_id") or refund.get("transaction_id") or ""))
            currency = str((transaction or {}).get("currency") or "")
            return wire.refund_outcome(refund, currency)
        wanted = wire.asked(provider_ref)
        transaction = await self._by_reference(provider_ref)
        if transaction is None:  # the customer hasn't paid (yet): the page still takes payment
            return RequiresAction(provider_ref, wanted, "", NEXT_ACTION)
        return wire.transaction_outcome(provider_ref, transaction)

    async def news(self, event: Mapping[str, Any], event_id: str) -> PaymentNews:
        """A webhook's event, its transaction verified by id (Flutterwave's advice: never act on
        a webhook's own data). `charge.completed` settles an open authorization; refund events
        reconcile the payment's open refunds by their own ids."""
        found = event.get("data")
        data: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        kind = str(event.get("event") or event.get("event.type") or "")
        ref = data.get("tx_ref")
        common: dict[str, Any] = {"provider": PROVIDER, "event_id": event_id, "event_type": kind,
                                  "provider_ref": str(ref) if ref else None}
        if kind != "charge.completed" or not ref:
            if kind.startswith("refund") and not ref:
                transaction = await self._verify(str(data.get("tx_id") or data.get("transaction_id") or ""))
                common["provider_ref"] = (transaction or {}).get("tx_ref")
            return PaymentNews(**common, reconcile=True)
        transaction = await self._verify(str(data.get("id") or ""))
        if transaction is None or transaction.get("tx_ref") != ref:
            raise ValidationError("the event's transaction is not Flutterwave's, or not for its tx_ref", "data.id")
        try:
            outcome = wire.transaction_outcome(str(ref), transaction)
        except ValidationError:
            return PaymentNews(**common)  # not a tx_ref of ours: stored as ignored
        return PaymentNews(**common, outcomes={AttemptKind.AUTHORIZE: outcome})

    async def _verify(self, ident: str) -> Json | None:
        if not ident.isdigit():
            return None
        try:
            return _data(await self._api.call("GET", f"/v3/transactions/{ident}/verify"))
        except Refusal:
            return None

    async def _by_reference(self, ref: str) -> Json | None:
        try:
            return _data(await self._api.call("GET", "/v3/transactions/verify_by_reference", params={"tx_ref": ref}))
        except Refusal:
            return None


def _data(answer: Json) -> Json:
    data = answer.get("data")
    if answer.get("status") != "success" or not isinstance(data, dict):
        raise ProviderUnavailableError("Flutterwave answered without its data")
    return data


def _declined(ref: str | None, amount: Any, refusal: Refusal) -> Declined:
    code, message = wire.error_of(refusal.body)
    return Declined(ref, amount, code, message)
