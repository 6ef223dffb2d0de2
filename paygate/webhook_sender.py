"""Sends merchants' webhooks: signed by the Standard Webhooks specification with its maintained
library (`standardwebhooks`), over httpx with timeouts, never following a redirect.

Headers: `webhook-id` (the event's stable id), `webhook-timestamp` (seconds, when this attempt
is sent: receivers refuse ones too far from their clock, which stops replays), and
`webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret valid now,
space-separated, so a receiver holding either the new or the old secret during a rotation
verifies. The answer's body is never read: only its status counts (2xx is success; a redirect is
a failure, as in Svix, since following it would send the payload somewhere the admin never
registered).
"""
from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from domain.outgoing_webhooks.delivery import SendRequest, SendResult

CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 15.0  # Svix's: a receiver answers within 15 s, or the attempt failed
USER_AGENT = "paygate-webhooks/1"


def signed_headers(request: SendRequest, now: datetime) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(request.msg_id, now, request.body) for secret in request.secrets)
    return {"webhook-id": request.msg_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json", "user-agent": USER_AGENT}


class HttpxWebhookSender:
    """The WebhookSender port (domain/ports.py). One client per process, made on first use."""

    def __init__(self, timeout_s: float = TOTAL_TIMEOUT_S, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env off: HTTP(S)_PROXY meant for providers' calls must not see merchants' payloads
            # unless the operator passes a proxy here on purpose.
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False)
        return self._client

    async def send(self, request: SendRequest) -> SendResult:
        # The signing time is the wall clock's, not the job's: receivers compare it with theirs.
        headers = signed_headers(request, datetime.now(UTC))
        started = time.monotonic()
        try:
            async with self._http().stream("POST", request.url, content=request.body.encode(),
                                           headers=headers) as response:
                status = response.status_code  # the body is left unread: a receiver can't make us buffer it
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__, _ms(started))
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return SendResult(status, error, _ms(started))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
