"""The provider registry and the money policy, built once at start-up from the settings.

A provider whose keys are unset is simply not offered (CONTRACT.md, Settings). The dummy gateway
takes test cards and moves no money: offered in development and tests, and in production only
with PAYGATE_DUMMY_GATEWAY=on, or anyone could pay for real orders with 4242 4242 4242 4242.
"""
from __future__ import annotations

from datetime import timedelta

from db.dummy_gateway import SqlDummyRecords
from db.engine import Database
from db.paypal_captures import SqlPayPalCaptures
from domain.billing.provider import BillingProvider
from domain.marketplace.connect import ConnectProvider
from domain.payments.consequences import Policy
from domain.payments.provider import PaymentProvider, Providers
from paygate.settings import Settings
from providers.dummy import DummyGateway
from providers.dummy_connect import DummyConnect
from providers.flutterwave import FlutterwaveProvider
from providers.online import OnlineGateway
from providers.paypal import PayPalClient, PayPalProvider
from providers.paypal.webhooks import WebhookVerifier
from providers.razorpay import RazorpayProvider
from providers.stripe import StripeProvider
from providers.stripe.billing import StripeBilling
from providers.stripe.connect import StripeConnect


def build_providers(settings: Settings, db: Database) -> Providers:
    offered: list[PaymentProvider] = []
    if settings.offers_dummy_gateway:
        # Its records in our database: every app and worker process sees the same gateway.
        offered.append(DummyGateway(SqlDummyRecords(db)))
    if settings.gateway_webhook_secret:
        offered.append(OnlineGateway())  # webhook-only: no capability, see providers/online.py
    public: dict[str, dict[str, str]] = {}
    if settings.stripe_api_key:
        offered.append(StripeProvider(settings.stripe_api_key, api_base=settings.stripe_api_base))
        if settings.stripe_publishable_key:
            public["stripe"] = {"publishable_key": settings.stripe_publishable_key}
    if settings.razorpay_key_id and settings.razorpay_key_secret:
        offered.append(RazorpayProvider(settings.razorpay_key_id, settings.razorpay_key_secret,
                                        api_base=settings.razorpay_api_base))
        public["razorpay"] = {"key_id": settings.razorpay_key_id}  # Razorpay Checkout's `key`: public
    if settings.flutterwave_secret_key:
        offered.append(FlutterwaveProvider(settings.flutterwave_secret_key, api_base=settings.flutterwave_api_base))
    if settings.paypal_client_id and settings.paypal_client_secret:
        offered.append(paypal(settings, db))
        # The client id is public by design: PayPal's JS SDK is loaded with it in every browser.
        public["paypal"] = {"publishable_key": settings.paypal_client_id}
    return Providers(offered, public)


def paypal(settings: Settings, db: Database) -> PayPalProvider:
    client = PayPalClient(settings.paypal_client_id or "", settings.paypal_client_secret or "",
                          api_base=settings.paypal_api_base)
    verifier = WebhookVerifier(client, settings.paypal_webhook_id, mode=settings.paypal_webhook_verification)
    return PayPalProvider(client, captures=SqlPayPalCaptures(db), webhooks=verifier)


def build_connect(settings: Settings, db: Database) -> ConnectProvider | None:
    """Sellers' accounts, transfers and payouts: Stripe Connect when Stripe is configured, else
    the dummy gateway's (so the marketplace runs on `make run`), else none."""
    if settings.stripe_api_key:
        return StripeConnect(settings.stripe_api_key, api_base=settings.stripe_api_base)
    if settings.offers_dummy_gateway:
        return DummyConnect(SqlDummyRecords(db))
    return None


def build_billing(settings: Settings) -> BillingProvider | None:
    """Customers and subscriptions (Stripe Billing): offered when Stripe is."""
    if not settings.stripe_api_key:
        return None
    return StripeBilling(settings.stripe_api_key, api_base=settings.stripe_api_base)


def build_policy(settings: Settings) -> Policy:
    return Policy(fee_bps=settings.platform_fee_bps, hold_period=timedelta(days=settings.hold_days),
                  reservation=timedelta(minutes=settings.reservation_minutes),
                  refund_window=timedelta(days=settings.refund_window_days))
