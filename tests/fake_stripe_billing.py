"""Customers, Prices and Subscriptions for tests/fake_stripe.py (filled in by the billing work)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.routing import Route


@dataclass
class FakeBilling:
    def reset(self) -> None:
        pass

    def routes(self, endpoint: Callable[[Any], Any]) -> list[Route]:
        """`endpoint(handler)` wraps a handler `(id, params) -> dict` with FakeStripe's HTTP edge."""
        return []
