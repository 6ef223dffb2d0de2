"""One JSON-over-HTTPS client for the providers we reach with httpx (Razorpay, Flutterwave: their
SDKs are synchronous, or missing), so both read failures the same way:

    2xx with a JSON object        the answer
    4xx but 401, 403, 409, 429    Refusal(status, body): the provider answered and refused; nothing
                                  moved. The adapter reads the body (each its own error shape)
    timeout, broken connection,
    5xx, 409 (the same idempotent
    request still running), 429   retried with the SAME request (providers/retry.py), then
                                  ProviderUnavailableError: the outcome is unknown
    401, 403, a body that isn't
    JSON                          ProviderUnavailableError at once: a wrong key or a wrong base
                                  URL is the operator's to fix; nothing was decided

The request is re-made on each try from what the caller passed, so an idempotency header in it
never changes.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from domain.errors import ProviderUnavailableError
from providers.retry import RetryPolicy

Json = dict[str, Any]
TIMEOUT_S = 15.0
_RETRIED_STATUSES = (409, 429)


class Refusal(Exception):
    """The provider answered 4xx: it refused the request as sent."""

    def __init__(self, status: int, body: Json | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body or {}


class _Transient(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class JsonApi:
    def __init__(self, name: str, base_url: str, *, auth: httpx.Auth | None = None,
                 headers: Mapping[str, str] | None = None, retry: RetryPolicy | None = None,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.name = name
        self._log = logging.getLogger(f"paygate.providers.{name}")
        self._retry = retry or RetryPolicy()
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), auth=auth, headers=dict(headers or {}),
                                         timeout=timeout_s)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, path: str, *, body: Json | None = None,
                   params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                   retry: bool = True) -> Json:
        """The provider's JSON answer; Refusal for a 4xx; ProviderUnavailableError when unknown.
        `retry=False` for a request the provider doesn't de-duplicate: sent once, the caller
        finds out what became of it before sending it again."""
        async def once() -> Json:
            try:
                response = await self._client.request(method, path, json=body, params=params, headers=headers)
            except httpx.TransportError as exc:
                raise _Transient(0) from exc
            if response.status_code >= 500 or response.status_code in _RETRIED_STATUSES:
                raise _Transient(response.status_code)
            parsed = _json(response)
            if response.status_code in (401, 403):
                self._log.error("%s refused our credentials (%s): check the keys", self.name, response.status_code)
                raise ProviderUnavailableError(f"{self.name} {method} {path}: HTTP {response.status_code}")
            if 400 <= response.status_code < 500:
                raise Refusal(response.status_code, parsed)
            if parsed is None:
                raise ProviderUnavailableError(f"{self.name} {method} {path}: the answer is not a JSON object")
            return parsed

        try:
            return await self._retry.run(once, lambda exc: retry and isinstance(exc, _Transient))
        except _Transient as exc:
            self._log.warning("%s %s %s failed: %s", self.name, method, path, exc.status or "no answer")
            raise ProviderUnavailableError(f"{self.name} {method} {path}: "
                                           f"{exc.status or 'no answer'}") from None


def _json(response: httpx.Response) -> Json | None:
    try:
        # Decimal, never float: Flutterwave writes amounts as JSON numbers in major units.
        parsed = json.loads(response.content, parse_float=Decimal) if response.content else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
