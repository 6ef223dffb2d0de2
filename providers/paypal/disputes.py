"""PayPal's `CUSTOMER.DISPUTE.*` news (webhooks.dispute_news) as the disputes domain's news
(domain/disputes/service.py). PayPal's dispute `status` and, once resolved,
`dispute_outcome.outcome_code` (https://developer.paypal.com/docs/api/customer-disputes/v1/):

    OPEN, WAITING_FOR_BUYER_RESPONSE, OTHER   opened: PayPal holds the disputed funds back from
                                              the moment a dispute is created
    WAITING_FOR_SELLER_RESPONSE               evidence_due: our answer is awaited
    UNDER_REVIEW                              under_review: PayPal decides
    RESOLVED + RESOLVED_BUYER_FAVOUR, ACCEPTED     lost: the buyer keeps the money
    RESOLVED + RESOLVED_SELLER_FAVOUR, DENIED, CANCELED_BY_BUYER, RESOLVED_WITH_PAYOUT
                                              won: the held funds come back (with a payout,
                                              PayPal paid the buyer from its own pocket)

The disputed payment is named by its capture (`disputed_transactions[].seller_transaction_id`);
our PayPal payments are known by their order id, so the caller maps the capture to its order.
"""
from __future__ import annotations

from domain.disputes.model import DisputeStatus
from domain.disputes.service import DisputeNews
from domain.errors import ConflictError
from providers.paypal.webhooks import DisputeNews as PayPalDispute

PROVIDER = "paypal"
NOT_OURS = "-"  # no capture of ours: the use case stores the event as ignored

STATUSES = {
    "OPEN": DisputeStatus.OPENED,
    "WAITING_FOR_BUYER_RESPONSE": DisputeStatus.OPENED,
    "OTHER": DisputeStatus.OPENED,
    "WAITING_FOR_SELLER_RESPONSE": DisputeStatus.EVIDENCE_DUE,
    "UNDER_REVIEW": DisputeStatus.UNDER_REVIEW,
}
OUTCOMES = {
    "RESOLVED_BUYER_FAVOUR": DisputeStatus.LOST,
    "ACCEPTED": DisputeStatus.LOST,
    "RESOLVED_SELLER_FAVOUR": DisputeStatus.WON,
    "DENIED": DisputeStatus.WON,
    "CANCELED_BY_BUYER": DisputeStatus.WON,
    "RESOLVED_WITH_PAYOUT": DisputeStatus.WON,
}


def status_of(news: PayPalDispute) -> DisputeStatus:
    """ConflictError for a status or an outcome we don't know (PayPal redelivers, after a fix)."""
    if news.status == "RESOLVED":
        found = OUTCOMES.get(news.outcome or "")
        if found is None:
            raise ConflictError(f"PayPal dispute {news.dispute_id} resolved with an outcome we don't know: "
                                f"{news.outcome!r}")
        return found
    status = STATUSES.get(news.status)
    if status is None:
        raise ConflictError(f"PayPal dispute {news.dispute_id} has a status we don't know: {news.status!r}")
    return status


def dispute_news(news: PayPalDispute, order_id: str | None) -> DisputeNews:
    """Our news of PayPal's; `order_id` is the PayPal order of the disputed capture, if ours."""
    if news.amount is None:
        raise ConflictError(f"PayPal dispute {news.dispute_id} has no dispute_amount we can read")
    return DisputeNews(provider=PROVIDER, event_id=news.event_id, event_type=news.event_type,
                       provider_dispute_id=news.dispute_id, payment_ref=order_id or NOT_OURS,
                       amount=news.amount, status=status_of(news), reason=news.reason or None)
