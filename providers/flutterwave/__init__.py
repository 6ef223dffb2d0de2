"""Flutterwave v3 (https://developer.flutterwave.com/v3.0.0/reference): Standard's hosted payment
link, transaction verification, refunds and webhooks, over httpx."""
from providers.flutterwave.adapter import FlutterwaveProvider

__all__ = ["FlutterwaveProvider"]
