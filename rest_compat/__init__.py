"""The REST compatibility layer: the five seed APIs, path for path, and the webhook endpoints.

Each seed has its own module exposing `api() -> Api` (routes and their OpenAPI operations);
`apis()` lists those mounted. Request and response shapes of a seed live in its module only.
"""
from __future__ import annotations

from rest_compat import seed_000, seed_001, seed_002, seed_002_billing, seed_004, webhooks_stripe
from rest_compat.openapi import Api


def apis() -> list[Api]:
    return [seed_000.api(), seed_001.api(), seed_002.api(), seed_002_billing.api(), seed_004.api(),
            webhooks_stripe.api()]
