"""Settings: the environment with prefix PAYGATE_, read once at start-up (CONTRACT.md, Settings)."""
from __future__ import annotations

import logging
from functools import cached_property
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "paygate-development-secret-do-not-use-in-production"

log = logging.getLogger("paygate.settings")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYGATE_", extra="ignore")

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
    razorpay_key_id: str | None = None
    razorpay_key_secret: str | None = None
    razorpay_webhook_secret: str | None = None
    razorpay_api_base: str = "https://api.razorpay.com"
    flutterwave_secret_key: str | None = None
    flutterwave_secret_hash: str | None = None
    flutterwave_api_base: str = "https://api.flutterwave.com"
    gateway_webhook_secret: str | None = None
    smtp_url: str | None = None

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

    @cached_property
    def uses_development_secret(self) -> bool:
        return self.secret_key == DEVELOPMENT_SECRET

    def warn_about_defaults(self) -> None:
        if self.uses_development_secret:
            log.warning("using the development PAYGATE_SECRET_KEY: bearer tokens are forgeable; set it outside development")
