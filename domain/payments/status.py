"""Payment statuses, attempt kinds, and the tables of what may follow what.

TRANSITIONS is the one table of allowed status moves: a status never goes back (asserted below,
at import, so a bad edit fails every test at once).
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class PaymentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"


class RefundStatus(StrEnum):
    NONE = "none"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class DisplayStatus(StrEnum):
    """What an order page shows: the status, or how much of a succeeded payment was refunded."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


assert {*DisplayStatus} == {*PaymentStatus} | {*RefundStatus} - {RefundStatus.NONE}


class AttemptKind(StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


class AttemptStatus(StrEnum):
    PENDING = "pending"  # recorded, sent or about to be; or the provider said it's deciding
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the call failed without an answer: settle by fetch or same-key retry


S = PaymentStatus
RANK = {S.REQUIRES_PAYMENT_METHOD: 0, S.REQUIRES_ACTION: 1, S.PROCESSING: 2, S.REQUIRES_CAPTURE: 3,
         S.SUCCEEDED: 4, S.CANCELED: 5, S.FAILED: 5}
TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    S.REQUIRES_PAYMENT_METHOD: frozenset({S.REQUIRES_ACTION, S.PROCESSING, S.REQUIRES_CAPTURE, S.SUCCEEDED,
                                          S.CANCELED, S.FAILED}),
    S.REQUIRES_ACTION: frozenset({S.PROCESSING, S.REQUIRES_CAPTURE, S.SUCCEEDED, S.CANCELED, S.FAILED}),
    S.PROCESSING: frozenset({S.REQUIRES_CAPTURE, S.SUCCEEDED, S.FAILED}),  # nobody can cancel mid-decision
    S.REQUIRES_CAPTURE: frozenset({S.SUCCEEDED, S.CANCELED}),  # a failed capture leaves it authorized
    S.SUCCEEDED: frozenset(),
    S.CANCELED: frozenset(),
    S.FAILED: frozenset(),
}
assert set(TRANSITIONS) == set(S) == set(RANK)
assert all(RANK[to] > RANK[frm] for frm, tos in TRANSITIONS.items() for to in tos), "a move goes back"

# Where each kind of attempt may start, and which attempts in flight block it. Refunds don't block
# each other: their amounts are reserved instead. A void may cancel a 3-D Secure challenge still
# open at the provider (otherwise the customer could complete it after we gave up on the payment).
STARTS: Mapping[AttemptKind, frozenset[PaymentStatus]] = {
    AttemptKind.AUTHORIZE: frozenset({S.REQUIRES_PAYMENT_METHOD}),
    AttemptKind.CAPTURE: frozenset({S.REQUIRES_CAPTURE}),
    AttemptKind.VOID: frozenset({S.REQUIRES_ACTION, S.REQUIRES_CAPTURE}),
    AttemptKind.REFUND: frozenset({S.SUCCEEDED}),
}
BLOCKED_BY: Mapping[AttemptKind, frozenset[AttemptKind]] = {
    AttemptKind.AUTHORIZE: frozenset({AttemptKind.AUTHORIZE}),
    AttemptKind.CAPTURE: frozenset({AttemptKind.CAPTURE, AttemptKind.VOID}),
    AttemptKind.VOID: frozenset({AttemptKind.CAPTURE, AttemptKind.VOID}),
    AttemptKind.REFUND: frozenset(),
}
CANCELABLE = frozenset({S.REQUIRES_PAYMENT_METHOD})  # canceled here, without asking the provider
VOIDED_DECLINE_CODE = "canceled"  # what an authorization left open by a void ends with
