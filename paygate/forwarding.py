"""Whose X-Forwarded-For and X-Forwarded-Proto to believe (CONTRACT.md, `FORWARDED_ALLOW_IPS`).

The client address decides a rate-limit budget and goes into logs, so it is the connecting peer's
unless that peer is a proxy the operator named in PAYGATE_FORWARDED_ALLOW_IPS. Believing the
header from anyone (or from 127.0.0.1, uvicorn's default, which every local process is) lets a
client pick a fresh address, and with it a fresh budget, on every request.

The app decides this itself, outermost, with uvicorn's own middleware, so it holds under any
server; `paygate serve` turns uvicorn's copy off.
"""
from __future__ import annotations

from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def proxies_trusted(hosts: list[str]) -> list[Middleware]:
    """The middleware that takes the client address from trusted proxies' headers; none when no
    proxy is trusted, and then the peer's own address stands."""
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=hosts)] if hosts else []
