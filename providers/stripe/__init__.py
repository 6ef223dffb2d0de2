"""Stripe, on the official SDK: the only package that imports `stripe` (STYLE.md section 1).

adapter  StripeProvider, the payment provider port over PaymentIntents, Refunds and Checkout Sessions
checkout what `open` sends for a payment page, and how a Checkout Session reads as an outcome
wire     Stripe's objects and minor units <-> our outcomes and Money
errors   the SDK's exceptions -> outcomes or our errors, and the retry policy
"""
from providers.stripe.adapter import API_VERSION, StripeProvider
from providers.stripe.errors import RetryPolicy

__all__ = ["API_VERSION", "RetryPolicy", "StripeProvider"]
