"""The generic online gateway (seed 001's "ONLINE"): payments arrive by its signed webhook only.

The gateway takes the customer's money on its own pages and tells us with a webhook signed by
`X-Webhook-Signature`: the hex HMAC-SHA256 of the raw request body under the shared secret
(`PAYGATE_GATEWAY_WEBHOOK_SECRET`). We have no API of it to call, so `OnlineGateway` offers no
capability: `Providers.require` refuses every call for it up front. It is registered (when the
secret is set) so that its payments name an offered provider, and each method answers a plain
decline with `not_supported` rather than raising, so an attempt that reaches it anyway (e.g. a
refund recorded before its capability was checked, retried by the worker) settles as failed and
moves no money in our books. A refund of such a payment is made at the gateway, by a person.
"""
from __future__ import annotations

import hashlib
import hmac

from domain.payments.provider import (
    AuthorizeRequest,
    Capability,
    CaptureRequest,
    Declined,
    Outcome,
    RefundRequest,
    VoidRequest,
)

NAME = "online"
SIGNATURE_HEADER = "X-Webhook-Signature"
NOT_SUPPORTED = "not_supported"
_MESSAGE = "The online gateway has no API paygate can call; act at the gateway itself."


def signature_of(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str | None, body: bytes, signature: str | None) -> bool:
    """Whether `signature` is the hex HMAC-SHA256 of `body` under `secret`; never without a secret."""
    if not secret or not signature:
        return False
    # compare_digest: the time taken doesn't tell an attacker how many leading characters matched.
    # Bytes: compare_digest refuses non-ASCII str, and a header may carry anything.
    given = signature.strip().lower().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(signature_of(secret, body).encode(), given)


class OnlineGateway:
    name = NAME
    capabilities: frozenset[Capability] = frozenset()

    async def authorize(self, req: AuthorizeRequest) -> Outcome:
        return Declined(None, req.amount, NOT_SUPPORTED, _MESSAGE)

    async def capture(self, req: CaptureRequest) -> Outcome:
        return Declined(req.provider_ref, req.amount, NOT_SUPPORTED, _MESSAGE)

    async def void(self, req: VoidRequest) -> Outcome:
        return Declined(req.provider_ref, None, NOT_SUPPORTED, _MESSAGE)

    async def refund(self, req: RefundRequest) -> Outcome:
        return Declined(None, req.amount, NOT_SUPPORTED, _MESSAGE)

    async def fetch(self, provider_ref: str) -> Outcome:
        return Declined(provider_ref, None, NOT_SUPPORTED, _MESSAGE)
