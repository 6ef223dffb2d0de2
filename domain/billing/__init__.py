"""Billing: customers and subscriptions at a billing provider (Stripe Billing).

model     Customer, Subscription and its statuses, and the never-backwards rule for its state
provider  the BillingProvider port: typed requests and answers
service   the use cases: create a customer, subscribe it, cancel, who sees what
news      the provider's webhooks about subscriptions, acted on once
"""
