"""PayPal (Orders v2, Payments v2, webhooks) over httpx; see adapter.py."""
from providers.paypal.adapter import PayPalProvider
from providers.paypal.client import PayPalClient

__all__ = ["PayPalClient", "PayPalProvider"]
