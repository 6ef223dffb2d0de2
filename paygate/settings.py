"""Settings: the environment with prefix PAYGATE_, read once at start-up (CONTRACT.md, Settings).

Messages, logs and docs name a setting by its variable (`PAYGATE_STRIPE_API_KEY`, see `env_name`).
A known name set without the prefix (`STRIPE_API_KEY=…`) is not read; `unprefixed_names` finds
them so start-up can warn instead of ignoring them silently.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from functools import cached_property
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "PAYGATE_"
DEVELOPMENT_SECRET = "paygate-development-secret-do-not-use-in-production"

log = logging.getLogger("paygate.settings")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/paygate.db"
    redis_url: str | None = None
    env: Literal["development", "production", "test"] = "development"
    secret_key: str = DEVELOPMENT_SECRET
    jwt_public_key: str | None = None
    default_currency: str = "USD"
    hold_days: int = 7
    platform_fee_bps: int = 1000
    reservation_minutes: int = 30
    rate_limit: str = "120/minute"

    stripe_api_key: str | None = None
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_connect_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    paypal_client_id: str | None = None
    paypal_client_secret: str | None = None
    paypal_webhook_id: str | None = None
    paypal_api_base: str = "https://api-m.sandbox.paypal.com"
    # How PayPal's webhook deliveries are verified: "api" asks PayPal's verify-webhook-signature
    # API (one call per delivery); "offline" checks the RSA signature here with PayPal's
    # certificate, fetched only from PayPal's hosts and cached (providers/paypal/webhooks.py).
    paypal_webhook_verification: Literal["api", "offline"] = "api"
    razorpay_key_id: str | None = None
    razorpay_key_secret: str | None = None
    razorpay_webhook_secret: str | None = None
    razorpay_api_base: str = "https://api.razorpay.com"
    flutterwave_secret_key: str | None = None
    flutterwave_secret_hash: str | None = None
    flutterwave_api_base: str = "https://api.flutterwave.com"
    gateway_webhook_secret: str | None = None
    # Customer and admin emails (domain/notifications.py): kept in the outbox while unset.
    # smtp://user:password@host:587 (STARTTLS when the server offers it) or smtps://host:465.
    smtp_url: str | None = None
    email_from: str = "paygate@localhost"
    # Seed 003: how many days after capture a customer may still ask for a refund.
    refund_window_days: int = 30
    # The built-in test gateway takes test cards and moves no money: offered in development and
    # tests, and in production only when an operator sets it "on" explicitly (CONTRACT.md).
    dummy_gateway: Literal["on", "off"] | None = None
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed, comma-separated addresses or
    # networks ("10.0.0.1,10.1.0.0/16", "*" for any); unset trusts nobody, so a client can't pick
    # its own address (and with it a fresh rate-limit budget) by sending the header.
    forwarded_allow_ips: str | None = None
    # Risk checks before an authorization is sent (domain/risk; README "Risk checks"). Scores add
    # up: at RISK_REVIEW_SCORE staff must approve, at RISK_BLOCK_SCORE it is refused.
    risk_checks: Literal["on", "off"] = "on"
    risk_window_s: int = 600
    risk_buyer_attempts: int = 1000
    risk_card_attempts: int = 1000
    risk_address_attempts: int = 10000
    risk_velocity_score: int = 50
    risk_amount_limits: dict[str, int] = {}  # JSON, e.g. {"USD": 500000}: minor units per currency
    risk_amount_score: int = 60
    risk_small_minor: int = 500
    risk_card_testing_declines: int = 5
    risk_card_testing_score: int = 100
    risk_country_mismatch_score: int = 30
    risk_review_score: int = 50
    risk_block_score: int = 100

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> Settings:
        if self.is_production and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError("PAYGATE_SECRET_KEY must be set in production (the development secret is public)")
        if self.platform_fee_bps < 0 or self.platform_fee_bps > 10_000:
            raise ValueError("PAYGATE_PLATFORM_FEE_BPS must be between 0 and 10000")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def offers_dummy_gateway(self) -> bool:
        if self.dummy_gateway is None:
            return not self.is_production
        return self.dummy_gateway == "on"

    @property
    def trusted_proxies(self) -> list[str]:
        return [ip.strip() for ip in (self.forwarded_allow_ips or "").split(",") if ip.strip()]

    @cached_property
    def uses_development_secret(self) -> bool:
        return self.secret_key == DEVELOPMENT_SECRET

    def warn_about_defaults(self, environ: Mapping[str, str] | None = None) -> None:
        if self.uses_development_secret:
            log.warning("using the development PAYGATE_SECRET_KEY: bearer tokens are forgeable; set it outside development")
        for name in unprefixed_names(os.environ if environ is None else environ):
            log.warning("%s is set but not read: paygate reads %s", name, env_name(name),
                        extra={"setting": env_name(name)})


def env_name(setting: str) -> str:
    """The variable a setting is read from: `stripe_api_key` -> `PAYGATE_STRIPE_API_KEY`."""
    return PREFIX + setting.upper()


def unprefixed_names(environ: Mapping[str, str]) -> list[str]:
    """Known settings set without the prefix, as they were written (`STRIPE_API_KEY`), unless the
    prefixed variable is set too (then the operator has it right, and the bare one is another
    program's, like a host's `DATABASE_URL`)."""
    known = {name.upper() for name in Settings.model_fields}
    prefixed = {name.upper() for name in environ if name.upper().startswith(PREFIX)}
    return sorted(name for name in environ
                  if name.upper() in known and PREFIX + name.upper() not in prefixed)

