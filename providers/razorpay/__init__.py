"""Razorpay (https://razorpay.com/docs/api/): Orders, Razorpay Checkout, captures, refunds and
webhooks, over httpx. The only package that speaks Razorpay's wire."""
from providers.razorpay.adapter import RazorpayProvider, checkout_signature

__all__ = ["RazorpayProvider", "checkout_signature"]
