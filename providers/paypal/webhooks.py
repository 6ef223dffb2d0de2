"""PayPal's webhook deliveries: verified, then read into our news.

Two ways to verify, the operator's choice (PAYGATE_PAYPAL_WEBHOOK_VERIFICATION):

    api      (default) PayPal's own `POST /v1/notifications/verify-webhook-signature` with the
             delivery's headers, PAYGATE_PAYPAL_WEBHOOK_ID and the event; one call per delivery
    offline  the same check done here (developer.paypal.com/api/rest/webhooks/rest/): the
             signature in PAYPAL-TRANSMISSION-SIG is SHA256withRSA over
             `<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body>`, under the
             certificate at PAYPAL-CERT-URL. That address is fetched only from PayPal's own hosts
             over https (`CERT_ORIGINS`; TLS proves the host, so the certificate is PayPal's), and
             the certificate is cached by address while it is valid

Either way the webhook id is ours: a delivery made for another account's (or another app's)
webhook doesn't verify, and a transmission time more than `TOLERANCE_S` away from now is refused
(a captured delivery replayed later; PayPal signs each delivery attempt anew, and should a late
one be refused anyway, the worker's reconciliation still asks PayPal about the payment). Without
PAYGATE_PAYPAL_WEBHOOK_ID nothing verifies.

What the events mean (the order id is the payment's reference in our books):

    CHECKOUT.ORDER.APPROVED         the buyer approved: reconcile, which completes the order
    PAYMENT.CAPTURE.COMPLETED       a capture's state settles the open authorize attempt (intent
      .PENDING, .DENIED             CAPTURE) or capture attempt (AUTHORIZE), as the call would have
    PAYMENT.CAPTURE.REFUNDED        reconcile the payment's open refunds (the refund resource names
      .REVERSED                     its capture, `links[rel=up]`; the caller finds the order)
    PAYMENT.AUTHORIZATION.VOIDED    an open void attempt succeeded; an open authorize attempt ends
    CUSTOMER.DISPUTE.CREATED        `DisputeNews`: for the disputes domain
      .RESOLVED
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from domain.errors import ProviderUnavailableError, ValidationError
from domain.money import Money
from domain.payments.provider import Declined, Outcome, Succeeded
from domain.payments.provider_events import PaymentNews
from domain.payments.status import AttemptKind
from providers.paypal import wire
from providers.paypal.client import PayPalClient, PayPalRefusal

log = logging.getLogger("paygate.providers.paypal")
Mode = Literal["api", "offline"]
TOLERANCE_S = 300
CERT_ORIGINS = ("https://api.paypal.com", "https://api.sandbox.paypal.com",
                "https://api-m.paypal.com", "https://api-m.sandbox.paypal.com")
CERT_PATH = "/v1/notifications/certs/"
HEADERS = ("paypal-transmission-id", "paypal-transmission-time", "paypal-transmission-sig",
           "paypal-cert-url", "paypal-auth-algo")
CAPTURE_EVENTS = frozenset({"PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED"})
REFUND_EVENTS = frozenset({"PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"})
DISPUTE_EVENTS = frozenset({"CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.RESOLVED"})
HANDLED = CAPTURE_EVENTS | REFUND_EVENTS | DISPUTE_EVENTS | {"CHECKOUT.ORDER.APPROVED",
                                                            "PAYMENT.AUTHORIZATION.VOIDED"}


class SignatureError(Exception):
    """Not PayPal's delivery to our webhook: unverified, stale, or verification not configured."""


class WebhookVerifier:
    def __init__(self, client: PayPalClient, webhook_id: str | None, *, mode: Mode = "api",
                 cert_origins: tuple[str, ...] = CERT_ORIGINS, tolerance_s: int = TOLERANCE_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._client, self.webhook_id, self.mode = client, webhook_id, mode
        self._origins, self._tolerance_s, self._clock = cert_origins, tolerance_s, clock
        self._certs: dict[str, x509.Certificate] = {}

    async def verified_event(self, headers: Mapping[str, str], raw: bytes) -> dict[str, Any]:
        """The event as a dict once the delivery is verified; SignatureError otherwise."""
        if not self.webhook_id:
            raise SignatureError("PayPal webhooks are not configured on this server (PAYGATE_PAYPAL_WEBHOOK_ID)")
        given = {name: headers.get(name) or "" for name in HEADERS}
        if not all(given.values()):
            raise SignatureError("the PAYPAL-TRANSMISSION-* and PAYPAL-CERT-URL headers are required")
        self._fresh(given["paypal-transmission-time"])
        event = _event(raw)
        if self.mode == "offline":
            await self._verify_offline(given, raw)
        else:
            await self._verify_by_api(given, event)
        return event

    def _fresh(self, when: str) -> None:
        try:
            sent = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            raise SignatureError("PAYPAL-TRANSMISSION-TIME is not a time") from None
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        if abs(self._clock() - sent.timestamp()) > self._tolerance_s:
            raise SignatureError("the delivery is stale: its transmission time is too far from now")

    async def _verify_by_api(self, given: Mapping[str, str], event: dict[str, Any]) -> None:
        body = {"auth_algo": given["paypal-auth-algo"], "cert_url": given["paypal-cert-url"],
                "transmission_id": given["paypal-transmission-id"],
                "transmission_sig": given["paypal-transmission-sig"],
                "transmission_time": given["paypal-transmission-time"],
                "webhook_id": self.webhook_id, "webhook_event": event}
        try:
            answer = await self._client.call("verify a webhook signature", "POST",
                                             "/v1/notifications/verify-webhook-signature", json=body)
        except PayPalRefusal as exc:
            raise SignatureError(f"PayPal refused to verify the delivery: {exc}") from None
        if answer.get("verification_status") != "SUCCESS":
            raise SignatureError("PayPal says the delivery's signature is not valid for our webhook")

    async def _verify_offline(self, given: Mapping[str, str], raw: bytes) -> None:
        if given["paypal-auth-algo"] != "SHA256withRSA":
            raise SignatureError(f"unknown PAYPAL-AUTH-ALGO {given['paypal-auth-algo'][:40]!r}")
        cert = await self._cert(given["paypal-cert-url"])
        message = "|".join((given["paypal-transmission-id"], given["paypal-transmission-time"],
                            str(self.webhook_id), str(zlib.crc32(raw)))).encode()
        try:
            signature = base64.b64decode(given["paypal-transmission-sig"], validate=True)
            key = cert.public_key()
            if not isinstance(key, rsa.RSAPublicKey):
                raise SignatureError("the certificate's key is not RSA")
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            raise SignatureError("the delivery's signature is not valid for our webhook") from None

    async def _cert(self, url: str) -> x509.Certificate:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._origins or not parts.path.startswith(CERT_PATH) or parts.query or parts.fragment:
            raise SignatureError("PAYPAL-CERT-URL is not on PayPal's certificate hosts")
        cert = self._certs.get(url)
        now = datetime.fromtimestamp(self._clock(), UTC)
        if cert is None or cert.not_valid_after_utc < now:
            try:
                async with httpx.AsyncClient(timeout=10.0) as http:
                    answer = await http.get(url)
                answer.raise_for_status()
                cert = x509.load_pem_x509_certificate(answer.content)
            except httpx.HTTPError as exc:
                raise ProviderUnavailableError(f"PayPal's certificate could not be fetched: {type(exc).__name__}") from None
            except ValueError:
                raise SignatureError("PAYPAL-CERT-URL is not a PEM certificate") from None
            self._certs[url] = cert
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise SignatureError("PayPal's certificate is not valid now")
        return cert


def _event(raw: bytes) -> dict[str, Any]:
    try:
        event = json.loads(raw)
    except ValueError:
        raise SignatureError("the delivery is not JSON") from None
    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]
            and isinstance(event.get("event_type"), str) and isinstance(event.get("resource"), dict)):
        raise SignatureError("not a PayPal event: id, event_type and resource are required")
    return event


# --- what an event means ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeNews:
    """A dispute as PayPal's CUSTOMER.DISPUTE.* event tells it, for the disputes domain."""

    event_id: str
    event_type: str
    dispute_id: str
    status: str                  # OPEN, WAITING_FOR_BUYER_RESPONSE, ..., RESOLVED
    reason: str                  # MERCHANDISE_OR_SERVICE_NOT_RECEIVED, UNAUTHORISED, ...
    amount: Money | None
    capture_ids: tuple[str, ...]  # disputed_transactions[].seller_transaction_id: our captures
    outcome: str | None          # dispute_outcome.outcome_code once RESOLVED (RESOLVED_BUYER_FAVOUR, ...)


def handled(event: Mapping[str, Any]) -> bool:
    return event["event_type"] in HANDLED


def is_dispute(event: Mapping[str, Any]) -> bool:
    return event["event_type"] in DISPUTE_EVENTS


def captured_by(event: Mapping[str, Any]) -> str | None:
    """For a refund event, the capture it refunds (its `up` link), to find the order by."""
    href = wire.link(event["resource"], "up")
    return href.rstrip("/").rsplit("/", 1)[-1] if href else None


def object_ref(event: Mapping[str, Any]) -> str | None:
    resource = event["resource"]
    if event["event_type"] == "CHECKOUT.ORDER.APPROVED":
        return _text(resource.get("id"))
    related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
    return _text(related.get("order_id")) if isinstance(related, Mapping) else None


def payment_news(event: Mapping[str, Any], order_id: str | None) -> PaymentNews:
    """A handled event (not a dispute) as our news; `order_id` is the payment's reference."""
    kind, resource = event["event_type"], event["resource"]
    invoice = _text(resource.get("invoice_id")) or ""
    uuid = invoice.rsplit("-", 1)[0] if invoice.count("-") >= 5 else None  # "<payment uuid>-<seq>"
    news: dict[str, Any] = dict(provider="paypal", event_id=event["id"], event_type=kind, provider_ref=order_id,
                                payment_uuid=uuid)
    if kind in CAPTURE_EVENTS and order_id:
        outcome = wire.capture_outcome(resource, order_id)
        return PaymentNews(**news, outcomes={AttemptKind.AUTHORIZE: outcome, AttemptKind.CAPTURE: outcome})
    if kind == "PAYMENT.AUTHORIZATION.VOIDED" and order_id:
        held = wire.money_of(resource.get("amount"))
        outcomes: dict[AttemptKind, Outcome] = {
            AttemptKind.VOID: Succeeded(order_id, held),
            AttemptKind.AUTHORIZE: Declined(order_id, held, "authorization_voided", "PayPal voided the authorization.")}
        return PaymentNews(**news, outcomes=outcomes)
    return PaymentNews(**news, reconcile=True)  # approvals and refunds: ask PayPal


def dispute_news(event: Mapping[str, Any]) -> DisputeNews:
    resource = event["resource"]
    dispute_id = _text(resource.get("dispute_id"))
    if not dispute_id:
        raise ValidationError("a dispute event names its dispute_id", "resource.dispute_id")
    amount = resource.get("dispute_amount")
    transactions = resource.get("disputed_transactions") or []
    outcome = resource.get("dispute_outcome") or {}
    return DisputeNews(
        event_id=event["id"], event_type=event["event_type"], dispute_id=dispute_id,
        status=_text(resource.get("status")) or "", reason=_text(resource.get("reason")) or "",
        amount=wire.money_of(amount) if isinstance(amount, Mapping) else None,
        capture_ids=tuple(t["seller_transaction_id"] for t in transactions
                          if isinstance(t, Mapping) and _text(t.get("seller_transaction_id"))),
        outcome=_text(outcome.get("outcome_code")) if isinstance(outcome, Mapping) else None)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value and len(value) <= 128 and value.isprintable() else None
