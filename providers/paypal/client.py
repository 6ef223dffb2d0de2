"""PayPal's REST API over httpx: the OAuth2 token, the PayPal-Request-Id, retries, and PayPal's
error bodies translated at this edge.

- The token is OAuth2 client credentials (`POST /v1/oauth2/token`, HTTP Basic with the client id
  and secret), cached until a minute before `expires_in` says; an API call answered 401 (the token
  expired or was revoked early) drops it and is sent once more with a fresh one.
- Every call that creates or moves money carries `PayPal-Request-Id`, made from our attempt's
  idempotency key: PayPal "returns the latest status of the previous request that used that same
  header" (developer.paypal.com/reference/guidelines/idempotency), so a retry can't act twice.
- Timeouts, broken connections, 5xx, 429 and 409 (a request with the same id still running: "PayPal
  processes the first request and might fail the second") are retried with the SAME request id
  (providers/retry.py), then raised as ProviderUnavailableError: the outcome is unknown.
- Any other answer of PayPal's is returned to the adapter: a 2xx body, or `PayPalRefusal` carrying
  PayPal's error body (`name`, `message`, `debug_id`, `details[].issue`), which the adapter reads
  as a decline: PayPal refused, nothing moved. 401 after a fresh token and 403 are our
  credentials: ProviderUnavailableError, logged, for the operator to fix (no retry can).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from domain.errors import ProviderUnavailableError
from providers.retry import RetryPolicy

log = logging.getLogger("paygate.providers.paypal")
SANDBOX = "https://api-m.sandbox.paypal.com"
TOKEN_MARGIN_S = 60.0
Clock = Callable[[], float]


class _Transient(Exception):
    """A failure worth another try with the same request id."""


@dataclass
class PayPalRefusal(Exception):
    """PayPal answered and refused (4xx): its error body, as documented
    (developer.paypal.com/api/rest/responses/#link-errors)."""

    status: int
    name: str
    message: str
    issue: str | None
    description: str | None
    debug_id: str | None

    @classmethod
    def of(cls, status: int, body: object) -> PayPalRefusal:
        body = body if isinstance(body, Mapping) else {}
        details = body.get("details") if isinstance(body.get("details"), list) else []
        first = details[0] if details and isinstance(details[0], Mapping) else {}
        return cls(status, str(body.get("name") or body.get("error") or f"HTTP_{status}"),
                   str(body.get("message") or body.get("error_description") or ""),
                   str(first["issue"]) if first.get("issue") else None,
                   str(first["description"]) if first.get("description") else None,
                   str(body["debug_id"]) if body.get("debug_id") else None)

    @property
    def code(self) -> str:
        """Our decline code: the issue PayPal names (INSTRUMENT_DECLINED), else its error name."""
        return (self.issue or self.name).lower()

    def __str__(self) -> str:
        return f"{self.name} {self.issue or ''} ({self.status}, debug_id {self.debug_id})"


class PayPalClient:
    def __init__(self, client_id: str, client_secret: str, *, api_base: str = SANDBOX,
                 timeout_s: float = 30.0, retry: RetryPolicy = RetryPolicy(),
                 clock: Clock = time.monotonic, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._auth = (client_id, client_secret)
        self._http = httpx.AsyncClient(base_url=api_base.rstrip("/"), timeout=timeout_s, transport=transport)
        self._retry = retry
        self._clock = clock
        self._token: tuple[str, float] | None = None  # (access token, monotonic time it is dropped)
        self.api_base = api_base.rstrip("/")

    async def close(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return "PayPalClient()"  # never the secret

    async def call(self, what: str, method: str, path: str, *, json: Mapping[str, Any] | None = None,
                   request_id: str | None = None) -> dict[str, Any]:
        """PayPal's 2xx body ({} for 204), or PayPalRefusal; ProviderUnavailableError when unknown."""
        async def once() -> dict[str, Any]:
            return await self._send(method, path, json, request_id)
        try:
            return await self._retry.run(once, lambda exc: isinstance(exc, _Transient))
        except _Transient as exc:
            log.warning("paypal %s failed: %s", what, exc)
            raise ProviderUnavailableError(f"PayPal {what}: {exc}") from None

    async def _send(self, method: str, path: str, json: Mapping[str, Any] | None,
                    request_id: str | None) -> dict[str, Any]:
        headers = {"Prefer": "return=representation"}  # the whole object, amounts included
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        for fresh in (False, True):
            headers["Authorization"] = f"Bearer {await self._access_token(fresh)}"
            answer = await self._request(method, path, json=json, headers=headers)
            if answer.status_code != 401:
                break
        return _body(answer)

    async def _access_token(self, fresh: bool) -> str:
        if self._token is not None and not fresh and self._clock() < self._token[1]:
            return self._token[0]
        answer = await self._request("POST", "/v1/oauth2/token", data={"grant_type": "client_credentials"},
                                     auth=self._auth)
        body = _body(answer, token=True)
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or type(expires_in) is not int:
            raise ProviderUnavailableError("PayPal answered a token request without a token")
        self._token = (token, self._clock() + max(expires_in - TOKEN_MARGIN_S, 0.0))
        return token

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:  # timeouts, refused or broken connections
            raise _Transient(type(exc).__name__) from None
        if answer.status_code >= 500 or answer.status_code in (409, 429):
            raise _Transient(f"HTTP {answer.status_code} {_debug_id(answer)}")
        return answer


def _debug_id(answer: httpx.Response) -> str:
    return answer.headers.get("PayPal-Debug-Id", "")


def _body(answer: httpx.Response, *, token: bool = False) -> dict[str, Any]:
    try:
        body = answer.json() if answer.content else {}
    except ValueError:
        body = None
    if answer.status_code in (401, 403) or (token and answer.status_code >= 400):
        # Our credentials (or the app's permissions): the operator must act; the outcome waits.
        refusal = PayPalRefusal.of(answer.status_code, body)
        log.error("PayPal refused our credentials: %s", refusal)
        raise ProviderUnavailableError(f"PayPal refused our credentials ({answer.status_code} {refusal.name})")
    if answer.status_code >= 400:
        raise PayPalRefusal.of(answer.status_code, body)
    if not isinstance(body, dict):
        raise ProviderUnavailableError(f"PayPal answered {answer.status_code} without a JSON object")
    return body

