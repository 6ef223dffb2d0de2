"""A merchant's webhook receiver on loopback: verifies every delivery's signature with the
`standardwebhooks` library (as a merchant would), records what arrived, and answers with the
status the test chose."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    msg_id: str
    type: str
    data: dict
    headers: dict[str, str]
    body: bytes
    verified_by: tuple[str, ...]  # which of the receiver's secrets verified it


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    # status to answer, given the delivery (default 204); a redirect to test we never follow one
    answer: Callable[[Received], int] = lambda _: 204
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def verify_with(self, secret: str, got: Received) -> bool:
        try:
            Webhook(secret).verify(got.body, got.headers)
            return True
        except WebhookVerificationError:
            return False

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        payload = json.loads(body)
        got = Received(headers.get("webhook-id", ""), payload["type"], payload["data"], headers, body, ())
        got.verified_by = tuple(s for s in self.secrets if self.verify_with(s, got))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.received.append(got)
        status = self.answer(got)
        if status in (301, 302, 307, 308):
            return Response(status_code=status, headers={"location": self.url + "/elsewhere"})
        return Response(status_code=status)

    async def _elsewhere(self, request: Request) -> Response:
        raise AssertionError("a redirect was followed")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self._hook, methods=["POST"]),
                                 Route("/elsewhere", self._elsewhere, methods=["POST", "GET"])])

    def types(self) -> list[str]:
        return [r.type for r in self.received]
