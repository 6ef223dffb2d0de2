"""The provider registry and the money policy, built once at start-up from the settings.

A provider whose keys are unset is simply not offered; the dummy gateway is always there
(CONTRACT.md, Settings).
"""
from __future__ import annotations

from datetime import timedelta

from domain.billing.provider import BillingProvider
from domain.payments.consequences import Policy
from domain.payments.provider import PaymentProvider, Providers
from paygate.settings import Settings
from providers.dummy import DummyGateway
from providers.online import OnlineGateway
from providers.stripe import StripeProvider
from providers.stripe.billing import StripeBilling


def build_providers(settings: Settings) -> Providers:
    # The dummy keeps authorizations in process memory: one instance per process, shared by every
    # request, so a manual capture reaches the instance that authorized.
    offered: list[PaymentProvider] = [DummyGateway()]
    if settings.gateway_webhook_secret:
        offered.append(OnlineGateway())  # webhook-only: no capability, see providers/online.py
    public: dict[str, dict[str, str]] = {}
    if settings.stripe_api_key:
        offered.append(StripeProvider(settings.stripe_api_key, api_base=settings.stripe_api_base))
        if settings.stripe_publishable_key:
            public["stripe"] = {"publishable_key": settings.stripe_publishable_key}
    return Providers(offered, public)


def build_billing(settings: Settings) -> BillingProvider | None:
    """Customers and subscriptions (Stripe Billing): offered when Stripe is."""
    if not settings.stripe_api_key:
        return None
    return StripeBilling(settings.stripe_api_key, api_base=settings.stripe_api_base)


def build_policy(settings: Settings) -> Policy:
    return Policy(fee_bps=settings.platform_fee_bps, hold_period=timedelta(days=settings.hold_days),
                  reservation=timedelta(minutes=settings.reservation_minutes))
