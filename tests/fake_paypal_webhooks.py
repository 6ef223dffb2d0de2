"""The fake PayPal's webhook side: a signing key and its certificate, deliveries signed as PayPal
signs them, and `POST /v1/notifications/verify-webhook-signature`.

PayPal signs a delivery with SHA256withRSA over `<transmission id>|<transmission time>|<webhook
id>|<CRC32 of the raw body, as an unsigned decimal>`, sends the signature base64 in
`PAYPAL-TRANSMISSION-SIG`, and the address of its certificate in `PAYPAL-CERT-URL`
(developer.paypal.com/api/rest/webhooks/rest/#link-verifysignature). The webhook id is the
listener's own (each app's webhook has one), so a delivery made for another account's webhook
doesn't verify under ours. The verify API takes the headers' values, our webhook id and the event,
and answers `{"verification_status": "SUCCESS" | "FAILURE"}`; this fake compares the event with
the body it delivered under that transmission id (PayPal verifies what it sent).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

CERT_PATH = "/v1/notifications/certs/CERT-360caa42-fca2a594-fake"


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


@dataclass
class WebhookSigner:
    base_url: str = ""  # the fake's own address: where the certificate is served
    key: rsa.RSAPrivateKey = field(init=False)
    cert_pem: bytes = field(init=False)
    delivered: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # transmission id -> (body, webhook id)
    cert_fetches: int = 0

    def __post_init__(self) -> None:
        self.key, self.cert_pem = _key_and_cert()

    def sign(self, event: dict[str, Any], webhook_id: str, *, at: dt.datetime | None = None,
             key: rsa.RSAPrivateKey | None = None) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a delivery of `event` to the webhook `webhook_id`."""
        body = json.dumps(event).encode()
        transmission_id = secrets.token_hex(16)
        when = (at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = (key or self.key).sign(signed_message(transmission_id, when, webhook_id, body),
                                           padding.PKCS1v15(), hashes.SHA256())
        self.delivered[transmission_id] = (body, webhook_id)
        return body, {"Content-Type": "application/json", "PAYPAL-TRANSMISSION-ID": transmission_id,
                      "PAYPAL-TRANSMISSION-TIME": when, "PAYPAL-AUTH-ALGO": "SHA256withRSA",
                      "PAYPAL-CERT-URL": f"{self.base_url}{CERT_PATH}",
                      "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode()}

    def verify(self, p: dict[str, Any]) -> bool:
        """What the verify API answers for one request's fields."""
        tid, when, webhook_id = p.get("transmission_id"), p.get("transmission_time"), p.get("webhook_id")
        delivered = self.delivered.get(str(tid))
        if delivered is None or not p.get("cert_url", "").endswith(CERT_PATH):
            return False
        body, _ = delivered
        if json.loads(body) != p.get("webhook_event"):
            return False
        try:
            self.key.public_key().verify(base64.b64decode(str(p.get("transmission_sig"))),
                                         signed_message(str(tid), str(when), str(webhook_id), body),
                                         padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return False
        return True


def event(event_type: str, resource: dict[str, Any], *, event_id: str | None = None,
          resource_type: str = "capture") -> dict[str, Any]:
    """A webhook event as PayPal builds one (developer.paypal.com/api/rest/webhooks/event-names/)."""
    return {"id": event_id or f"WH-{secrets.token_hex(8).upper()}", "event_version": "1.0",
            "create_time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "resource_type": resource_type,
            "resource_version": "2.0", "event_type": event_type, "summary": event_type, "resource": resource,
            "links": []}
