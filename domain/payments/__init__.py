"""Payments: the Payment aggregate and its attempts (model), and the provider port (provider).

Import from here; the two modules are split by concept, not by audience.
"""
from domain.payments.model import Attempt, Payment
from domain.payments.provider import (
    AuthorizeRequest,
    Capability,
    CaptureMethod,
    CaptureRequest,
    Declined,
    Outcome,
    PaymentProvider,
    Pending,
    Providers,
    RefundRequest,
    RequiresAction,
    Succeeded,
    VoidRequest,
    is_final,
)
from domain.payments.status import (
    CANCELABLE,
    STARTS,
    TRANSITIONS,
    AttemptKind,
    AttemptStatus,
    DisplayStatus,
    PaymentStatus,
    RefundStatus,
)

__all__ = [
    "CANCELABLE",
    "STARTS",
    "TRANSITIONS",
    "Attempt",
    "AttemptKind",
    "AttemptStatus",
    "AuthorizeRequest",
    "Capability",
    "CaptureMethod",
    "CaptureRequest",
    "Declined",
    "DisplayStatus",
    "Outcome",
    "Payment",
    "PaymentProvider",
    "PaymentStatus",
    "Pending",
    "Providers",
    "RefundRequest",
    "RefundStatus",
    "RequiresAction",
    "Succeeded",
    "VoidRequest",
    "is_final",
]
