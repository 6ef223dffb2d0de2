"""Routes mounted only on the test server, to show how the app answers what it did not expect."""
from __future__ import annotations

from starlette.routing import Route


class DeliberateFailure(RuntimeError):
    pass


async def _boom(_request):
    raise DeliberateFailure("secret detail: /srv/paygate/internal.py line 42")


def failing_routes() -> list[Route]:
    return [Route("/_test/boom", _boom, methods=["GET", "POST"])]
