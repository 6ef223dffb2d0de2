"""The admin dashboard: a static page and its JavaScript modules (paygate/admin/), committed as they
are served: no build step, no bundler, no CDN.

The page holds no data and needs no session: its scripts ask GraphQL for everything with the bearer
token the admin pastes (kept in sessionStorage), so serving it to anyone shows nothing, and the
authorization of every figure stays where it is for every other client (the use cases).
"""
from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

ASSETS = Path(__file__).parent / "admin"

# Self only: no inline script or style, no other origin, not framed (no clickjacking of the
# approve buttons); fetch() to /graphql on the same origin is all the page needs.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate: an upgrade's new scripts are used at once
}


async def page(_: Request) -> Response:
    return FileResponse(ASSETS / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)


class _Assets:
    """StaticFiles with the page's headers on every answer."""

    def __init__(self) -> None:
        self.files = StaticFiles(directory=ASSETS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      *((k.lower().encode(), v.encode()) for k, v in HEADERS.items())]
            await send(message)

        await self.files(scope, receive, send_with_headers)


def dashboard_routes() -> list[BaseRoute]:
    # `/admin` (no slash) is redirected here by Starlette's router (redirect_slashes).
    return [Route("/admin/", page, methods=["GET"]), Mount("/admin/assets", app=_Assets())]
