"""Stripe's disputes in our fake (tests/fake_stripe.py), after https://docs.stripe.com/api/disputes.

A dispute is opened by the buyer's bank, never by an API call: `open` makes one on a captured
PaymentIntent's charge as Stripe shows it (the Dispute object: amount and currency of the charge
unless told, `evidence_details.due_by`, `is_charge_refundable`, `payment_intent`), and `move`
changes its status as the bank and Stripe do. A chargeback (any status but the `warning_*`
inquiries) withdraws the amount: Stripe then refuses refunds of the charge (`charge_disputed`),
which is what `refusal_for` answers for the fake's refund endpoint. `GET /v1/disputes/{id}`
retrieves one.
"""
from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.routing import Route

from tests.fake_stripe_wire import StripeRefusal, invalid

DAY_S = 86_400
STATUSES = ("warning_needs_response", "warning_under_review", "warning_closed", "needs_response",
            "under_review", "won", "lost", "prevented")


class FakeDisputes:
    def __init__(self) -> None:
        self.disputes: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        self.disputes.clear()

    def routes(self, endpoint) -> list[Route]:
        return [Route("/v1/disputes/{id}", endpoint(self._retrieve), methods=["GET"])]

    def open(self, intent: dict[str, Any], *, amount: int | None = None, status: str = "needs_response",
             reason: str = "fraudulent") -> dict[str, Any]:
        assert intent["status"] == "succeeded" and status in STATUSES, (intent["status"], status)
        dispute = {"id": "du_" + secrets.token_hex(12), "object": "dispute",
                   "amount": intent["amount_received"] if amount is None else amount,
                   "currency": intent["currency"], "balance_transactions": [],
                   "charge": "ch_" + intent["id"][3:], "payment_intent": intent["id"],
                   "created": int(time.time()), "reason": reason, "status": status, "metadata": {},
                   "evidence_details": {"due_by": int(time.time()) + 7 * DAY_S, "has_evidence": False,
                                        "past_due": False, "submission_count": 0},
                   "is_charge_refundable": status.startswith("warning_"), "livemode": False}
        self.disputes[dispute["id"]] = dispute
        return dispute

    def move(self, dispute_id: str, status: str) -> dict[str, Any]:
        """The dispute's new status, as the bank decides (and Stripe reports)."""
        assert status in STATUSES, status
        dispute = self.disputes[dispute_id]
        dispute.update(status=status, is_charge_refundable=status in ("warning_needs_response",
                                                                      "warning_under_review", "warning_closed"))
        if status == "under_review":
            dispute["evidence_details"].update(has_evidence=True, submission_count=1)
        return dispute

    def refusal_for(self, intent_id: str) -> StripeRefusal | None:
        """Stripe refuses to refund a charge with a chargeback that isn't won."""
        for dispute in self.disputes.values():
            if dispute["payment_intent"] == intent_id and not dispute["is_charge_refundable"] \
                    and dispute["status"] != "won":
                return invalid(f"Charge {dispute['charge']} has been charged back; cannot issue a refund.",
                               code="charge_disputed")
        return None

    def _retrieve(self, ident: str, _p: dict[str, Any]) -> dict[str, Any]:
        if ident not in self.disputes:
            raise StripeRefusal(404, "invalid_request_error", f"No such dispute: '{ident}'",
                                code="resource_missing", param="id")
        return self.disputes[ident]
